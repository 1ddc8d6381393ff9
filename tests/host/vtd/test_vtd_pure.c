/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvtd tests that need no hardware model: error names, CAP/ECAP decoding, descriptor and
 * entry encoders, fault-record and page-request decoding, batch building (merging and
 * collapsing), and second-level page-table logic against a fake struct vtd_hw that only
 * provides memory and a register file whose handshakes complete at once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/vtd.h>

#include "vt.h"

VT_GLOBALS;

#define QEMU_CAP 0x00d2008c22260206ull
#define QEMU_ECAP 0x0000000000f00f5eull /* QI, DT, IR, EIM, PT, SC, IRO 0xf0, MHMV */

/* ---- A fake unit: registers in an array, memory pages from the C heap -------------------- */
#define FAKE_PAGES 256
struct fake {
    uint32_t regs[0x400];
    uint64_t cap, ecap;
    void *page[FAKE_PAGES];
    bool used[FAKE_PAGES];
    unsigned limit; /* pages that may be allocated (NOMEM beyond) */
    unsigned in_use, flushes;
    uint64_t now;
};
#define FAKE_BASE 0x100000ull

static uint32_t f_read32(void *c, uint32_t off)
{
    struct fake *f = c;
    return f->regs[off / 4];
}
static uint64_t f_read64(void *c, uint32_t off)
{
    struct fake *f = c;
    return f->regs[off / 4] | (uint64_t)f->regs[off / 4 + 1] << 32;
}
static void f_write32(void *c, uint32_t off, uint32_t v)
{
    struct fake *f = c;
    if (off == VTD_GCMD_REG) {
        /* Status follows the command at once; one-shot bits read back as done. */
        f->regs[VTD_GSTS_REG / 4] = v & ~(uint32_t)VTD_GCMD_WBF;
        return;
    }
    f->regs[off / 4] = v;
}
static void f_write64(void *c, uint32_t off, uint64_t v)
{
    struct fake *f = c;
    if (off == VTD_CCMD_REG) {
        v &= ~VTD_CCMD_ICC;
    }
    if (off == 0xf0 + VTD_IOTLB_OFF) {
        v &= ~VTD_IOTLB_IVT;
    }
    f->regs[off / 4] = (uint32_t)v;
    f->regs[off / 4 + 1] = (uint32_t)(v >> 32);
}
static void *f_alloc(void *c, uint64_t *pa)
{
    struct fake *f = c;
    if (f->in_use >= f->limit) {
        return NULL;
    }
    for (unsigned i = 0; i < FAKE_PAGES; i++) {
        if (!f->used[i]) {
            f->used[i] = true;
            f->in_use++;
            memset(f->page[i], 0, 4096);
            *pa = FAKE_BASE + i * 4096ull;
            return f->page[i];
        }
    }
    return NULL;
}
static void f_free(void *c, void *va, uint64_t pa)
{
    struct fake *f = c;
    unsigned i = (unsigned)((pa - FAKE_BASE) / 4096);
    CHECK(i < FAKE_PAGES && f->used[i] && f->page[i] == va);
    if (i < FAKE_PAGES && f->used[i]) {
        f->used[i] = false;
        f->in_use--;
        memset(va, 0xa5, 4096); /* a use after free shows up as garbage entries */
    }
}
static void *f_p2v(void *c, uint64_t pa)
{
    struct fake *f = c;
    unsigned i = (unsigned)((pa - FAKE_BASE) / 4096);
    return i < FAKE_PAGES ? (char *)f->page[i] + (pa & 4095) : NULL;
}
static void f_flush(void *c, const void *va, size_t len)
{
    (void)va;
    (void)len;
    ((struct fake *)c)->flushes++;
}
static uint64_t f_now(void *c)
{
    return ((struct fake *)c)->now;
}
static void f_relax(void *c)
{
    ((struct fake *)c)->now += 1000;
}

static struct fake *fake_new(uint64_t cap, uint64_t ecap, struct vtd_hw *hw)
{
    struct fake *f = calloc(1, sizeof(*f));
    for (unsigned i = 0; i < FAKE_PAGES; i++) {
        f->page[i] = aligned_alloc(4096, 4096);
    }
    f->limit = FAKE_PAGES;
    f->regs[VTD_CAP_REG / 4] = (uint32_t)cap;
    f->regs[VTD_CAP_REG / 4 + 1] = (uint32_t)(cap >> 32);
    f->regs[VTD_ECAP_REG / 4] = (uint32_t)ecap;
    f->regs[VTD_ECAP_REG / 4 + 1] = (uint32_t)(ecap >> 32);
    *hw = (struct vtd_hw){.ctx = f,
                          .read32 = f_read32,
                          .read64 = f_read64,
                          .write32 = f_write32,
                          .write64 = f_write64,
                          .alloc_page = f_alloc,
                          .free_page = f_free,
                          .phys_to_virt = f_p2v,
                          .flush_cache = f_flush,
                          .now_ns = f_now,
                          .relax = f_relax};
    return f;
}

static void fake_free(struct fake *f)
{
    for (unsigned i = 0; i < FAKE_PAGES; i++) {
        free(f->page[i]);
    }
    free(f);
}

