/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libacpi against the real tables QEMU q35 presents (with and without intel-iommu and
 * device-iotlb), and against malformed variants of them built here: truncations, bad lengths,
 * bad checksums, zero-length and overlong sub-structures, scope paths that loop or lead nowhere.
 * Buffers are heap copies of exactly the length under test, so AddressSanitizer turns any
 * out-of-bounds read into a failure.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"

#define QEMU_DMAR_BASE 0xfed90000ull
#define QEMU_ECAM_BASE 0xb0000000ull
#define QEMU_IOAPIC 0xfec00000u
#define QEMU_LAPIC 0xfee00000u

static uint8_t *dup_n(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

struct dmar_out {
    struct acpi_dmar d;
    struct acpi_dmar_drhd drhd[4];
    struct acpi_dmar_rmrr rmrr[4];
    struct acpi_dmar_atsr atsr[4], satc[4];
    struct acpi_dmar_rhsa rhsa[4];
    struct acpi_dmar_scope scope[32];
};

static void dmar_out_init(struct dmar_out *o)
{
    memset(o, 0, sizeof(*o));
    o->d.drhds = o->drhd;
    o->d.drhd_cap = 4;
    o->d.rmrrs = o->rmrr;
    o->d.rmrr_cap = 4;
    o->d.atsrs = o->atsr;
    o->d.atsr_cap = 4;
    o->d.satcs = o->satc;
    o->d.satc_cap = 4;
    o->d.rhsas = o->rhsa;
    o->d.rhsa_cap = 4;
    o->d.scopes = o->scope;
    o->d.scope_cap = 32;
}

static int parse_dmar_copy(const uint8_t *p, size_t n, struct dmar_out *o)
{
    uint8_t *c = dup_n(p, n);
    dmar_out_init(o);
    int err = acpi_dmar_parse(c, n, &o->d);
    free(c);
    return err;
}

/* ---- RSDP and root table ---- */

static void test_rsdp_found_in_bios_area_is_revision0_with_rsdt_only(void)
{
    struct capture c;
    struct acpi_phys phys;
    struct acpi_rsdp r;
    capture_load(&c, "q35-iommu-iotlb");
    capture_phys(&c, &phys);
    CHECK_EQ(acpi_rsdp_find(&phys, &r), ACPI_OK);
    CHECK_EQ(r.pa, capture_table(&c, "RSDP")->pa);
    CHECK_EQ(r.revision, 0);
    CHECK_EQ(r.xsdt_pa, 0);
    CHECK_EQ(r.rsdt_pa, capture_table(&c, "RSDT")->pa);
    CHECK(strcmp(r.oem_id, "BOCHS ") == 0);
    CHECK_EQ(c.maps, c.unmaps);
    capture_free(&c);
}

static void test_root_walk_lists_every_qemu_table_valid(void)
{
    static const char *const expect[] = {"FACP", "APIC", "HPET", "MCFG", "DMAR", "WAET"};
    struct capture c;
    struct acpi_phys phys;
    struct acpi_rsdp r;
    struct acpi_table_ref refs[16];
    size_t n = 0;
    capture_load(&c, "q35-iommu-iotlb");
    capture_phys(&c, &phys);
    CHECK_EQ(acpi_rsdp_find(&phys, &r), ACPI_OK);
    CHECK_EQ(acpi_root_walk(&phys, &r, refs, 16, &n), ACPI_OK);
    CHECK_EQ(n, 6);
    for (size_t i = 0; i < 6; i++) {
        int idx = acpi_find_ref(refs, n, expect[i], 0);
        CHECK(idx >= 0);
        if (idx >= 0) {
            CHECK_EQ(refs[idx].err, ACPI_OK);
            CHECK_EQ(refs[idx].pa, capture_table(&c, expect[i])->pa);
            CHECK_EQ(refs[idx].len, capture_table(&c, expect[i])->len);
        }
    }
    CHECK_EQ(acpi_find_ref(refs, n, "DMAR", 1), -1);
    CHECK_EQ(c.maps, c.unmaps);
    capture_free(&c);
}

static void test_plain_q35_has_no_dmar(void)
{
    struct capture c;
    struct acpi_phys phys;
    struct acpi_rsdp r;
    struct acpi_table_ref refs[16];
    size_t n = 0;
    capture_load(&c, "q35-plain");
    capture_phys(&c, &phys);
    CHECK_EQ(acpi_rsdp_find(&phys, &r), ACPI_OK);
    CHECK_EQ(acpi_root_walk(&phys, &r, refs, 16, &n), ACPI_OK);
    CHECK_EQ(n, 5);
    CHECK_EQ(acpi_find_ref(refs, n, "DMAR", 0), -1);
    CHECK(acpi_find_ref(refs, n, "MCFG", 0) >= 0);
    capture_free(&c);
}

static void test_root_walk_reports_too_small_output_array(void)
{
    struct capture c;
    struct acpi_phys phys;
    struct acpi_rsdp r;
    struct acpi_table_ref refs[2];
    size_t n = 0;
    capture_load(&c, "q35-iommu");
    capture_phys(&c, &phys);
    CHECK_EQ(acpi_rsdp_find(&phys, &r), ACPI_OK);
    CHECK_EQ(acpi_root_walk(&phys, &r, refs, 2, &n), ACPI_ERR_NOSPACE);
    CHECK_EQ(n, 6);
    CHECK_EQ(refs[0].err, ACPI_OK);
    capture_free(&c);
}

static void test_root_walk_flags_bad_entries_and_goes_on(void)
{
    struct capture c;
    struct acpi_phys phys;
    struct acpi_rsdp r;
    struct acpi_table_ref refs[16];
    size_t n = 0;
    capture_load(&c, "q35-iommu-iotlb");
    capture_phys(&c, &phys);
    CHECK_EQ(acpi_rsdp_find(&phys, &r), ACPI_OK);
    /* Entry 0 points nowhere, entry 1 (APIC) gets a bad checksum. */
    struct capture_blob *rsdt = capture_table(&c, "RSDT");
    rsdt->data[36] = 0x10;
    rsdt->data[37] = rsdt->data[38] = rsdt->data[39] = 0x00;
    acpi_fix_checksum(rsdt->data, rsdt->len);
    capture_table(&c, "APIC")->data[40] ^= 0x1;
    CHECK_EQ(acpi_root_walk(&phys, &r, refs, 16, &n), ACPI_OK);
    CHECK_EQ(n, 6);
    CHECK_EQ(refs[0].err, ACPI_ERR_MAP);
    CHECK_EQ(refs[1].err, ACPI_ERR_CHECKSUM);
    CHECK_EQ(acpi_find_ref(refs, n, "APIC", 0), -1); /* a bad table is never handed out */
    CHECK(acpi_find_ref(refs, n, "DMAR", 0) >= 0);
    /* A root table whose body is not a whole number of entries is rejected. */
    rsdt->data[4] = (uint8_t)(rsdt->len - 1);
    acpi_fix_checksum(rsdt->data, rsdt->len - 1);
    CHECK_EQ(acpi_root_walk(&phys, &r, refs, 16, &n), ACPI_ERR_LENGTH);
    capture_free(&c);
}

static void test_rsdp_rejects_bad_checksum_signature_and_v2_length(void)
{
    struct capture c;
    struct acpi_rsdp r;
    capture_load(&c, "q35-iommu");
    struct capture_blob *b = capture_table(&c, "RSDP");
    uint8_t v[36];
    memcpy(v, b->data, 20);
    CHECK_EQ(acpi_rsdp_parse(v, 20, b->pa, &r), ACPI_OK);
    CHECK_EQ(acpi_rsdp_parse(v, 19, b->pa, &r), ACPI_ERR_LENGTH);
    v[8] ^= 1;
    CHECK_EQ(acpi_rsdp_parse(v, 20, b->pa, &r), ACPI_ERR_CHECKSUM);
    v[8] ^= 1;
    v[0] = 'X';
    CHECK_EQ(acpi_rsdp_parse(v, 20, b->pa, &r), ACPI_ERR_SIGNATURE);
    v[0] = 'R';
    /* Make it revision 2: needs 36 bytes, a length field, an extended checksum. */
    v[15] = 2;
    v[8] = 0;
    uint8_t s = 0;
    for (int i = 0; i < 20; i++) {
        s = (uint8_t)(s + v[i]);
    }
    v[8] = (uint8_t)(0x100 - s);
    memset(v + 20, 0, 16);
    CHECK_EQ(acpi_rsdp_parse(v, 20, b->pa, &r), ACPI_ERR_LENGTH);
    v[20] = 36;
    CHECK_EQ(acpi_rsdp_parse(v, 36, b->pa, &r), ACPI_ERR_CHECKSUM);
    v[20] = 200; /* length beyond the buffer */
    CHECK_EQ(acpi_rsdp_parse(v, 36, b->pa, &r), ACPI_ERR_LENGTH);
    capture_free(&c);
}

/* Builds a revision-2 RSDP and an XSDT listing the captured tables; the walk must prefer it. */
static void test_revision2_rsdp_walks_xsdt(void)
{
    struct capture c;
    struct acpi_phys phys;
    struct acpi_rsdp r;
    struct acpi_table_ref refs[16];
    size_t n = 0;
    capture_load(&c, "q35-iommu-iotlb");
    struct capture_blob *rsdt = capture_table(&c, "RSDT");
    size_t entries = (rsdt->len - 36) / 4, xlen = 36 + 8 * entries;
    /* Put the XSDT into the (otherwise empty) BIOS area image, at 0xe0000. */
    uint8_t *x = c.bios;
    memcpy(x, rsdt->data, 36);
    memcpy(x, "XSDT", 4);
    x[4] = (uint8_t)xlen;
    for (size_t i = 0; i < entries; i++) {
        memset(x + 36 + 8 * i, 0, 8);
        memcpy(x + 36 + 8 * i, rsdt->data + 36 + 4 * i, 4);
    }
    acpi_fix_checksum(x, xlen);
    /* Invalidate the RSDT: if the walk used it, it would fail. */
    rsdt->data[0] = 'X';
    uint8_t v2[36] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 0, 'T', 'E', 'S', 'T', ' ', ' ', 2};
    v2[20] = 36;
    v2[24] = 0x00;
    v2[25] = 0x00;
    v2[26] = 0x0e; /* XSDT at 0xe0000 */
    uint8_t s = 0;
    for (int i = 0; i < 20; i++)
        s = (uint8_t)(s + v2[i]);
    v2[8] = (uint8_t)(0x100 - s);
    s = 0;
    for (int i = 0; i < 36; i++)
        s = (uint8_t)(s + v2[i]);
    v2[32] = (uint8_t)(0x100 - s);
    CHECK_EQ(acpi_rsdp_parse(v2, 36, 0xf0000, &r), ACPI_OK);
    CHECK_EQ(r.xsdt_pa, 0xe0000);
    capture_phys(&c, &phys);
    CHECK_EQ(acpi_root_walk(&phys, &r, refs, 16, &n), ACPI_OK);
    CHECK_EQ(n, entries);
    CHECK(acpi_find_ref(refs, n, "DMAR", 0) >= 0);
    capture_free(&c);
}

