/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bus enumeration through bridges with the bus numbers firmware assigned. The topology comes
 * from config space, so it is checked like any other input: every bus is scanned at most once,
 * a bridge's secondary range must lie strictly below it and inside its parent's range, and the
 * work list is bounded by the number of buses. Hot-added bridges get their numbers from the
 * hotplug server through pci_bridge_set_buses. The root port above a function (the IOMMU
 * server's ATS decision) is found by one scan of the root bus.
 */
#include <pci/pci.h>

struct enum_item {
    uint8_t bus, lo, hi, depth;
    pci_sid_t parent;
};

static bool bit_test(const uint32_t *bm, unsigned i)
{
    return bm[i / 32] & (1u << (i % 32));
}
static void bit_set(uint32_t *bm, unsigned i)
{
    bm[i / 32] |= 1u << (i % 32);
}

int pci_enumerate(const struct pci_ecam *ecam, struct pci_func *out, size_t cap, size_t *count,
                  unsigned *loops)
{
    struct enum_item stack[256];
    uint32_t queued[256 / 32] = {0};
    size_t sp = 0, found = 0;
    unsigned nloops = 0;

    if (ecam == NULL || count == NULL || (out == NULL && cap != 0)) {
        return PCI_ERR_INVALID;
    }
    stack[sp++] = (struct enum_item){ecam->bus_start, ecam->bus_start, ecam->bus_end, 0, 0xffffu};
    bit_set(queued, ecam->bus_start);

    while (sp > 0) {
        struct enum_item it = stack[--sp];
        for (unsigned dev = 0; dev < 32; dev++) {
            for (unsigned fn = 0; fn < 8; fn++) {
                pci_sid_t sid = PCI_SID(it.bus, dev, fn);
                if (!pci_present(ecam, sid)) {
                    if (fn == 0) {
                        break;
                    }
                    continue;
                }
                uint8_t hdr = pci_cfg_read8(ecam, sid, PCI_HEADER_TYPE);
                struct pci_func f = {
                    .sid = sid,
                    .parent = it.parent == 0xffffu ? sid : it.parent,
                    .vendor = pci_cfg_read16(ecam, sid, PCI_VENDOR_ID),
                    .device = pci_cfg_read16(ecam, sid, PCI_DEVICE_ID),
                    .class_rev = pci_cfg_read32(ecam, sid, PCI_REVISION_ID),
                    .header_type = hdr & PCI_HEADER_TYPE_MASK,
                    .depth = it.depth,
                };
                if (f.header_type == PCI_HEADER_TYPE_BRIDGE) {
                    f.secondary = pci_cfg_read8(ecam, sid, PCI_SECONDARY_BUS);
                    f.subordinate = pci_cfg_read8(ecam, sid, PCI_SUBORDINATE_BUS);
                    bool ok = f.secondary > it.bus && f.secondary >= it.lo &&
                              f.subordinate >= f.secondary && f.subordinate <= it.hi &&
                              f.secondary <= ecam->bus_end;
                    if (ok && bit_test(queued, f.secondary)) {
                        nloops++; /* two bridges claim one bus: scan it once */
                        ok = false;
                    }
                    if (ok && sp < 256) {
                        bit_set(queued, f.secondary);
                        stack[sp++] = (struct enum_item){f.secondary, f.secondary, f.subordinate,
                                                         (uint8_t)(it.depth + 1), sid};
                    } else {
                        f.unassigned = true;
                    }
                }
                if (found < cap) {
                    out[found] = f;
                }
                found++;
                if (fn == 0 && !(hdr & PCI_HEADER_TYPE_MULTIFN)) {
                    break;
                }
            }
        }
    }
    *count = found;
    if (loops) {
        *loops = nloops;
    }
    return found > cap ? PCI_ERR_NOSPACE : PCI_OK;
}

int pci_root_port_find(const struct pci_ecam *ecam, pci_sid_t sid, pci_sid_t *port)
{
    if (ecam == NULL || port == NULL || PCI_SID_BUS(sid) < ecam->bus_start ||
        PCI_SID_BUS(sid) > ecam->bus_end) {
        return PCI_ERR_INVALID;
    }
    const unsigned root = ecam->bus_start, bus = PCI_SID_BUS(sid);
    if (bus == root) {
        return PCI_ERR_NOT_FOUND;
    }
    bool found = false;
    pci_sid_t hit = 0;
    for (unsigned dev = 0; dev < 32; dev++) {
        for (unsigned fn = 0; fn < 8; fn++) {
            pci_sid_t p = PCI_SID(root, dev, fn);
            if (!pci_present(ecam, p)) {
                if (fn == 0) {
                    break;
                }
                continue;
            }
            uint8_t hdr = pci_cfg_read8(ecam, p, PCI_HEADER_TYPE);
            struct pci_pcie pcie;
            if ((hdr & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE &&
                pci_pcie_probe(ecam, p, &pcie) == PCI_OK &&
                pcie.port_type == PCI_EXP_TYPE_ROOT_PORT) {
                unsigned sec = pci_cfg_read8(ecam, p, PCI_SECONDARY_BUS);
                unsigned sub = pci_cfg_read8(ecam, p, PCI_SUBORDINATE_BUS);
                /* An unassigned port (secondary 0 or not below the root bus) claims nothing. */
                if (sec > root && sec <= bus && bus <= sub) {
                    if (found) {
                        return PCI_ERR_MALFORMED;
                    }
                    found = true;
                    hit = p;
                }
            }
            if (fn == 0 && !(hdr & PCI_HEADER_TYPE_MULTIFN)) {
                break;
            }
        }
    }
    if (!found) {
        return PCI_ERR_NOT_FOUND;
    }
    *port = hit;
    return PCI_OK;
}

int pci_bridge_set_buses(const struct pci_ecam *ecam, pci_sid_t bridge, uint8_t secondary,
                         uint8_t subordinate)
{
    if (ecam == NULL) {
        return PCI_ERR_INVALID;
    }
    if (!pci_present(ecam, bridge)) {
        return PCI_ERR_ABSENT;
    }
    if ((pci_cfg_read8(ecam, bridge, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK) !=
        PCI_HEADER_TYPE_BRIDGE) {
        return PCI_ERR_INVALID;
    }
    uint8_t bus = PCI_SID_BUS(bridge);
    if (secondary <= bus || subordinate < secondary || subordinate > ecam->bus_end) {
        return PCI_ERR_INVALID;
    }
    uint32_t v = pci_cfg_read32(ecam, bridge, PCI_PRIMARY_BUS);
    v = (v & 0xff000000u) | ((uint32_t)subordinate << 16) | ((uint32_t)secondary << 8) | bus;
    pci_cfg_write32(ecam, bridge, PCI_PRIMARY_BUS, v);
    return PCI_OK;
}