/* ---- Errors and capabilities ----------------------------------------------------------- */

static void test_strerror_names_every_error(void)
{
    for (int e = 0; e < VTD_ERR_COUNT_; e++) {
        CHECK(vtd_strerror((enum vtd_err)e) != NULL);
        CHECK(strncmp(vtd_errname((enum vtd_err)e), "VTD_", 4) == 0);
        CHECK(strcmp(vtd_strerror((enum vtd_err)e), "unknown error") != 0);
    }
    CHECK(strcmp(vtd_strerror((enum vtd_err)999), "unknown error") == 0);
    CHECK(strcmp(vtd_errname(VTD_ERR_ITE), "VTD_ERR_ITE") == 0);
}

static void test_caps_decode_qemu_default(void)
{
    struct vtd_features f;
    CHECK_ERR(vtd_features_decode(QEMU_CAP, QEMU_ECAP, &f), VTD_OK);
    CHECK_EQ(f.nd_bits, 16);
    CHECK_EQ(f.sagaw, VTD_SAGAW_39);
    CHECK_EQ(f.max_levels, 3);
    CHECK_EQ(f.mgaw, 39);
    CHECK_EQ(f.fro, 0x220);
    CHECK_EQ(f.nfr, 1);
    CHECK(f.psi);
    CHECK_EQ(f.mamv, 18);
    CHECK(f.sp_2m && f.sp_1g);
    CHECK(!f.caching_mode);
    CHECK(f.qi && f.dt && f.ir && f.pt);
    CHECK_EQ(f.iro, 0xf0);
    CHECK(!f.coherent);
    CHECK(!f.smts && !f.pasid && !f.prs);
}

static void test_caps_decode_scalable_bits(void)
{
    struct vtd_features f;
    uint64_t ecap = QEMU_ECAP | VTD_ECAP_SMTS | VTD_ECAP_SLTS | VTD_ECAP_PASID | (19ull << 35) |
                    VTD_ECAP_PRS | VTD_ECAP_C;
    uint64_t cap = QEMU_CAP | (VTD_SAGAW_48 << 8) | VTD_CAP_CM | (7ull << 40);
    CHECK_ERR(vtd_features_decode(cap, ecap, &f), VTD_OK);
    CHECK(f.smts && f.slts && f.pasid && f.prs && f.coherent && f.caching_mode);
    CHECK_EQ(f.pasid_bits, 20);
    CHECK_EQ(f.max_levels, 4);
    CHECK_EQ(f.min_levels, 3);
    CHECK_EQ(f.nfr, 8);
}

static void test_caps_reject_unusable_units(void)
{
    struct vtd_features f;
    /* no 3- or 4-level support */
    CHECK_ERR(vtd_features_decode(QEMU_CAP & ~(0x1full << 8), QEMU_ECAP, &f), VTD_ERR_UNSUPPORTED);
    /* FRO inside the architectural registers */
    CHECK_ERR(vtd_features_decode(QEMU_CAP & ~(0x3ffull << 24), QEMU_ECAP, &f),
              VTD_ERR_UNSUPPORTED);
    /* IRO at 0 */
    CHECK_ERR(vtd_features_decode(QEMU_CAP, QEMU_ECAP & ~(0x3ffull << 8), &f), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_features_decode(QEMU_CAP, QEMU_ECAP, NULL), VTD_ERR_INVAL);
}

/* ---- Encoders ------------------------------------------------------------------------------ */

static void test_desc_iotlb_page_selective_encoding(void)
{
    struct vtd_desc d = vtd_desc_iotlb(VTD_G_PAGE, 7, 0x200000, 9, true);
    CHECK_EQ(VTD_DESC_TYPE_GET(d.qw[0]), VTD_DESC_IOTLB);
    CHECK_EQ(VTD_DESC_G_GET(d.qw[0]), 3);
    CHECK_EQ(VTD_DESC_DID_GET(d.qw[0]), 7);
    CHECK_EQ(d.qw[1], 0x200000 | 9 | VTD_DESC_ADDR_IH);
    d = vtd_desc_iotlb(VTD_G_GLOBAL, 7, 0, 0, false);
    CHECK_EQ(VTD_DESC_DID_GET(d.qw[0]), 0);
    CHECK_EQ(d.qw[1], 0);
}

static void test_cover_order_is_smallest_aligned_block(void)
{
    CHECK_EQ(vtd_cover_order(0x1000, 0x1000), 0);
    CHECK_EQ(vtd_cover_order(0x0, 0x2000), 1);
    CHECK_EQ(vtd_cover_order(0x1000, 0x2000), 2); /* pages 1,2 need [0, 16K) */
    CHECK_EQ(vtd_cover_order(0x200000, 0x200000), 9);
    CHECK_EQ(vtd_cover_order(0x1ff000, 0x2000), 22 - 12 + 0); /* straddles 2M: block of 4M */
}

