/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpci against the config space QEMU q35 presents (captured images of the host bridge, three
 * pcie-root-ports with hotplug slots, virtio-rng with ATS, edu), made mutable by the fake ECAM,
 * and against corrupted variants: capability lists that loop, point into the header or out of
 * range, capabilities that do not fit, BAR masks with holes, devices that vanish mid-operation,
 * slots that never complete a command.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"

#define SID_HOST PCI_SID(0, 0, 0)
#define SID_RP1 PCI_SID(0, 1, 0) /* slot 1: virtio-rng behind it */
#define SID_RP2 PCI_SID(0, 2, 0) /* slot 2: edu */
#define SID_RP7 PCI_SID(0, 3, 0) /* slot 7: empty */
#define SID_VIRTIO PCI_SID(1, 0, 0)
#define SID_EDU PCI_SID(2, 0, 0)

static struct fake_ecam F;
static struct capture C;

static void setup(const char *variant)
{
    capture_load(&C, variant);
    fake_ecam_init(&F, 0, 255);
    fake_ecam_add_capture(&F, &C);
    capture_free(&C);
}

/* ---- source-id ---- */

static void test_sid_packs_formats_and_parses_bdf(void)
{
    char buf[PCI_SID_FMT_LEN];
    pci_sid_t s = PCI_SID(0x12, 0x1f, 7);
    CHECK_EQ(s, 0x12ff);
    CHECK_EQ(PCI_SID_BUS(s), 0x12);
    CHECK_EQ(PCI_SID_DEV(s), 0x1f);
    CHECK_EQ(PCI_SID_FN(s), 7);
    CHECK_EQ(PCI_SID_DEVFN(s), 0xff);
    CHECK_EQ(PCI_SID(1, 32, 8), PCI_SID(1, 0, 0)); /* out-of-range parts never spill over */
    CHECK(strcmp(pci_sid_format(s, buf, sizeof(buf)), "12:1f.7") == 0);
    CHECK(strcmp(pci_sid_format(SID_VIRTIO, buf, sizeof(buf)), "01:00.0") == 0);
    char small[4];
    CHECK(strcmp(pci_sid_format(s, small, sizeof(small)), "12:") == 0);
    struct pci_bdf b = pci_sid_to_bdf(s);
    CHECK_EQ(b.bus, 0x12);
    CHECK_EQ(pci_bdf_to_sid(b), s);
    pci_sid_t p = 0;
    CHECK_EQ(pci_sid_parse("02:00.0", &p), 0);
    CHECK_EQ(p, SID_EDU);
    CHECK_EQ(pci_sid_parse("FF:1F.7", &p), 0);
    CHECK_EQ(p, 0xffff);
    p = 0x55;
    CHECK_EQ(pci_sid_parse("00:20.0", &p), -1);
    CHECK_EQ(pci_sid_parse("00:00.8", &p), -1);
    CHECK_EQ(pci_sid_parse("00:00.0x", &p), -1);
    CHECK_EQ(pci_sid_parse("0:00.0", &p), -1);
    CHECK_EQ(pci_sid_parse("", &p), -1);
    CHECK_EQ(p, 0x55);
}

/* ---- ECAM access ---- */

static void test_ecam_reads_all_ones_outside_window_absent_or_misaligned(void)
{
    static struct fake_ecam w;
    struct capture c;
    capture_load(&c, "q35-iommu");
    fake_ecam_init(&w, 0, 3);
    fake_ecam_add_capture(&w, &c);
    capture_free(&c);
    CHECK_EQ(pci_cfg_read16(&w.ecam, SID_EDU, PCI_VENDOR_ID), 0x1234);
    CHECK_EQ(pci_cfg_read16(&w.ecam, SID_EDU, PCI_DEVICE_ID), 0x11e8);
    CHECK_EQ(pci_cfg_read32(&w.ecam, SID_EDU, PCI_VENDOR_ID), 0x11e81234);
    CHECK_EQ(pci_cfg_read8(&w.ecam, SID_EDU, PCI_VENDOR_ID + 1), 0x12);
    unsigned reads = w.reads;
    CHECK_EQ(pci_cfg_read32(&w.ecam, PCI_SID(4, 0, 0), 0), 0xffffffffu); /* beyond bus_end */
    CHECK_EQ(pci_cfg_read16(&w.ecam, SID_EDU, 0x1000), 0xffff);          /* beyond 4 KiB */
    CHECK_EQ(pci_cfg_read32(&w.ecam, SID_EDU, 0x2), 0xffffffffu);        /* misaligned */
    CHECK_EQ(pci_cfg_read16(&w.ecam, SID_EDU, 0x1), 0xffff);
    CHECK_EQ(w.reads, reads); /* none of these reached the window */
    CHECK_EQ(pci_cfg_read16(&w.ecam, PCI_SID(0, 5, 0), PCI_VENDOR_ID), 0xffff); /* absent */
    CHECK(!pci_present(&w.ecam, PCI_SID(0, 5, 0)));
    CHECK(pci_present(&w.ecam, SID_HOST));
    unsigned writes = w.writes;
    pci_cfg_write32(&w.ecam, PCI_SID(9, 0, 0), 0, 0);
    pci_cfg_write16(&w.ecam, SID_EDU, 0x3, 0);
    CHECK_EQ(w.writes, writes);
    struct pci_ecam bad;
    CHECK_EQ(pci_ecam_init(&bad, &w.mmio, 0, 5, 4), PCI_ERR_INVALID);
    /* A window starting at bus 2 puts bus 2 at offset 0. */
    struct pci_ecam e2;
    CHECK_EQ(pci_ecam_init(&e2, &w.mmio, 0, 2, 3), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&e2, PCI_SID(2, 0, 0), PCI_VENDOR_ID), 0x8086); /* = window offset 0 */
    CHECK_EQ(pci_cfg_read16(&e2, PCI_SID(0, 0, 0), PCI_VENDOR_ID), 0xffff);
}

static void test_direct_mmio_accessor_bounds_checks(void)
{
    static uint32_t window[2 << 18]; /* 2 buses = 2 MiB */
    struct pci_mmio m;
    struct pci_mmio_direct d;
    struct pci_ecam e;
    pci_mmio_direct_init(&m, &d, window, sizeof(window));
    CHECK_EQ(pci_ecam_init(&e, &m, 0, 0, 1), PCI_OK);
    window[(1u << 18) + (8u << 10)] = 0xabcd1234; /* 01:01.0 offset 0 */
    CHECK_EQ(pci_cfg_read32(&e, PCI_SID(1, 1, 0), 0), 0xabcd1234);
    pci_cfg_write16(&e, PCI_SID(1, 1, 0), 2, 0x5678);
    CHECK_EQ(window[(1u << 18) + (8u << 10)], 0x56781234);
    CHECK_EQ(m.read(m.ctx, sizeof(window), 4), 0xffffffffu);
    CHECK_EQ(m.read(m.ctx, sizeof(window) - 2, 4), 0xffffffffu);
}

