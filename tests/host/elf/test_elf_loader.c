// SPDX-License-Identifier: BSD-2-Clause
//
// Host tests of the ELF loader's validation: a synthetic two-segment executable is accepted and
// iterated exactly; every malformed variant (truncation at every length, bad identification,
// program headers out of bounds, size/address overflow, kernel-half and out-of-range addresses,
// overlapping or misaligned segments, bad rights, bad entry, dynamic/TLS images) is refused with
// its own error code and leaves the image descriptor zeroed. Real task ELFs built by this tree,
// given on the command line, must be accepted with sane segments.

#include <elf/loader.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static int checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, __func__, #cond); \
        }                                                                                          \
    } while (0)

#define CHECK_ERR(got, want)                                                                       \
    do {                                                                                           \
        elf_error_t g_ = (got);                                                                    \
        elf_error_t w_ = (want);                                                                   \
        checks++;                                                                                  \
        if (g_ != w_) {                                                                            \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: %s: got %s, want %s\n", __FILE__, __LINE__, __func__,          \
                    elf_error_name(g_), elf_error_name(w_));                                       \
        }                                                                                          \
    } while (0)

// ---- a synthetic executable --------------------------------------------------------------------

#define IMG_SIZE 0x3000u
#define TEXT_OFF 0x1000u
#define TEXT_VA 0x400000ull
#define TEXT_SZ 0x100u
#define DATA_OFF 0x2000u
#define DATA_VA 0x401000ull
#define DATA_FILESZ 0x80u
#define DATA_MEMSZ 0x3000u
#define ENTRY (TEXT_VA + 0x10)

typedef struct {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
} phdr_t;

static uint8_t img[IMG_SIZE];

static void put16(size_t off, uint16_t v)
{
    memcpy(img + off, &v, 2);
}
static void put32(size_t off, uint32_t v)
{
    memcpy(img + off, &v, 4);
}
static void put64(size_t off, uint64_t v)
{
    memcpy(img + off, &v, 8);
}

static void set_phdr(unsigned i, phdr_t ph)
{
    memcpy(img + 64 + i * 56, &ph, 56);
}

static phdr_t get_phdr(unsigned i)
{
    phdr_t ph;
    memcpy(&ph, img + 64 + i * 56, 56);
    return ph;
}

// ELF header, then 3 program headers: text (R-X), data+bss (RW-), PT_GNU_STACK.
static void build_valid(void)
{
    memset(img, 0, sizeof(img));
    const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    memcpy(img, ident, 16);
    put16(16, 2);     // ET_EXEC
    put16(18, 62);    // EM_X86_64
    put32(20, 1);     // EV_CURRENT
    put64(24, ENTRY); // e_entry
    put64(32, 64);    // e_phoff
    put64(40, 0);     // e_shoff
    put16(52, 64);    // e_ehsize
    put16(54, 56);    // e_phentsize
    put16(56, 3);     // e_phnum
    set_phdr(0, (phdr_t){1, 5, TEXT_OFF, TEXT_VA, TEXT_VA, TEXT_SZ, TEXT_SZ, 0x1000});
    set_phdr(1, (phdr_t){1, 6, DATA_OFF, DATA_VA, DATA_VA, DATA_FILESZ, DATA_MEMSZ, 0x1000});
    set_phdr(2, (phdr_t){0x6474e551, 6, 0, 0, 0, 0, 0, 16});
    for (unsigned i = 0; i < TEXT_SZ; i++) {
        img[TEXT_OFF + i] = (uint8_t)(0x90 + i);
    }
    for (unsigned i = 0; i < DATA_FILESZ; i++) {
        img[DATA_OFF + i] = (uint8_t)(0xd0 ^ i);
    }
}

static elf_limits_t lim;

static elf_error_t parse_img(size_t size)
{
    elf_image_t im;
    memset(&im, 0xa5, sizeof(im));
    elf_error_t err = elf_parse(&im, img, size, &lim);
    if (err != ELF_OK) {
        static const elf_image_t zero;
        CHECK(memcmp(&im, &zero, sizeof(im)) == 0); // a refused image leaves nothing behind
    }
    return err;
}

// Applies one change to program header i of a fresh valid image and parses it.
#define WITH_PHDR(i, field, value)                                                                 \
    ({                                                                                             \
        build_valid();                                                                             \
        phdr_t p_ = get_phdr(i);                                                                   \
        p_.field = (value);                                                                        \
        set_phdr(i, p_);                                                                           \
        parse_img(IMG_SIZE);                                                                       \
    })

// ---- tests -------------------------------------------------------------------------------------

static void test_valid_image_yields_segments_with_rights_and_file_bytes(void)
{
    build_valid();
    elf_image_t im;
    CHECK_ERR(elf_parse(&im, img, IMG_SIZE, &lim), ELF_OK);
    CHECK(im.entry == ENTRY);
    CHECK(elf_segment_count(&im) == 2);
    CHECK(im.lowest == TEXT_VA && im.highest == DATA_VA + DATA_MEMSZ);
    elf_segment_t s;
    size_t cur = 0;
    CHECK(elf_segment_next(&im, &cur, &s));
    CHECK(s.vaddr == TEXT_VA && s.memsz == TEXT_SZ && s.filesz == TEXT_SZ);
    CHECK(s.rights == (ELF_RIGHT_R | ELF_RIGHT_X));
    CHECK(s.file == img + TEXT_OFF && s.file[0] == 0x90);
    CHECK(elf_segment_next(&im, &cur, &s));
    CHECK(s.vaddr == DATA_VA && s.memsz == DATA_MEMSZ && s.filesz == DATA_FILESZ);
    CHECK(s.rights == (ELF_RIGHT_R | ELF_RIGHT_W));
    CHECK(s.file == img + DATA_OFF && s.file[1] == (0xd0 ^ 1));
    CHECK(!elf_segment_next(&im, &cur, &s));
    CHECK_ERR(elf_segment_get(&im, 2, &s), ELF_ERR_INDEX);
    CHECK_ERR(elf_segment_get(&im, 0, NULL), ELF_ERR_ARGUMENT);
}

static void test_unaligned_image_buffer_is_accepted(void)
{
    build_valid();
    uint8_t *copy = malloc(IMG_SIZE + 1);
    memcpy(copy + 1, img, IMG_SIZE);
    elf_image_t im;
    CHECK_ERR(elf_parse(&im, copy + 1, IMG_SIZE, &lim), ELF_OK);
    elf_segment_t s;
    CHECK_ERR(elf_segment_get(&im, 0, &s), ELF_OK);
    CHECK(s.file == copy + 1 + TEXT_OFF);
    free(copy);
}

static void test_truncation_at_every_length_is_refused(void)
{
    build_valid();
    const size_t needed = DATA_OFF + DATA_FILESZ; // last file byte any segment uses
    for (size_t len = 0; len < needed; len++) {
        elf_error_t err = parse_img(len);
        elf_error_t want = len < 64            ? ELF_ERR_TRUNCATED
                           : len < 64 + 3 * 56 ? ELF_ERR_PHDR_BOUNDS
                                               : ELF_ERR_SEG_FILE_BOUNDS;
        if (err != want) {
            CHECK_ERR(err, want);
            fprintf(stderr, "  at length %zu\n", len);
            return;
        }
    }
    checks++;
    CHECK_ERR(parse_img(needed), ELF_OK);
}

static void test_bad_identification_is_refused(void)
{
    build_valid();
    img[1] = 'X';
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_MAGIC);
    build_valid();
    img[4] = 1; // ELFCLASS32
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_CLASS);
    build_valid();
    img[5] = 2; // big-endian
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_DATA);
    build_valid();
    img[6] = 0;
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_VERSION);
    build_valid();
    put32(20, 2);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_VERSION);
    build_valid();
    put16(16, 3); // ET_DYN
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_TYPE);
    build_valid();
    put16(18, 3); // EM_386
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_MACHINE);
    build_valid();
    put16(52, 52); // e_ehsize of ELF32
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_HEADER_SIZE);
    build_valid();
    put16(54, 64); // e_phentsize
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_HEADER_SIZE);
}