static void test_devtlb_size_encoding(void)
{
    uint64_t s;
    CHECK_EQ(vtd_devtlb_addr(0x5000, 0, &s), 0x5000);
    CHECK_EQ(s, 0);
    /* 8 KiB at 0x4000: S=1, bit 12 clear */
    CHECK_EQ(vtd_devtlb_addr(0x4000, 1, &s), 0x4000);
    CHECK_EQ(s, 1);
    /* 2 MiB at 0x200000: bits 12..19 set, bit 20 clear */
    CHECK_EQ(vtd_devtlb_addr(0x200000, 9, &s), 0x200000 | 0xff000);
    /* everything */
    CHECK_EQ(vtd_devtlb_addr(0, 64, &s), 0x7ffffffffffff000ull);
    struct vtd_desc d = vtd_desc_devtlb(0x0310, 4, 0x200000, 9);
    CHECK_EQ(VTD_DESC_TYPE_GET(d.qw[0]), VTD_DESC_DEVTLB);
    CHECK_EQ(VTD_DESC_DEVTLB_SID_GET(d.qw[0]), 0x0310);
    CHECK_EQ(VTD_GET(d.qw[0], 20, 16), 4);
    CHECK_EQ(VTD_GET(d.qw[0], 15, 12), 0); /* PFSID left 0: QEMU rejects it */
    CHECK(d.qw[1] & VTD_DESC_DEVTLB_S);
}

static void test_wait_descriptor_never_sw_and_if(void)
{
    struct vtd_desc a = vtd_desc_wait_status(0x1234, 77, true, true);
    struct vtd_desc b = vtd_desc_wait_irq();
    CHECK((a.qw[0] & VTD_DESC_WAIT_SW) && !(a.qw[0] & VTD_DESC_WAIT_IF));
    CHECK(!(b.qw[0] & VTD_DESC_WAIT_SW) && (b.qw[0] & VTD_DESC_WAIT_IF));
    CHECK_EQ(a.qw[0] >> 32, 77);
    CHECK_EQ(a.qw[1], 0x1234);
    CHECK(a.qw[0] & VTD_DESC_WAIT_FN);
    CHECK(a.qw[0] & VTD_DESC_WAIT_PD);
}

static void test_pasid_descriptors_encoding(void)
{
    struct vtd_desc d = vtd_desc_piotlb(VTD_G_PASID_PAGE, 3, 0x12345, 0x40000, 2, false);
    CHECK_EQ(VTD_DESC_TYPE_GET(d.qw[0]), VTD_DESC_PIOTLB);
    CHECK_EQ(VTD_DESC_PASID_GET(d.qw[0]), 0x12345);
    CHECK_EQ(VTD_DESC_G_GET(d.qw[0]), 3);
    CHECK_EQ(d.qw[1], 0x40000 | 2);
    d = vtd_desc_pdevtlb(0x0108, 0x55, 2, 0, 64);
    CHECK_EQ(VTD_DESC_TYPE_GET(d.qw[0]), VTD_DESC_PDEVTLB);
    CHECK_EQ(VTD_DESC_PDEVTLB_SID_GET(d.qw[0]), 0x0108);
    CHECK_EQ(VTD_DESC_PASID_GET(d.qw[0]), 0x55);
    CHECK(d.qw[1] & VTD_DESC_PDEVTLB_S);
    d = vtd_desc_pgrp_resp(0x0108, true, 9, 0x1ff, VTD_PRG_INVALID);
    CHECK_EQ(VTD_DESC_TYPE_GET(d.qw[0]), VTD_DESC_PGRP_RESP);
    CHECK_EQ(VTD_GET(d.qw[0], 15, 12), 1);
    CHECK_EQ(VTD_GET(d.qw[0], 31, 16), 0x0108);
    CHECK_EQ(VTD_GET(d.qw[1], 11, 3), 0x1ff);
    CHECK(d.qw[1] & VTD_DESC_PGRP_LPIG);
}

static void test_fault_record_decode(void)
{
    struct vtd_fault f;
    uint64_t hi = VTD_FRCD_HI_F | (0x05ull << 32) | 0x0310 | VTD_FRCD_HI_PP | (0x42ull << 40);
    CHECK(vtd_fault_decode(0xdead5123, hi, &f));
    CHECK_EQ(f.sid, 0x0310);
    CHECK_EQ(f.addr, 0xdead5000);
    CHECK_EQ(f.reason, 5);
    CHECK(f.write);
    CHECK(f.pasid_present);
    CHECK_EQ(f.pasid, 0x42);
    CHECK(!vtd_fault_decode(0, hi & ~VTD_FRCD_HI_F, &f));
    CHECK(vtd_fault_decode(0, VTD_FRCD_HI_F | VTD_FRCD_HI_T1 | (6ull << 32), &f));
    CHECK(!f.write);
    CHECK_EQ(f.pasid, VTD_NO_PASID);
    CHECK(strcmp(vtd_fault_reason_name(6), "read from a page without read permission") == 0);
    CHECK(strcmp(vtd_fault_reason_name(0xff), "unknown fault reason") == 0);
}

