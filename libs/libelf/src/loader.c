// SPDX-License-Identifier: BSD-2-Clause
//
// ELF64 executable validation for the loader. The image comes from outside (a boot module), so
// every field is checked before it is used, every sum of two fields is checked for wrap-around,
// and headers are copied out with memcpy (the image need not be aligned). Layouts follow the
// System V gABI, "ELF-64 Object File Format" version 1.5, and the x86-64 psABI.

#include <elf/loader.h>

#include <string.h>

// e_ident
#define EI_MAG0 0
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1

#define ET_EXEC 2    // e_type: executable
#define EM_X86_64 62 // e_machine

// p_type
#define PT_NULL 0
#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3
#define PT_TLS 7

// p_flags
#define PF_X 0x1u
#define PF_W 0x2u
#define PF_R 0x4u

typedef struct elf64_ehdr {
    uint8_t e_ident[16];
    uint16_t e_type;
    uint16_t e_machine;
    uint32_t e_version;
    uint64_t e_entry;
    uint64_t e_phoff;
    uint64_t e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize;
    uint16_t e_phentsize;
    uint16_t e_phnum;
    uint16_t e_shentsize;
    uint16_t e_shnum;
    uint16_t e_shstrndx;
} elf64_ehdr_t;
_Static_assert(sizeof(elf64_ehdr_t) == 64, "Elf64_Ehdr is 64 bytes");

typedef struct elf64_phdr {
    uint32_t p_type;
    uint32_t p_flags;
    uint64_t p_offset;
    uint64_t p_vaddr;
    uint64_t p_paddr;
    uint64_t p_filesz;
    uint64_t p_memsz;
    uint64_t p_align;
} elf64_phdr_t;
_Static_assert(sizeof(elf64_phdr_t) == 56, "Elf64_Phdr is 56 bytes");

static const char *const elf_error_text[] = {
#define ELF_X_TEXT(name, text) [name] = text,
    ELF_ERROR_LIST(ELF_X_TEXT)
#undef ELF_X_TEXT
};

static const char *const elf_error_ident[] = {
#define ELF_X_NAME(name, text) [name] = #name,
    ELF_ERROR_LIST(ELF_X_NAME)
#undef ELF_X_NAME
};

const char *elf_strerror(elf_error_t err)
{
    if ((unsigned)err >= ELF_ERROR_COUNT) {
        return "unknown error";
    }
    return elf_error_text[err];
}

const char *elf_error_name(elf_error_t err)
{
    if ((unsigned)err >= ELF_ERROR_COUNT) {
        return "?";
    }
    return elf_error_ident[err];
}

void elf_limits_default(elf_limits_t *limits)
{
    if (limits == NULL) {
        return;
    }
    limits->user_min = ELF_USER_MIN_DEFAULT;
    limits->user_max = ELF_USER_MAX_DEFAULT;
    limits->page_size = 4096;
    limits->allow_wx = false;
}

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static void read_phdr(const elf_image_t *img, size_t i, elf64_phdr_t *ph)
{
    // Bounds were checked by elf_parse: phoff + phnum * sizeof(*ph) <= size.
    memcpy(ph, img->data + img->phoff + i * sizeof(*ph), sizeof(*ph));
}

// A PT_LOAD's page-rounded extent [*lo, *hi), or false if rounding up wraps.
static bool page_extent(const elf64_phdr_t *ph, uint64_t page, uint64_t *lo, uint64_t *hi)
{
    uint64_t end = ph->p_vaddr + ph->p_memsz; // wrap excluded by the caller
    if (end > UINT64_MAX - (page - 1)) {
        return false;
    }
    *lo = ph->p_vaddr & ~(page - 1);
    *hi = (end + page - 1) & ~(page - 1);
    return true;
}

