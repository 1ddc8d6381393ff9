/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the root task learns from ACPI for its policy: the ECAM base (MCFG) and the VT-d units
 * (DMAR), read with libacpi from the RSDP the kernel found. Firmware tables sit in device
 * (reserved) memory, which the root task reaches through device frames (obj_device_frames); a
 * small region (the firmware's table area) is mapped whole on first use and mappings are kept,
 * so the tables cost a handful of pages. Everything read is validated by libacpi (lengths,
 * checksums, bounds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <acpi/acpi.h>
#include <init/init.h>

#define ACPI_WINDOW_VADDR 0x00007c0000000000ull
#define ACPI_WINDOWS 8
#define ACPI_WHOLE_REGION_MAX (256u * 1024u) /* map device regions up to this size whole */

static struct {
    uint64_t paddr, size, vaddr;
} g_win[ACPI_WINDOWS];
static unsigned g_win_count;
static uint64_t g_win_next = ACPI_WINDOW_VADDR;
static init_acct_t *g_acct;

init_platform_t g_platform;

/* q35's MCFG: the ECAM window when the firmware has no MCFG table. */
#define ECAM_DEFAULT_BASE 0xb0000000ull
#define ECAM_BUS_SHIFT                                                                             \
    20 /* the config page of (b, d, f) is at base + (b << 20 | d << 15 | f << 12) */

bool platform_ecam_override(uint64_t base)
{
    if ((base & ((1ull << ECAM_BUS_SHIFT) - 1)) != 0 || base == 0) {
        return false;
    }
    g_platform.ecam_base = base;
    return true;
}

bool platform_config_page(uint16_t sid, uint64_t *paddr)
{
    if ((unsigned)(sid >> 8) > g_platform.ecam_bus_end) {
        return false;
    }
    *paddr = g_platform.ecam_base + ((uint64_t)sid << 12);
    return true;
}

static const void *window_find(uint64_t pa, size_t len)
{
    for (unsigned i = 0; i < g_win_count; i++) {
        if (pa >= g_win[i].paddr && len <= g_win[i].size &&
            pa - g_win[i].paddr <= g_win[i].size - len) {
            return (const void *)(uintptr_t)(g_win[i].vaddr + (pa - g_win[i].paddr));
        }
    }
    return NULL;
}

/* Maps [start, end) read-only into the next window. */
static bool window_add(uint64_t start, uint64_t end)
{
    uint64_t pages = (end - start) >> PC_PAGE_BITS;
    if (g_win_count >= ACPI_WINDOWS || pages == 0 || pages > 256) {
        return false;
    }
    pc_cptr_t first;
    if (obj_device_frames(start, (uint32_t)pages, g_acct, &first) != PC_OK) {
        return false;
    }
    for (uint64_t i = 0; i < pages; i++) {
        if (vs_map(first + i, PC_SLOT_VSPACE, g_win_next + (i << PC_PAGE_BITS), PC_VM_READ, 0, NULL,
                   g_acct) != PC_OK) {
            return false; /* the frames stay in the root CNode: nothing dangles */
        }
    }
    g_win[g_win_count].paddr = start;
    g_win[g_win_count].size = end - start;
    g_win[g_win_count].vaddr = g_win_next;
    g_win_count++;
    g_win_next += (pages + 1) << PC_PAGE_BITS;
    return true;
}

static const void *phys_map(void *ctx, uint64_t pa, size_t len)
{
    (void)ctx;
    if (len == 0 || pa + len < pa) {
        return NULL;
    }
    const void *p = window_find(pa, len);
    if (p != NULL) {
        return p;
    }
    /* A small device region (the firmware's table area) is mapped whole, so later tables at lower
     * addresses in it stay reachable; otherwise just the pages asked for. */
    uint64_t start = pa & ~0xfffull, end = (pa + len + 0xfff) & ~0xfffull;
    for (unsigned i = 0; i < g_pool.count; i++) {
        const ut_region_t *r = &g_pool.r[i];
        uint64_t rsize = 1ull << r->size_bits;
        if (r->device && pa >= r->paddr && pa - r->paddr < rsize &&
            rsize <= ACPI_WHOLE_REGION_MAX && end <= r->paddr + rsize) {
            start = r->paddr;
            end = r->paddr + rsize;
            break;
        }
    }
    if (!window_add(start, end)) {
        return NULL;
    }
    return window_find(pa, len);
}

static void phys_unmap(void *ctx, const void *va, size_t len)
{
    (void)ctx;
    (void)va;
    (void)len; /* mappings are kept: device frames cannot be carved twice */
}

static const struct acpi_phys g_phys = {.ctx = NULL, .map = phys_map, .unmap = phys_unmap};

void platform_discover(uint64_t rsdp_paddr, init_acct_t *acct)
{
    g_acct = acct;
    memset(&g_platform, 0, sizeof(g_platform));
    g_platform.ioapic_sid = -1;
    g_platform.ecam_base = ECAM_DEFAULT_BASE;
    g_platform.ecam_bus_end = 255;
    if (rsdp_paddr == 0) {
        printf("init: ACPI: no RSDP from the kernel\n");
        return;
    }
    const void *rp = phys_map(NULL, rsdp_paddr, 36);
    struct acpi_rsdp rsdp;
    int err = rp ? acpi_rsdp_parse(rp, 36, rsdp_paddr, &rsdp) : ACPI_ERR_MAP;
    if (rp == NULL || err != ACPI_OK) {
        /* a revision-0 RSDP is 20 bytes: retry with the short form */
        rp = phys_map(NULL, rsdp_paddr, 20);
        err = rp ? acpi_rsdp_parse(rp, 20, rsdp_paddr, &rsdp) : err;
    }
    if (err != ACPI_OK) {
        printf("init: ACPI: RSDP at %#llx unusable: %s\n", (unsigned long long)rsdp_paddr,
               acpi_err_str(err));
        return;
    }
    static struct acpi_table_ref refs[32];
    size_t count = 0;
    err = acpi_root_walk(&g_phys, &rsdp, refs, 32, &count);
    if (err != ACPI_OK && err != ACPI_ERR_NOSPACE) {
        printf("init: ACPI: root table unusable: %s\n", acpi_err_str(err));
        return;
    }
    size_t n = count < 32 ? count : 32;
    printf("init: ACPI: revision %u, %zu table(s):", rsdp.revision, n);
    for (size_t i = 0; i < n; i++) {
        printf(" %s%s", refs[i].sig, refs[i].err == ACPI_OK ? "" : "(bad)");
    }
    printf("\n");

    int m = acpi_find_ref(refs, n, "MCFG", 0);
    struct acpi_table t;
    if (m >= 0 && acpi_table_map(&g_phys, refs[m].pa, "MCFG", &t) == ACPI_OK) {
        struct acpi_mcfg_seg segs[4];
        size_t nseg = 0;
        if (acpi_mcfg_parse(t.data, t.len, segs, 4, &nseg) == ACPI_OK && nseg > 0 &&
            segs[0].segment == 0) {
            /* the base of bus 0 */
            g_platform.ecam_base = segs[0].base - ((uint64_t)segs[0].bus_start << ECAM_BUS_SHIFT);
            g_platform.ecam_bus_end = segs[0].bus_end;
            g_platform.have_mcfg = true;
        }
    }
    int d = acpi_find_ref(refs, n, "DMAR", 0);
    if (d >= 0 && acpi_table_map(&g_phys, refs[d].pa, "DMAR", &t) == ACPI_OK) {
        static struct acpi_dmar_drhd drhds[INIT_MAX_DMAR_UNITS];
        static struct acpi_dmar_scope scopes[64];
        static struct acpi_dmar_rmrr rmrrs[8];
        static struct acpi_dmar_atsr atsrs[8], satcs[8];
        static struct acpi_dmar_rhsa rhsas[8];
        struct acpi_dmar dm;
        memset(&dm, 0, sizeof(dm));
        dm.drhds = drhds;
        dm.drhd_cap = INIT_MAX_DMAR_UNITS;
        dm.scopes = scopes;
        dm.scope_cap = 64;
        dm.rmrrs = rmrrs;
        dm.rmrr_cap = 8;
        dm.atsrs = atsrs;
        dm.atsr_cap = 8;
        dm.satcs = satcs;
        dm.satc_cap = 8;
        dm.rhsas = rhsas;
        dm.rhsa_cap = 8;
        err = acpi_dmar_parse(t.data, t.len, &dm);
        if (err == ACPI_OK) {
            /* The I/O APIC's requester id (one (dev, fn) hop from its start bus: it sits on the
             * root bus or a pseudo bus, never behind a bridge). */
            for (size_t i = 0; i < dm.scope_count && g_platform.ioapic_sid < 0; i++) {
                const struct acpi_dmar_scope *sc = &scopes[i];
                if (sc->type == ACPI_DMAR_SCOPE_IOAPIC && sc->path_len == 1) {
                    g_platform.ioapic_sid =
                        sc->start_bus << 8 | sc->path[0].dev << 3 | sc->path[0].fn;
                }
            }
            g_platform.dmar_units = (unsigned)dm.drhd_count;
            for (size_t i = 0; i < dm.drhd_count; i++) {
                g_platform.dmar_base[i] = drhds[i].base;
                g_platform.dmar_pages[i] = 1u << drhds[i].size;
            }
            g_platform.dmar_table = malloc(t.len);
            if (g_platform.dmar_table != NULL) {
                memcpy(g_platform.dmar_table, t.data, t.len);
                g_platform.dmar_table_len = t.len;
            }
        } else {
            printf("init: ACPI: DMAR refused: %s\n", acpi_err_str(err));
        }
    }
    printf("init: ACPI: ECAM %s%#llx (buses 0-%u), %u DMAR unit(s)",
           g_platform.have_mcfg ? "" : "(no MCFG: q35's) ",
           (unsigned long long)g_platform.ecam_base, g_platform.ecam_bus_end,
           g_platform.dmar_units);
    for (unsigned i = 0; i < g_platform.dmar_units; i++) {
        printf(" %#llx", (unsigned long long)g_platform.dmar_base[i]);
    }
    printf("\n");
}