static void test_page_request_decode(void)
{
    uint64_t qw[4] = {1 | VTD_PRQ0_PP | (0x0310ull << 16) | (0x77ull << 32),
                      VTD_PRQ1_RD | VTD_PRQ1_WR | VTD_PRQ1_LPIG | (0x1a5ull << 3) | 0xabc000, 0, 0};
    struct vtd_page_req r;
    CHECK(vtd_page_req_decode(qw, &r));
    CHECK_EQ(r.sid, 0x0310);
    CHECK(r.pasid_present);
    CHECK_EQ(r.pasid, 0x77);
    CHECK(r.read && r.write && r.last);
    CHECK_EQ(r.prgi, 0x1a5);
    CHECK_EQ(r.addr, 0xabc000);
    qw[0] = 2; /* not a page request */
    CHECK(!vtd_page_req_decode(qw, &r));
}

static void test_prg_tracker_groups_until_last_page(void)
{
    struct vtd_prg_tracker t;
    vtd_prg_init(&t);
    struct vtd_page_req r = {
        .sid = 1, .pasid_present = true, .pasid = 5, .prgi = 3, .addr = 0x1000};
    bool complete;
    struct vtd_prg g;
    CHECK_ERR(vtd_prg_add(&t, &r, &complete, &g), VTD_OK);
    CHECK(!complete);
    r.addr = 0x2000;
    r.write = true;
    CHECK_ERR(vtd_prg_add(&t, &r, &complete, &g), VTD_OK);
    CHECK(!complete);
    CHECK_EQ(vtd_prg_mark_drained(&t, 1, 5), 1);
    r.last = true;
    CHECK_ERR(vtd_prg_add(&t, &r, &complete, &g), VTD_OK);
    CHECK(complete);
    CHECK_EQ(g.pages, 3);
    CHECK(g.write && g.drained);
    CHECK_EQ(t.n, 0);
    /* too many open groups: defined error, nothing lost silently */
    r.last = false;
    for (unsigned i = 0; i < VTD_PRG_OPEN_MAX; i++) {
        r.prgi = (uint16_t)i;
        CHECK_ERR(vtd_prg_add(&t, &r, &complete, &g), VTD_OK);
    }
    r.prgi = 400;
    CHECK_ERR(vtd_prg_add(&t, &r, &complete, &g), VTD_ERR_FULL);
}

/* ---- Unit with the fake ---------------------------------------------------------------- */

static struct fake *probe_fake(struct vtd_unit *u, struct vtd_hw *hw, uint64_t cap, uint64_t ecap)
{
    struct fake *f = fake_new(cap, ecap, hw);
    CHECK_ERR(vtd_unit_probe(u, hw, NULL), VTD_OK);
    return f;
}

static void test_probe_rejects_bad_accessor_and_config(void)
{
    struct vtd_hw hw;
    struct fake *f = fake_new(QEMU_CAP, QEMU_ECAP, &hw);
    static struct vtd_unit u;
    struct vtd_hw broken = hw;
    broken.relax = NULL;
    CHECK_ERR(vtd_unit_probe(&u, &broken, NULL), VTD_ERR_INVAL);
    struct vtd_unit_config c = {.qi_order = 9};
    CHECK_ERR(vtd_unit_probe(&u, &hw, &c), VTD_ERR_INVAL);
    c = (struct vtd_unit_config){.mode = VTD_MODE_SCALABLE};
    CHECK_ERR(vtd_unit_probe(&u, &hw, &c), VTD_ERR_UNSUPPORTED); /* no SMTS */
    c = (struct vtd_unit_config){.qi_256 = true};
    CHECK_ERR(vtd_unit_probe(&u, &hw, &c), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_unit_probe(&u, &hw, NULL), VTD_OK);
    CHECK_EQ(u.cfg.timeout_ns, 1000000000ull);
    fake_free(f);
}

static void test_map_4k_then_lookup_and_overlap_rejected(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    struct vtd_domain d;
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 0), VTD_OK);
    CHECK_EQ(d.levels, 3);
    CHECK_EQ(d.limit, 1ull << 39);
    CHECK_ERR(vtd_domain_map(&d, 0x10000, 0x800000, 0x1000, VTD_R | VTD_W), VTD_OK);
    CHECK_EQ(d.table_pages, 3);
    uint64_t pa;
    unsigned rights;
    CHECK_ERR(vtd_domain_lookup(&d, 0x10123, &pa, &rights), VTD_OK);
    CHECK_EQ(pa, 0x800123);
    CHECK_EQ(rights, VTD_R | VTD_W);
    CHECK_ERR(vtd_domain_lookup(&d, 0x11000, &pa, &rights), VTD_ERR_INVAL);
    unsigned pages = f->in_use;
    CHECK_ERR(vtd_domain_map(&d, 0xf000, 0x900000, 0x2000, VTD_R), VTD_ERR_OVERLAP);
    CHECK_EQ(f->in_use, pages);
    CHECK_ERR(vtd_domain_lookup(&d, 0xf000, &pa, &rights), VTD_ERR_INVAL); /* nothing changed */
    CHECK_ERR(vtd_domain_map(&d, 0x20000, 0x900000, 0x1000, 0), VTD_ERR_INVAL);
    CHECK_ERR(vtd_domain_map(&d, 0x20000, 0x900000, 0x1000, 4), VTD_ERR_INVAL);
    CHECK_ERR(vtd_domain_map(&d, 0x20800, 0x900000, 0x1000, VTD_R), VTD_ERR_ALIGN);
    CHECK_ERR(vtd_domain_map(&d, 0x20000, 0x900000, 0, VTD_R), VTD_ERR_INVAL);
    CHECK_ERR(vtd_domain_map(&d, (1ull << 39) - 0x1000, 0x900000, 0x2000, VTD_R), VTD_ERR_RANGE);
    CHECK_ERR(vtd_domain_map(&d, ~0xfffull, 0x900000, 0x2000, VTD_R), VTD_ERR_RANGE);
    CHECK_ERR(vtd_domain_map(&d, 0x20000, ~0xfffull, 0x2000, VTD_R), VTD_ERR_RANGE);
    vtd_domain_destroy(&d);
    CHECK_EQ(f->in_use, 0);
    fake_free(f);
}