static void test_table_map_rejects_truncated_and_oversized_tables(void)
{
    struct capture c;
    struct acpi_phys phys;
    struct acpi_table t;
    capture_load(&c, "q35-iommu-iotlb");
    capture_phys(&c, &phys);
    struct capture_blob *d = capture_table(&c, "DMAR");
    CHECK_EQ(acpi_table_map(&phys, d->pa, "DMAR", &t), ACPI_OK);
    CHECK_EQ(t.len, d->len);
    acpi_table_unmap(&phys, &t);
    CHECK_EQ(acpi_table_map(&phys, d->pa, "APIC", &t), ACPI_ERR_SIGNATURE);
    d->data[4] = (uint8_t)(d->len + 4); /* claims more than is there: the map fails */
    CHECK_EQ(acpi_table_map(&phys, d->pa, "DMAR", &t), ACPI_ERR_MAP);
    d->data[4] = 0;
    d->data[5] = 0;
    d->data[6] = 0;
    d->data[7] = 0x80; /* 2 GiB */
    CHECK_EQ(acpi_table_map(&phys, d->pa, "DMAR", &t), ACPI_ERR_LENGTH);
    d->data[7] = 0;
    d->data[4] = 10; /* shorter than a header */
    CHECK_EQ(acpi_table_map(&phys, d->pa, "DMAR", &t), ACPI_ERR_LENGTH);
    CHECK_EQ(acpi_table_map(&phys, UINT64_MAX - 8, NULL, &t), ACPI_ERR_MAP);
    CHECK_EQ(acpi_table_map(&phys, 0, NULL, &t), ACPI_ERR_MAP);
    CHECK_EQ(c.maps, c.unmaps);
    capture_free(&c);
}