static elf_error_t check_header(const elf64_ehdr_t *eh, size_t size)
{
    static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};
    if (memcmp(&eh->e_ident[EI_MAG0], magic, sizeof(magic)) != 0) {
        return ELF_ERR_MAGIC;
    }
    if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
        return ELF_ERR_CLASS;
    }
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
        return ELF_ERR_DATA;
    }
    if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT) {
        return ELF_ERR_VERSION;
    }
    if (eh->e_type != ET_EXEC) {
        return ELF_ERR_TYPE;
    }
    if (eh->e_machine != EM_X86_64) {
        return ELF_ERR_MACHINE;
    }
    if (eh->e_ehsize < sizeof(elf64_ehdr_t) || eh->e_phentsize != sizeof(elf64_phdr_t)) {
        return ELF_ERR_HEADER_SIZE;
    }
    // 0xffff (PN_XNUM) would defer the count to section 0: not supported, caught by the limit.
    if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS) {
        return ELF_ERR_PHDR_COUNT;
    }
    uint64_t table = (uint64_t)eh->e_phnum * sizeof(elf64_phdr_t); // <= 64 * 56: no overflow
    if (eh->e_phoff > size || table > size - eh->e_phoff) {
        return ELF_ERR_PHDR_BOUNDS;
    }
    return ELF_OK;
}

static elf_error_t check_load(const elf64_phdr_t *ph, size_t size, const elf_limits_t *lim)
{
    if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset) {
        return ELF_ERR_SEG_FILE_BOUNDS;
    }
    if (ph->p_filesz > ph->p_memsz) {
        return ELF_ERR_SEG_FILESZ;
    }
    if (ph->p_memsz == 0) {
        return ELF_OK; // occupies no memory: nothing to place, skipped by the iteration
    }
    if (ph->p_memsz > UINT64_MAX - ph->p_vaddr) {
        return ELF_ERR_SEG_WRAP;
    }
    uint64_t lo;
    uint64_t hi;
    if (!page_extent(ph, lim->page_size, &lo, &hi)) {
        return ELF_ERR_SEG_WRAP;
    }
    if (lo < lim->user_min || hi > lim->user_max) {
        return ELF_ERR_SEG_RANGE;
    }
    // gABI: p_align 0 or 1 means none; otherwise a power of two with vaddr == offset mod align.
    if (ph->p_align > 1) {
        if (!is_pow2(ph->p_align) || (ph->p_vaddr - ph->p_offset) % ph->p_align != 0) {
            return ELF_ERR_SEG_ALIGN;
        }
    }
    uint32_t rwx = ph->p_flags & (PF_R | PF_W | PF_X);
    if (rwx == 0) {
        return ELF_ERR_SEG_RIGHTS;
    }
    if ((rwx & PF_W) && (rwx & PF_X) && !lim->allow_wx) {
        return ELF_ERR_SEG_RIGHTS;
    }
    return ELF_OK;
}

static bool limits_valid(const elf_limits_t *lim)
{
    return is_pow2(lim->page_size) && lim->page_size >= 4096 && lim->user_min < lim->user_max &&
           (lim->user_min & (lim->page_size - 1)) == 0 &&
           (lim->user_max & (lim->page_size - 1)) == 0;
}

