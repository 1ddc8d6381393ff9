/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt remapping in libvtd without the hardware model: IRTE encoding and decoding, the
 * remappable MSI address, the IEC invalidation descriptors the batch engine writes, IR fault
 * records, the index allocator, and the enable/disable handshakes against a fake unit whose
 * queue executes at once and whose GCMD handling follows QEMU's (status = persistent command
 * bits, one-shot commands complete at once). Built twice: the second build has no 128-bit store
 * (VTD_NO_CMPXCHG16B) and must take a present entry through clear, IEC, rewrite.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vtd/vtd.h>

#include "vt.h"

VT_GLOBALS;

#define QEMU_CAP 0x00d2008c22260206ull
#define QEMU_ECAP 0x0000000000f00f5eull /* QI, DT, IR, EIM, PT, SC, IRO 0xf0, MHMV 15, C = 0 */
#define PERSISTENT (VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI | VTD_GCMD_EAFL)

/* ---- Fake unit: registers in an array, pages from one contiguous arena --------------------- */
#define FAKE_PAGES 128
#define FAKE_BASE 0x200000ull
#define LOG_MAX 512

struct fake {
    uint32_t regs[0x400];
    uint8_t *arena;
    bool used[FAKE_PAGES];
    unsigned limit, in_use, flushes;
    uint64_t now;
    bool stuck;         /* GCMD writes are ignored (status never follows) */
    bool cfis_stuck;    /* GSTS.CFIS reads 1 whatever is written */
    bool cfis_with_ire; /* GSTS.CFIS reads 1 while IRES is set */
    uint32_t gcmd_log[LOG_MAX];
    unsigned n_gcmd;
    uint64_t desc_log[LOG_MAX];     /* qw0 of every executed descriptor */
    unsigned gcmd_at_desc[LOG_MAX]; /* GCMD writes before each descriptor */
    unsigned n_desc, tail_writes;
};