/* ---- MADT ---- */

static void test_madt_has_ioapic_and_irq0_to_gsi2_override(void)
{
    struct capture c;
    struct acpi_madt_lapic l[4];
    struct acpi_madt_ioapic io[4];
    struct acpi_madt_iso iso[16];
    struct acpi_madt m = {
        .lapics = l, .lapic_cap = 4, .ioapics = io, .ioapic_cap = 4, .isos = iso, .iso_cap = 16};
    capture_load(&c, "q35-iommu-iotlb");
    struct capture_blob *b = capture_table(&c, "APIC");
    CHECK_EQ(acpi_madt_parse(b->data, b->len, &m), ACPI_OK);
    CHECK_EQ(m.lapic_address, QEMU_LAPIC);
    CHECK(m.flags & ACPI_MADT_PCAT_COMPAT);
    CHECK_EQ(m.lapic_count, 1);
    CHECK(l[0].enabled);
    CHECK_EQ(l[0].apic_id, 0);
    CHECK_EQ(m.ioapic_count, 1);
    CHECK_EQ(io[0].address, QEMU_IOAPIC);
    CHECK_EQ(io[0].gsi_base, 0);
    CHECK_EQ(m.iso_count, 5);
    bool irq0 = false;
    for (size_t i = 0; i < m.iso_count && i < 16; i++) {
        if (iso[i].bus == 0 && iso[i].source == 0) {
            irq0 = true;
            CHECK_EQ(iso[i].gsi, 2);
        }
    }
    CHECK(irq0);
    CHECK_EQ(m.nmi_count, 1); /* the local APIC NMI entry, skipped */
    capture_free(&c);
}

static void test_madt_reports_overflow_but_keeps_what_fit(void)
{
    struct capture c;
    struct acpi_madt_iso iso[2];
    struct acpi_madt m = {.isos = iso, .iso_cap = 2};
    capture_load(&c, "q35-iommu");
    struct capture_blob *b = capture_table(&c, "APIC");
    CHECK_EQ(acpi_madt_parse(b->data, b->len, &m), ACPI_ERR_NOSPACE);
    CHECK_EQ(m.iso_count, 5);
    CHECK_EQ(m.ioapic_count, 1);
    CHECK_EQ(iso[0].gsi, 2);
    capture_free(&c);
}

