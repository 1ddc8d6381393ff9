/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: RSDP parse, RSDT/XSDT walk and table mapping over a fuzzed physical memory
 * image. Input: u32 region count, then per region (u64 pa, u32 len), then the regions' bytes in
 * order; region 0 holds the RSDP. Every table the walk accepts is handed to its parser.
 */
#include <acpi/acpi.h>

#include <stdlib.h>
#include <string.h>

#define MAX_REGIONS 16

struct image {
    size_t n;
    uint64_t pa[MAX_REGIONS];
    size_t len[MAX_REGIONS];
    const uint8_t *data[MAX_REGIONS];
    int live;
};

static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static const void *map(void *ctx, uint64_t pa, size_t len)
{
    struct image *im = ctx;
    for (size_t i = 0; i < im->n; i++) {
        if (pa >= im->pa[i] && len <= im->len[i] && pa - im->pa[i] <= im->len[i] - len) {
            im->live++;
            return im->data[i] + (pa - im->pa[i]);
        }
    }
    return NULL;
}

static void unmap(void *ctx, const void *va, size_t len)
{
    (void)va;
    (void)len;
    ((struct image *)ctx)->live--;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct image im = {0};
    uint8_t *copies[MAX_REGIONS] = {0};
    if (size < 4) {
        return 0;
    }
    size_t n = rd(data, 4), off = 4;
    if (n == 0 || n > MAX_REGIONS || size < off + n * 12) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        im.pa[i] = rd(data + off, 8);
        im.len[i] = rd(data + off + 8, 4);
        off += 12;
    }
    for (size_t i = 0; i < n; i++) {
        if (im.len[i] > size - off) {
            im.len[i] = size - off;
        }
        copies[i] = malloc(im.len[i] ? im.len[i] : 1);
        memcpy(copies[i], data + off, im.len[i]);
        im.data[i] = copies[i];
        off += im.len[i];
    }
    im.n = n;
    struct acpi_phys phys = {&im, map, unmap};
    struct acpi_rsdp r;
    struct acpi_table_ref refs[8];
    size_t count = 0;
    if (acpi_rsdp_parse(im.data[0], im.len[0], im.pa[0], &r) == ACPI_OK) {
        int err = acpi_root_walk(&phys, &r, refs, 8, &count);
        for (size_t i = 0; (err == ACPI_OK || err == ACPI_ERR_NOSPACE) && i < count && i < 8; i++) {
            struct acpi_table t;
            if (refs[i].err != ACPI_OK || acpi_table_map(&phys, refs[i].pa, NULL, &t) != ACPI_OK) {
                continue;
            }
            struct acpi_madt_ioapic io[2];
            struct acpi_madt m = {.ioapics = io, .ioapic_cap = 2};
            struct acpi_mcfg_seg seg[2];
            size_t ns;
            struct acpi_dmar_drhd drhd[2];
            struct acpi_dmar_scope sc[8];
            struct acpi_dmar d = {.drhds = drhd, .drhd_cap = 2, .scopes = sc, .scope_cap = 8};
            (void)acpi_madt_parse(t.data, t.len, &m);
            (void)acpi_mcfg_parse(t.data, t.len, seg, 2, &ns);
            (void)acpi_dmar_parse(t.data, t.len, &d);
            acpi_table_unmap(&phys, &t);
        }
    }
    if (im.live != 0) {
        __builtin_trap(); /* every mapping made by the library was released */
    }
    for (size_t i = 0; i < n; i++) {
        free(copies[i]);
    }
    return 0;
}