static void *f_p2v(void *c, uint64_t pa)
{
    struct fake *f = c;
    if (pa < FAKE_BASE || pa >= FAKE_BASE + FAKE_PAGES * 4096ull) {
        return NULL;
    }
    return f->arena + (pa - FAKE_BASE);
}
static uint32_t f_read32(void *c, uint32_t off)
{
    struct fake *f = c;
    uint32_t v = f->regs[off / 4];
    if (off == VTD_GSTS_REG && (f->cfis_stuck || (f->cfis_with_ire && (v & VTD_GSTS_IRES)))) {
        v |= VTD_GSTS_CFIS;
    }
    return v;
}
static uint64_t f_read64(void *c, uint32_t off)
{
    return f_read32(c, off) | (uint64_t)f_read32(c, off + 4) << 32;
}
static void run_queue(struct fake *f, uint64_t tail)
{
    uint64_t iqa = f_read64(f, VTD_IQA_REG);
    unsigned shift = (iqa & VTD_IQA_DW) ? 5 : 4;
    uint32_t entries = (uint32_t)((4096ull << (iqa & 7)) >> shift);
    uint32_t h = (uint32_t)((f_read64(f, VTD_IQH_REG) & VTD_IQ_QH_MASK) >> shift);
    uint32_t t = (uint32_t)((tail & VTD_IQ_QH_MASK) >> shift);
    uint8_t *q = f_p2v(f, iqa & VTD_IQA_ADDR_MASK);
    for (; h != t; h = (h + 1) % entries) {
        const uint64_t *d = (const uint64_t *)(q + ((size_t)h << shift));
        if (f->n_desc < LOG_MAX) {
            f->gcmd_at_desc[f->n_desc] = f->n_gcmd;
            f->desc_log[f->n_desc++] = d[0];
        }
        if (VTD_DESC_TYPE_GET(d[0]) == VTD_DESC_WAIT && (d[0] & VTD_DESC_WAIT_SW)) {
            uint32_t *s = f_p2v(f, d[1] & ~3ull);
            *s = (uint32_t)(d[0] >> 32);
        }
    }
    f->regs[VTD_IQH_REG / 4] = (uint32_t)tail;
    f->regs[VTD_IQH_REG / 4 + 1] = 0;
}
static void f_write32(void *c, uint32_t off, uint32_t v)
{
    struct fake *f = c;
    if (off == VTD_GCMD_REG) {
        if (f->n_gcmd < LOG_MAX) {
            f->gcmd_log[f->n_gcmd++] = v;
        }
        if (!f->stuck) {
            /* As QEMU: status = the persistent bits written; one-shot commands done at once. */
            uint32_t sts = v & PERSISTENT;
            sts |= (v & VTD_GCMD_SRTP) ? VTD_GSTS_RTPS : 0;
            sts |= (v & VTD_GCMD_SIRTP) ? VTD_GSTS_IRTPS : 0;
            sts |= f->regs[VTD_GSTS_REG / 4] & (VTD_GSTS_RTPS | VTD_GSTS_IRTPS);
            f->regs[VTD_GSTS_REG / 4] = sts;
        }
        return;
    }
    f->regs[off / 4] = v;
}
static void f_write64(void *c, uint32_t off, uint64_t v)
{
    struct fake *f = c;
    if (off == VTD_IQT_REG) {
        f->tail_writes++;
        run_queue(f, v);
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
            memset(f->arena + i * 4096ull, 0, 4096);
            *pa = FAKE_BASE + i * 4096ull;
            return f->arena + i * 4096ull;
        }
    }
    return NULL;
}
static void f_free(void *c, void *va, uint64_t pa)
{
    struct fake *f = c;
    unsigned i = (unsigned)((pa - FAKE_BASE) / 4096);
    CHECK(i < FAKE_PAGES && f->used[i] && (uint8_t *)va == f->arena + i * 4096ull);
    if (i < FAKE_PAGES && f->used[i]) {
        f->used[i] = false;
        f->in_use--;
        memset(va, 0xa5, 4096);
    }
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

static struct fake *fake_new(uint64_t ecap, struct vtd_hw *hw)
{
    struct fake *f = calloc(1, sizeof(*f));
    f->arena = aligned_alloc(4096, FAKE_PAGES * 4096ull);
    f->limit = FAKE_PAGES;
    f->regs[VTD_CAP_REG / 4] = (uint32_t)QEMU_CAP;
    f->regs[VTD_CAP_REG / 4 + 1] = (uint32_t)(QEMU_CAP >> 32);
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
    free(f->arena);
    free(f);
}

/* Probe and enable QI; returns the fake. */
static struct fake *qi_fake(struct vtd_unit *u, struct vtd_hw *hw, uint64_t ecap)
{
    struct fake *f = fake_new(ecap, hw);
    CHECK_ERR(vtd_unit_probe(u, hw, NULL), VTD_OK);
    CHECK_ERR(vtd_unit_enable_qi(u), VTD_OK);
    return f;
}

static unsigned count_iec(const struct fake *f, unsigned from)
{
    unsigned n = 0;
    for (unsigned i = from; i < f->n_desc; i++) {
        n += VTD_DESC_TYPE_GET(f->desc_log[i]) == VTD_DESC_IEC;
    }
    return n;
}

/* ---- Entries ------------------------------------------------------------------------------ */

static bool spec_eq(const struct vtd_irte_spec *a, const struct vtd_irte_spec *b)
{
    return a->vector == b->vector && a->dest == b->dest && a->level == b->level &&
           a->logical == b->logical && a->delivery == b->delivery && a->svt == b->svt &&
           a->sq == b->sq && a->sid == b->sid;
}

static void test_irte_bit_positions(void)
{
    struct vtd_irte_spec s = {.vector = 0x41,
                              .dest = 3,
                              .level = true,
                              .logical = true,
                              .delivery = 1,
                              .svt = VTD_IRTE_SVT_SID,
                              .sq = 2,
                              .sid = 0x0310};
    struct vtd_irte e;
    CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
    /* P 0, DM 2, RH 3, TM 4, DLM 7:5 = 1, V 23:16, xAPIC id in DST 15:8 (bits 47:40) */
    CHECK_EQ(e.lo, 0x1ull | 0x4 | 0x8 | 0x10 | (1ull << 5) | (0x41ull << 16) | (3ull << 40));
    /* SID 15:0, SQ 17:16, SVT 19:18 */
    CHECK_EQ(e.hi, 0x0310ull | (2ull << 16) | (1ull << 18));
    s = (struct vtd_irte_spec){.vector = 0x20, .dest = 0x12345678};
    CHECK_ERR(vtd_irte_encode(&s, true, &e), VTD_OK);
    CHECK_EQ(e.lo, 0x1ull | (0x20ull << 16) | (0x12345678ull << 32));
    CHECK_EQ(e.hi, 0);
    /* SVT_BUS keeps the bus range in SID and writes no SQ; SVT_NONE writes neither. */
    s = (struct vtd_irte_spec){
        .vector = 0x30, .svt = VTD_IRTE_SVT_BUS, .sq = 3, .sid = (0x02 << 8) | 0x05};
    CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
    CHECK_EQ(e.hi, 0x0205ull | (2ull << 18));
    s = (struct vtd_irte_spec){.vector = 0x30, .svt = VTD_IRTE_SVT_NONE, .sq = 3, .sid = 0x99};
    CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
    CHECK_EQ(e.hi, 0);
}

static void test_irte_round_trip_every_field(void)
{
    static const uint8_t vectors[] = {16, 0x41, 0xef, 255};
    static const uint32_t dests[] = {0, 1, 0x80, 255};
    unsigned n = 0;
    for (unsigned x2 = 0; x2 < 2; x2++) {
        for (unsigned vi = 0; vi < 4; vi++) {
            for (unsigned di = 0; di < 4; di++) {
                for (unsigned flags = 0; flags < 8; flags++) {
                    for (unsigned svt = 0; svt < 3; svt++) {
                        for (unsigned sq = 0; sq < 4; sq++) {
                            struct vtd_irte_spec s = {
                                .vector = vectors[vi],
                                .dest = x2 ? dests[di] << 16 | 0x1234u : dests[di],
                                .level = flags & 1,
                                .logical = (flags >> 1) & 1,
                                .delivery = (flags >> 2) & 1,
                                .svt = svt,
                                .sq = svt == VTD_IRTE_SVT_SID ? sq : 0,
                                .sid = svt == VTD_IRTE_SVT_NONE  ? 0
                                       : svt == VTD_IRTE_SVT_BUS ? (uint16_t)(sq << 8 | 0x10)
                                                                 : (uint16_t)(0x0300 + sq * 9)};
                            struct vtd_irte e;
                            struct vtd_irte_spec d;
                            memset(&d, 0x5a, sizeof(d));
                            CHECK_ERR(vtd_irte_encode(&s, x2, &e), VTD_OK);
                            CHECK(vtd_irte_decode(&e, x2, &d));
                            CHECK(spec_eq(&s, &d));
                            CHECK(e.lo & VTD_IRTE_P);
                            CHECK(!(e.lo & VTD_IRTE_IM));
                            n++;
                        }
                    }
                }
            }
        }
    }
    CHECK_EQ(n, 2 * 4 * 4 * 8 * 3 * 4);
}

static void test_irte_encode_rejects_bad_specs(void)
{
    const struct vtd_irte_spec good = {.vector = 0x40, .dest = 1};
    struct vtd_irte_spec bad[8];
    for (unsigned i = 0; i < 8; i++) {
        bad[i] = good;
    }
    bad[0].vector = 15;
    bad[1].svt = 3;
    bad[2].sq = 4;
    bad[3].delivery = 2;
    bad[4].delivery = 7;
    bad[5].svt = VTD_IRTE_SVT_BUS;
    bad[5].sid = (0x06 << 8) | 0x05; /* start bus 6 > end bus 5 */
    bad[6].dest = 256;               /* xAPIC ids are 8 bits */
    bad[7].vector = 0;
    for (unsigned i = 0; i < 8; i++) {
        struct vtd_irte e = {0xa5a5a5a5a5a5a5a5ull, 0x5a5a5a5a5a5a5a5aull};
        CHECK_ERR(vtd_irte_encode(&bad[i], false, &e), VTD_ERR_INVAL);
        CHECK_EQ(e.lo, 0xa5a5a5a5a5a5a5a5ull);
        CHECK_EQ(e.hi, 0x5a5a5a5a5a5a5a5aull);
    }
    struct vtd_irte e;
    bad[6].dest = 256;
    CHECK_ERR(vtd_irte_encode(&bad[6], true, &e), VTD_OK); /* fine as an x2APIC id */
    CHECK_ERR(vtd_irte_encode(NULL, false, &e), VTD_ERR_INVAL);
    CHECK_ERR(vtd_irte_encode(&good, false, NULL), VTD_ERR_INVAL);
    /* the bus range may be a single bus */
    struct vtd_irte_spec one = good;
    one.svt = VTD_IRTE_SVT_BUS;
    one.sid = 0x0505;
    CHECK_ERR(vtd_irte_encode(&one, false, &e), VTD_OK);
}

static void test_irte_decode_not_present_or_posted(void)
{
    struct vtd_irte_spec s = {.vector = 0x40, .dest = 1}, d;
    struct vtd_irte e;
    CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
    CHECK(vtd_irte_decode(&e, false, &d));
    e.lo &= ~VTD_IRTE_P;
    CHECK(!vtd_irte_decode(&e, false, &d));
    e.lo |= VTD_IRTE_P | VTD_IRTE_IM;
    CHECK(!vtd_irte_decode(&e, false, &d));
}

static void test_irte_layout_and_registers(void)
{
    CHECK_EQ(sizeof(struct vtd_irte), 16);
    CHECK_EQ(offsetof(struct vtd_irte, lo), 0);
    CHECK_EQ(offsetof(struct vtd_irte, hi), 8);
    CHECK_EQ(VTD_IRTA_REG, 0xb8);
    CHECK_EQ(VTD_IRTA_EIME, 1ull << 11);
    CHECK_EQ(VTD_IRTA_S(0xff), 0xf);
    CHECK_EQ(VTD_IRTA_ADDR_MASK, 0xfffffffffffff000ull);
    CHECK_EQ(VTD_IRTE_IM, 1ull << 15);
    CHECK_EQ(VTD_IRTE_AVAIL_MASK, 0xf00ull);
    CHECK_EQ(VTD_IR_MAX_ORDER, 12);
    struct vtd_features f;
    CHECK_ERR(vtd_features_decode(QEMU_CAP, QEMU_ECAP, &f), VTD_OK);
    CHECK(f.ir);
    CHECK(f.eim);
    CHECK_EQ(f.mhmv, 15);
    CHECK_ERR(vtd_features_decode(QEMU_CAP, QEMU_ECAP & ~(VTD_ECAP_IR | VTD_ECAP_EIM), &f), VTD_OK);
    CHECK(!f.ir);
    CHECK(!f.eim);
}

static void test_ir_msi_address_layout(void)
{
    CHECK_EQ(vtd_ir_msi_data(), 0);
    static const uint32_t idx[] = {0, 1, 0x7fff, 0x8000, 0xffff};
    static const uint64_t want[] = {0xfee00018, 0xfee00038, 0xfeefffF8, 0xfee0001c, 0xfeeffffc};
    for (unsigned i = 0; i < 5; i++) {
        uint64_t a = vtd_ir_msi_addr(idx[i]);
        CHECK_EQ(a, want[i]);
        /* What the hardware computes: handle = addr[19:5] | addr[2] << 15, + data when SHV. */
        CHECK_EQ(a >> 20, 0xfee);
        CHECK(a & (1u << 4)); /* remappable format */
        CHECK(a & (1u << 3)); /* SHV */
        uint32_t handle = (uint32_t)((a >> 5) & 0x7fff) | (uint32_t)((a >> 2) & 1) << 15;
        CHECK_EQ(handle + (vtd_ir_msi_data() & 0xffff), idx[i]);
    }
}

/* ---- IEC descriptors through the batch engine -------------------------------------------- */

static void test_iec_descriptors_from_batches(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = qi_fake(&u, &hw, QEMU_ECAP);
    static struct vtd_batch b;
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 0x40, 2), VTD_OK);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 0xfff0, 4), VTD_OK);
    CHECK_ERR(vtd_batch_add_iec_global(&b), VTD_OK);
    unsigned d0 = f->n_desc, t0 = f->tail_writes;
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK_EQ(f->tail_writes - t0, 1);
    CHECK_EQ(f->n_desc - d0, 4); /* three IEC + the wait */
    uint64_t q = f->desc_log[d0];
    CHECK_EQ(VTD_DESC_TYPE_GET(q), VTD_DESC_IEC);
    CHECK_EQ(q & 0xf, 4);               /* type in 3:0 */
    CHECK(q & (1ull << 4));             /* G: index-selective */
    CHECK_EQ((q >> 27) & 0x1f, 2);      /* IM */
    CHECK_EQ((q >> 32) & 0xffff, 0x40); /* IIDX */
    q = f->desc_log[d0 + 1];
    CHECK(q & (1ull << 4));
    CHECK_EQ((q >> 27) & 0x1f, 4);
    CHECK_EQ((q >> 32) & 0xffff, 0xfff0);
    q = f->desc_log[d0 + 2];
    CHECK_EQ(VTD_DESC_TYPE_GET(q), VTD_DESC_IEC);
    CHECK_EQ(q, 4); /* global: G clear, nothing else */
    CHECK_EQ(VTD_DESC_TYPE_GET(f->desc_log[d0 + 3]), VTD_DESC_WAIT);

    /* Neighbours merge into the smallest aligned block covering them. */
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 3, 0), VTD_OK);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 4, 0), VTD_OK);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 100, 0), VTD_OK);
    CHECK_EQ(b.n, 2);
    d0 = f->n_desc;
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK_EQ(VTD_DESC_IEC_IIDX_GET(f->desc_log[d0]), 0);
    CHECK_EQ(VTD_DESC_IEC_IM_GET(f->desc_log[d0]), 3);
    CHECK_EQ(VTD_DESC_IEC_IIDX_GET(f->desc_log[d0 + 1]), 100);
    CHECK_EQ(VTD_DESC_IEC_IM_GET(f->desc_log[d0 + 1]), 0);

    /* A global op covers index ops added after it. */
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_iec_global(&b), VTD_OK);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 8, 0), VTD_OK);
    CHECK_EQ(b.n, 1);

    /* A full batch collapses index ops into one global invalidation. */
    vtd_batch_init(&b, &u);
    for (unsigned i = 0; i < VTD_BATCH_OPS; i++) {
        CHECK_ERR(vtd_batch_add_iec_index(&b, i * 4, 0), VTD_OK);
    }
    CHECK_EQ(b.n, VTD_BATCH_OPS);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 1000, 0), VTD_OK);
    CHECK_EQ(b.n, 1);
    CHECK_EQ(b.ops[0].kind, VTD_OP_IEC_GLOBAL);

    /* Bad arguments. */
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 0, 17), VTD_ERR_INVAL);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 3, 1), VTD_ERR_INVAL);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 0x10000, 0), VTD_ERR_INVAL);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 0, 16), VTD_OK);
    CHECK_EQ(b.n, 1);
    fake_free(f);
}

