/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI discovery for the policy: the root task finds which function a driver role gets by walking
 * the buses through the legacy configuration mechanism (ports 0xCF8/0xCFC, which it holds through
 * its I/O port capability) with libpci's enumerator, and sizes BARs with libpci. Only the first
 * 256 bytes of each function are reachable this way, which is all discovery needs; drivers get
 * their function's ECAM page for the rest.
 */
#include <stdio.h>

#include <init/init.h>
#include <pci/pci.h>

#define PCI_CONFIG_ADDRESS 0xcf8 /* CONFIG_ADDRESS: enable | bus | dev | fn | register */
#define PCI_CONFIG_ENABLE (1u << 31)
#define PCI_CONFIG_DATA 0xcfc

static init_pci_dev_t g_devs[INIT_PCI_MAX];
static unsigned g_dev_count;

static uint32_t port_in(uint16_t port, unsigned width)
{
    pc_word_t a = port, r = 0;
    uint64_t label = width == 1 ? PC_IOPORT_IN8 : width == 2 ? PC_IOPORT_IN16 : PC_IOPORT_IN32;
    if (pc_invoke(PC_SLOT_IOPORT, label, 1, &a, 0, NULL, &r, 1) != PC_OK) {
        return 0xffffffffu;
    }
    return (uint32_t)r;
}

static void port_out(uint16_t port, unsigned width, uint32_t val)
{
    pc_word_t a[2] = {port, val};
    uint64_t label = width == 1 ? PC_IOPORT_OUT8 : width == 2 ? PC_IOPORT_OUT16 : PC_IOPORT_OUT32;
    (void)pc_invoke(PC_SLOT_IOPORT, label, 2, a, 0, NULL, NULL, 0);
}

/* ECAM-style offset (bus << 20 | dev << 15 | fn << 12 | reg) -> legacy config address. */
static bool select_reg(uint64_t off)
{
    uint32_t reg = (uint32_t)(off & 0xfff);
    if (reg >= 256 || off >= (256ull << 20)) {
        return false;
    }
    uint32_t bdf = (uint32_t)(off >> 12) & 0xffff;
    port_out(PCI_CONFIG_ADDRESS, 4, PCI_CONFIG_ENABLE | (bdf << 8) | (reg & 0xfc));
    return true;
}

static uint32_t cfg_read(void *ctx, uint64_t off, unsigned width)
{
    (void)ctx;
    if (!select_reg(off)) {
        return width == 1 ? 0xff : width == 2 ? 0xffff : 0xffffffffu;
    }
    return port_in((uint16_t)(PCI_CONFIG_DATA + (off & (4 - width))), width);
}

static void cfg_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    (void)ctx;
    if (select_reg(off)) {
        port_out((uint16_t)(PCI_CONFIG_DATA + (off & (4 - width))), width, val);
    }
}

static const struct pci_mmio g_port_mmio = {.ctx = NULL, .read = cfg_read, .write = cfg_write};
static struct pci_ecam g_ecam;

unsigned pci_port_scan(void)
{
    static struct pci_func funcs[INIT_PCI_MAX];
    size_t found = 0;
    unsigned loops = 0;
    g_dev_count = 0;
    if (pci_ecam_init(&g_ecam, &g_port_mmio, 0, 0, 255) != PCI_OK) {
        return 0;
    }
    int err = pci_enumerate(&g_ecam, funcs, INIT_PCI_MAX, &found, &loops);
    if (err != PCI_OK && err != PCI_ERR_NOSPACE) {
        printf("init: PCI enumeration failed: %s\n", pci_err_str(err));
    }
    size_t n = found < INIT_PCI_MAX ? found : INIT_PCI_MAX;
    for (size_t i = 0; i < n; i++) {
        init_pci_dev_t *d = &g_devs[g_dev_count++];
        d->sid = funcs[i].sid;
        d->vendor = funcs[i].vendor;
        d->device = funcs[i].device;
        d->header_type = funcs[i].header_type;
        d->class_rev = funcs[i].class_rev;
        d->secondary = funcs[i].secondary;
        d->claimed = false;
    }
    return g_dev_count;
}

unsigned pci_port_count(void)
{
    return g_dev_count;
}

const init_pci_dev_t *pci_port_dev(unsigned i)
{
    return i < g_dev_count ? &g_devs[i] : NULL;
}

/* Source-id a hot-added function was recorded under: the next claim of its vendor:device takes
 * it before any other match (-1: none). */
static int g_claim_first = -1;

void pci_port_unclaim(uint16_t sid)
{
    for (unsigned i = 0; i < g_dev_count; i++) {
        if (g_devs[i].sid == sid && g_devs[i].claimed) {
            g_devs[i].claimed = false;
            g_claim_first = sid; /* a rebuild of the same task takes the same function */
        }
    }
}

init_pci_dev_t *pci_port_claim(uint16_t vendor, uint16_t device)
{
    for (unsigned i = 0; i < g_dev_count; i++) {
        init_pci_dev_t *d = &g_devs[i];
        if ((int)d->sid == g_claim_first && !d->claimed && d->vendor == vendor &&
            d->device == device && d->header_type == 0) {
            d->claimed = true;
            g_claim_first = -1;
            return d;
        }
    }
    for (unsigned i = 0; i < g_dev_count; i++) {
        init_pci_dev_t *d = &g_devs[i];
        if (!d->claimed && d->vendor == vendor && d->device == device && d->header_type == 0) {
            d->claimed = true;
            return d;
        }
    }
    return NULL;
}

