/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ATS decision (VT-d 8.5 ATSR, 8.8 SATC): the policy built from DMAR structures — by hand,
 * malformed, and the tables QEMU 7.2 really emits (tests/data) — and, through the VT-d model,
 * what an attach does under it: a device the platform does not report gets no ATS, so nothing
 * is ever sent to a device-TLB for it, and the server says why once.
 */
#include <acpi/acpi.h>
#include <iommu/ats.h>

#include "fixture.h"

#define ATS1 0x0100 /* 01:00.0 below root port 00:01.0 */
#define ATS2 0x0200 /* 02:00.0 below root port 00:02.0 */
#define RP1 0x0008  /* 00:01.0 */
#define RP2 0x0010  /* 00:02.0 */
#define SATA 0x00fa /* 00:1f.2, integrated */
#define HDA 0x00fb  /* 00:1f.3, integrated */

/* A DMAR as acpi_dmar_parse leaves it, filled by hand. */
struct dmar_buf {
    struct acpi_dmar d;
    struct acpi_dmar_atsr atsr[4], satc[4];
    struct acpi_dmar_scope scope[24];
};

static void dmar_init(struct dmar_buf *b)
{
    memset(b, 0, sizeof(*b));
    b->d.atsrs = b->atsr;
    b->d.atsr_cap = 4;
    b->d.satcs = b->satc;
    b->d.satc_cap = 4;
    b->d.scopes = b->scope;
    b->d.scope_cap = 24;
}

/* One scope (type, start bus, hops given as dev, fn pairs) appended to the scope array. */
static size_t scope_add(struct dmar_buf *b, uint8_t type, uint8_t bus, unsigned hops,
                        const uint8_t *path)
{
    struct acpi_dmar_scope *sc = &b->scope[b->d.scope_count];
    sc->type = type;
    sc->start_bus = bus;
    sc->path_len = (uint8_t)hops;
    for (unsigned h = 0; h < hops; h++) {
        sc->path[h].dev = path[2 * h];
        sc->path[h].fn = path[2 * h + 1];
    }
    return b->d.scope_count++;
}

static struct acpi_dmar_atsr *atsr_add(struct dmar_buf *b, bool satc, uint8_t flags,
                                       uint16_t segment)
{
    struct acpi_dmar_atsr *a = satc ? &b->satc[b->d.satc_count++] : &b->atsr[b->d.atsr_count++];
    a->flags = flags;
    a->segment = segment;
    a->scope_first = b->d.scope_count;
    a->scope_count = 0;
    return a;
}

/* ---- the policy alone ---- */

static void test_no_atsr_keeps_ats_off_below_every_root_port(void)
{
    struct dmar_buf b;
    struct iommu_ats_policy p;
    dmar_init(&b);
    iommu_ats_policy_from_dmar(&p, &b.d, 0);
    CHECK(!p.atsr);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_REFUSED_NO_ATSR);
    CHECK_EQ(iommu_ats_decide(&p, SATA, -1, true), IOMMU_ATS_REFUSED_NOT_IN_SATC);
    CHECK(!iommu_ats_verdict_allows(IOMMU_ATS_REFUSED_NO_ATSR));
    CHECK(!iommu_ats_verdict_allows(IOMMU_ATS_UNDECIDED));
    iommu_ats_policy_from_dmar(&p, NULL, 0);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_REFUSED_NO_ATSR);
out:;
}

static void test_all_ports_allows_every_device_below_a_root_port_only(void)
{
    struct dmar_buf b;
    struct iommu_ats_policy p;
    dmar_init(&b);
    atsr_add(&b, false, ACPI_DMAR_ATSR_ALL_PORTS, 0);
    iommu_ats_policy_from_dmar(&p, &b.d, 0);
    CHECK(p.atsr && p.all_ports);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_ALLOWED_ALL_PORTS);
    CHECK_EQ(iommu_ats_decide(&p, ATS2, RP2, false), IOMMU_ATS_ALLOWED_ALL_PORTS);
    CHECK(iommu_ats_verdict_allows(IOMMU_ATS_ALLOWED_ALL_PORTS));
    /* No root port found above it: the path is unknown, so is ATS support on it. */
    CHECK_EQ(iommu_ats_decide(&p, ATS1, -1, false), IOMMU_ATS_REFUSED_NO_PORT);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, 0x10000, false), IOMMU_ATS_REFUSED_NO_PORT);
    /* An integrated device is below no root port: ALL_PORTS says nothing about it. */
    CHECK_EQ(iommu_ats_decide(&p, SATA, -1, true), IOMMU_ATS_REFUSED_NOT_IN_SATC);
    CHECK_EQ(p.ignored, 0);