static void test_iec_mask_beyond_mhmv_goes_global(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    uint64_t ecap = (QEMU_ECAP & ~(0xfull << 20)) | (2ull << 20); /* MHMV 2 */
    struct fake *f = qi_fake(&u, &hw, ecap);
    static struct vtd_batch b;
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 0, 2), VTD_OK);
    unsigned d0 = f->n_desc;
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK(f->desc_log[d0] & VTD_DESC_IEC_G_INDEX);
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 8, 3), VTD_OK);
    d0 = f->n_desc;
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK_EQ(f->desc_log[d0], 4); /* global */
    fake_free(f);

    /* No IR at all: IEC ops are refused. */
    f = qi_fake(&u, &hw, QEMU_ECAP & ~VTD_ECAP_IR);
    vtd_batch_init(&b, &u);
    CHECK_ERR(vtd_batch_add_iec_index(&b, 0, 0), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_batch_add_iec_global(&b), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_ERR_UNSUPPORTED);
    fake_free(f);
}

/* ---- Faults -------------------------------------------------------------------------------- */

static void test_ir_fault_decode_and_names(void)
{
    struct vtd_fault f;
    uint64_t hi = VTD_FRCD_HI_F | (0x22ull << 32) | 0x0310 | VTD_FRCD_HI_T1;
    CHECK(vtd_fault_decode(0xbeefull << 48, hi, &f));
    CHECK(f.ir);
    CHECK_EQ(f.ir_index, 0xbeef);
    CHECK_EQ(f.addr, 0);
    CHECK_EQ(f.sid, 0x0310);
    CHECK_EQ(f.reason, 0x22);
    /* a DMA fault carries a page address and no index */
    CHECK(vtd_fault_decode(0xbeef0000dead5000ull, VTD_FRCD_HI_F | (0x05ull << 32), &f));
    CHECK(!f.ir);
    CHECK_EQ(f.ir_index, 0);
    CHECK_EQ(f.addr, 0xbeef0000dead5000ull);
    CHECK(!vtd_fault_is_ir(0x1f));
    CHECK(!vtd_fault_is_ir(0x27));
    CHECK(!vtd_fault_is_ir(0x05));
    for (unsigned r = 0x20; r <= 0x26; r++) {
        CHECK(vtd_fault_is_ir(r));
        const char *n = vtd_fault_reason_name(r);
        CHECK(strcmp(n, "unknown fault reason") != 0);
        for (unsigned o = 0x20; o < r; o++) {
            CHECK(strcmp(n, vtd_fault_reason_name(o)) != 0);
        }
        CHECK(vtd_fault_decode((uint64_t)r << 48, VTD_FRCD_HI_F | ((uint64_t)r << 32), &f));
        CHECK(f.ir);
        CHECK_EQ(f.ir_index, r);
    }
}

