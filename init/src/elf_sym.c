/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Symbol lookup in an (already validated) ELF64 boot module. The loader uses it for one thing:
 * finding the runtime's stack bottom (__pc_stack_bottom) so it can leave a guard page unmapped
 * there. The module is untrusted bytes, so every table is bounds-checked against the image and
 * the walk is bounded; a missing or malformed symbol table simply means "not found".
 */
#include <string.h>

#include <init/init.h>

#define EHDR_SHOFF 0x28
#define EHDR_SHENTSIZE 0x3a
#define EHDR_SHNUM 0x3c
#define SHDR_SIZE 64
#define SHDR_TYPE 4
#define SHDR_OFFSET 24
#define SHDR_SIZE_FIELD 32
#define SHDR_LINK 40
#define SHT_SYMTAB 2
#define SYM_SIZE 24
#define SYM_VALUE 8
#define MAX_SECTIONS 256u
#define MAX_SYMBOLS 65536u

static uint64_t rd(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    memcpy(&v, p, n); /* little-endian target and host */
    return v;
}

/* [off, off + len) inside [0, size)? */
static bool in_image(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

bool elf_sym_lookup(const void *image, uint64_t size, const char *name, uint64_t *value)
{
    const uint8_t *img = image;
    if (img == NULL || name == NULL || size < 0x40) {
        return false;
    }
    uint64_t shoff = rd(img + EHDR_SHOFF, 8);
    uint64_t shentsize = rd(img + EHDR_SHENTSIZE, 2);
    uint64_t shnum = rd(img + EHDR_SHNUM, 2);
    if (shentsize != SHDR_SIZE || shnum == 0 || shnum > MAX_SECTIONS ||
        !in_image(shoff, shnum * SHDR_SIZE, size)) {
        return false;
    }
    size_t name_len = strlen(name);
    for (uint64_t i = 0; i < shnum; i++) {
        const uint8_t *sh = img + shoff + i * SHDR_SIZE;
        if (rd(sh + SHDR_TYPE, 4) != SHT_SYMTAB) {
            continue;
        }
        uint64_t symoff = rd(sh + SHDR_OFFSET, 8);
        uint64_t symsize = rd(sh + SHDR_SIZE_FIELD, 8);
        uint64_t link = rd(sh + SHDR_LINK, 4);
        if (link >= shnum || !in_image(symoff, symsize, size)) {
            return false;
        }
        const uint8_t *strh = img + shoff + link * SHDR_SIZE;
        uint64_t stroff = rd(strh + SHDR_OFFSET, 8);
        uint64_t strsize = rd(strh + SHDR_SIZE_FIELD, 8);
        if (!in_image(stroff, strsize, size)) {
            return false;
        }
        uint64_t nsyms = symsize / SYM_SIZE;
        if (nsyms > MAX_SYMBOLS) {
            nsyms = MAX_SYMBOLS;
        }
        for (uint64_t k = 0; k < nsyms; k++) {
            const uint8_t *sym = img + symoff + k * SYM_SIZE;
            uint64_t n = rd(sym, 4);
            /* the name plus its NUL must lie inside the string table */
            if (n >= strsize || name_len + 1 > strsize - n) {
                continue;
            }
            const char *s = (const char *)img + stroff + n;
            if (memcmp(s, name, name_len + 1) == 0) {
                *value = rd(sym + SYM_VALUE, 8);
                return true;
            }
        }
        return false;
    }
    return false;
}