static void test_madt_rejects_zero_short_and_overlong_entries(void)
{
    struct capture c;
    struct acpi_madt m = {0};
    capture_load(&c, "q35-iommu");
    struct capture_blob *b = capture_table(&c, "APIC");
    uint8_t *t = dup_n(b->data, b->len);
    /* first entry at 44: the local APIC, length 8 */
    t[45] = 0;
    acpi_fix_checksum(t, b->len);
    CHECK_EQ(acpi_madt_parse(t, b->len, &m), ACPI_ERR_MALFORMED);
    t[45] = 4; /* shorter than a local APIC entry */
    acpi_fix_checksum(t, b->len);
    CHECK_EQ(acpi_madt_parse(t, b->len, &m), ACPI_ERR_MALFORMED);
    t[45] = 200; /* past the end */
    acpi_fix_checksum(t, b->len);
    CHECK_EQ(acpi_madt_parse(t, b->len, &m), ACPI_ERR_MALFORMED);
    free(t);
    /* An unknown entry type is skipped by its length. */
    t = dup_n(b->data, b->len);
    t[44] = 0x7f;
    acpi_fix_checksum(t, b->len);
    struct acpi_madt_ioapic io[2];
    struct acpi_madt_iso iso[8];
    m = (struct acpi_madt){.ioapics = io, .ioapic_cap = 2, .isos = iso, .iso_cap = 8};
    CHECK_EQ(acpi_madt_parse(t, b->len, &m), ACPI_OK);
    CHECK_EQ(m.unknown_count, 1);
    CHECK_EQ(m.lapic_count, 0);
    free(t);
    capture_free(&c);
}

/* ---- MCFG ---- */

static void test_mcfg_gives_ecam_at_b0000000_for_buses_0_to_255(void)
{
    struct capture c;
    struct acpi_mcfg_seg s[4];
    size_t n = 0;
    capture_load(&c, "q35-plain");
    struct capture_blob *b = capture_table(&c, "MCFG");
    CHECK_EQ(acpi_mcfg_parse(b->data, b->len, s, 4, &n), ACPI_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(s[0].base, QEMU_ECAM_BASE);
    CHECK_EQ(s[0].segment, 0);
    CHECK_EQ(s[0].bus_start, 0);
    CHECK_EQ(s[0].bus_end, 255);
    CHECK_EQ(acpi_mcfg_parse(b->data, b->len, s, 0, &n), ACPI_ERR_NOSPACE);
    capture_free(&c);
}

static void test_mcfg_rejects_bad_lengths_and_bus_ranges(void)
{
    struct capture c;
    struct acpi_mcfg_seg s[4];
    size_t n = 0;
    capture_load(&c, "q35-plain");
    struct capture_blob *b = capture_table(&c, "MCFG");
    uint8_t *t = dup_n(b->data, b->len);
    t[4] = (uint8_t)(b->len - 4); /* not a whole entry */
    acpi_fix_checksum(t, b->len - 4);
    CHECK_EQ(acpi_mcfg_parse(t, b->len, s, 4, &n), ACPI_ERR_LENGTH);
    memcpy(t, b->data, b->len);
    t[44 + 10] = 5;
    t[44 + 11] = 4; /* end < start */
    acpi_fix_checksum(t, b->len);
    CHECK_EQ(acpi_mcfg_parse(t, b->len, s, 4, &n), ACPI_ERR_MALFORMED);
    memcpy(t, b->data, b->len);
    memset(t + 44, 0xff, 8); /* base near 2^64: the window would wrap */
    t[44] = 0;
    t[45] = 0;
    t[46] = 0xf0;
    acpi_fix_checksum(t, b->len);
    CHECK_EQ(acpi_mcfg_parse(t, b->len, s, 4, &n), ACPI_ERR_MALFORMED);
    memcpy(t, b->data, b->len);
    t[9] ^= 0x55;
    CHECK_EQ(acpi_mcfg_parse(t, b->len, s, 4, &n), ACPI_ERR_CHECKSUM);
    free(t);
    capture_free(&c);
}

/* ---- DMAR ---- */

static void check_qemu_drhd(struct dmar_out *o)
{
    CHECK_EQ(o->d.host_addr_width, 38); /* 39-bit */
    CHECK(o->d.flags & ACPI_DMAR_INTR_REMAP);
    CHECK_EQ(o->d.drhd_count, 1);
    CHECK_EQ(o->drhd[0].base, QEMU_DMAR_BASE);
    CHECK_EQ(o->drhd[0].flags & ACPI_DMAR_DRHD_INCLUDE_PCI_ALL, 0);
    CHECK_EQ(o->drhd[0].segment, 0);
    CHECK_EQ(o->drhd[0].scope_first, 0);
    CHECK_EQ(o->drhd[0].scope_count, 8);
    /* The IOAPIC (QEMU's pseudo bus 0xff), the host bridge, the three root ports as
     * sub-hierarchies, the LPC, SATA and SMBus functions as endpoints. */
    static const struct {
        uint8_t type, bus, dev, fn;
    } want[8] = {
        {ACPI_DMAR_SCOPE_IOAPIC, 0xff, 0, 0},   {ACPI_DMAR_SCOPE_ENDPOINT, 0, 0, 0},
        {ACPI_DMAR_SCOPE_BRIDGE, 0, 1, 0},      {ACPI_DMAR_SCOPE_BRIDGE, 0, 2, 0},
        {ACPI_DMAR_SCOPE_BRIDGE, 0, 3, 0},      {ACPI_DMAR_SCOPE_ENDPOINT, 0, 0x1f, 0},
        {ACPI_DMAR_SCOPE_ENDPOINT, 0, 0x1f, 2}, {ACPI_DMAR_SCOPE_ENDPOINT, 0, 0x1f, 3},
    };
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(o->scope[i].type, want[i].type);
        CHECK_EQ(o->scope[i].start_bus, want[i].bus);
        CHECK_EQ(o->scope[i].path_len, 1);
        CHECK_EQ(o->scope[i].path[0].dev, want[i].dev);
        CHECK_EQ(o->scope[i].path[0].fn, want[i].fn);
    }
    CHECK_EQ(o->scope[0].enum_id, 0); /* IOAPIC id 0, as in the MADT */
    CHECK_EQ(o->d.rmrr_count, 0);
    CHECK_EQ(o->d.satc_count, 0);
    CHECK_EQ(o->d.rhsa_count, 0);
}