/* ---- Enable, allocation, entries ----------------------------------------------------------- */

static void test_ir_enable_sequence(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = qi_fake(&u, &hw, QEMU_ECAP);
    unsigned pages0 = f->in_use, g0 = f->n_gcmd, d0 = f->n_desc;
    CHECK(!vtd_ir_enabled(&u));
    CHECK_EQ(vtd_ir_size(&u), 0);
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_OK);
    CHECK(vtd_ir_enabled(&u));
    CHECK_EQ(vtd_ir_size(&u), 256);
    CHECK_EQ(f->in_use - pages0, 1);
    uint64_t irta = f_read64(f, VTD_IRTA_REG);
    CHECK_EQ(irta & VTD_IRTA_ADDR_MASK, u.irt_pa);
    CHECK(!(irta & VTD_IRTA_EIME));
    CHECK_EQ(VTD_IRTA_S_GET(irta), 7); /* 2^(7+1) = 256 */
    /* GCMD writes: SIRTP (one-shot, with QIE kept), then IRE (with QIE); never CFI. */
    CHECK_EQ(f->n_gcmd - g0, 2);
    CHECK_EQ(f->gcmd_log[g0], VTD_GCMD_QIE | VTD_GCMD_SIRTP);
    CHECK_EQ(f->gcmd_log[g0 + 1], VTD_GCMD_QIE | VTD_GCMD_IRE);
    /* the global IEC ran between them */
    CHECK_EQ(count_iec(f, d0), 1);
    CHECK_EQ(f->desc_log[d0], 4);
    CHECK_EQ(f->gcmd_at_desc[d0], g0 + 1);
    /* later commands keep IRE (QEMU compares GCMD against GSTS) */
    CHECK_ERR(vtd_unit_set_root_table(&u), VTD_OK);
    CHECK_EQ(f->gcmd_log[f->n_gcmd - 1], VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_SRTP);
    CHECK(f_read32(f, VTD_GSTS_REG) & VTD_GSTS_IRES);

    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_ERR_INVAL); /* already on */
    CHECK_ERR(vtd_unit_disable_qi(&u), VTD_ERR_STATE);
    CHECK_ERR(vtd_unit_destroy(&u), VTD_ERR_STATE);
    d0 = f->n_desc;
    CHECK_ERR(vtd_ir_disable(&u), VTD_OK);
    CHECK_EQ(count_iec(f, d0), 1); /* nothing cached outlives the freed table */
    CHECK_EQ(f->desc_log[d0], 4);
    CHECK(!(f_read32(f, VTD_GSTS_REG) & VTD_GSTS_IRES));
    CHECK_EQ(f->gcmd_log[f->n_gcmd - 1], VTD_GCMD_QIE);
    CHECK(!vtd_ir_enabled(&u));
    CHECK_EQ(vtd_ir_size(&u), 0);
    CHECK_EQ(f->in_use, pages0 + 1); /* + the root table */
    CHECK_ERR(vtd_ir_disable(&u), VTD_OK);

    /* the freed table left a one-page hole before the root table: this first-fit pool cannot
     * give 16 contiguous pages now, and nothing leaks */
    CHECK_ERR(vtd_ir_enable(&u, VTD_IR_MAX_ORDER), VTD_ERR_UNSUPPORTED);
    CHECK(!vtd_ir_enabled(&u));
    CHECK_EQ(f->in_use, pages0 + 1);
    CHECK_ERR(vtd_ir_enable(&u, 1), VTD_OK);
    CHECK_EQ(vtd_ir_size(&u), 2);
    CHECK_EQ(VTD_IRTA_S_GET(f_read64(f, VTD_IRTA_REG)), 0);
    CHECK_ERR(vtd_ir_disable(&u), VTD_OK);
    CHECK_ERR(vtd_ir_enable(&u, VTD_IR_MAX_ORDER + 1), VTD_ERR_INVAL);
    CHECK(!vtd_ir_enabled(&u));
    CHECK_ERR(vtd_unit_disable_qi(&u), VTD_OK);
    CHECK_ERR(vtd_unit_destroy(&u), VTD_OK);
    CHECK_EQ(f->in_use, 0);
    fake_free(f);

    /* the largest table: 4096 entries, 16 contiguous pages */
    f = qi_fake(&u, &hw, QEMU_ECAP);
    pages0 = f->in_use;
    CHECK_ERR(vtd_ir_enable(&u, VTD_IR_MAX_ORDER), VTD_OK);
    CHECK_EQ(vtd_ir_size(&u), 4096);
    CHECK_EQ(f->in_use, pages0 + 16);
    CHECK_EQ(VTD_IRTA_S_GET(f_read64(f, VTD_IRTA_REG)), 11);
    uint32_t idx;
    CHECK_ERR(vtd_ir_alloc(&u, 32, &idx), VTD_OK);
    struct vtd_irte_spec s = {.vector = 0x40, .dest = 1};
    struct vtd_irte e;
    CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
    for (uint32_t k = 0; k < 4096; k += 32) {
        CHECK_EQ(idx, k);
        CHECK_ERR(vtd_ir_set(&u, idx + 31, &e), VTD_OK); /* the last entry of each block */
        if (vtd_ir_alloc(&u, 32, &idx) != VTD_OK) {
            break;
        }
    }
    const struct vtd_irte *table = u.irt_va;
    CHECK_EQ(table[4095].lo, e.lo);
    CHECK_EQ(vtd_ir_in_use(&u), 4096);
    CHECK_ERR(vtd_ir_disable(&u), VTD_OK);
    CHECK_EQ(f->in_use, pages0);
    fake_free(f);
}