static void test_command_register_bus_master_and_memory_space(void)
{
    setup("q35-iommu");
    uint16_t before = pci_cfg_read16(&F.ecam, SID_EDU, PCI_COMMAND);
    CHECK_EQ(pci_set_bus_master(&F.ecam, SID_EDU, true), PCI_OK);
    CHECK(pci_cfg_read16(&F.ecam, SID_EDU, PCI_COMMAND) & PCI_COMMAND_BUS_MASTER);
    CHECK_EQ(pci_set_memory_space(&F.ecam, SID_EDU, false), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_EDU, PCI_COMMAND) & PCI_COMMAND_MEMORY, 0);
    CHECK_EQ(pci_set_bus_master(&F.ecam, SID_EDU, false), PCI_OK);
    CHECK_EQ(pci_set_memory_space(&F.ecam, SID_EDU, true), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_EDU, PCI_COMMAND), before | PCI_COMMAND_MEMORY);
    CHECK_EQ(pci_set_bus_master(&F.ecam, PCI_SID(7, 0, 0), true), PCI_ERR_ABSENT);
}

/* ---- enumeration ---- */

static void test_enumeration_finds_qemu_topology_through_root_ports(void)
{
    struct pci_func fns[16];
    size_t n = 0;
    unsigned loops = 99;
    setup("q35-iommu-iotlb");
    CHECK_EQ(pci_enumerate(&F.ecam, fns, 16, &n, &loops), PCI_OK);
    CHECK_EQ(n, 9);
    CHECK_EQ(loops, 0);
    bool virtio = false, edu = false, rp7 = false;
    for (size_t i = 0; i < n; i++) {
        if (fns[i].sid == SID_VIRTIO) {
            virtio = true;
            CHECK_EQ(fns[i].vendor, 0x1af4);
            CHECK_EQ(fns[i].device, 0x1044); /* modern virtio-rng */
            CHECK_EQ(fns[i].parent, SID_RP1);
            CHECK_EQ(fns[i].depth, 1);
        } else if (fns[i].sid == SID_EDU) {
            edu = true;
            CHECK_EQ(fns[i].vendor, 0x1234);
            CHECK_EQ(fns[i].device, 0x11e8);
            CHECK_EQ(fns[i].parent, SID_RP2);
            CHECK_EQ(fns[i].class_rev >> 8, 0x00ff00);
        } else if (fns[i].sid == SID_RP7) {
            rp7 = true;
            CHECK_EQ(fns[i].header_type, PCI_HEADER_TYPE_BRIDGE);
            CHECK_EQ(fns[i].secondary, 3);
            CHECK_EQ(fns[i].subordinate, 3);
            CHECK(!fns[i].unassigned);
            CHECK_EQ(fns[i].class_rev >> 8, 0x060400); /* PCI-to-PCI bridge */
        } else if (fns[i].sid == PCI_SID(0, 0x1f, 2)) {
            CHECK_EQ(fns[i].parent, fns[i].sid); /* on the first bus */
        }
    }
    CHECK(virtio && edu && rp7);
    /* Too small an array: what fits is written, the total is reported. */
    CHECK_EQ(pci_enumerate(&F.ecam, fns, 3, &n, NULL), PCI_ERR_NOSPACE);
    CHECK_EQ(n, 9);
}

static void test_enumeration_survives_bridges_claiming_same_or_lower_bus(void)
{
    struct pci_func fns[16];
    size_t n = 0;
    unsigned loops = 0;
    setup("q35-iommu-iotlb");
    /* rp2 claims bus 1 too (it would scan virtio twice), rp7 claims bus 0 (itself). */
    struct fake_fn *rp2 = fake_ecam_fn(&F, SID_RP2), *rp7 = fake_ecam_fn(&F, SID_RP7);
    fake_fn_set(rp2, PCI_SECONDARY_BUS, 1, 1);
    fake_fn_set(rp2, PCI_SUBORDINATE_BUS, 1, 1);
    fake_fn_set(rp7, PCI_SECONDARY_BUS, 1, 0);
    CHECK_EQ(pci_enumerate(&F.ecam, fns, 16, &n, &loops), PCI_OK);
    CHECK_EQ(n, 8); /* edu's bus is no longer reachable, virtio is listed once */
    CHECK_EQ(loops, 1);
    unsigned virtio = 0, unassigned = 0;
    for (size_t i = 0; i < n; i++) {
        virtio += fns[i].sid == SID_VIRTIO;
        unassigned += fns[i].unassigned;
    }
    CHECK_EQ(virtio, 1);
    CHECK_EQ(unassigned, 2);
}

static void test_root_port_above_a_device_is_found_on_the_root_bus(void)
{
    pci_sid_t port = 0xabcd;
    setup("q35-iommu-iotlb");
    CHECK_EQ(pci_root_port_find(&F.ecam, SID_VIRTIO, &port), PCI_OK);
    CHECK_EQ(port, SID_RP1);
    CHECK_EQ(pci_root_port_find(&F.ecam, SID_EDU, &port), PCI_OK);
    CHECK_EQ(port, SID_RP2);
    /* A device hot-added later behind rp7 (bus 3): the port is known before the device is. */
    CHECK_EQ(pci_root_port_find(&F.ecam, PCI_SID(3, 0, 0), &port), PCI_OK);
    CHECK_EQ(port, SID_RP7);
    port = 0xabcd;
    /* On the root bus (the SATA controller): integrated, no port above it. */
    CHECK_EQ(pci_root_port_find(&F.ecam, PCI_SID(0, 0x1f, 2), &port), PCI_ERR_NOT_FOUND);
    /* A bus no port claims. */
    CHECK_EQ(pci_root_port_find(&F.ecam, PCI_SID(9, 0, 0), &port), PCI_ERR_NOT_FOUND);
    CHECK_EQ(port, 0xabcd);
    CHECK_EQ(pci_root_port_find(&F.ecam, SID_VIRTIO, NULL), PCI_ERR_INVALID);
    /* rp2 claims bus 1 as well: contradictory bus numbers name no port. */
    struct fake_fn *rp2 = fake_ecam_fn(&F, SID_RP2);
    fake_fn_set(rp2, PCI_SECONDARY_BUS, 1, 1);
    CHECK_EQ(pci_root_port_find(&F.ecam, SID_VIRTIO, &port), PCI_ERR_MALFORMED);
    CHECK_EQ(port, 0xabcd);
    /* An unassigned port (secondary 0) claims nothing, not even the root bus. */
    fake_fn_set(rp2, PCI_SECONDARY_BUS, 1, 0);
    fake_fn_set(rp2, PCI_SUBORDINATE_BUS, 1, 2);
    CHECK_EQ(pci_root_port_find(&F.ecam, SID_VIRTIO, &port), PCI_OK);
    CHECK_EQ(port, SID_RP1);
    CHECK_EQ(pci_root_port_find(&F.ecam, SID_EDU, &port), PCI_ERR_NOT_FOUND);
}