static void test_map_uses_superpages_when_aligned(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    struct vtd_domain d;
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 0), VTD_OK);
    CHECK_ERR(vtd_domain_map(&d, 0x200000, 0x40000000, 0x200000, VTD_R), VTD_OK);
    CHECK_EQ(d.table_pages, 2); /* top + one level-2 table holding a 2 MiB leaf */
    CHECK_ERR(vtd_domain_map(&d, 0x40000000, 0x80000000, 0x40000000, VTD_R | VTD_W), VTD_OK);
    CHECK_EQ(d.table_pages, 2); /* a 1 GiB leaf in the top table */
    uint64_t pa;
    unsigned r;
    CHECK_ERR(vtd_domain_lookup(&d, 0x40123456, &pa, &r), VTD_OK);
    CHECK_EQ(pa, 0x80123456);
    /* Misaligned physical address: falls back to 4 KiB leaves */
    CHECK_ERR(vtd_domain_map(&d, 0x400000, 0x40001000, 0x200000, VTD_R), VTD_OK);
    CHECK_EQ(d.table_pages, 3);
    /* Splitting a superpage is refused and changes nothing */
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&d, 0x201000, 0x1000, &res), VTD_ERR_SPLIT);
    CHECK_ERR(vtd_domain_lookup(&d, 0x201000, &pa, &r), VTD_OK);
    CHECK_ERR(vtd_domain_unmap(&d, 0x200000, 0x200000, &res), VTD_OK);
    CHECK_EQ(res.unmapped, 0x200000);
    CHECK_ERR(vtd_domain_lookup(&d, 0x201000, &pa, &r), VTD_ERR_INVAL);
    vtd_domain_destroy(&d);
    CHECK_EQ(f->in_use, 0);
    fake_free(f);
}

static void test_unmap_reclaims_empty_tables_after_release(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    struct vtd_domain d;
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 0), VTD_OK);
    CHECK_ERR(vtd_domain_map(&d, 0x10000, 0x800000, 0x1000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_domain_map(&d, 0x11000, 0x801000, 0x1000, VTD_R), VTD_OK);
    unsigned before = f->in_use;
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&d, 0x10000, 0x1000, &res), VTD_OK);
    CHECK_EQ(res.unmapped, 0x1000);
    CHECK_EQ(res.freed.count, 0); /* the table still holds 0x11000 */
    CHECK(!res.tables_freed);
    CHECK_EQ(res.inv_start, 0x10000);
    CHECK_EQ(res.inv_end, 0x11000);
    CHECK_ERR(vtd_domain_unmap(&d, 0x11000, 0x1000, &res), VTD_OK);
    CHECK_EQ(res.freed.count, 2); /* level-1 and level-2 tables became empty */
    CHECK(res.tables_freed);
    CHECK(res.inv_start <= 0x11000 && res.inv_end >= 0x12000);
    CHECK_EQ(f->in_use, before); /* not freed before the caller says the IOTLB is clean */
    vtd_page_list_release(&u, &res.freed);
    CHECK_EQ(f->in_use, before - 2);
    CHECK_EQ(d.table_pages, 1);
    /* Unmapping a hole is fine and reports nothing to invalidate */
    CHECK_ERR(vtd_domain_unmap(&d, 0x10000, 0x4000, &res), VTD_OK);
    CHECK_EQ(res.unmapped, 0);
    CHECK(res.inv_end == res.inv_start);
    vtd_domain_destroy(&d);
    CHECK_EQ(f->in_use, 0);
    fake_free(f);
}

static void test_map_is_all_or_nothing_on_nomem(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    struct vtd_domain d;
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 0), VTD_OK);
    f->limit = f->in_use + 2; /* a 4 MiB map of 4 KiB pages across 2 tables needs 3 */
    CHECK_ERR(vtd_domain_map(&d, 0x1ff000, 0x801000, 0x400000, VTD_R), VTD_ERR_NOMEM);
    CHECK_EQ(f->in_use, 1);
    uint64_t pa;
    unsigned r;
    CHECK_ERR(vtd_domain_lookup(&d, 0x1ff000, &pa, &r), VTD_ERR_INVAL);
    f->limit = FAKE_PAGES;
    CHECK_ERR(vtd_domain_map(&d, 0x1ff000, 0x801000, 0x400000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_domain_lookup(&d, 0x5fe000, &pa, &r), VTD_OK);
    CHECK_EQ(pa, 0xc00000);
    vtd_domain_destroy(&d);
    fake_free(f);
}