static void test_dmar_with_device_iotlb_has_unit_scopes_and_atsr(void)
{
    struct capture c;
    struct dmar_out o;
    capture_load(&c, "q35-iommu-iotlb");
    struct capture_blob *b = capture_table(&c, "DMAR");
    CHECK_EQ(parse_dmar_copy(b->data, b->len, &o), ACPI_OK);
    check_qemu_drhd(&o);
    CHECK_EQ(o.d.atsr_count, 1);
    CHECK(o.atsr[0].flags & ACPI_DMAR_ATSR_ALL_PORTS);
    CHECK_EQ(o.atsr[0].segment, 0);
    CHECK_EQ(o.atsr[0].scope_count, 0);
    capture_free(&c);
}

static void test_dmar_without_device_iotlb_has_no_atsr(void)
{
    struct capture c;
    struct dmar_out o;
    capture_load(&c, "q35-iommu");
    struct capture_blob *b = capture_table(&c, "DMAR");
    CHECK_EQ(parse_dmar_copy(b->data, b->len, &o), ACPI_OK);
    check_qemu_drhd(&o);
    CHECK_EQ(o.d.atsr_count, 0);
    capture_free(&c);
}

static void test_dmar_every_truncation_is_rejected_without_overread(void)
{
    struct capture c;
    struct dmar_out o;
    capture_load(&c, "q35-iommu-iotlb");
    struct capture_blob *b = capture_table(&c, "DMAR");
    unsigned rejected = 0;
    for (size_t n = 0; n < b->len; n++) {
        if (parse_dmar_copy(b->data, n, &o) != ACPI_OK) {
            rejected++;
        }
        /* Also with the length field and checksum fixed up to the truncated size: the parser
         * then sees a consistent table whose last structure is cut. */
        if (n >= 36) {
            uint8_t *t = dup_n(b->data, n);
            t[4] = (uint8_t)n;
            t[5] = (uint8_t)(n >> 8);
            t[6] = t[7] = 0;
            acpi_fix_checksum(t, n);
            dmar_out_init(&o);
            int err = acpi_dmar_parse(t, n, &o.d);
            /* Cuts at a structure boundary are valid tables with fewer structures. */
            bool boundary = n == 48 || n == 0x80;
            CHECK(boundary ? err == ACPI_OK : err != ACPI_OK);
            free(t);
        }
    }
    CHECK_EQ(rejected, b->len);
    capture_free(&c);
}

/* Offsets in the captured DMAR: DRHD at 0x30 (len 0x50), its scopes from 0x40, ATSR at 0x80. */
#define DRHD_OFF 0x30
#define SCOPE0_OFF 0x40
#define ATSR_OFF 0x80

static int parse_modified(const struct capture_blob *b, size_t off, uint8_t val, struct dmar_out *o)
{
    uint8_t *t = dup_n(b->data, b->len);
    t[off] = val;
    acpi_fix_checksum(t, b->len);
    dmar_out_init(o);
    int err = acpi_dmar_parse(t, b->len, &o->d);
    free(t);
    return err;
}