static void test_bridge_bus_assignment_is_validated(void)
{
    setup("q35-iommu");
    CHECK_EQ(pci_bridge_set_buses(&F.ecam, SID_RP7, 5, 6), PCI_OK);
    CHECK_EQ(pci_cfg_read8(&F.ecam, SID_RP7, PCI_PRIMARY_BUS), 0);
    CHECK_EQ(pci_cfg_read8(&F.ecam, SID_RP7, PCI_SECONDARY_BUS), 5);
    CHECK_EQ(pci_cfg_read8(&F.ecam, SID_RP7, PCI_SUBORDINATE_BUS), 6);
    CHECK_EQ(pci_bridge_set_buses(&F.ecam, SID_RP7, 0, 6), PCI_ERR_INVALID); /* not below it */
    CHECK_EQ(pci_bridge_set_buses(&F.ecam, SID_RP7, 6, 5), PCI_ERR_INVALID); /* empty range */
    CHECK_EQ(pci_bridge_set_buses(&F.ecam, SID_EDU, 5, 6), PCI_ERR_INVALID); /* not a bridge */
    CHECK_EQ(pci_bridge_set_buses(&F.ecam, PCI_SID(0, 9, 0), 5, 6), PCI_ERR_ABSENT);
    CHECK_EQ(pci_cfg_read8(&F.ecam, SID_RP7, PCI_SECONDARY_BUS), 5);
}

/* ---- capability walks ---- */

static unsigned count_caps(pci_sid_t sid, bool ext, int *end)
{
    struct pci_cap_iter it;
    uint16_t off, id;
    unsigned n = 0;
    pci_cap_iter_init(&it, &F.ecam, sid, ext);
    while ((*end = pci_cap_iter_next(&it, &off, &id, NULL)) == PCI_OK) {
        n++;
    }
    return n;
}

static void test_capability_walk_of_captured_devices(void)
{
    int end;
    uint16_t off = 0;
    setup("q35-iommu-iotlb");
    /* virtio: MSI-X, five vendor caps, PM, PCIe. */
    CHECK_EQ(count_caps(SID_VIRTIO, false, &end), 8);
    CHECK_EQ(end, PCI_ERR_NOT_FOUND);
    CHECK_EQ(pci_cap_find(&F.ecam, SID_VIRTIO, PCI_CAP_ID_EXP, &off), PCI_OK);
    CHECK_EQ(off, 0x40);
    CHECK_EQ(pci_cap_find(&F.ecam, SID_VIRTIO, PCI_CAP_ID_MSI, &off), PCI_ERR_NOT_FOUND);
    /* The ATS extended capability sits at 0x100 and is the only one. */
    CHECK_EQ(pci_ext_cap_find(&F.ecam, SID_VIRTIO, PCI_EXT_CAP_ID_ATS, &off), PCI_OK);
    CHECK_EQ(off, 0x100);
    CHECK_EQ(count_caps(SID_VIRTIO, true, &end), 1);
    CHECK_EQ(end, PCI_ERR_NOT_FOUND);
    /* edu is conventional PCI: one MSI capability, no extended space. */
    CHECK_EQ(count_caps(SID_EDU, false, &end), 1);
    CHECK_EQ(count_caps(SID_EDU, true, &end), 0);
    CHECK_EQ(end, PCI_ERR_NOT_FOUND);
    /* The host bridge has no capability list at all. */
    CHECK_EQ(count_caps(SID_HOST, false, &end), 0);
    CHECK_EQ(end, PCI_ERR_NOT_FOUND);
    CHECK_EQ(count_caps(PCI_SID(5, 0, 0), false, &end), 0);
    CHECK_EQ(end, PCI_ERR_ABSENT);
}

static void test_capability_list_that_loops_is_detected(void)
{
    int end;
    uint16_t off;
    setup("q35-iommu-iotlb");
    struct fake_fn *v = fake_ecam_fn(&F, SID_VIRTIO);
    fake_fn_set(v, 0x40 + 1, 1, 0xdc); /* last cap (PCIe at 0x40) points back to the first */
    CHECK_EQ(count_caps(SID_VIRTIO, false, &end), 8);
    CHECK_EQ(end, PCI_ERR_LOOP);
    CHECK_EQ(pci_cap_find(&F.ecam, SID_VIRTIO, PCI_CAP_ID_MSI, &off), PCI_ERR_LOOP);
    /* A capability found before the defect is still usable. */
    CHECK_EQ(pci_cap_find(&F.ecam, SID_VIRTIO, PCI_CAP_ID_EXP, &off), PCI_OK);
    fake_fn_set(v, 0xdc + 1, 1, 0xdc); /* self loop */
    CHECK_EQ(count_caps(SID_VIRTIO, false, &end), 1);
    CHECK_EQ(end, PCI_ERR_LOOP);
}

static void test_capability_pointer_into_header_is_malformed_and_low_bits_masked(void)
{
    int end;
    uint16_t off;
    setup("q35-iommu-iotlb");
    struct fake_fn *e = fake_ecam_fn(&F, SID_EDU);
    fake_fn_set(e, PCI_CAPABILITY_LIST, 1, 0x10); /* into the BARs */
    CHECK_EQ(count_caps(SID_EDU, false, &end), 0);
    CHECK_EQ(end, PCI_ERR_MALFORMED);
    fake_fn_set(e, PCI_CAPABILITY_LIST, 1, 0x43); /* reserved low bits: masked to 0x40 */
    CHECK_EQ(pci_cap_find(&F.ecam, SID_EDU, PCI_CAP_ID_MSI, &off), PCI_OK);
    CHECK_EQ(off, 0x40);
    fake_fn_set(e, 0x41, 1, 0x3c); /* next into the header */
    CHECK_EQ(count_caps(SID_EDU, false, &end), 1);
    CHECK_EQ(end, PCI_ERR_MALFORMED);
}

static void test_longest_legal_capability_chain_is_walked_in_full(void)
{
    int end;
    setup("q35-iommu-iotlb");
    struct fake_fn *e = fake_ecam_fn(&F, SID_EDU);
    fake_fn_set(e, PCI_CAPABILITY_LIST, 1, 0x40);
    for (unsigned o = 0x40; o < 0x100; o += 4) {
        fake_fn_set(e, (uint16_t)o, 1, PCI_CAP_ID_VNDR);
        fake_fn_set(e, (uint16_t)(o + 1), 1, o + 4 < 0x100 ? o + 4 : 0);
    }
    CHECK_EQ(count_caps(SID_EDU, false, &end), 48);
    CHECK_EQ(end, PCI_ERR_NOT_FOUND);
}