int pci_port_bar(uint16_t sid, unsigned index, uint64_t *base, uint64_t *size)
{
    struct pci_bar bar;
    unsigned slots = 0;
    int err = pci_bar_probe(&g_ecam, sid, index, &bar, &slots);
    if (err != PCI_OK) {
        return err;
    }
    if ((bar.kind != PCI_BAR_MEM32 && bar.kind != PCI_BAR_MEM64) || bar.size == 0) {
        return PCI_ERR_NOT_FOUND;
    }
    *base = bar.base;
    *size = bar.size;
    return PCI_OK;
}

/* One bridge window [base, limit] handed out upwards. */
struct window {
    uint64_t next, limit;
};

static uint64_t align_up64(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static bool window_take(struct window *w, uint64_t size, uint64_t *base)
{
    uint64_t b = align_up64(w->next, size);
    if (w->limit < w->next || b < w->next || size == 0 || b + size - 1 < b ||
        b + size - 1 > w->limit) {
        return false;
    }
    *base = b;
    w->next = b + size;
    return true;
}

int pci_port_hotplug_add(uint16_t port, uint16_t sid, uint16_t vendor, uint16_t device)
{
    /* The port's windows as firmware left them (PCI-to-PCI Bridge Architecture 3.2.5.8/9). */
    uint16_t mb = pci_cfg_read16(&g_ecam, port, PCI_MEMORY_BASE);
    uint16_t ml = pci_cfg_read16(&g_ecam, port, PCI_MEMORY_BASE + 2);
    uint16_t pb = pci_cfg_read16(&g_ecam, port, PCI_PREF_MEMORY_BASE);
    uint16_t pl = pci_cfg_read16(&g_ecam, port, PCI_PREF_MEMORY_LIMIT);
    struct window mem = {(uint64_t)(mb & 0xfff0u) << 16,
                         ((uint64_t)(ml & 0xfff0u) << 16) | 0xfffff};
    struct window pref = {(uint64_t)(pb & 0xfff0u) << 16,
                          ((uint64_t)(pl & 0xfff0u) << 16) | 0xfffff};
    if ((pb & 0xf) == 1) {
        pref.next |= (uint64_t)pci_cfg_read32(&g_ecam, port, PCI_PREF_BASE_UPPER32) << 32;
        pref.limit |= (uint64_t)pci_cfg_read32(&g_ecam, port, PCI_PREF_LIMIT_UPPER32) << 32;
    }
    (void)pci_command_update(&g_ecam, sid, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 0);
    for (unsigned i = 0; i < 6;) {
        struct pci_bar bar;
        unsigned slots = 1;
        int err = pci_bar_probe(&g_ecam, sid, i, &bar, &slots);
        if (err != PCI_OK) {
            return err;
        }
        if ((bar.kind == PCI_BAR_MEM32 || bar.kind == PCI_BAR_MEM64) && bar.size != 0) {
            uint64_t base = 0;
            /* A 64-bit prefetchable BAR goes into the prefetchable window; anything that does
             * not fit there falls back to the non-prefetchable one if 32-bit addressable. */
            bool ok = bar.prefetchable && window_take(&pref, bar.size, &base) &&
                      (bar.kind == PCI_BAR_MEM64 || base + bar.size <= (1ull << 32));
            if (!ok) {
                ok = window_take(&mem, bar.size, &base);
            }
            if (!ok) {
                return PCI_ERR_NOSPACE;
            }
            uint16_t off = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * i);
            uint32_t lo = pci_cfg_read32(&g_ecam, sid, off) & 0xfu;
            pci_cfg_write32(&g_ecam, sid, off, (uint32_t)base | lo);
            if (bar.kind == PCI_BAR_MEM64) {
                pci_cfg_write32(&g_ecam, sid, (uint16_t)(off + 4), (uint32_t)(base >> 32));
            }
        }
        i += slots ? slots : 1;
    }
    (void)pci_command_update(&g_ecam, sid, 0, PCI_COMMAND_MEMORY);

    init_pci_dev_t *d = NULL;
    for (unsigned i = 0; i < g_dev_count; i++) {
        if (g_devs[i].sid == sid) {
            d = &g_devs[i];
        }
    }
    if (d == NULL) {
        if (g_dev_count >= INIT_PCI_MAX) {
            return PCI_ERR_NOSPACE;
        }
        d = &g_devs[g_dev_count++];
        d->sid = sid;
    }
    d->vendor = vendor;
    d->device = device;
    d->header_type = (uint8_t)(pci_cfg_read8(&g_ecam, sid, PCI_HEADER_TYPE) & 0x7f);
    d->class_rev = pci_cfg_read32(&g_ecam, sid, PCI_REVISION_ID); /* class code << 8 | revision */
    d->secondary = 0;
    d->claimed = false;
    g_claim_first = sid;
    return PCI_OK;
}