static void test_tables_written_back_when_walker_not_coherent(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP); /* ECAP.C = 0 */
    struct vtd_domain d;
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 0), VTD_OK);
    unsigned fl = f->flushes;
    CHECK_ERR(vtd_domain_map(&d, 0x10000, 0x800000, 0x1000, VTD_R), VTD_OK);
    CHECK(f->flushes >= fl + 3); /* leaf table, level-2 table, top entry */
    vtd_domain_destroy(&d);
    fake_free(f);

    f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP | VTD_ECAP_C);
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 0), VTD_OK);
    fl = f->flushes;
    CHECK_ERR(vtd_domain_map(&d, 0x10000, 0x800000, 0x1000, VTD_R), VTD_OK);
    CHECK_EQ(f->flushes, fl);
    vtd_domain_destroy(&d);
    fake_free(f);
}

static void test_domain_init_validates(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    struct vtd_domain d;
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 4), VTD_ERR_UNSUPPORTED); /* SAGAW has 39-bit only */
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 5), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_domain_init(NULL, &u, 1, 3), VTD_ERR_INVAL);
    f->limit = 0;
    CHECK_ERR(vtd_domain_init(&d, &u, 1, 3), VTD_ERR_NOMEM);
    fake_free(f);
    /* ND = 0: 16 domains */
    f = probe_fake(&u, &hw, QEMU_CAP & ~7ull, QEMU_ECAP);
    CHECK_ERR(vtd_domain_init(&d, &u, 16, 3), VTD_ERR_INVAL);
    fake_free(f);
}

static void test_batch_merges_adjacent_ranges(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    static struct vtd_batch b;
    vtd_batch_init(&b, &u);
    for (unsigned i = 0; i < 100; i++) {
        CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x100000 + i * 0x1000ull, 0x1000, true), VTD_OK);
    }
    CHECK_EQ(b.n, 1);
    CHECK_EQ(b.ops[0].start, 0x100000);
    CHECK_EQ(b.ops[0].end, 0x100000 + 100 * 0x1000);
    CHECK(b.ops[0].flags & VTD_OPF_IH);
    /* a range that freed tables drops the hint for the merged range */
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x164000, 0x1000, false), VTD_OK);
    CHECK(!(b.ops[0].flags & VTD_OPF_IH));
    /* another domain does not merge */
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 2, 0x100000, 0x1000, true), VTD_OK);
    CHECK_EQ(b.n, 2);
    /* a domain-selective invalidation covers later ranges of that domain */
    CHECK_ERR(vtd_batch_add_iotlb_domain(&b, 2), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 2, 0x900000, 0x1000, true), VTD_OK);
    CHECK_EQ(b.n, 3);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x100800, 0x1000, true), VTD_ERR_INVAL);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, ~0xfffull, 0x2000, true), VTD_ERR_INVAL);
    fake_free(f);
}

static void test_batch_range_bridging_a_gap_merges_both_neighbours(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    static struct vtd_batch b;
    vtd_batch_init(&b, &u);
    /* pages 0, 2, 4, 6 of domain 1, a device-TLB op between them in queue order */
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x0000, 0x1000, true), VTD_OK);
    CHECK_ERR(vtd_batch_add_devtlb(&b, 0x10, 4, 0, 0x8000), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x6000, 0x1000, true), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x2000, 0x1000, false), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x4000, 0x1000, true), VTD_OK);
    CHECK_EQ(b.n, 5);
    /* pages 1..5 touch or overlap four of them: one range [0, 7 pages) in the first one's place,
       hint dropped because page 2 freed tables */
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x1000, 0x5000, true), VTD_OK);
    CHECK_EQ(b.n, 2);
    CHECK_EQ(b.ops[0].kind, VTD_OP_IOTLB_RANGE);
    CHECK_EQ(b.ops[0].start, 0);
    CHECK_EQ(b.ops[0].end, 0x7000);
    CHECK(!(b.ops[0].flags & VTD_OPF_IH));
    CHECK_EQ(b.ops[1].kind, VTD_OP_DEVTLB);
    /* the index still finds the merged range: page 7 touches it, page 9 does not */
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x7000, 0x1000, true), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x9000, 0x1000, true), VTD_OK);
    CHECK_EQ(b.n, 3);
    CHECK_EQ(b.ops[0].end, 0x8000);
    /* a new IOTLB range goes before the device-TLB op (caches before device-TLBs) */
    CHECK_EQ(b.ops[1].start, 0x9000);
    CHECK_EQ(b.ops[2].kind, VTD_OP_DEVTLB);
    fake_free(f);
}

/*
 * 1,500 random ranges over three tags (two domains, one device), dense rounds that merge a lot
 * and sparse ones that overflow the batch, some with a domain-selective invalidation part-way:
 * after every add, each range added so far lies inside a queued operation of its tag or under
 * a broader one, and the queued ranges of one tag never overlap or touch (so nothing is queued
 * twice).
 */