static void test_extended_capability_bad_offsets_and_loops(void)
{
    int end;
    uint16_t off;
    setup("q35-iommu-iotlb");
    struct fake_fn *v = fake_ecam_fn(&F, SID_VIRTIO);
    uint32_t ats = fake_fn_get(v, 0x100, 4);
    fake_fn_set(v, 0x100, 4, ats | (0x100u << 20)); /* next = itself */
    CHECK_EQ(count_caps(SID_VIRTIO, true, &end), 1);
    CHECK_EQ(end, PCI_ERR_LOOP);
    fake_fn_set(v, 0x100, 4, ats | (0x0c0u << 20)); /* next into standard space */
    CHECK_EQ(count_caps(SID_VIRTIO, true, &end), 1);
    CHECK_EQ(end, PCI_ERR_MALFORMED);
    /* A chain 0x100 -> 0x200 -> 0x300 -> 0x200 loops; 0x202 is masked to 0x200. */
    fake_fn_set(v, 0x100, 4, ats | (0x202u << 20));
    fake_fn_set(v, 0x200, 4, 0x0001001bu | (0x300u << 20));
    fake_fn_set(v, 0x300, 4, 0x00010013u | (0x200u << 20));
    CHECK_EQ(count_caps(SID_VIRTIO, true, &end), 3);
    CHECK_EQ(end, PCI_ERR_LOOP);
    CHECK_EQ(pci_ext_cap_find(&F.ecam, SID_VIRTIO, PCI_EXT_CAP_ID_PRI, &off), PCI_OK);
    CHECK_EQ(off, 0x300);
    /* An extended capability whose structure would run past 4 KiB. */
    fake_fn_set(v, 0x100, 4, 0x0001001bu | (0xffcu << 20));
    fake_fn_set(v, 0xffc, 4, PCI_EXT_CAP_ID_ATS | 0x00010000u);
    struct pci_ats a;
    CHECK_EQ(pci_ats_probe(&F.ecam, SID_VIRTIO, &a), PCI_ERR_MALFORMED);
}

/* ---- PCIe capability, slots, link ---- */

static void test_root_port_slot_capabilities_have_button_power_and_hotplug(void)
{
    struct pci_pcie p;
    struct pci_slot_caps s;
    setup("q35-iommu-iotlb");
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_RP7, &p), PCI_OK);
    CHECK_EQ(p.off, 0x54);
    CHECK_EQ(p.version, 2);
    CHECK_EQ(p.port_type, PCI_EXP_TYPE_ROOT_PORT);
    CHECK(p.slot);
    CHECK(p.lnkcap & PCI_EXP_LNKCAP_DLLLARC);
    pci_slot_caps_decode(p.sltcap, &s);
    CHECK(s.abp && s.pcp && s.hpc && s.hps && s.aip && s.pip);
    CHECK(!s.mrlsp); /* QEMU has no MRL sensor */
    CHECK(!s.nccs);  /* command completion is reported */
    CHECK_EQ(s.psn, 7);
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_RP1, &p), PCI_OK);
    pci_slot_caps_decode(p.sltcap, &s);
    CHECK_EQ(s.psn, 1);
    /* Endpoints have no slot. */
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_VIRTIO, &p), PCI_OK);
    CHECK_EQ(p.port_type, PCI_EXP_TYPE_ENDPOINT);
    CHECK(!p.slot);
    uint16_t sta;
    CHECK_EQ(pci_slot_status(&F.ecam, SID_VIRTIO, &p, &sta), PCI_ERR_NOT_FOUND);
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_EDU, &p), PCI_ERR_NOT_FOUND); /* conventional PCI */
}

static void test_occupied_slot_shows_presence_power_and_link_active(void)
{
    struct pci_pcie p;
    uint16_t sta, ctl, lnk;
    setup("q35-iommu-iotlb");
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_RP1, &p), PCI_OK);
    CHECK_EQ(pci_slot_status(&F.ecam, SID_RP1, &p, &sta), PCI_OK);
    CHECK(sta & PCI_EXP_SLTSTA_PDS);
    CHECK_EQ(pci_slot_control(&F.ecam, SID_RP1, &p, &ctl), PCI_OK);
    CHECK_EQ(ctl & PCI_EXP_SLTCTL_PCC, 0); /* powered */
    CHECK_EQ((ctl & PCI_EXP_SLTCTL_PIC_MASK) >> PCI_EXP_SLTCTL_PIC_SHIFT, PCI_EXP_SLTCTL_IND_ON);
    CHECK_EQ(pci_link_status(&F.ecam, SID_RP1, &p, &lnk), PCI_OK);
    CHECK(lnk & PCI_EXP_LNKSTA_DLLLA);
    /* The empty slot: no presence, powered off, indicators off, link down. */
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_RP7, &p), PCI_OK);
    CHECK_EQ(pci_slot_status(&F.ecam, SID_RP7, &p, &sta), PCI_OK);
    CHECK_EQ(sta & PCI_EXP_SLTSTA_PDS, 0);
    CHECK_EQ(pci_slot_control(&F.ecam, SID_RP7, &p, &ctl), PCI_OK);
    CHECK(ctl & PCI_EXP_SLTCTL_PCC);
    CHECK_EQ(pci_link_status(&F.ecam, SID_RP7, &p, &lnk), PCI_OK);
    CHECK_EQ(lnk & PCI_EXP_LNKSTA_DLLLA, 0);
}

static void test_pcie_capability_that_does_not_fit_is_malformed(void)
{
    struct pci_pcie p;
    setup("q35-iommu-iotlb");
    struct fake_fn *v = fake_ecam_fn(&F, SID_VIRTIO);
    fake_fn_set(v, PCI_CAPABILITY_LIST, 1, 0xf0);
    fake_fn_set(v, 0xf0, 2, PCI_CAP_ID_EXP);
    fake_fn_set(v, 0xf2, 2, 0x0002);
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_VIRTIO, &p), PCI_ERR_MALFORMED);
    fake_fn_set(v, 0xf2, 2, 0x0000); /* version 0 */
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_VIRTIO, &p), PCI_ERR_MALFORMED);
}

/* Slot fake: a Slot Control write sets Command Completed (QEMU does this at once). */
static void slot_completes(struct fake_ecam *f, struct fake_fn *fn, uint16_t off, unsigned width,
                           uint32_t val)
{
    (void)f;
    (void)width;
    (void)val;
    if (off == 0x54 + PCI_EXP_SLTCTL) {
        uint16_t sta = (uint16_t)fake_fn_get(fn, 0x54 + PCI_EXP_SLTSTA, 2);
        fake_fn_set(fn, 0x54 + PCI_EXP_SLTSTA, 2, sta | PCI_EXP_SLTSTA_CC);
    }
}

static void open_slot_registers(struct fake_fn *rp)
{
    fake_fn_wmask(rp, 0x54 + PCI_EXP_SLTCTL, 2, 0x1fff);
    fake_fn_w1c(rp, 0x54 + PCI_EXP_SLTSTA, 2, PCI_EXP_SLTSTA_EVENTS);
}

