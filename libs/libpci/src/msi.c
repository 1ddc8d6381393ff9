/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MSI and MSI-X programming (PCIe 7.7.1, 7.7.2). The hotplug server needs MSI-X on the root
 * ports' slot interrupts, drivers need MSI. Capability layouts are size-checked against config
 * space and MSI-X tables against their BAR before any entry is written.
 */
#include <pci/pci.h>

static uint16_t msi_size(bool is64, bool maskable)
{
    uint16_t size = is64 ? PCI_MSI_DATA_64 + 2 : PCI_MSI_DATA_32 + 2;
    if (maskable) {
        size = (uint16_t)((is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32) + 4);
    }
    return size;
}

int pci_msi_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_msi *out)
{
    uint16_t off;
    int err = pci_cap_find(ecam, sid, PCI_CAP_ID_MSI, &off);
    if (err != PCI_OK) {
        return err;
    }
    uint16_t ctl = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_MSI_FLAGS));
    unsigned mmc = (ctl & PCI_MSI_FLAGS_QMASK) >> 1;
    bool is64 = ctl & PCI_MSI_FLAGS_64BIT, maskable = ctl & PCI_MSI_FLAGS_MASKBIT;
    if (mmc > 5 || off + msi_size(is64, maskable) > PCI_CFG_SPACE_SIZE) {
        return PCI_ERR_MALFORMED;
    }
    out->off = off;
    out->is64 = is64;
    out->maskable = maskable;
    out->max_vectors = (uint8_t)(1u << mmc);
    return PCI_OK;
}

int pci_msi_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_msi *msi,
                   uint64_t addr, uint16_t data, unsigned vectors)
{
    if (msi == NULL || vectors == 0 || vectors > msi->max_vectors ||
        (vectors & (vectors - 1)) != 0 || (addr & 3) != 0 || (!msi->is64 && (addr >> 32) != 0)) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    unsigned mme = 0;
    while ((1u << mme) < vectors) {
        mme++;
    }
    uint16_t ctl_off = (uint16_t)(msi->off + PCI_MSI_FLAGS);
    uint16_t ctl = pci_cfg_read16(ecam, sid, ctl_off);
    /* Program with MSI disabled so the device never signals a half-written message. */
    pci_cfg_write16(ecam, sid, ctl_off, (uint16_t)(ctl & ~PCI_MSI_FLAGS_ENABLE));
    pci_cfg_write32(ecam, sid, (uint16_t)(msi->off + PCI_MSI_ADDRESS_LO), (uint32_t)addr);
    if (msi->is64) {
        pci_cfg_write32(ecam, sid, (uint16_t)(msi->off + PCI_MSI_ADDRESS_HI),
                        (uint32_t)(addr >> 32));
        pci_cfg_write16(ecam, sid, (uint16_t)(msi->off + PCI_MSI_DATA_64), data);
    } else {
        pci_cfg_write16(ecam, sid, (uint16_t)(msi->off + PCI_MSI_DATA_32), data);
    }
    if (msi->maskable) {
        uint16_t mask_off = (uint16_t)(msi->off + (msi->is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32));
        uint32_t mask = pci_cfg_read32(ecam, sid, mask_off);
        uint32_t used = vectors == 32 ? 0xffffffffu : (1u << vectors) - 1;
        pci_cfg_write32(ecam, sid, mask_off, mask & ~used);
    }
    pci_command_update(ecam, sid, 0, PCI_COMMAND_INTX_DISABLE);
    ctl = (uint16_t)((ctl & ~PCI_MSI_FLAGS_QSIZE) | (mme << PCI_MSI_FLAGS_QSIZE_SHIFT) |
                     PCI_MSI_FLAGS_ENABLE);
    pci_cfg_write16(ecam, sid, ctl_off, ctl);
    return PCI_OK;
}