out:;
}

static void test_listed_root_port_allows_the_devices_below_it_and_no_others(void)
{
    struct dmar_buf b;
    struct iommu_ats_policy p;
    const uint8_t rp1[] = {1, 0};
    dmar_init(&b);
    struct acpi_dmar_atsr *a = atsr_add(&b, false, 0, 0);
    scope_add(&b, ACPI_DMAR_SCOPE_BRIDGE, 0, 1, rp1);
    a->scope_count = 1;
    iommu_ats_policy_from_dmar(&p, &b.d, 0);
    CHECK(p.atsr && !p.all_ports);
    CHECK_EQ(p.n_ports, 1);
    CHECK_EQ(p.port[0], RP1);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_ALLOWED_PORT);
    CHECK_EQ(iommu_ats_decide(&p, 0x0500, RP1, false), IOMMU_ATS_ALLOWED_PORT); /* deeper */
    CHECK_EQ(iommu_ats_decide(&p, ATS2, RP2, false), IOMMU_ATS_REFUSED_PORT_NOT_LISTED);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, -1, false), IOMMU_ATS_REFUSED_NO_PORT);
out:;
}

static void test_satc_listed_integrated_device_is_allowed_and_atc_required_kept(void)
{
    struct dmar_buf b;
    struct iommu_ats_policy p;
    const uint8_t sata[] = {0x1f, 2}, hda[] = {0x1f, 3};
    dmar_init(&b);
    struct acpi_dmar_atsr *s1 = atsr_add(&b, true, ACPI_DMAR_SATC_ATC_REQUIRED, 0);
    scope_add(&b, ACPI_DMAR_SCOPE_ENDPOINT, 0, 1, sata);
    s1->scope_count = 1;
    struct acpi_dmar_atsr *s2 = atsr_add(&b, true, 0, 0);
    scope_add(&b, ACPI_DMAR_SCOPE_ENDPOINT, 0, 1, hda);
    s2->scope_count = 1;
    iommu_ats_policy_from_dmar(&p, &b.d, 0);
    CHECK_EQ(p.n_integrated, 2);
    CHECK_EQ(iommu_ats_decide(&p, SATA, -1, true), IOMMU_ATS_REQUIRED_SATC);
    CHECK_EQ(iommu_ats_decide(&p, HDA, -1, true), IOMMU_ATS_ALLOWED_SATC);
    CHECK(iommu_ats_verdict_allows(IOMMU_ATS_REQUIRED_SATC));
    CHECK_EQ(iommu_ats_decide(&p, 0x00f8, -1, true), IOMMU_ATS_REFUSED_NOT_IN_SATC);
    /* A SATC is about integrated devices: it allows nothing below root ports. */
    CHECK(!p.atsr);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_REFUSED_NO_ATSR);
out:;
}

static void test_another_segments_atsr_and_satc_allow_nothing_here(void)
{
    struct dmar_buf b;
    struct iommu_ats_policy p;
    const uint8_t sata[] = {0x1f, 2};
    dmar_init(&b);
    atsr_add(&b, false, ACPI_DMAR_ATSR_ALL_PORTS, 1);
    struct acpi_dmar_atsr *s = atsr_add(&b, true, 0, 1);
    scope_add(&b, ACPI_DMAR_SCOPE_ENDPOINT, 0, 1, sata);
    s->scope_count = 1;
    iommu_ats_policy_from_dmar(&p, &b.d, 0);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_REFUSED_NO_ATSR);
    CHECK_EQ(iommu_ats_decide(&p, SATA, -1, true), IOMMU_ATS_REFUSED_NOT_IN_SATC);
    /* The same tables for the segment they name. */
    iommu_ats_policy_from_dmar(&p, &b.d, 1);
    CHECK_EQ(p.segment, 1);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_ALLOWED_ALL_PORTS);
    CHECK_EQ(iommu_ats_decide(&p, SATA, -1, true), IOMMU_ATS_ALLOWED_SATC);
out:;
}