static void test_slot_power_off_waits_for_command_completed_and_clears_it(void)
{
    struct pci_pcie p;
    uint16_t ctl, sta;
    setup("q35-iommu-iotlb");
    struct fake_fn *rp = fake_ecam_fn(&F, SID_RP1);
    open_slot_registers(rp);
    rp->on_write = slot_completes;
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_RP1, &p), PCI_OK);
    CHECK_EQ(pci_slot_set_power(&F.ecam, SID_RP1, &p, false, &F.clock, 1000000), PCI_OK);
    CHECK_EQ(pci_slot_control(&F.ecam, SID_RP1, &p, &ctl), PCI_OK);
    CHECK(ctl & PCI_EXP_SLTCTL_PCC);
    CHECK_EQ(pci_slot_status(&F.ecam, SID_RP1, &p, &sta), PCI_OK);
    CHECK_EQ(sta & PCI_EXP_SLTSTA_CC, 0);
    CHECK(sta & PCI_EXP_SLTSTA_PDS); /* RO bits untouched by the acknowledgement */
    CHECK_EQ(pci_slot_set_indicators(&F.ecam, SID_RP1, &p, PCI_EXP_SLTCTL_IND_OFF,
                                     PCI_EXP_SLTCTL_IND_BLINK, &F.clock, 1000000),
             PCI_OK);
    CHECK_EQ(pci_slot_control(&F.ecam, SID_RP1, &p, &ctl), PCI_OK);
    CHECK_EQ((ctl & PCI_EXP_SLTCTL_PIC_MASK) >> PCI_EXP_SLTCTL_PIC_SHIFT, PCI_EXP_SLTCTL_IND_OFF);
    CHECK_EQ((ctl & PCI_EXP_SLTCTL_AIC_MASK) >> PCI_EXP_SLTCTL_AIC_SHIFT, PCI_EXP_SLTCTL_IND_BLINK);
    CHECK(ctl & PCI_EXP_SLTCTL_PCC);
    CHECK_EQ(pci_slot_set_indicators(&F.ecam, SID_RP1, &p, 0, 1, &F.clock, 1000000),
             PCI_ERR_INVALID);
    /* Enabling event interrupts is not a command: no wait, no clock needed. */
    CHECK_EQ(pci_slot_update_control(&F.ecam, SID_RP1, &p, 0,
                                     PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_PDCE |
                                         PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_DLLSCE,
                                     NULL, 0),
             PCI_OK);
    CHECK_EQ(pci_slot_control(&F.ecam, SID_RP1, &p, &ctl), PCI_OK);
    CHECK(ctl & PCI_EXP_SLTCTL_HPIE);
    /* A command without a clock would have no deadline: refused. */
    CHECK_EQ(pci_slot_set_power(&F.ecam, SID_RP1, &p, true, NULL, 0), PCI_ERR_INVALID);
}

static void test_slot_command_that_never_completes_times_out_at_deadline(void)
{
    struct pci_pcie p;
    setup("q35-iommu-iotlb");
    struct fake_fn *rp = fake_ecam_fn(&F, SID_RP7);
    open_slot_registers(rp);
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_RP7, &p), PCI_OK);
    F.now_ns = 5000;
    CHECK_EQ(pci_slot_set_power(&F.ecam, SID_RP7, &p, true, &F.clock, 100000), PCI_ERR_TIMEOUT);
    CHECK(F.now_ns >= 5000 + 100000);
    CHECK(F.now_ns <= 5000 + 100000 + F.clock_step_ns);
    CHECK_EQ(F.relaxes, 100);
    /* The port itself vanishing mid-wait ends the wait too. */
    F.now_ns = 0;
    rp->present = false;
    CHECK_EQ(pci_slot_set_power(&F.ecam, SID_RP7, &p, false, &F.clock, 100000), PCI_ERR_ABSENT);
}

static void test_slot_ack_clears_only_the_given_events(void)
{
    struct pci_pcie p;
    uint16_t sta;
    setup("q35-iommu-iotlb");
    struct fake_fn *rp = fake_ecam_fn(&F, SID_RP1);
    open_slot_registers(rp);
    fake_fn_set(rp, 0x54 + PCI_EXP_SLTSTA, 2,
                PCI_EXP_SLTSTA_PDS | PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PDC |
                    PCI_EXP_SLTSTA_DLLSC);
    CHECK_EQ(pci_pcie_probe(&F.ecam, SID_RP1, &p), PCI_OK);
    CHECK_EQ(pci_slot_ack(&F.ecam, SID_RP1, &p, PCI_EXP_SLTSTA_PDC), PCI_OK);
    CHECK_EQ(pci_slot_status(&F.ecam, SID_RP1, &p, &sta), PCI_OK);
    CHECK_EQ(sta, PCI_EXP_SLTSTA_PDS | PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_DLLSC);
    CHECK_EQ(pci_slot_ack(&F.ecam, SID_RP1, &p, PCI_EXP_SLTSTA_PDS), PCI_ERR_INVALID);
    CHECK_EQ(pci_slot_ack(&F.ecam, SID_RP1, &p, PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_DLLSC), PCI_OK);
    CHECK_EQ(pci_slot_status(&F.ecam, SID_RP1, &p, &sta), PCI_OK);
    CHECK_EQ(sta, PCI_EXP_SLTSTA_PDS);
}

/* ---- ATS / PASID / PRI ---- */

static void test_virtio_ats_capability_enable_and_disable(void)
{
    struct pci_ats a;
    setup("q35-iommu-iotlb");
    struct fake_fn *v = fake_ecam_fn(&F, SID_VIRTIO);
    fake_fn_wmask(v, 0x100 + PCI_ATS_CTRL, 2, PCI_ATS_CTRL_ENABLE | PCI_ATS_CTRL_STU_MASK);
    CHECK_EQ(pci_ats_probe(&F.ecam, SID_VIRTIO, &a), PCI_OK);
    CHECK_EQ(a.off, 0x100);
    CHECK_EQ(a.queue_depth, 32); /* field 0 encodes 32 */
    CHECK(a.page_aligned);
    CHECK(!a.enabled);
    CHECK_EQ(pci_ats_enable(&F.ecam, SID_VIRTIO, &a, 0), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_VIRTIO, 0x100 + PCI_ATS_CTRL), PCI_ATS_CTRL_ENABLE);
    CHECK_EQ(pci_ats_probe(&F.ecam, SID_VIRTIO, &a), PCI_OK);
    CHECK(a.enabled);
    CHECK_EQ(pci_ats_enable(&F.ecam, SID_VIRTIO, &a, 32), PCI_ERR_INVALID);
    CHECK_EQ(pci_ats_disable(&F.ecam, SID_VIRTIO, &a), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_VIRTIO, 0x100 + PCI_ATS_CTRL), 0);
    CHECK_EQ(pci_ats_probe(&F.ecam, SID_EDU, &a), PCI_ERR_NOT_FOUND);
}

static void test_ats_disable_on_vanished_device_reports_absent(void)
{
    struct pci_ats a;
    setup("q35-iommu-iotlb");
    CHECK_EQ(pci_ats_probe(&F.ecam, SID_VIRTIO, &a), PCI_OK);
    fake_ecam_fn(&F, SID_VIRTIO)->present = false;
    unsigned writes = F.writes;
    CHECK_EQ(pci_ats_disable(&F.ecam, SID_VIRTIO, &a), PCI_ERR_ABSENT);
    CHECK_EQ(F.writes, writes);
    CHECK_EQ(pci_ats_probe(&F.ecam, SID_VIRTIO, &a), PCI_ERR_ABSENT);
}