static void test_program_header_table_out_of_bounds_is_refused(void)
{
    build_valid();
    put16(56, 0);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_PHDR_COUNT);
    build_valid();
    put16(56, ELF_MAX_PHDRS + 1);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_PHDR_COUNT);
    build_valid();
    put16(56, 0xffff); // PN_XNUM
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_PHDR_COUNT);
    build_valid();
    put64(32, IMG_SIZE - 56); // table of 3 starts inside, ends outside
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_PHDR_BOUNDS);
    build_valid();
    put64(32, IMG_SIZE + 8);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_PHDR_BOUNDS);
    build_valid();
    put64(32, UINT64_MAX - 16); // phoff + table wraps
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_PHDR_BOUNDS);
}

static void test_segment_file_bytes_out_of_bounds_are_refused(void)
{
    CHECK_ERR(WITH_PHDR(1, filesz, IMG_SIZE - DATA_OFF + 1), ELF_ERR_SEG_FILE_BOUNDS);
    CHECK_ERR(WITH_PHDR(1, offset, IMG_SIZE + 0x1000), ELF_ERR_SEG_FILE_BOUNDS);
    CHECK_ERR(WITH_PHDR(1, offset, UINT64_MAX - 0x10), ELF_ERR_SEG_FILE_BOUNDS); // wraps
}

