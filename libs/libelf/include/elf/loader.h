/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Validation and iteration of ELF64 x86_64 executables for the root task's loader. A boot module
 * is untrusted bytes: elf_parse() checks the whole image before anything is mapped (header,
 * program header table bounds, every PT_LOAD's offset/size/address/alignment with overflow
 * checks, the caller's user address range, overlap between segments at page granularity, and an
 * entry point inside the file-backed part of an executable segment). Only after it returns
 * ELF_OK does the caller iterate the loadable segments, each described by its address, sizes,
 * file bytes and rights. Pure logic: no allocation, no I/O; builds for the host and the target.
 */
#ifndef ELF_LOADER_H
#define ELF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every way an image can be refused; elf_strerror() gives the name. */
#define ELF_ERROR_LIST(X)                                                                          \
    X(ELF_OK, "ok")                                                                                \
    X(ELF_ERR_ARGUMENT, "invalid argument (null pointer or bad limits)")                           \
    X(ELF_ERR_TRUNCATED, "image shorter than the ELF header")                                      \
    X(ELF_ERR_MAGIC, "bad ELF magic")                                                              \
    X(ELF_ERR_CLASS, "not ELFCLASS64")                                                             \
    X(ELF_ERR_DATA, "not little-endian")                                                           \
    X(ELF_ERR_VERSION, "bad ELF version")                                                          \
    X(ELF_ERR_TYPE, "not ET_EXEC")                                                                 \
    X(ELF_ERR_MACHINE, "not EM_X86_64")                                                            \
    X(ELF_ERR_HEADER_SIZE, "bad e_ehsize or e_phentsize")                                          \
    X(ELF_ERR_PHDR_COUNT, "no program headers or too many")                                        \
    X(ELF_ERR_PHDR_BOUNDS, "program header table outside the image")                               \
    X(ELF_ERR_DYNAMIC, "dynamic linking (PT_INTERP/PT_DYNAMIC) not supported")                     \
    X(ELF_ERR_TLS, "thread-local storage (PT_TLS) not supported")                                  \
    X(ELF_ERR_NO_LOAD, "no loadable segment")                                                      \
    X(ELF_ERR_SEG_FILE_BOUNDS, "segment file bytes outside the image")                             \
    X(ELF_ERR_SEG_FILESZ, "segment filesz larger than memsz")                                      \
    X(ELF_ERR_SEG_WRAP, "segment address range wraps around")                                      \
    X(ELF_ERR_SEG_RANGE, "segment outside the allowed user range")                                 \
    X(ELF_ERR_SEG_ALIGN, "segment alignment invalid or address/offset not congruent")              \
    X(ELF_ERR_SEG_OVERLAP, "segments overlap (page granularity)")                                  \
    X(ELF_ERR_SEG_RIGHTS, "segment has no access rights, or is writable and executable")           \
    X(ELF_ERR_ENTRY, "entry point not in the file bytes of an executable segment")                 \
    X(ELF_ERR_INDEX, "segment index out of range")

typedef enum elf_error {
#define ELF_X_ENUM(name, text) name,
    ELF_ERROR_LIST(ELF_X_ENUM)
#undef ELF_X_ENUM
        ELF_ERROR_COUNT
} elf_error_t;

/* Human-readable name of an error; "unknown error" for values outside the enum. */
const char *elf_strerror(elf_error_t err);
/* The enumerator's identifier, e.g. "ELF_ERR_SEG_OVERLAP"; "?" outside the enum. */
const char *elf_error_name(elf_error_t err);

/* Access rights of a loadable segment. */
#define ELF_RIGHT_R 0x4u
#define ELF_RIGHT_W 0x2u
#define ELF_RIGHT_X 0x1u

/* Largest program header table accepted (bounds the validation cost). */
#define ELF_MAX_PHDRS 64u

/*
 * What the caller allows. Every PT_LOAD, rounded out to page_size, must lie in
 * [user_min, user_max). page_size must be a power of two >= 4096; user_min < user_max, both
 * page-aligned. allow_wx permits segments that are both writable and executable.
 */
typedef struct elf_limits {
    uint64_t user_min;
    uint64_t user_max;
    uint64_t page_size;
    bool allow_wx;
} elf_limits_t;

/* Limits for a Portcullis user task: [4 MiB, 128 TiB - 2 MiB) of the lower canonical half (the
 * kernel half is never allowed), 4 KiB pages, no W+X. Keeping clear of other fixed mappings in the
 * target address space is the caller's business: narrow the range. */
#define ELF_USER_MIN_DEFAULT 0x0000000000400000ull
#define ELF_USER_MAX_DEFAULT 0x00007fffffe00000ull
void elf_limits_default(elf_limits_t *limits);

/* A validated image. Fields are filled by elf_parse(); treat as read-only. */
typedef struct elf_image {
    const uint8_t *data;
    size_t size;
    uint64_t entry;
    uint64_t phoff;
    uint16_t phnum;
    uint16_t load_count; /* PT_LOAD segments with memsz > 0 */
    uint64_t lowest;     /* page-rounded lowest address of any segment */
    uint64_t highest;    /* page-rounded end (exclusive) of the highest segment */
} elf_image_t;

/* One loadable segment. */
typedef struct elf_segment {
    uint64_t vaddr;
    uint64_t memsz;      /* bytes in memory; [filesz, memsz) are zero */
    uint64_t filesz;     /* bytes taken from the file */
    uint64_t offset;     /* file offset of those bytes */
    const uint8_t *file; /* data + offset: filesz readable bytes */
    uint32_t rights;     /* ELF_RIGHT_* */
} elf_segment_t;

/*
 * Validates the whole image. On ELF_OK, *img describes it and refers to data (which must stay
 * valid and unchanged while img is used). On any error, *img is zeroed. Never reads outside
 * [data, data + size).
 */
elf_error_t elf_parse(elf_image_t *img, const void *data, size_t size, const elf_limits_t *limits);

/* Number of loadable (PT_LOAD, memsz > 0) segments of a parsed image. */
size_t elf_segment_count(const elf_image_t *img);

/*
 * The index-th loadable segment (0 <= index < elf_segment_count), in program-header order.
 * Errors: ELF_ERR_ARGUMENT (null pointers), ELF_ERR_INDEX.
 */
elf_error_t elf_segment_get(const elf_image_t *img, size_t index, elf_segment_t *seg);

/*
 * Iteration: *cursor starts at 0; returns true and fills *seg for each loadable segment in turn,
 * false at the end.
 */
bool elf_segment_next(const elf_image_t *img, size_t *cursor, elf_segment_t *seg);

#ifdef __cplusplus
}
#endif

#endif /* ELF_LOADER_H */