/* QEMU has no PASID/PRI device: graft the capabilities onto the virtio image. */
static struct fake_fn *graft_pasid_pri(void)
{
    struct fake_fn *v = fake_ecam_fn(&F, SID_VIRTIO);
    uint32_t ats = fake_fn_get(v, 0x100, 4);
    fake_fn_set(v, 0x100, 4, ats | (0x200u << 20));
    fake_fn_set(v, 0x200, 4, PCI_EXT_CAP_ID_PASID | 0x00010000u | (0x210u << 20));
    fake_fn_set(v, 0x204, 2, (20u << PCI_PASID_CAP_WIDTH_SHIFT) | PCI_PASID_CAP_EXEC);
    fake_fn_wmask(v, 0x206, 2, 0x7);
    fake_fn_set(v, 0x210, 4, PCI_EXT_CAP_ID_PRI | 0x00010000u);
    fake_fn_set(v, 0x216, 2, PCI_PRI_STATUS_STOPPED);
    fake_fn_set(v, 0x218, 4, 512);
    fake_fn_wmask(v, 0x214, 2, PCI_PRI_CTRL_ENABLE | PCI_PRI_CTRL_RESET);
    fake_fn_wmask(v, 0x21c, 4, 0xffffffffu);
    return v;
}

static void test_pasid_capability_width_and_enable(void)
{
    struct pci_pasid p;
    setup("q35-iommu-iotlb");
    CHECK_EQ(pci_pasid_probe(&F.ecam, SID_VIRTIO, &p), PCI_ERR_NOT_FOUND);
    graft_pasid_pri();
    CHECK_EQ(pci_pasid_probe(&F.ecam, SID_VIRTIO, &p), PCI_OK);
    CHECK_EQ(p.off, 0x200);
    CHECK_EQ(p.max_width, 20);
    CHECK(p.exec && !p.priv);
    CHECK_EQ(pci_pasid_enable(&F.ecam, SID_VIRTIO, &p, false, true),
             PCI_ERR_INVALID); /* priv unsupported */
    CHECK_EQ(pci_pasid_enable(&F.ecam, SID_VIRTIO, &p, true, false), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_VIRTIO, 0x206),
             PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC);
    CHECK_EQ(pci_pasid_disable(&F.ecam, SID_VIRTIO, &p), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_VIRTIO, 0x206), 0);
    fake_fn_set(fake_ecam_fn(&F, SID_VIRTIO), 0x204, 2, 21u << PCI_PASID_CAP_WIDTH_SHIFT);
    CHECK_EQ(pci_pasid_probe(&F.ecam, SID_VIRTIO, &p), PCI_ERR_MALFORMED);
}

/* PRI fake: Stopped clears on Enable and comes back only when `stop_on_disable` is set. */
static bool stop_on_disable;
static void pri_behaviour(struct fake_ecam *f, struct fake_fn *fn, uint16_t off, unsigned width,
                          uint32_t val)
{
    (void)f;
    (void)width;
    if (off != 0x214) {
        return;
    }
    uint16_t sta = (uint16_t)fake_fn_get(fn, 0x216, 2);
    if (val & PCI_PRI_CTRL_ENABLE) {
        sta &= (uint16_t)~PCI_PRI_STATUS_STOPPED;
    } else if (stop_on_disable) {
        sta |= PCI_PRI_STATUS_STOPPED;
    }
    fake_fn_set(fn, 0x216, 2, sta);
}

static void test_pri_enable_allocates_and_disable_waits_for_stopped(void)
{
    struct pci_pri p;
    setup("q35-iommu-iotlb");
    struct fake_fn *v = graft_pasid_pri();
    v->on_write = pri_behaviour;
    CHECK_EQ(pci_pri_probe(&F.ecam, SID_VIRTIO, &p), PCI_OK);
    CHECK_EQ(p.off, 0x210);
    CHECK_EQ(p.max_requests, 512);
    CHECK(p.stopped && !p.enabled);
    CHECK_EQ(pci_pri_enable(&F.ecam, SID_VIRTIO, &p, 0), PCI_ERR_INVALID);
    CHECK_EQ(pci_pri_enable(&F.ecam, SID_VIRTIO, &p, 513), PCI_ERR_INVALID);
    CHECK_EQ(pci_pri_enable(&F.ecam, SID_VIRTIO, &p, 64), PCI_OK);
    CHECK_EQ(pci_cfg_read32(&F.ecam, SID_VIRTIO, 0x21c), 64);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_VIRTIO, 0x214), PCI_PRI_CTRL_ENABLE);
    CHECK_EQ(pci_pri_enable(&F.ecam, SID_VIRTIO, &p, 64), PCI_ERR_BUSY);
    /* Requests still outstanding: Stopped never comes back -> bounded wait. */
    stop_on_disable = false;
    CHECK_EQ(pci_pri_disable(&F.ecam, SID_VIRTIO, &p, &F.clock, 50000), PCI_ERR_TIMEOUT);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_VIRTIO, 0x214), 0);
    CHECK_EQ(pci_pri_enable(&F.ecam, SID_VIRTIO, &p, 64), PCI_ERR_BUSY); /* not stopped yet */
    stop_on_disable = true;
    CHECK_EQ(pci_pri_disable(&F.ecam, SID_VIRTIO, &p, &F.clock, 50000), PCI_OK);
    CHECK_EQ(pci_pri_enable(&F.ecam, SID_VIRTIO, &p, 32), PCI_OK);
}

/* ---- MSI / MSI-X ---- */

