/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * BAR sizing and decoding (PCIe 7.5.1.2.1). Sizing writes all-ones and reads back the mask, so
 * decoding is switched off meanwhile (a half-sized BAR must not claim addresses) and everything
 * is restored afterwards. The read-back mask comes from the device and is checked to be a
 * contiguous power-of-two mask.
 */
#include <pci/pci.h>

static unsigned bar_count(uint8_t header_type)
{
    switch (header_type & PCI_HEADER_TYPE_MASK) {
    case PCI_HEADER_TYPE_NORMAL:
        return 6;
    case PCI_HEADER_TYPE_BRIDGE:
        return 2;
    default:
        return 0;
    }
}

static bool pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

int pci_bar_probe(const struct pci_ecam *ecam, pci_sid_t sid, unsigned index, struct pci_bar *out,
                  unsigned *slots)
{
    if (out == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    unsigned n = bar_count(pci_cfg_read8(ecam, sid, PCI_HEADER_TYPE));
    if (index >= n) {
        return PCI_ERR_INVALID;
    }
    uint16_t off = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * index);
    uint32_t lo = pci_cfg_read32(ecam, sid, off), hi = 0, mlo, mhi = 0xffffffffu;
    bool is64 = !(lo & PCI_BAR_SPACE_IO) && (lo & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64;
    if (!(lo & PCI_BAR_SPACE_IO) && (lo & PCI_BAR_MEM_TYPE_MASK) == (3u << 1)) {
        return PCI_ERR_MALFORMED; /* reserved memory type */
    }
    if (is64 && index + 1 >= n) {
        return PCI_ERR_MALFORMED;
    }

    uint16_t cmd = pci_cfg_read16(ecam, sid, PCI_COMMAND);
    pci_cfg_write16(ecam, sid, PCI_COMMAND,
                    (uint16_t)(cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY)));
    pci_cfg_write32(ecam, sid, off, 0xffffffffu);
    mlo = pci_cfg_read32(ecam, sid, off);
    pci_cfg_write32(ecam, sid, off, lo);
    if (is64) {
        hi = pci_cfg_read32(ecam, sid, (uint16_t)(off + 4));
        pci_cfg_write32(ecam, sid, (uint16_t)(off + 4), 0xffffffffu);
        mhi = pci_cfg_read32(ecam, sid, (uint16_t)(off + 4));
        pci_cfg_write32(ecam, sid, (uint16_t)(off + 4), hi);
    }
    pci_cfg_write16(ecam, sid, PCI_COMMAND, cmd);
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT; /* vanished while sizing: the masks are meaningless */
    }

    out->prefetchable = false;
    out->base = 0;
    out->size = 0;
    if (slots) {
        *slots = is64 ? 2 : 1;
    }
    if (lo & PCI_BAR_SPACE_IO) {
        uint32_t mask = mlo & PCI_BAR_IO_MASK;
        out->kind = PCI_BAR_IO;
        out->base = lo & PCI_BAR_IO_MASK;
        if (mask == 0) {
            out->kind = PCI_BAR_NONE;
            return PCI_OK;
        }
        if ((mask & 0xffff0000u) == 0) {
            mask |= 0xffff0000u; /* 16-bit I/O decoder: upper half hardwired to 0 */
        }
        uint64_t size = (uint32_t)(~mask + 1u);
        if (!pow2(size)) {
            return PCI_ERR_MALFORMED;
        }
        out->size = size;
        return PCI_OK;
    }
    uint64_t mask = ((uint64_t)(is64 ? mhi : 0xffffffffu) << 32) | (mlo & PCI_BAR_MEM_MASK);
    out->kind = is64 ? PCI_BAR_MEM64 : PCI_BAR_MEM32;
    out->prefetchable = lo & PCI_BAR_MEM_PREFETCH;
    out->base = ((uint64_t)hi << 32) | (lo & PCI_BAR_MEM_MASK);
    if ((mlo & PCI_BAR_MEM_MASK) == 0 && (!is64 || mhi == 0)) {
        out->kind = PCI_BAR_NONE; /* not implemented */
        out->base = 0;
        return PCI_OK;
    }
    uint64_t size = ~mask + 1u;
    if (!pow2(size)) {
        return PCI_ERR_MALFORMED;
    }
    out->size = size;
    return PCI_OK;
}