static void test_filesz_larger_than_memsz_is_refused(void)
{
    CHECK_ERR(WITH_PHDR(0, memsz, TEXT_SZ - 1), ELF_ERR_SEG_FILESZ);
}

static void test_wrapping_addresses_are_refused(void)
{
    CHECK_ERR(WITH_PHDR(1, memsz, UINT64_MAX - DATA_VA + 2), ELF_ERR_SEG_WRAP);
    // vaddr + memsz fits, but rounding the end up to a page boundary wraps.
    build_valid();
    phdr_t p = get_phdr(1);
    p.vaddr = UINT64_MAX - 0xfff + (DATA_OFF & 0xfff) - 0x1000 + 0x800;
    p.align = 0;
    p.memsz = 0x900;
    p.filesz = 0x80;
    set_phdr(1, p);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_SEG_WRAP);
}

static void test_kernel_half_and_out_of_range_addresses_are_refused(void)
{
    CHECK_ERR(WITH_PHDR(1, vaddr, 0xffffffff80000000ull), ELF_ERR_SEG_RANGE);
    CHECK_ERR(WITH_PHDR(1, vaddr, 0xffff800000000000ull), ELF_ERR_SEG_RANGE);
    CHECK_ERR(WITH_PHDR(1, vaddr, 0x0000800000000000ull), ELF_ERR_SEG_RANGE); // non-canonical
    CHECK_ERR(WITH_PHDR(0, vaddr, 0x1000), ELF_ERR_SEG_RANGE);                // below user_min
    // A segment ending exactly at user_max is inside; one byte (one page) more is not.
    CHECK_ERR(WITH_PHDR(1, vaddr, lim.user_max - DATA_MEMSZ), ELF_OK);
    CHECK_ERR(WITH_PHDR(1, vaddr, lim.user_max - DATA_MEMSZ + 0x1000), ELF_ERR_SEG_RANGE);
    // Narrower caller limits apply.
    elf_limits_t saved = lim;
    lim.user_max = DATA_VA + 0x1000;
    CHECK_ERR(WITH_PHDR(2, type, 0x6474e551), ELF_ERR_SEG_RANGE); // bss runs past the limit
    lim = saved;
}