static void test_malformed_scopes_are_ignored_and_counted(void)
{
    struct dmar_buf b;
    struct iommu_ats_policy p;
    const uint8_t rp1[] = {1, 0}, rp2[] = {2, 0}, deep[] = {1, 0, 0, 0}, bad[] = {40, 0},
                  sata[] = {0x1f, 2};
    dmar_init(&b);
    struct acpi_dmar_atsr *a = atsr_add(&b, false, 0, 0);
    scope_add(&b, ACPI_DMAR_SCOPE_ENDPOINT, 0, 1, rp2); /* not a sub-hierarchy scope */
    scope_add(&b, ACPI_DMAR_SCOPE_BRIDGE, 0, 2, deep);  /* through a bridge: not a root port */
    scope_add(&b, ACPI_DMAR_SCOPE_BRIDGE, 0, 1, bad);   /* device 40 */
    scope_add(&b, ACPI_DMAR_SCOPE_IOAPIC, 0, 1, rp2);
    scope_add(&b, ACPI_DMAR_SCOPE_BRIDGE, 0, 0, rp2); /* no hop at all */
    scope_add(&b, ACPI_DMAR_SCOPE_BRIDGE, 0, 1, rp1); /* the one good scope */
    a->scope_count = 6;
    struct acpi_dmar_atsr *s = atsr_add(&b, true, 0, 0);
    scope_add(&b, ACPI_DMAR_SCOPE_BRIDGE, 0, 1, sata); /* a SATC names endpoints */
    s->scope_count = 1;
    /* A structure whose scopes lie past the array: nothing of it is read. */
    struct acpi_dmar_atsr *far = atsr_add(&b, true, 0, 0);
    far->scope_first = 20;
    far->scope_count = 3;
    iommu_ats_policy_from_dmar(&p, &b.d, 0);
    CHECK_EQ(p.ignored, 7);
    CHECK_EQ(p.n_ports, 1);
    CHECK_EQ(p.n_integrated, 0);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_ALLOWED_PORT);
    CHECK_EQ(iommu_ats_decide(&p, ATS2, RP2, false), IOMMU_ATS_REFUSED_PORT_NOT_LISTED);
    CHECK_EQ(iommu_ats_decide(&p, SATA, -1, true), IOMMU_ATS_REFUSED_NOT_IN_SATC);
    /* An ATSR list the parser could not complete (count above the array): none is taken. */
    dmar_init(&b);
    atsr_add(&b, false, ACPI_DMAR_ATSR_ALL_PORTS, 0);
    b.d.atsr_count = 5;
    iommu_ats_policy_from_dmar(&p, &b.d, 0);
    CHECK(!p.atsr);
    CHECK_EQ(p.ignored, 1);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_REFUSED_NO_ATSR);
out:;
}

static void test_full_port_table_refuses_the_ports_that_did_not_fit(void)
{
    struct iommu_ats_policy p;
    iommu_ats_policy_init(&p, 0);
    for (unsigned i = 0; i < IOMMU_ATS_MAX_PORTS; i++) {
        CHECK(iommu_ats_policy_add_port(&p, (uint16_t)(i << 3)));
    }
    CHECK(iommu_ats_policy_add_port(&p, 0)); /* a duplicate takes no room */
    CHECK(!iommu_ats_policy_add_port(&p, 0x00f8));
    CHECK_EQ(p.n_ports, IOMMU_ATS_MAX_PORTS);
    CHECK_EQ(iommu_ats_decide(&p, 0x4000, 0x00f8, false), IOMMU_ATS_REFUSED_PORT_NOT_LISTED);
    CHECK_EQ(iommu_ats_decide(&p, 0x4000, 0x0078, false), IOMMU_ATS_ALLOWED_PORT);
out:;
}

/* The captured DMAR of QEMU 7.2 q35 (tests/data/<variant>/acpi/DMAR.bin), parsed. */
static bool qemu_policy(const char *variant, struct iommu_ats_policy *p)
{
    char path[512];
    uint8_t table[4096];
    snprintf(path, sizeof(path), "%s/%s/acpi/DMAR.bin", PC_TEST_DATA_DIR, variant);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        return false;
    }
    size_t len = fread(table, 1, sizeof(table), fp);
    fclose(fp);
    struct dmar_buf b;
    struct acpi_dmar_drhd drhd[4];
    dmar_init(&b);
    b.d.drhds = drhd;
    b.d.drhd_cap = 4;
    if (acpi_dmar_parse(table, len, &b.d) != ACPI_OK) {
        return false;
    }
    iommu_ats_policy_from_dmar(p, &b.d, 0);
    return true;
}