static void test_dmar_rejects_bad_structure_and_scope_lengths(void)
{
    struct capture c;
    struct dmar_out o;
    capture_load(&c, "q35-iommu-iotlb");
    struct capture_blob *b = capture_table(&c, "DMAR");
    CHECK_EQ(parse_modified(b, DRHD_OFF + 2, 0, &o), ACPI_ERR_MALFORMED);  /* DRHD length 0 */
    CHECK_EQ(parse_modified(b, DRHD_OFF + 2, 12, &o), ACPI_ERR_MALFORMED); /* shorter than fixed */
    CHECK_EQ(parse_modified(b, DRHD_OFF + 2, 0xf0, &o), ACPI_ERR_MALFORMED);   /* past the end */
    CHECK_EQ(parse_modified(b, ATSR_OFF + 2, 0, &o), ACPI_ERR_MALFORMED);      /* ATSR length 0 */
    CHECK_EQ(parse_modified(b, ATSR_OFF + 2, 9, &o), ACPI_ERR_MALFORMED);      /* ATSR past end */
    CHECK_EQ(parse_modified(b, SCOPE0_OFF + 1, 0, &o), ACPI_ERR_MALFORMED);    /* scope length 0 */
    CHECK_EQ(parse_modified(b, SCOPE0_OFF + 1, 7, &o), ACPI_ERR_MALFORMED);    /* odd path */
    CHECK_EQ(parse_modified(b, SCOPE0_OFF + 1, 0x48, &o), ACPI_ERR_MALFORMED); /* past DRHD */
    CHECK_EQ(parse_modified(b, SCOPE0_OFF + 0, 0, &o), ACPI_ERR_MALFORMED);    /* reserved type */
    CHECK_EQ(parse_modified(b, SCOPE0_OFF + 8 + 6, 32, &o), ACPI_ERR_MALFORMED); /* dev 32 */
    CHECK_EQ(parse_modified(b, SCOPE0_OFF + 8 + 7, 8, &o), ACPI_ERR_MALFORMED);  /* fn 8 */
    CHECK_EQ(parse_modified(b, DRHD_OFF + 8, 0x10, &o), ACPI_ERR_MALFORMED); /* unaligned base */
    /* An unknown structure type is skipped by its length. */
    CHECK_EQ(parse_modified(b, ATSR_OFF, 0x42, &o), ACPI_OK);
    CHECK_EQ(o.d.unknown_count, 1);
    CHECK_EQ(o.d.atsr_count, 0);
    capture_free(&c);
}

static void test_dmar_include_pci_all_must_be_last_for_its_segment(void)
{
    struct capture c;
    struct dmar_out o;
    capture_load(&c, "q35-iommu");
    struct capture_blob *b = capture_table(&c, "DMAR");
    /* Two copies of the DRHD; the first becomes INCLUDE_PCI_ALL. */
    size_t dlen = 0x50, n = b->len + dlen;
    uint8_t *t = malloc(n);
    memcpy(t, b->data, b->len);
    memcpy(t + b->len, b->data + DRHD_OFF, dlen);
    t[4] = (uint8_t)n;
    t[DRHD_OFF + 4] = ACPI_DMAR_DRHD_INCLUDE_PCI_ALL;
    acpi_fix_checksum(t, n);
    dmar_out_init(&o);
    CHECK_EQ(acpi_dmar_parse(t, n, &o.d), ACPI_ERR_MALFORMED);
    /* As the last unit it is fine. */
    t[DRHD_OFF + 4] = 0;
    t[b->len + 4] = ACPI_DMAR_DRHD_INCLUDE_PCI_ALL;
    acpi_fix_checksum(t, n);
    dmar_out_init(&o);
    CHECK_EQ(acpi_dmar_parse(t, n, &o.d), ACPI_OK);
    CHECK_EQ(o.d.drhd_count, 2);
    CHECK(o.drhd[1].flags & ACPI_DMAR_DRHD_INCLUDE_PCI_ALL);
    CHECK_EQ(o.drhd[1].scope_first, 8);
    free(t);
    capture_free(&c);
}

static void test_dmar_too_small_arrays_report_the_sizes_needed(void)
{
    struct capture c;
    struct dmar_out o;
    capture_load(&c, "q35-iommu-iotlb");
    struct capture_blob *b = capture_table(&c, "DMAR");
    dmar_out_init(&o);
    o.d.scope_cap = 5;
    CHECK_EQ(acpi_dmar_parse(b->data, b->len, &o.d), ACPI_ERR_NOSPACE);
    CHECK_EQ(o.d.drhd_count, 1);
    CHECK_EQ(o.d.scope_count, 8); /* the size needed, not the 5 that would have fit */
    CHECK_EQ(o.d.atsr_count, 1);
    dmar_out_init(&o);
    o.d.drhd_cap = 0;
    CHECK_EQ(acpi_dmar_parse(b->data, b->len, &o.d), ACPI_ERR_NOSPACE);
    CHECK_EQ(o.d.drhd_count, 1);
    /* Retrying with the reported sizes succeeds. */
    dmar_out_init(&o);
    o.d.scope_cap = 8;
    o.d.drhd_cap = 1;
    o.d.atsr_cap = 1;
    CHECK_EQ(acpi_dmar_parse(b->data, b->len, &o.d), ACPI_OK);
    CHECK_EQ(o.drhd[0].scope_count, 8);
    capture_free(&c);
}