static void test_overlapping_segments_are_refused(void)
{
    CHECK_ERR(WITH_PHDR(1, vaddr, TEXT_VA), ELF_ERR_SEG_OVERLAP); // identical start
    // Different bytes, same page: rights could not be honoured.
    build_valid();
    phdr_t p = get_phdr(1);
    p.vaddr = TEXT_VA + 0x800;
    p.offset = 0x1800;
    set_phdr(1, p);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_SEG_OVERLAP);
    // Data first in the table, text inside its bss.
    build_valid();
    phdr_t t = get_phdr(0);
    phdr_t d = get_phdr(1);
    d.vaddr = TEXT_VA;
    t.vaddr = DATA_VA;
    set_phdr(0, d);
    set_phdr(1, t);
    put64(24, DATA_VA + 0x10);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_SEG_OVERLAP);
}

static void test_misaligned_segments_are_refused(void)
{
    CHECK_ERR(WITH_PHDR(0, align, 0x1001), ELF_ERR_SEG_ALIGN);         // not a power of two
    CHECK_ERR(WITH_PHDR(1, vaddr, DATA_VA + 0x10), ELF_ERR_SEG_ALIGN); // vaddr !≡ offset
    CHECK_ERR(WITH_PHDR(0, align, 0), ELF_OK);                         // 0 means no constraint
}

static void test_bad_rights_are_refused(void)
{
    CHECK_ERR(WITH_PHDR(1, flags, 7), ELF_ERR_SEG_RIGHTS); // RWX
    CHECK_ERR(WITH_PHDR(1, flags, 0), ELF_ERR_SEG_RIGHTS); // nothing
    lim.allow_wx = true;
    CHECK_ERR(WITH_PHDR(1, flags, 7), ELF_OK);
    lim.allow_wx = false;
}

static void test_entry_outside_executable_file_bytes_is_refused(void)
{
    build_valid();
    put64(24, DATA_VA); // data is not executable
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_ENTRY);
    build_valid();
    put64(24, 0);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_ENTRY);
    build_valid();
    put64(24, TEXT_VA + TEXT_SZ); // one past the file bytes
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_ENTRY);
    // In an executable segment, but in its zero-filled tail.
    build_valid();
    phdr_t p = get_phdr(0);
    p.memsz = 0x800;
    set_phdr(0, p);
    put64(24, TEXT_VA + 0x400);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_ENTRY);
    build_valid();
    put64(24, TEXT_VA + TEXT_SZ - 1); // last file byte is fine
    CHECK_ERR(parse_img(IMG_SIZE), ELF_OK);
}

static void test_dynamic_and_tls_images_are_refused(void)
{
    CHECK_ERR(WITH_PHDR(2, type, 3), ELF_ERR_DYNAMIC); // PT_INTERP
    CHECK_ERR(WITH_PHDR(2, type, 2), ELF_ERR_DYNAMIC); // PT_DYNAMIC
    CHECK_ERR(WITH_PHDR(2, type, 7), ELF_ERR_TLS);     // PT_TLS
    CHECK_ERR(WITH_PHDR(2, type, 4), ELF_OK);          // PT_NOTE is ignored
}

static void test_image_without_loadable_bytes_is_refused(void)
{
    build_valid();
    phdr_t p = get_phdr(0);
    p.type = 4;
    set_phdr(0, p);
    p = get_phdr(1);
    p.memsz = 0;
    p.filesz = 0;
    set_phdr(1, p);
    CHECK_ERR(parse_img(IMG_SIZE), ELF_ERR_NO_LOAD);
    // An empty PT_LOAD is skipped, not counted.
    CHECK_ERR(WITH_PHDR(2, type, 1), ELF_OK);
}