static void test_batch_random_ranges_stay_covered_and_disjoint(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    static struct vtd_batch b;
    static struct vtd_op added[150];
    uint32_t x = 7;
    unsigned collapsed = 0;
    for (unsigned round = 0; round < 10; round++) {
        unsigned pages = round % 2 ? 4096 : 256;
        vtd_batch_init(&b, &u);
        for (unsigned i = 0; i < 150; i++) {
            x = x * 1664525u + 1013904223u;
            unsigned tag = (x >> 8) % 3;
            uint64_t start = ((x >> 12) % pages) * 0x1000ull;
            uint64_t size = (1 + (x >> 24) % 8) * 0x1000ull;
            struct vtd_op *a = &added[i];
            *a = (struct vtd_op){.kind = tag == 2 ? VTD_OP_DEVTLB : VTD_OP_IOTLB_RANGE,
                                 .did = (uint16_t)(tag == 2 ? 0 : 1 + tag),
                                 .sid = tag == 2 ? 0x10 : 0,
                                 .start = start,
                                 .end = start + size};
            if (tag == 2) {
                CHECK_ERR(vtd_batch_add_devtlb(&b, 0x10, 4, start, size), VTD_OK);
            } else {
                CHECK_ERR(vtd_batch_add_iotlb_range(&b, a->did, start, size, true), VTD_OK);
            }
            if (round % 4 == 3 && i == 50) {
                CHECK_ERR(vtd_batch_add_iotlb_domain(&b, 2), VTD_OK);
            }
            for (unsigned j = 0; j <= i; j++) {
                bool covered = false;
                for (unsigned k = 0; k < b.n && !covered; k++) {
                    const struct vtd_op *o = &b.ops[k];
                    bool iotlb = added[j].kind == VTD_OP_IOTLB_RANGE;
                    covered = (iotlb && o->kind == VTD_OP_IOTLB_GLOBAL) ||
                              (iotlb && o->kind == VTD_OP_IOTLB_DOMAIN && o->did == added[j].did) ||
                              (o->kind == added[j].kind && o->did == added[j].did &&
                               o->sid == added[j].sid && o->start <= added[j].start &&
                               added[j].end <= o->end);
                }
                CHECK(covered);
            }
            for (unsigned k = 0; k < b.n; k++) {
                for (unsigned l = k + 1; l < b.n; l++) {
                    const struct vtd_op *p = &b.ops[k], *q = &b.ops[l];
                    if (p->kind == q->kind && p->did == q->did && p->sid == q->sid) {
                        CHECK(p->end < q->start || q->end < p->start);
                    }
                }
            }
        }
        for (unsigned k = 0; k < b.n; k++) {
            collapsed += b.ops[k].kind == VTD_OP_IOTLB_GLOBAL || b.ops[k].end == UINT64_MAX ||
                         (b.ops[k].kind == VTD_OP_IOTLB_DOMAIN && b.ops[k].did == 1);
        }
    }
    CHECK(collapsed > 0); /* some rounds overflowed the batch and collapsed */
    fake_free(f);
}

/* No context-cache or IOTLB invalidation may follow a device-TLB invalidation in a batch: one
 * added later (by the caller, or re-added wider when the full batch collapses) goes before the
 * first device-TLB operation. */
static bool caches_before_devtlb(const struct vtd_batch *b)
{
    bool seen_devtlb = false;
    for (unsigned i = 0; i < b->n; i++) {
        unsigned k = b->ops[i].kind;
        if (k == VTD_OP_DEVTLB || k == VTD_OP_PDEVTLB) {
            seen_devtlb = true;
        } else if (seen_devtlb && k != VTD_OP_IEC_GLOBAL && k != VTD_OP_IEC_INDEX &&
                   k != VTD_OP_PGRP_RESP) {
            return false;
        }
    }
    return true;
}

static void test_batch_keeps_device_tlb_after_the_iotlb(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    static struct vtd_batch b;
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_devtlb(&b, 0x10, 4, 0x100000, 0x1000), VTD_OK);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x100000, 0x1000, true), VTD_OK);
    CHECK_ERR(vtd_batch_add_cc_device(&b, 1, 0x10), VTD_OK);
    CHECK_EQ(b.n, 3);
    CHECK_EQ(b.ops[2].kind, VTD_OP_DEVTLB);
    CHECK(caches_before_devtlb(&b));
    /* the collapse of a full batch re-adds the domain-wide op before the device-TLB ones */
    vtd_batch_init(&b, &u);
    for (unsigned i = 0; i + 1 < VTD_BATCH_OPS; i++) {
        CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, i * 0x10000ull, 0x1000, true), VTD_OK);
    }
    CHECK_ERR(vtd_batch_add_devtlb(&b, 0x10, 4, 0, 0x1000), VTD_OK);
    CHECK_EQ(b.n, VTD_BATCH_OPS);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x7000000, 0x1000, true), VTD_OK);
    CHECK_EQ(b.n, 2);
    CHECK_EQ(b.ops[0].kind, VTD_OP_IOTLB_DOMAIN);
    CHECK_EQ(b.ops[1].kind, VTD_OP_DEVTLB);
    CHECK(caches_before_devtlb(&b));
    /* later ranges still merge with the moved operation's neighbours through the index */
    CHECK_ERR(vtd_batch_add_devtlb(&b, 0x10, 4, 0x1000, 0x1000), VTD_OK);
    CHECK_EQ(b.n, 2);
    fake_free(f);
}