static void test_qemu_dmar_allows_ats_below_every_root_port_only_with_device_iotlb(void)
{
    struct iommu_ats_policy p;
    /* device-iotlb=on: one ATSR, ALL_PORTS, segment 0, no scopes; no SATC. */
    CHECK(qemu_policy("q35-iommu-iotlb", &p));
    CHECK(p.atsr && p.all_ports);
    CHECK_EQ(p.n_integrated, 0);
    CHECK_EQ(p.ignored, 0);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_ALLOWED_ALL_PORTS);
    /* without it: no ATSR at all, so the virtio-rng's ats=on must stay unused */
    CHECK(qemu_policy("q35-iommu", &p));
    CHECK(!p.atsr);
    CHECK_EQ(iommu_ats_decide(&p, ATS1, RP1, false), IOMMU_ATS_REFUSED_NO_ATSR);
out:;
}

/* ---- through the server and the VT-d model ---- */

static void set_policy_no_atsr(struct fx *f)
{
    struct iommu_ats_policy p;
    iommu_ats_policy_init(&p, 0);
    if (iommu_server_set_ats_policy(f->s, &p) != IOMMU_OK) {
        abort();
    }
}

static uint64_t attach_flags(struct fx *f, uint64_t badge, uint16_t sid, uint64_t *handle)
{
    struct iommu_msg m;
    struct iommu_reply r;
    struct iommu_attach_rets rets = {0};
    iommu_encode_attach(&m, sid);
    fx_call(f, badge, &m, &r);
    if (iommu_reply_attach(&r, &rets) != IOMMU_OK) {
        return ~0ull;
    }
    *handle = rets.handle;
    return rets.flags;
}

static bool ats_enable_bit(struct fx *f, uint16_t sid)
{
    return (pci_cfg_read16(&f->ecam, sid, ATS_CAP_OFF + 6) & 0x8000u) != 0;
}

/* The control for the next test: the same steps under QEMU's policy do reach the device-TLB. */
static void test_attach_under_all_ports_enables_ats_and_unmap_invalidates_device_tlb(void)
{
    struct fx f;
    uint16_t sids[] = {ATS1};
    uint64_t h, st;
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, ATS1, VTD_MODEL_DEV_ATS, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(attach_flags(&f, CLIENT_A, ATS1, &h), IOMMU_ATTACH_ATS);
    CHECK(ats_enable_bit(&f, ATS1));
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x2000, IOMMU_READ), IOMMU_OK);
    size_t mark = fx_log(&f, NULL, 0);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x10000, 0x2000, &st), IOMMU_OK);
    CHECK(fx_count_desc(&f, mark, 3, ATS1) >= 1);
    CHECK_EQ(f.ats_refusals, 0);
out:
    fx_fini(&f);
}

static void test_attach_under_refusing_policy_leaves_ats_off_and_unmap_sends_no_device_tlb_inv(void)
{
    struct fx f;
    uint16_t sids[] = {ATS1};
    uint64_t h, st;
    struct iommu_msg m;
    struct iommu_reply r;
    uint8_t buf[64];
    CHECK(fx_init(&f, NULL, NULL));
    set_policy_no_atsr(&f);
    fx_add_device(&f, ATS1, VTD_MODEL_DEV_ATS, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(attach_flags(&f, CLIENT_A, ATS1, &h), 0);
    CHECK(!ats_enable_bit(&f, ATS1));
    CHECK_EQ(f.ats_refusals, 1);
    CHECK_EQ(f.last_ats_refused, ATS1);
    CHECK(strstr(f.last_ats_why, "ATSR") != NULL);
    /* DMA still works, untranslated through the unit. */
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x2000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(vtd_model_dma(f.m, ATS1, VTD_MODEL_NO_PASID, 0x10000, buf, sizeof(buf), false), 0);
    size_t mark = fx_log(&f, NULL, 0);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x10000, 0x2000, &st), IOMMU_OK);
    CHECK(fx_count_desc(&f, mark, 2, 0xffffffffu) >= 1); /* the IOTLB is invalidated */
    CHECK_EQ(fx_count_desc(&f, mark, 3, 0xffffffffu), 0);
    CHECK_EQ(fx_count_desc(&f, mark, 8, 0xffffffffu), 0);
    iommu_encode_ats_flush(&m, h, 0, 0);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_NOT_ATS);
    /* Said once: a second attach of the same occupant is quiet. */
    CHECK_EQ(fx_detach(&f, CLIENT_A, h, &st), IOMMU_OK);
    CHECK_EQ(attach_flags(&f, CLIENT_A, ATS1, &h), 0);
    CHECK_EQ(f.ats_refusals, 1);
out:
    fx_fini(&f);
}