/* Builds a DMAR with RMRR, RHSA, SATC and a two-hop scope on top of QEMU's header. */
static void test_dmar_parses_rmrr_rhsa_satc_and_multi_hop_paths(void)
{
    struct capture c;
    struct dmar_out o;
    capture_load(&c, "q35-iommu");
    struct capture_blob *b = capture_table(&c, "DMAR");
    uint8_t t[256];
    memset(t, 0, sizeof(t));
    memcpy(t, b->data, 48);
    size_t off = 48;
    /* RMRR 0x000e0000-0x000fffff for endpoint 00:1f.2 */
    uint8_t rmrr[32] = {1,    0,    32,   0,    0,
                        0,    0,    0,    0,    0,
                        0x0e, 0,    0,    0,    0,
                        0,    0xff, 0xff, 0x0f, 0,
                        0,    0,    0,    0,    ACPI_DMAR_SCOPE_ENDPOINT,
                        8,    0,    0,    0,    0,
                        0x1f, 2};
    memcpy(t + off, rmrr, 32);
    off += 32;
    /* RHSA for 0xfed90000, domain 3 */
    uint8_t rhsa[20] = {3, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0, 3, 0, 0, 0};
    memcpy(t + off, rhsa, 20);
    off += 20;
    /* SATC, ATC_REQUIRED, endpoint at 00:01.0 -> 00.0 (two hops) */
    uint8_t satc[18] = {
        5, 0, 18, 0, ACPI_DMAR_SATC_ATC_REQUIRED, 0, 0, 0, ACPI_DMAR_SCOPE_ENDPOINT, 10, 0, 0, 0, 0,
        1, 0, 0,  0};
    memcpy(t + off, satc, 18);
    off += 18;
    t[4] = (uint8_t)off;
    acpi_fix_checksum(t, off);
    dmar_out_init(&o);
    CHECK_EQ(acpi_dmar_parse(t, off, &o.d), ACPI_OK);
    CHECK_EQ(o.d.rmrr_count, 1);
    CHECK_EQ(o.rmrr[0].base, 0xe0000);
    CHECK_EQ(o.rmrr[0].limit, 0xfffff);
    CHECK_EQ(o.rmrr[0].scope_count, 1);
    CHECK_EQ(o.scope[o.rmrr[0].scope_first].path[0].dev, 0x1f);
    CHECK_EQ(o.d.rhsa_count, 1);
    CHECK_EQ(o.rhsa[0].base, QEMU_DMAR_BASE);
    CHECK_EQ(o.rhsa[0].proximity_domain, 3);
    CHECK_EQ(o.d.satc_count, 1);
    CHECK(o.satc[0].flags & ACPI_DMAR_SATC_ATC_REQUIRED);
    CHECK_EQ(o.scope[o.satc[0].scope_first].path_len, 2);
    /* RMRR with limit below base */
    t[48 + 18] = 0x0d;
    t[48 + 10] = 0x0f;
    acpi_fix_checksum(t, off);
    dmar_out_init(&o);
    CHECK_EQ(acpi_dmar_parse(t, off, &o.d), ACPI_ERR_MALFORMED);
    capture_free(&c);
}

/* ---- device-scope resolution through the captured config space ---- */

static void test_dmar_scopes_resolve_through_root_port_secondary_buses(void)
{
    struct capture c;
    struct dmar_out o;
    static struct fake_ecam f;
    capture_load(&c, "q35-iommu-iotlb");
    fake_ecam_init(&f, 0, 255);
    fake_ecam_add_capture(&f, &c);
    struct capture_blob *b = capture_table(&c, "DMAR");
    CHECK_EQ(parse_dmar_copy(b->data, b->len, &o), ACPI_OK);
    pci_sid_t sid = 0;
    uint8_t sec = 0, sub = 0;
    /* Root ports rp1, rp2, rp7 at 00:01.0, 00:02.0, 00:03.0 own buses 1, 2, 3. */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(acpi_dmar_scope_resolve(&o.scope[2 + i], 0, pci_ecam_read32_cb, &f.ecam, &sid,
                                         &sec, &sub),
                 ACPI_OK);
        CHECK_EQ(sid, PCI_SID(0, 1 + i, 0));
        CHECK_EQ(sec, 1 + i);
        CHECK_EQ(sub, 1 + i);
    }
    CHECK_EQ(acpi_dmar_scope_resolve(&o.scope[7], 0, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL),
             ACPI_OK);
    CHECK_EQ(sid, PCI_SID(0, 0x1f, 3));
    CHECK_EQ(acpi_dmar_scope_resolve(&o.scope[0], 0, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL),
             ACPI_ERR_INVALID); /* IOAPIC scopes name no PCI function */
    /* Two-hop paths through the root ports reach the virtio-rng and edu functions. */
    struct acpi_dmar_scope s = {.type = ACPI_DMAR_SCOPE_ENDPOINT, .start_bus = 0, .path_len = 2};
    s.path[0].dev = 1;
    CHECK_EQ(acpi_dmar_scope_resolve(&s, 0, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL),
             ACPI_OK);
    CHECK_EQ(sid, PCI_SID(1, 0, 0));
    CHECK_EQ(pci_cfg_read16(&f.ecam, sid, PCI_VENDOR_ID), 0x1af4);
    s.path[0].dev = 2;
    CHECK_EQ(acpi_dmar_scope_resolve(&s, 0, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL),
             ACPI_OK);
    CHECK_EQ(sid, PCI_SID(2, 0, 0));
    CHECK_EQ(pci_cfg_read16(&f.ecam, sid, PCI_DEVICE_ID), 0x11e8);
    /* A different segment reads all-ones: unresolved. */
    CHECK_EQ(acpi_dmar_scope_resolve(&s, 1, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL),
             ACPI_ERR_UNRESOLVED);
    capture_free(&c);
}