static void test_edu_msi_programmed_and_enabled(void)
{
    struct pci_msi m;
    setup("q35-iommu-iotlb");
    struct fake_fn *e = fake_ecam_fn(&F, SID_EDU);
    fake_fn_wmask(e, 0x42, 2, 0x0071);
    fake_fn_wmask(e, 0x44, 4, 0xfffffffcu);
    fake_fn_wmask(e, 0x48, 4, 0xffffffffu);
    fake_fn_wmask(e, 0x4c, 2, 0xffff);
    CHECK_EQ(pci_msi_probe(&F.ecam, SID_EDU, &m), PCI_OK);
    CHECK_EQ(m.off, 0x40);
    CHECK(m.is64);
    CHECK(!m.maskable);
    CHECK_EQ(m.max_vectors, 1);
    CHECK_EQ(pci_msi_enable(&F.ecam, SID_EDU, &m, 0xfee00000, 0x41, 2), PCI_ERR_INVALID);
    CHECK_EQ(pci_msi_enable(&F.ecam, SID_EDU, &m, 0xfee00002, 0x41, 1), PCI_ERR_INVALID);
    CHECK_EQ(pci_msi_enable(&F.ecam, SID_EDU, &m, 0xfee00000, 0x41, 1), PCI_OK);
    CHECK_EQ(pci_cfg_read32(&F.ecam, SID_EDU, 0x44), 0xfee00000);
    CHECK_EQ(pci_cfg_read32(&F.ecam, SID_EDU, 0x48), 0);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_EDU, 0x4c), 0x41);
    CHECK(pci_cfg_read16(&F.ecam, SID_EDU, 0x42) & PCI_MSI_FLAGS_ENABLE);
    CHECK(pci_cfg_read16(&F.ecam, SID_EDU, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
    CHECK_EQ(pci_msi_mask(&F.ecam, SID_EDU, &m, 0, true), PCI_ERR_NOT_FOUND);
    CHECK_EQ(pci_msi_disable(&F.ecam, SID_EDU, &m), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_EDU, 0x42) & PCI_MSI_FLAGS_ENABLE, 0);
    /* A 32-bit-only MSI capability refuses addresses above 4 GiB. */
    m.is64 = false;
    CHECK_EQ(pci_msi_enable(&F.ecam, SID_EDU, &m, 0x100000000ull, 0x41, 1), PCI_ERR_INVALID);
}

static void test_msi_capability_that_does_not_fit_is_malformed(void)
{
    struct pci_msi m;
    setup("q35-iommu-iotlb");
    struct fake_fn *e = fake_ecam_fn(&F, SID_EDU);
    fake_fn_set(e, PCI_CAPABILITY_LIST, 1, 0xf8);
    fake_fn_set(e, 0xf8, 2, PCI_CAP_ID_MSI);
    fake_fn_set(e, 0xfa, 2, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
    CHECK_EQ(pci_msi_probe(&F.ecam, SID_EDU, &m), PCI_ERR_MALFORMED);
    fake_fn_set(e, 0xfa, 2, 6u << 1); /* 64 vectors: reserved */
    fake_fn_set(e, PCI_CAPABILITY_LIST, 1, 0x40);
    fake_fn_set(e, 0x42, 2, 6u << 1);
    CHECK_EQ(pci_msi_probe(&F.ecam, SID_EDU, &m), PCI_ERR_MALFORMED);
}

/* An MSI-X table in memory that records the order of writes. */
struct table_fake {
    uint32_t mem[64];
    uint64_t log_off[64];
    uint32_t log_val[64];
    unsigned nlog;
};
static uint32_t table_read(void *ctx, uint64_t off, unsigned width)
{
    struct table_fake *t = ctx;
    (void)width;
    return off / 4 < 64 ? t->mem[off / 4] : 0xffffffffu;
}
static void table_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    struct table_fake *t = ctx;
    (void)width;
    if (off / 4 < 64) {
        t->mem[off / 4] = val;
    }
    if (t->nlog < 64) {
        t->log_off[t->nlog] = off;
        t->log_val[t->nlog++] = val;
    }
}

static void test_root_port_msix_entry_is_masked_while_written(void)
{
    struct pci_msix x;
    struct table_fake tf = {0};
    struct pci_mmio table = {&tf, table_read, table_write};
    setup("q35-iommu-iotlb");
    CHECK_EQ(pci_msix_probe(&F.ecam, SID_RP1, &x), PCI_OK);
    CHECK_EQ(x.off, 0x48);
    CHECK_EQ(x.table_size, 1);
    CHECK_EQ(x.table_bir, 0);
    CHECK_EQ(x.table_offset, 0);
    CHECK_EQ(x.pba_offset, 0x800);
    CHECK_EQ(pci_msix_check_bar(&x, 0, 4096), PCI_OK);
    CHECK_EQ(pci_msix_check_bar(&x, 0, 0x800), PCI_ERR_MALFORMED); /* PBA outside */
    tf.mem[3] = PCI_MSIX_ENTRY_CTRL_MASKBIT;                       /* reset state: masked */
    CHECK_EQ(pci_msix_set_entry(&table, &x, 0, 0xfee01000, 0x4021, false), PCI_OK);
    CHECK_EQ(tf.log_off[0], PCI_MSIX_ENTRY_VECTOR_CTRL);
    CHECK(tf.log_val[0] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
    CHECK_EQ(tf.log_off[tf.nlog - 1], PCI_MSIX_ENTRY_VECTOR_CTRL);
    CHECK_EQ(tf.log_val[tf.nlog - 1] & PCI_MSIX_ENTRY_CTRL_MASKBIT, 0);
    CHECK_EQ(tf.mem[0], 0xfee01000);
    CHECK_EQ(tf.mem[1], 0);
    CHECK_EQ(tf.mem[2], 0x4021);
    CHECK_EQ(pci_msix_set_entry(&table, &x, 1, 0xfee01000, 0x4021, false), PCI_ERR_INVALID);
    CHECK_EQ(pci_msix_mask_entry(&table, &x, 0, true), PCI_OK);
    CHECK(tf.mem[3] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
    struct fake_fn *rp = fake_ecam_fn(&F, SID_RP1);
    fake_fn_wmask(rp, 0x4a, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    fake_fn_set(rp, 0x4a, 2, PCI_MSIX_FLAGS_MASKALL);
    CHECK_EQ(pci_msix_enable(&F.ecam, SID_RP1, &x, true), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_RP1, 0x4a) &
                 (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL),
             PCI_MSIX_FLAGS_ENABLE);
    CHECK_EQ(pci_msix_enable(&F.ecam, SID_RP1, &x, false), PCI_OK);
    CHECK_EQ(pci_cfg_read16(&F.ecam, SID_RP1, 0x4a) & PCI_MSIX_FLAGS_ENABLE, 0);
    /* virtio: 2 entries in BAR1. */
    CHECK_EQ(pci_msix_probe(&F.ecam, SID_VIRTIO, &x), PCI_OK);
    CHECK_EQ(x.table_size, 2);
    CHECK_EQ(x.table_bir, 1);
    fake_fn_set(fake_ecam_fn(&F, SID_VIRTIO), 0xdc + 4, 4, 7); /* BIR 7 reserved */
    CHECK_EQ(pci_msix_probe(&F.ecam, SID_VIRTIO, &x), PCI_ERR_MALFORMED);
}

/* ---- BARs ---- */

static void test_bar_sizing_decodes_edu_and_virtio_and_restores_state(void)
{
    struct pci_bar b;
    unsigned slots = 0;
    setup("q35-iommu-iotlb");
    /* Sizes come from the BAR masks the probe read back from QEMU. */
    struct fake_fn *e = fake_ecam_fn(&F, SID_EDU);
    fake_fn_set(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    uint32_t edu_bar0 = fake_fn_get(e, PCI_BASE_ADDRESS_0, 4);
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_EDU, 0, &b, &slots), PCI_OK);
    CHECK_EQ(b.kind, PCI_BAR_MEM32);
    CHECK_EQ(b.size, 1u << 20);
    CHECK_EQ(b.base, edu_bar0);
    CHECK(!b.prefetchable);
    CHECK_EQ(slots, 1);
    CHECK_EQ(fake_fn_get(e, PCI_BASE_ADDRESS_0, 4), edu_bar0);
    CHECK_EQ(fake_fn_get(e, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_EDU, 1, &b, &slots), PCI_OK);
    CHECK_EQ(b.kind, PCI_BAR_NONE);
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_VIRTIO, 4, &b, &slots), PCI_OK);
    CHECK_EQ(b.kind, PCI_BAR_MEM64);
    CHECK(b.prefetchable);
    CHECK_EQ(b.size, 16384);
    CHECK_EQ(b.base, 0xfea00000u);
    CHECK_EQ(slots, 2);
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_VIRTIO, 1, &b, &slots), PCI_OK);
    CHECK_EQ(b.size, 4096);
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_VIRTIO, 0, &b, &slots), PCI_OK);
    CHECK_EQ(b.kind, PCI_BAR_NONE); /* modern-only virtio: no legacy I/O BAR */
    /* The root ports' MSI-X BAR, and the SATA controller's I/O BAR with a 32-bit decoder. */
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_RP7, 0, &b, &slots), PCI_OK);
    CHECK_EQ(b.kind, PCI_BAR_MEM32);
    CHECK_EQ(b.size, 4096);
    CHECK_EQ(pci_bar_probe(&F.ecam, PCI_SID(0, 0x1f, 2), 4, &b, &slots), PCI_OK);
    CHECK_EQ(b.kind, PCI_BAR_IO);
    CHECK_EQ(b.size, 32);
    CHECK_EQ(b.base, 0xc040);
    CHECK_EQ(pci_bar_probe(&F.ecam, PCI_SID(0, 0x1f, 2), 5, &b, &slots), PCI_OK);
    CHECK_EQ(b.size, 4096); /* AHCI ABAR */
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_VIRTIO, 6, &b, &slots), PCI_ERR_INVALID);
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_RP1, 2, &b, &slots), PCI_ERR_INVALID); /* bridges have 2 */
}