static void test_listed_port_policy_set_after_indexing_decides_present_devices_again(void)
{
    struct fx f;
    uint16_t sids[] = {ATS1, ATS2};
    uint64_t h1, h2;
    struct iommu_ats_policy p;
    CHECK(fx_init(&f, NULL, NULL));
    fx_add_device(&f, ATS1, VTD_MODEL_DEV_ATS, true);
    fx_add_device(&f, ATS2, VTD_MODEL_DEV_ATS, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 2);
    iommu_ats_policy_init(&p, 0);
    CHECK(iommu_ats_policy_add_port(&p, RP1));
    CHECK_EQ(iommu_server_set_ats_policy(f.s, &p), IOMMU_OK);
    CHECK_EQ(iommu_server_set_ats_policy(f.s, NULL), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(attach_flags(&f, CLIENT_A, ATS1, &h1), IOMMU_ATTACH_ATS);
    CHECK_EQ(attach_flags(&f, CLIENT_A, ATS2, &h2), 0);
    CHECK_EQ(f.ats_refusals, 1);
    CHECK_EQ(f.last_ats_refused, ATS2);
    CHECK(ats_enable_bit(&f, ATS1) && !ats_enable_bit(&f, ATS2));
    CHECK_EQ(iommu_device_get(f.s, ATS2)->ats_verdict, IOMMU_ATS_REFUSED_PORT_NOT_LISTED);
out:
    fx_fini(&f);
}

static void test_device_whose_root_port_is_unknown_gets_no_ats(void)
{
    struct fx f;
    uint16_t sids[] = {0x2100};
    uint64_t h;
    CHECK(fx_init(&f, NULL, NULL));
    /* Bus 0x21: the fixture adds no port for it, and none claims it. */
    fx_add_device(&f, 0x2100, VTD_MODEL_DEV_ATS, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(attach_flags(&f, CLIENT_A, 0x2100, &h), 0);
    CHECK_EQ(f.ats_refusals, 1);
    CHECK_EQ(iommu_device_get(f.s, 0x2100)->ats_verdict, IOMMU_ATS_REFUSED_NO_PORT);
out:
    fx_fini(&f);
}

static void test_replugged_occupant_is_decided_again_and_told_again(void)
{
    struct fx f;
    uint16_t sids[] = {ATS1};
    uint64_t h, st, gen;
    CHECK(fx_init(&f, NULL, NULL));
    set_policy_no_atsr(&f);
    fx_add_device(&f, ATS1, VTD_MODEL_DEV_ATS, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(attach_flags(&f, CLIENT_A, ATS1, &h), 0);
    CHECK_EQ(f.ats_refusals, 1);
    CHECK_EQ(fx_detach(&f, CLIENT_A, h, &st), IOMMU_OK);
    CHECK_EQ(fx_fence(&f, ATS1, IOMMU_FENCE_ORDERLY, &st), IOMMU_HP_OK);
    CHECK_EQ(fx_removed(&f, ATS1), IOMMU_HP_OK);
    fx_set_present(&f, ATS1, true);
    CHECK_EQ(fx_added(&f, ATS1, &gen), IOMMU_HP_OK);
    CHECK_EQ(attach_flags(&f, CLIENT_A, ATS1, &h), 0);
    CHECK_EQ(f.ats_refusals, 2);
out:
    fx_fini(&f);
}

int main(void)
{
    RUN(test_no_atsr_keeps_ats_off_below_every_root_port);
    RUN(test_all_ports_allows_every_device_below_a_root_port_only);
    RUN(test_listed_root_port_allows_the_devices_below_it_and_no_others);
    RUN(test_satc_listed_integrated_device_is_allowed_and_atc_required_kept);
    RUN(test_another_segments_atsr_and_satc_allow_nothing_here);
    RUN(test_malformed_scopes_are_ignored_and_counted);
    RUN(test_full_port_table_refuses_the_ports_that_did_not_fit);
    RUN(test_qemu_dmar_allows_ats_below_every_root_port_only_with_device_iotlb);
    RUN(test_attach_under_all_ports_enables_ats_and_unmap_invalidates_device_tlb);
    RUN(test_attach_under_refusing_policy_leaves_ats_off_and_unmap_sends_no_device_tlb_inv);
    RUN(test_listed_port_policy_set_after_indexing_decides_present_devices_again);
    RUN(test_device_whose_root_port_is_unknown_gets_no_ats);
    RUN(test_replugged_occupant_is_decided_again_and_told_again);
    return fx_report();
}