static void test_ir_enable_errors_roll_back(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    /* QI off */
    struct fake *f = fake_new(QEMU_ECAP, &hw);
    CHECK_ERR(vtd_unit_probe(&u, &hw, NULL), VTD_OK);
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_ERR_INVAL);
    CHECK_EQ(f->in_use, 0);
    CHECK_ERR(vtd_unit_enable_qi(&u), VTD_OK);
    unsigned pages0 = f->in_use;

    /* no memory */
    f->limit = f->in_use;
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_ERR_NOMEM);
    CHECK(!vtd_ir_enabled(&u));
    f->limit = FAKE_PAGES;

    /* stuck commands: time-out within one deadline, IRE off, table freed */
    f->stuck = true;
    uint64_t t0 = f->now;
    unsigned g0 = f->n_gcmd;
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_ERR_TIMEOUT);
    CHECK(f->now - t0 >= u.cfg.timeout_ns && f->now - t0 < 2 * u.cfg.timeout_ns);
    CHECK(!vtd_ir_enabled(&u));
    CHECK_EQ(f->in_use, pages0);
    CHECK(!(u.gcmd & VTD_GCMD_IRE));
    CHECK(!(f->gcmd_log[f->n_gcmd - 1] & VTD_GCMD_IRE));
    CHECK(f->n_gcmd > g0);
    f->stuck = false;

    /* compatibility format that cannot be turned off: refused before anything is allocated */
    f->cfis_stuck = true;
    t0 = f->now;
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_ERR_TIMEOUT);
    CHECK(f->now - t0 < 2 * u.cfg.timeout_ns);
    CHECK(!vtd_ir_enabled(&u));
    CHECK_EQ(f->in_use, pages0);
    f->cfis_stuck = false;

    /* compatibility format reported on once IRE is on: refused, rolled back */
    f->cfis_with_ire = true;
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_ERR_HW);
    CHECK(!vtd_ir_enabled(&u));
    CHECK(!(f_read32(f, VTD_GSTS_REG) & VTD_GSTS_IRES));
    CHECK_EQ(f->in_use, pages0);
    f->cfis_with_ire = false;

    /* and a clean enable afterwards */
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_OK);
    CHECK_ERR(vtd_ir_disable(&u), VTD_OK);
    fake_free(f);
}