static void test_batch_collapses_when_full(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    static struct vtd_batch b;
    vtd_batch_init(&b, &u);
    for (unsigned i = 0; i < VTD_BATCH_OPS; i++) {
        CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, i * 0x10000ull, 0x1000, true), VTD_OK);
    }
    CHECK_EQ(b.n, VTD_BATCH_OPS);
    CHECK_ERR(vtd_batch_add_iotlb_range(&b, 1, 0x7000000, 0x1000, true), VTD_OK);
    CHECK_EQ(b.n, 1);
    CHECK_EQ(b.ops[0].kind, VTD_OP_IOTLB_DOMAIN);
    /* device-TLB ranges of one device collapse to the whole device */
    vtd_batch_init(&b, &u);
    for (unsigned i = 0; i < VTD_BATCH_OPS; i++) {
        CHECK_ERR(vtd_batch_add_devtlb(&b, 0x10, 4, i * 0x10000ull, 0x1000), VTD_OK);
    }
    CHECK_ERR(vtd_batch_add_devtlb(&b, 0x10, 4, 0x7000000, 0x1000), VTD_OK);
    CHECK_EQ(b.n, 1);
    CHECK_EQ(b.ops[0].start, 0);
    CHECK_EQ(b.ops[0].end, UINT64_MAX);
    /* 64 different devices: no way to widen: FULL, batch unchanged */
    vtd_batch_init(&b, &u);
    for (unsigned i = 0; i < VTD_BATCH_OPS; i++) {
        CHECK_ERR(vtd_batch_add_devtlb(&b, (uint16_t)i, 4, 0, 0x1000), VTD_OK);
    }
    CHECK_ERR(vtd_batch_add_devtlb(&b, 0x100, 4, 0, 0x1000), VTD_ERR_FULL);
    CHECK_EQ(b.n, VTD_BATCH_OPS);
    CHECK_ERR(vtd_batch_add_devtlb(&b, 0x100, 33, 0, 0x1000), VTD_ERR_INVAL);
    fake_free(f);
}

static void test_batch_rejects_features_the_unit_lacks(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP & ~VTD_ECAP_DT);
    static struct vtd_batch b;
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_devtlb(&b, 0x10, 4, 0, 0x1000), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_batch_add_piotlb(&b, 1, 5, 0, 0), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_batch_add_page_response(&b, 0x10, 5, 1, 0), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_ERR_STATE); /* QI not enabled */
    fake_free(f);
}

static void test_reg_invalidation_refused_with_qi_on(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = probe_fake(&u, &hw, QEMU_CAP, QEMU_ECAP);
    CHECK_ERR(vtd_unit_reg_invalidate_global(&u), VTD_OK);
    /* A register that never clears ends in a time-out, not a hang. */
    f->regs[VTD_CCMD_REG / 4 + 1] = (uint32_t)(VTD_CCMD_ICC >> 32);
    uint64_t t0 = f->now;
    CHECK_ERR(vtd_unit_reg_invalidate_global(&u), VTD_ERR_TIMEOUT);
    CHECK(f->now - t0 >= u.cfg.timeout_ns && f->now - t0 < 2 * u.cfg.timeout_ns);
    f->regs[VTD_CCMD_REG / 4 + 1] = 0;
    CHECK_ERR(vtd_unit_enable_qi(&u), VTD_OK);
    CHECK_ERR(vtd_unit_reg_invalidate_global(&u), VTD_ERR_STATE);
    fake_free(f);
}

int main(void)
{
    RUN(test_strerror_names_every_error);
    RUN(test_caps_decode_qemu_default);
    RUN(test_caps_decode_scalable_bits);
    RUN(test_caps_reject_unusable_units);
    RUN(test_desc_iotlb_page_selective_encoding);
    RUN(test_cover_order_is_smallest_aligned_block);
    RUN(test_devtlb_size_encoding);
    RUN(test_wait_descriptor_never_sw_and_if);
    RUN(test_pasid_descriptors_encoding);
    RUN(test_fault_record_decode);
    RUN(test_page_request_decode);
    RUN(test_prg_tracker_groups_until_last_page);
    RUN(test_probe_rejects_bad_accessor_and_config);
    RUN(test_map_4k_then_lookup_and_overlap_rejected);
    RUN(test_map_uses_superpages_when_aligned);
    RUN(test_unmap_reclaims_empty_tables_after_release);
    RUN(test_map_is_all_or_nothing_on_nomem);
    RUN(test_tables_written_back_when_walker_not_coherent);
    RUN(test_domain_init_validates);
    RUN(test_batch_merges_adjacent_ranges);
    RUN(test_batch_range_bridging_a_gap_merges_both_neighbours);
    RUN(test_batch_random_ranges_stay_covered_and_disjoint);
    RUN(test_batch_collapses_when_full);
    RUN(test_batch_keeps_device_tlb_after_the_iotlb);
    RUN(test_batch_rejects_features_the_unit_lacks);
    RUN(test_reg_invalidation_refused_with_qi_on);
    VT_MAIN_END();
}