static void test_dmar_scope_paths_that_loop_or_lead_nowhere_fail(void)
{
    struct capture c;
    static struct fake_ecam f;
    capture_load(&c, "q35-iommu-iotlb");
    fake_ecam_init(&f, 0, 255);
    fake_ecam_add_capture(&f, &c);
    pci_sid_t sid = 0x1234;
    struct acpi_dmar_scope s = {.type = ACPI_DMAR_SCOPE_ENDPOINT, .start_bus = 0, .path_len = 3};
    s.path[0].dev = 1;
    s.path[1].dev = 0;
    s.path[2].dev = 0;
    /* 00:01.0 -> bus 1, then 01:00.0 is an endpoint, not a bridge. */
    CHECK_EQ(acpi_dmar_scope_resolve(&s, 0, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL),
             ACPI_ERR_UNRESOLVED);
    /* A hop through an absent device. */
    s.path_len = 2;
    s.path[0].dev = 9;
    CHECK_EQ(acpi_dmar_scope_resolve(&s, 0, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL),
             ACPI_ERR_UNRESOLVED);
    /* A root port whose secondary bus points back at its own bus: the path would loop. */
    struct fake_fn *rp1 = fake_ecam_fn(&f, PCI_SID(0, 1, 0));
    fake_fn_set(rp1, PCI_SECONDARY_BUS, 1, 0);
    s.path[0].dev = 1;
    CHECK_EQ(acpi_dmar_scope_resolve(&s, 0, pci_ecam_read32_cb, &f.ecam, &sid, NULL, NULL),
             ACPI_ERR_LOOP);
    CHECK_EQ(sid, 0x1234); /* untouched on error */
    /* Sub-hierarchy scope whose target is not a bridge. */
    struct acpi_dmar_scope e = {.type = ACPI_DMAR_SCOPE_BRIDGE, .start_bus = 0, .path_len = 1};
    e.path[0].dev = 0x1f;
    uint8_t sec;
    CHECK_EQ(acpi_dmar_scope_resolve(&e, 0, pci_ecam_read32_cb, &f.ecam, &sid, &sec, NULL),
             ACPI_ERR_UNRESOLVED);
    capture_free(&c);
}

int main(void)
{
    RUN(test_rsdp_found_in_bios_area_is_revision0_with_rsdt_only);
    RUN(test_root_walk_lists_every_qemu_table_valid);
    RUN(test_plain_q35_has_no_dmar);
    RUN(test_root_walk_reports_too_small_output_array);
    RUN(test_root_walk_flags_bad_entries_and_goes_on);
    RUN(test_rsdp_rejects_bad_checksum_signature_and_v2_length);
    RUN(test_revision2_rsdp_walks_xsdt);
    RUN(test_table_map_rejects_truncated_and_oversized_tables);
    RUN(test_madt_has_ioapic_and_irq0_to_gsi2_override);
    RUN(test_madt_reports_overflow_but_keeps_what_fit);
    RUN(test_madt_rejects_zero_short_and_overlong_entries);
    RUN(test_mcfg_gives_ecam_at_b0000000_for_buses_0_to_255);
    RUN(test_mcfg_rejects_bad_lengths_and_bus_ranges);
    RUN(test_dmar_with_device_iotlb_has_unit_scopes_and_atsr);
    RUN(test_dmar_without_device_iotlb_has_no_atsr);
    RUN(test_dmar_every_truncation_is_rejected_without_overread);
    RUN(test_dmar_rejects_bad_structure_and_scope_lengths);
    RUN(test_dmar_include_pci_all_must_be_last_for_its_segment);
    RUN(test_dmar_too_small_arrays_report_the_sizes_needed);
    RUN(test_dmar_parses_rmrr_rhsa_satc_and_multi_hop_paths);
    RUN(test_dmar_scopes_resolve_through_root_port_secondary_buses);
    RUN(test_dmar_scope_paths_that_loop_or_lead_nowhere_fail);
    return CHECK_SUMMARY();
}