static void test_ir_enable_turns_off_firmware_ir_and_cfi(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = fake_new(QEMU_ECAP, &hw);
    f->regs[VTD_GSTS_REG / 4] = VTD_GSTS_IRES | VTD_GSTS_CFIS | VTD_GSTS_IRTPS;
    CHECK_ERR(vtd_unit_probe(&u, &hw, NULL), VTD_OK);
    CHECK_ERR(vtd_unit_enable_qi(&u), VTD_OK);
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_OK);
    uint32_t last = f->gcmd_log[f->n_gcmd - 1];
    CHECK_EQ(last, VTD_GCMD_QIE | VTD_GCMD_IRE);
    CHECK(!(f_read32(f, VTD_GSTS_REG) & VTD_GSTS_CFIS));
    CHECK_ERR(vtd_ir_disable(&u), VTD_OK);
    fake_free(f);
}

static void test_ir_alloc_free_bitmap(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = qi_fake(&u, &hw, QEMU_ECAP);
    uint32_t i;
    CHECK_ERR(vtd_ir_alloc(&u, 1, &i), VTD_ERR_STATE); /* IR off */
    CHECK_ERR(vtd_ir_enable(&u, 7), VTD_OK);           /* 128 entries */
    static const unsigned counts[] = {1, 2, 4, 32, 1, 2, 32, 4};
    uint32_t got[8];
    for (unsigned k = 0; k < 8; k++) {
        CHECK_ERR(vtd_ir_alloc(&u, counts[k], &got[k]), VTD_OK);
        CHECK_EQ(got[k] % counts[k], 0);
        for (unsigned j = 0; j < k; j++) { /* no overlap with earlier blocks */
            CHECK(got[k] + counts[k] <= got[j] || got[j] + counts[j] <= got[k]);
        }
    }
    CHECK_EQ(got[0], 0);
    CHECK_EQ(got[1], 2);
    CHECK_EQ(got[2], 4);
    CHECK_EQ(got[3], 32);
    CHECK_EQ(got[4], 1);
    CHECK_EQ(got[5], 8);
    CHECK_EQ(got[6], 64);
    CHECK_EQ(got[7], 12);
    CHECK_EQ(vtd_ir_in_use(&u), 78);
    CHECK_ERR(vtd_ir_alloc(&u, 32, &i), VTD_OK);
    CHECK_EQ(i, 96);
    CHECK_ERR(vtd_ir_alloc(&u, 32, &i), VTD_ERR_NOSPACE); /* 0..31 partly used, 32..127 taken */
    CHECK_ERR(vtd_ir_alloc(&u, 16, &i), VTD_OK);
    CHECK_EQ(i, 16);
    CHECK_ERR(vtd_ir_free(&u, 16, 16), VTD_OK);
    CHECK_ERR(vtd_ir_free(&u, 96, 32), VTD_OK);
    CHECK_ERR(vtd_ir_alloc(&u, 3, &i), VTD_ERR_INVAL);
    CHECK_ERR(vtd_ir_alloc(&u, 64, &i), VTD_ERR_INVAL);
    CHECK_ERR(vtd_ir_alloc(&u, 0, &i), VTD_ERR_INVAL);
    /* frees: whole blocks, aligned, allocated */
    CHECK_ERR(vtd_ir_free(&u, got[3], 32), VTD_OK);
    CHECK_ERR(vtd_ir_free(&u, got[3], 32), VTD_ERR_INVAL);    /* double free */
    CHECK_ERR(vtd_ir_free(&u, got[2] + 1, 2), VTD_ERR_INVAL); /* misaligned */
    CHECK_ERR(vtd_ir_free(&u, 20, 1), VTD_ERR_INVAL);         /* never allocated */
    CHECK_ERR(vtd_ir_free(&u, 8, 4), VTD_ERR_INVAL);          /* 10, 11 never allocated */
    CHECK_ERR(vtd_ir_free(&u, 128, 1), VTD_ERR_INVAL);        /* beyond the table */
    CHECK_ERR(vtd_ir_free(&u, 0, 5), VTD_ERR_INVAL);
    CHECK_EQ(vtd_ir_in_use(&u), 46);
    CHECK_ERR(vtd_ir_alloc(&u, 32, &i), VTD_OK);
    CHECK_EQ(i, 32);
    /* a live entry cannot be freed */
    struct vtd_irte_spec s = {.vector = 0x50, .dest = 0};
    struct vtd_irte e;
    CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
    CHECK_ERR(vtd_ir_set(&u, got[0], &e), VTD_OK);
    CHECK_ERR(vtd_ir_free(&u, got[0], 1), VTD_ERR_STATE);
    CHECK_ERR(vtd_ir_clear(&u, got[0]), VTD_OK);
    CHECK_ERR(vtd_ir_free(&u, got[0], 1), VTD_OK);
    /* exhaustion with single entries */
    unsigned extra = 0;
    while (vtd_ir_alloc(&u, 1, &i) == VTD_OK && extra < 1000) {
        extra++;
    }
    CHECK_EQ(vtd_ir_in_use(&u), 128);
    CHECK_ERR(vtd_ir_alloc(&u, 1, &i), VTD_ERR_FULL);
    CHECK_ERR(vtd_ir_disable(&u), VTD_OK);
    CHECK_EQ(vtd_ir_in_use(&u), 0);
    /* a re-enabled table starts empty */
    CHECK_ERR(vtd_ir_enable(&u, 1), VTD_OK);
    CHECK_ERR(vtd_ir_alloc(&u, 2, &i), VTD_OK);
    CHECK_EQ(i, 0);
    CHECK_ERR(vtd_ir_alloc(&u, 1, &i), VTD_ERR_FULL);
    CHECK_ERR(vtd_ir_free(&u, 0, 2), VTD_OK);
    CHECK_ERR(vtd_ir_alloc(&u, 4, &i), VTD_ERR_FULL); /* bigger than the table */
    fake_free(f);
}

