/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Config space as the IOMMU server sees it: only the ECAM pages the root task granted (the
 * endpoints it may enable ATS on, the root ports whose bus ranges DMAR scopes name). A libpci
 * window over segment 0, buses 0..255, where every other function reads as absent (all-ones)
 * and writes to it are dropped, so libpci's and libacpi's walkers run unchanged.
 */
#include <string.h>

#include "iommu_srv.h"

static struct {
    uint16_t sid;
    volatile uint8_t *va;
} g_pages[SRV_MAX_CFG_PAGES];
static unsigned g_npages;
static struct pci_ecam g_ecam;
static struct pci_mmio g_mmio;
static bool g_ready;

static volatile uint8_t *page_of(uint64_t off)
{
    uint64_t sid = off >> 12;
    for (unsigned i = 0; i < g_npages; i++) {
        if (g_pages[i].sid == sid) {
            return g_pages[i].va;
        }
    }
    return NULL;
}

static uint32_t cfg_read(void *ctx, uint64_t off, unsigned width)
{
    (void)ctx;
    volatile uint8_t *p = page_of(off);
    if (p == NULL) {
        return width == 1 ? 0xffu : width == 2 ? 0xffffu : 0xffffffffu;
    }
    volatile uint8_t *a = p + (off & 0xfffu);
    return width == 1 ? *a : width == 2 ? *(volatile uint16_t *)a : *(volatile uint32_t *)a;
}

static void cfg_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    (void)ctx;
    volatile uint8_t *p = page_of(off);
    if (p == NULL) {
        return;
    }
    volatile uint8_t *a = p + (off & 0xfffu);
    if (width == 1) {
        *a = (uint8_t)val;
    } else if (width == 2) {
        *(volatile uint16_t *)a = (uint16_t)val;
    } else {
        *(volatile uint32_t *)a = val;
    }
}

bool srv_cfg_add_page(uint16_t sid, volatile void *va)
{
    if (g_npages >= SRV_MAX_CFG_PAGES || va == NULL || page_of((uint64_t)sid << 12) != NULL) {
        return false;
    }
    g_pages[g_npages].sid = sid;
    g_pages[g_npages].va = va;
    g_npages++;
    return true;
}

const struct pci_ecam *srv_cfg_ecam(void)
{
    if (!g_ready) {
        g_mmio.ctx = NULL;
        g_mmio.read = cfg_read;
        g_mmio.write = cfg_write;
        if (pci_ecam_init(&g_ecam, &g_mmio, 0, 0, 255) != PCI_OK) {
            return NULL;
        }
        g_ready = true;
    }
    return &g_ecam;
}

unsigned srv_cfg_count(void)
{
    return g_npages;
}

uint16_t srv_cfg_sid(unsigned i)
{
    return i < g_npages ? g_pages[i].sid : 0;
}