static elf_error_t parse(elf_image_t *img, const uint8_t *data, size_t size,
                         const elf_limits_t *lim)
{
    if (size < sizeof(elf64_ehdr_t)) {
        return ELF_ERR_TRUNCATED;
    }
    elf64_ehdr_t eh;
    memcpy(&eh, data, sizeof(eh));
    elf_error_t err = check_header(&eh, size);
    if (err != ELF_OK) {
        return err;
    }
    img->data = data;
    img->size = size;
    img->phoff = eh.e_phoff;
    img->phnum = eh.e_phnum;

    uint64_t lowest = UINT64_MAX;
    uint64_t highest = 0;
    uint16_t loads = 0;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        elf64_phdr_t ph;
        read_phdr(img, i, &ph);
        if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC) {
            return ELF_ERR_DYNAMIC;
        }
        if (ph.p_type == PT_TLS) {
            return ELF_ERR_TLS;
        }
        if (ph.p_type != PT_LOAD) {
            continue; // PT_NOTE, PT_GNU_STACK, PT_PHDR, ...: nothing to load
        }
        err = check_load(&ph, size, lim);
        if (err != ELF_OK) {
            return err;
        }
        if (ph.p_memsz == 0) {
            continue;
        }
        uint64_t lo = 0;
        uint64_t hi = 0;
        (void)page_extent(&ph, lim->page_size, &lo, &hi); // checked in check_load
        // Pages are mapped with one set of rights each: no two segments may share a page.
        for (size_t j = 0; j < i; j++) {
            elf64_phdr_t other;
            read_phdr(img, j, &other);
            if (other.p_type != PT_LOAD || other.p_memsz == 0) {
                continue;
            }
            uint64_t olo = 0;
            uint64_t ohi = 0;
            (void)page_extent(&other, lim->page_size, &olo, &ohi);
            if (lo < ohi && olo < hi) {
                return ELF_ERR_SEG_OVERLAP;
            }
        }
        loads++;
        lowest = lo < lowest ? lo : lowest;
        highest = hi > highest ? hi : highest;
    }
    if (loads == 0) {
        return ELF_ERR_NO_LOAD;
    }
    img->load_count = loads;
    img->lowest = lowest;
    img->highest = highest;

    // The entry must be an instruction byte taken from the file, in an executable segment.
    bool entry_ok = false;
    for (size_t i = 0; i < eh.e_phnum && !entry_ok; i++) {
        elf64_phdr_t ph;
        read_phdr(img, i, &ph);
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && eh.e_entry >= ph.p_vaddr &&
            eh.e_entry - ph.p_vaddr < ph.p_filesz) {
            entry_ok = true;
        }
    }
    if (!entry_ok) {
        return ELF_ERR_ENTRY;
    }
    img->entry = eh.e_entry;
    return ELF_OK;
}

elf_error_t elf_parse(elf_image_t *img, const void *data, size_t size, const elf_limits_t *limits)
{
    if (img == NULL) {
        return ELF_ERR_ARGUMENT;
    }
    memset(img, 0, sizeof(*img));
    if (data == NULL || limits == NULL || !limits_valid(limits)) {
        return ELF_ERR_ARGUMENT;
    }
    elf_error_t err = parse(img, data, size, limits);
    if (err != ELF_OK) {
        memset(img, 0, sizeof(*img));
    }
    return err;
}

size_t elf_segment_count(const elf_image_t *img)
{
    return img == NULL ? 0 : img->load_count;
}

static uint32_t rights_of(uint32_t p_flags)
{
    uint32_t r = 0;
    r |= (p_flags & PF_R) ? ELF_RIGHT_R : 0;
    r |= (p_flags & PF_W) ? ELF_RIGHT_W : 0;
    r |= (p_flags & PF_X) ? ELF_RIGHT_X : 0;
    return r;
}

elf_error_t elf_segment_get(const elf_image_t *img, size_t index, elf_segment_t *seg)
{
    if (img == NULL || seg == NULL || img->data == NULL) {
        return ELF_ERR_ARGUMENT;
    }
    if (index >= img->load_count) {
        return ELF_ERR_INDEX;
    }
    size_t seen = 0;
    for (size_t i = 0; i < img->phnum; i++) {
        elf64_phdr_t ph;
        read_phdr(img, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) {
            continue;
        }
        if (seen++ != index) {
            continue;
        }
        seg->vaddr = ph.p_vaddr;
        seg->memsz = ph.p_memsz;
        seg->filesz = ph.p_filesz;
        seg->offset = ph.p_offset;
        seg->file = img->data + ph.p_offset;
        seg->rights = rights_of(ph.p_flags);
        return ELF_OK;
    }
    return ELF_ERR_INDEX; // unreachable for an image elf_parse accepted
}

bool elf_segment_next(const elf_image_t *img, size_t *cursor, elf_segment_t *seg)
{
    if (cursor == NULL || elf_segment_get(img, *cursor, seg) != ELF_OK) {
        return false;
    }
    (*cursor)++;
    return true;
}