static void test_ir_set_get_clear(void)
{
    static struct vtd_unit u;
    struct vtd_hw hw;
    struct fake *f = qi_fake(&u, &hw, QEMU_ECAP);
    CHECK_ERR(vtd_ir_enable(&u, 0), VTD_OK);
    uint32_t idx;
    CHECK_ERR(vtd_ir_alloc(&u, 4, &idx), VTD_OK);
    struct vtd_irte_spec s = {.vector = 0x61, .dest = 2, .svt = VTD_IRTE_SVT_SID, .sid = 0x18};
    struct vtd_irte e, g;
    CHECK_ERR(vtd_irte_encode(&s, false, &e), VTD_OK);
    CHECK_ERR(vtd_ir_set(&u, idx + 4, &e), VTD_ERR_INVAL); /* not allocated */
    CHECK_ERR(vtd_ir_set(&u, 256, &e), VTD_ERR_INVAL);
    unsigned fl = f->flushes, d0 = f->n_desc;
    CHECK_ERR(vtd_ir_set(&u, idx + 1, &e), VTD_OK);
    CHECK(f->flushes > fl); /* ECAP.C = 0: written back for the walker */
    CHECK_ERR(vtd_ir_get(&u, idx + 1, &g), VTD_OK);
    CHECK_EQ(g.lo, e.lo);
    CHECK_EQ(g.hi, e.hi);
    const struct vtd_irte *table = u.irt_va;
    CHECK_EQ(table[idx + 1].lo, e.lo);
    CHECK_EQ(table[idx + 1].hi, e.hi);
    CHECK_EQ(count_iec(f, d0), 0); /* from not present: no invalidation needed inside */

    /* reserved bits, posted format, x2APIC-only destination bits, SVT 3: refused, untouched */
    struct vtd_irte bad[5] = {e, e, e, e, e};
    bad[0].lo |= 1ull << 12;
    bad[1].lo |= VTD_IRTE_IM;
    bad[2].lo |= 1ull << 48;
    bad[3].hi |= 1ull << 20;
    bad[4].hi |= 3ull << 18;
    for (unsigned k = 0; k < 5; k++) {
        CHECK_ERR(vtd_ir_set(&u, idx + 1, &bad[k]), VTD_ERR_INVAL);
        CHECK_EQ(table[idx + 1].lo, e.lo);
        CHECK_EQ(table[idx + 1].hi, e.hi);
    }

    /* present -> present: replaced whole */
    s.vector = 0x62;
    s.dest = 7;
    s.svt = VTD_IRTE_SVT_NONE;
    s.sid = 0;
    struct vtd_irte e2;
    CHECK_ERR(vtd_irte_encode(&s, false, &e2), VTD_OK);
    d0 = f->n_desc;
    CHECK_ERR(vtd_ir_set(&u, idx + 1, &e2), VTD_OK);
    CHECK_EQ(table[idx + 1].lo, e2.lo);
    CHECK_EQ(table[idx + 1].hi, e2.hi);
#ifdef VTD_NO_CMPXCHG16B
    /* no 128-bit store: the entry went through not-present and an index IEC */
    CHECK_EQ(count_iec(f, d0), 1);
    CHECK(f->desc_log[d0] & VTD_DESC_IEC_G_INDEX);
    CHECK_EQ(VTD_DESC_IEC_IIDX_GET(f->desc_log[d0]), idx + 1);
    CHECK_EQ(VTD_DESC_IEC_IM_GET(f->desc_log[d0]), 0);
#else
    CHECK_EQ(count_iec(f, d0), 0);
#endif

    /* clear: not present, both halves zero; neighbours untouched */
    CHECK_ERR(vtd_ir_set(&u, idx, &e), VTD_OK);
    CHECK_ERR(vtd_ir_clear(&u, idx + 1), VTD_OK);
    CHECK_ERR(vtd_ir_get(&u, idx + 1, &g), VTD_OK);
    CHECK_EQ(g.lo, 0);
    CHECK_EQ(g.hi, 0);
    CHECK_EQ(table[idx].lo, e.lo);
    CHECK_ERR(vtd_ir_clear(&u, idx + 8), VTD_ERR_INVAL);
    CHECK_ERR(vtd_ir_get(&u, 256, &g), VTD_ERR_INVAL);
    CHECK_ERR(vtd_ir_clear(&u, idx), VTD_OK);
    CHECK_ERR(vtd_ir_free(&u, idx, 4), VTD_OK);
    CHECK_EQ(vtd_ir_in_use(&u), 0);
    CHECK_ERR(vtd_ir_disable(&u), VTD_OK);
    CHECK_ERR(vtd_ir_get(&u, 0, &g), VTD_ERR_INVAL);
    fake_free(f);
}