int pci_msi_disable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_msi *msi)
{
    if (msi == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    uint16_t ctl_off = (uint16_t)(msi->off + PCI_MSI_FLAGS);
    uint16_t ctl = pci_cfg_read16(ecam, sid, ctl_off);
    pci_cfg_write16(ecam, sid, ctl_off, (uint16_t)(ctl & ~PCI_MSI_FLAGS_ENABLE));
    return PCI_OK;
}

int pci_msi_mask(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_msi *msi,
                 unsigned vector, bool masked)
{
    if (msi == NULL || vector >= msi->max_vectors) {
        return PCI_ERR_INVALID;
    }
    if (!msi->maskable) {
        return PCI_ERR_NOT_FOUND;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    uint16_t mask_off = (uint16_t)(msi->off + (msi->is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32));
    uint32_t mask = pci_cfg_read32(ecam, sid, mask_off);
    mask = masked ? (mask | (1u << vector)) : (mask & ~(1u << vector));
    pci_cfg_write32(ecam, sid, mask_off, mask);
    return PCI_OK;
}

int pci_msix_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_msix *out)
{
    uint16_t off;
    int err = pci_cap_find(ecam, sid, PCI_CAP_ID_MSIX, &off);
    if (err != PCI_OK) {
        return err;
    }
    if (off + 12 > PCI_CFG_SPACE_SIZE) {
        return PCI_ERR_MALFORMED;
    }
    uint16_t ctl = pci_cfg_read16(ecam, sid, (uint16_t)(off + PCI_MSIX_FLAGS));
    uint32_t table = pci_cfg_read32(ecam, sid, (uint16_t)(off + PCI_MSIX_TABLE));
    uint32_t pba = pci_cfg_read32(ecam, sid, (uint16_t)(off + PCI_MSIX_PBA));
    out->off = off;
    out->table_size = (uint16_t)((ctl & PCI_MSIX_FLAGS_QSIZE) + 1);
    out->table_bir = table & PCI_MSIX_BIR_MASK;
    out->table_offset = table & PCI_MSIX_OFFSET_MASK;
    out->pba_bir = pba & PCI_MSIX_BIR_MASK;
    out->pba_offset = pba & PCI_MSIX_OFFSET_MASK;
    if (out->table_bir > 5 || out->pba_bir > 5) {
        return PCI_ERR_MALFORMED; /* BIR 6, 7 are reserved */
    }
    return PCI_OK;
}

int pci_msix_check_bar(const struct pci_msix *msix, uint8_t bir, uint64_t bar_size)
{
    if (msix == NULL) {
        return PCI_ERR_INVALID;
    }
    if (msix->table_bir == bir &&
        (uint64_t)msix->table_offset + (uint64_t)msix->table_size * PCI_MSIX_ENTRY_SIZE >
            bar_size) {
        return PCI_ERR_MALFORMED;
    }
    uint64_t pba_bytes = ((uint64_t)msix->table_size + 63) / 64 * 8;
    if (msix->pba_bir == bir && (uint64_t)msix->pba_offset + pba_bytes > bar_size) {
        return PCI_ERR_MALFORMED;
    }
    return PCI_OK;
}

int pci_msix_set_entry(const struct pci_mmio *table, const struct pci_msix *msix, unsigned idx,
                       uint64_t addr, uint32_t data, bool masked)
{
    if (table == NULL || msix == NULL || idx >= msix->table_size || (addr & 3) != 0) {
        return PCI_ERR_INVALID;
    }
    uint64_t e = (uint64_t)msix->table_offset + (uint64_t)idx * PCI_MSIX_ENTRY_SIZE;
    uint32_t vctl = table->read(table->ctx, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4);
    /* Mask while the entry is inconsistent (7.7.2.5); reserved vector-control bits are kept. */
    table->write(table->ctx, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, vctl | PCI_MSIX_ENTRY_CTRL_MASKBIT);
    table->write(table->ctx, e + PCI_MSIX_ENTRY_LOWER_ADDR, 4, (uint32_t)addr);
    table->write(table->ctx, e + PCI_MSIX_ENTRY_UPPER_ADDR, 4, (uint32_t)(addr >> 32));
    table->write(table->ctx, e + PCI_MSIX_ENTRY_DATA, 4, data);
    if (!masked) {
        table->write(table->ctx, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
                     vctl & ~PCI_MSIX_ENTRY_CTRL_MASKBIT);
    }
    return PCI_OK;
}

int pci_msix_mask_entry(const struct pci_mmio *table, const struct pci_msix *msix, unsigned idx,
                        bool masked)
{
    if (table == NULL || msix == NULL || idx >= msix->table_size) {
        return PCI_ERR_INVALID;
    }
    uint64_t e = (uint64_t)msix->table_offset + (uint64_t)idx * PCI_MSIX_ENTRY_SIZE +
                 PCI_MSIX_ENTRY_VECTOR_CTRL;
    uint32_t vctl = table->read(table->ctx, e, 4);
    vctl = masked ? (vctl | PCI_MSIX_ENTRY_CTRL_MASKBIT) : (vctl & ~PCI_MSIX_ENTRY_CTRL_MASKBIT);
    table->write(table->ctx, e, 4, vctl);
    return PCI_OK;
}

int pci_msix_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_msix *msix,
                    bool on)
{
    if (msix == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, sid)) {
        return PCI_ERR_ABSENT;
    }
    uint16_t ctl_off = (uint16_t)(msix->off + PCI_MSIX_FLAGS);
    uint16_t ctl = pci_cfg_read16(ecam, sid, ctl_off);
    if (on) {
        pci_command_update(ecam, sid, 0, PCI_COMMAND_INTX_DISABLE);
        ctl = (uint16_t)((ctl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
    } else {
        ctl = (uint16_t)(ctl & ~PCI_MSIX_FLAGS_ENABLE);
    }
    pci_cfg_write16(ecam, sid, ctl_off, ctl);
    return PCI_OK;
}