static void test_bad_arguments_are_refused(void)
{
    build_valid();
    elf_image_t im;
    CHECK_ERR(elf_parse(NULL, img, IMG_SIZE, &lim), ELF_ERR_ARGUMENT);
    CHECK_ERR(elf_parse(&im, NULL, IMG_SIZE, &lim), ELF_ERR_ARGUMENT);
    CHECK_ERR(elf_parse(&im, img, IMG_SIZE, NULL), ELF_ERR_ARGUMENT);
    elf_limits_t bad = lim;
    bad.page_size = 3000;
    CHECK_ERR(elf_parse(&im, img, IMG_SIZE, &bad), ELF_ERR_ARGUMENT);
    bad = lim;
    bad.user_min = bad.user_max;
    CHECK_ERR(elf_parse(&im, img, IMG_SIZE, &bad), ELF_ERR_ARGUMENT);
    bad = lim;
    bad.user_min = 0x400123;
    CHECK_ERR(elf_parse(&im, img, IMG_SIZE, &bad), ELF_ERR_ARGUMENT);
    CHECK(elf_segment_count(NULL) == 0);
}

static void test_every_error_has_a_distinct_name(void)
{
    for (int i = 0; i < ELF_ERROR_COUNT; i++) {
        CHECK(elf_strerror((elf_error_t)i) != NULL && elf_strerror((elf_error_t)i)[0] != '\0');
        CHECK(strncmp(elf_error_name((elf_error_t)i), "ELF_", 4) == 0);
        for (int j = 0; j < i; j++) {
            CHECK(strcmp(elf_strerror((elf_error_t)i), elf_strerror((elf_error_t)j)) != 0);
        }
    }
    CHECK(strcmp(elf_strerror(ELF_ERROR_COUNT), "unknown error") == 0);
    CHECK(strcmp(elf_strerror((elf_error_t)-1), "unknown error") == 0);
}

static void test_real_task_elf_is_accepted(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    elf_image_t im;
    CHECK_ERR(elf_parse(&im, buf, (size_t)n, &lim), ELF_OK);
    CHECK(elf_segment_count(&im) >= 2);
    elf_segment_t s;
    size_t cur = 0;
    int exec_segments = 0;
    while (elf_segment_next(&im, &cur, &s)) {
        CHECK(s.vaddr >= ELF_USER_MIN_DEFAULT);
        CHECK(s.filesz <= s.memsz);
        CHECK(s.file >= buf && s.file + s.filesz <= buf + n);
        CHECK(!((s.rights & ELF_RIGHT_W) && (s.rights & ELF_RIGHT_X)));
        if (s.rights & ELF_RIGHT_X) {
            exec_segments++;
            CHECK(im.entry >= s.vaddr && im.entry < s.vaddr + s.filesz);
        }
    }
    CHECK(exec_segments == 1);
    // Cutting the real file anywhere inside its loaded bytes is refused.
    CHECK(elf_parse(&im, buf, (size_t)n / 2, &lim) != ELF_OK);
    free(buf);
    printf("  %s: accepted\n", path);
}

int main(int argc, char **argv)
{
    elf_limits_default(&lim);
    test_valid_image_yields_segments_with_rights_and_file_bytes();
    test_unaligned_image_buffer_is_accepted();
    test_truncation_at_every_length_is_refused();
    test_bad_identification_is_refused();
    test_program_header_table_out_of_bounds_is_refused();
    test_segment_file_bytes_out_of_bounds_are_refused();
    test_filesz_larger_than_memsz_is_refused();
    test_wrapping_addresses_are_refused();
    test_kernel_half_and_out_of_range_addresses_are_refused();
    test_overlapping_segments_are_refused();
    test_misaligned_segments_are_refused();
    test_bad_rights_are_refused();
    test_entry_outside_executable_file_bytes_is_refused();
    test_dynamic_and_tls_images_are_refused();
    test_image_without_loadable_bytes_is_refused();
    test_bad_arguments_are_refused();
    test_every_error_has_a_distinct_name();
    for (int i = 1; i < argc; i++) {
        test_real_task_elf_is_accepted(argv[i]);
    }
    printf("test_elf_loader: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