static void test_bar_with_holes_or_64bit_in_last_slot_is_malformed(void)
{
    struct pci_bar b;
    setup("q35-iommu-iotlb");
    struct fake_fn *e = fake_ecam_fn(&F, SID_EDU);
    fake_fn_wmask(e, PCI_BASE_ADDRESS_0, 4, 0xfff0f000u); /* mask with a hole */
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_EDU, 0, &b, NULL), PCI_ERR_MALFORMED);
    fake_fn_set(e, PCI_BASE_ADDRESS_0 + 20, 4, PCI_BAR_MEM_TYPE_64);
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_EDU, 5, &b, NULL), PCI_ERR_MALFORMED);
    fake_fn_set(e, PCI_BASE_ADDRESS_0 + 16, 4, 3u << 1); /* reserved memory type */
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_EDU, 4, &b, NULL), PCI_ERR_MALFORMED);
    /* I/O BAR with a 16-bit decoder. */
    fake_fn_set(e, PCI_BASE_ADDRESS_0 + 8, 4, 0xc001);
    fake_fn_wmask(e, PCI_BASE_ADDRESS_0 + 8, 4, 0xffe0);
    CHECK_EQ(pci_bar_probe(&F.ecam, SID_EDU, 2, &b, NULL), PCI_OK);
    CHECK_EQ(b.kind, PCI_BAR_IO);
    CHECK_EQ(b.size, 32);
    CHECK_EQ(b.base, 0xc000);
}

static void test_absent_function_is_reported_by_every_operation(void)
{
    struct pci_pcie p;
    struct pci_msi m;
    struct pci_msix x;
    struct pci_bar b;
    uint16_t off;
    const pci_sid_t gone = PCI_SID(3, 0, 0); /* behind the empty slot */
    setup("q35-iommu-iotlb");
    CHECK(!pci_present(&F.ecam, gone));
    CHECK_EQ(pci_cap_find(&F.ecam, gone, PCI_CAP_ID_EXP, &off), PCI_ERR_ABSENT);
    CHECK_EQ(pci_ext_cap_find(&F.ecam, gone, PCI_EXT_CAP_ID_ATS, &off), PCI_ERR_ABSENT);
    CHECK_EQ(pci_pcie_probe(&F.ecam, gone, &p), PCI_ERR_ABSENT);
    CHECK_EQ(pci_msi_probe(&F.ecam, gone, &m), PCI_ERR_ABSENT);
    CHECK_EQ(pci_msix_probe(&F.ecam, gone, &x), PCI_ERR_ABSENT);
    CHECK_EQ(pci_bar_probe(&F.ecam, gone, 0, &b, NULL), PCI_ERR_ABSENT);
    CHECK_EQ(pci_command_update(&F.ecam, gone, 0, PCI_COMMAND_BUS_MASTER), PCI_ERR_ABSENT);
}

int main(void)
{
    RUN(test_sid_packs_formats_and_parses_bdf);
    RUN(test_ecam_reads_all_ones_outside_window_absent_or_misaligned);
    RUN(test_direct_mmio_accessor_bounds_checks);
    RUN(test_command_register_bus_master_and_memory_space);
    RUN(test_enumeration_finds_qemu_topology_through_root_ports);
    RUN(test_enumeration_survives_bridges_claiming_same_or_lower_bus);
    RUN(test_root_port_above_a_device_is_found_on_the_root_bus);
    RUN(test_bridge_bus_assignment_is_validated);
    RUN(test_capability_walk_of_captured_devices);
    RUN(test_capability_list_that_loops_is_detected);
    RUN(test_capability_pointer_into_header_is_malformed_and_low_bits_masked);
    RUN(test_longest_legal_capability_chain_is_walked_in_full);
    RUN(test_extended_capability_bad_offsets_and_loops);
    RUN(test_root_port_slot_capabilities_have_button_power_and_hotplug);
    RUN(test_occupied_slot_shows_presence_power_and_link_active);
    RUN(test_pcie_capability_that_does_not_fit_is_malformed);
    RUN(test_slot_power_off_waits_for_command_completed_and_clears_it);
    RUN(test_slot_command_that_never_completes_times_out_at_deadline);
    RUN(test_slot_ack_clears_only_the_given_events);
    RUN(test_virtio_ats_capability_enable_and_disable);
    RUN(test_ats_disable_on_vanished_device_reports_absent);
    RUN(test_pasid_capability_width_and_enable);
    RUN(test_pri_enable_allocates_and_disable_waits_for_stopped);
    RUN(test_edu_msi_programmed_and_enabled);
    RUN(test_msi_capability_that_does_not_fit_is_malformed);
    RUN(test_root_port_msix_entry_is_masked_while_written);
    RUN(test_bar_sizing_decodes_edu_and_virtio_and_restores_state);
    RUN(test_bar_with_holes_or_64bit_in_last_slot_is_malformed);
    RUN(test_absent_function_is_reported_by_every_operation);
    return CHECK_SUMMARY();
}