static void test_ir_two_units_own_tables(void)
{
    static struct vtd_unit u1, u2;
    struct vtd_hw h1, h2;
    struct fake *f1 = qi_fake(&u1, &h1, QEMU_ECAP);
    struct fake *f2 = qi_fake(&u2, &h2, QEMU_ECAP);
    CHECK_ERR(vtd_ir_enable(&u1, 4), VTD_OK);
    CHECK_ERR(vtd_ir_enable(&u2, 9), VTD_OK);
    CHECK_EQ(vtd_ir_size(&u1), 16);
    CHECK_EQ(vtd_ir_size(&u2), 512);
    uint32_t a, b;
    CHECK_ERR(vtd_ir_alloc(&u1, 1, &a), VTD_OK);
    CHECK_ERR(vtd_ir_alloc(&u2, 1, &b), VTD_OK);
    CHECK_EQ(a, 0);
    CHECK_EQ(b, 0); /* separate bitmaps */
    CHECK_EQ(vtd_ir_in_use(&u1), 1);
    CHECK_EQ(vtd_ir_in_use(&u2), 1);
    CHECK_EQ(f_read64(f1, VTD_IRTA_REG) & VTD_IRTA_ADDR_MASK, u1.irt_pa);
    CHECK_EQ(f_read64(f2, VTD_IRTA_REG) & VTD_IRTA_ADDR_MASK, u2.irt_pa);
    CHECK(u1.irt_va != u2.irt_va);
    CHECK_ERR(vtd_ir_free(&u1, 0, 1), VTD_OK);
    CHECK_EQ(vtd_ir_in_use(&u2), 1);
    fake_free(f1);
    fake_free(f2);
}

int main(void)
{
    RUN(test_irte_bit_positions);
    RUN(test_irte_round_trip_every_field);
    RUN(test_irte_encode_rejects_bad_specs);
    RUN(test_irte_decode_not_present_or_posted);
    RUN(test_irte_layout_and_registers);
    RUN(test_ir_msi_address_layout);
    RUN(test_iec_descriptors_from_batches);
    RUN(test_iec_mask_beyond_mhmv_goes_global);
    RUN(test_ir_fault_decode_and_names);
    RUN(test_ir_enable_sequence);
    RUN(test_ir_enable_errors_roll_back);
    RUN(test_ir_enable_turns_off_firmware_ir_and_cfi);
    RUN(test_ir_alloc_free_bitmap);
    RUN(test_ir_set_get_clear);
    RUN(test_ir_two_units_own_tables);
    VT_MAIN_END();
}
