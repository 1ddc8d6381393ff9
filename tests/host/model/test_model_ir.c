/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Self-tests of the model's interrupt remapping (VT-d chapter 5, 9.10): the IRTA/SIRTP/IRE/CFI
 * handshakes, the decoding of compatibility and remappable interrupt requests, IRTE reserved
 * fields and source-id validation, fault records for interrupt requests, and the interrupt
 * entry cache, which must keep returning a stale IRTE until an IEC invalidation. They program
 * the model by hand, as software would, so libvtd's interrupt remapping can later be checked
 * against a model that is known to follow the spec.
 */
#include "tm.h"

#define R_IRTA 0xb8
#define GCMD_IRE (1u << 25)
#define GCMD_SIRTP (1u << 24)
#define GCMD_CFI (1u << 23)
#define IRTA_EIME (1ull << 11)

#define SID_DEV 0x0308         /* 03:01.0 */
#define IRT_BIG_PA 0x800000ull /* 64 Ki entries (1 MiB), below the DMA buffers */

/* IRTE low quadword (remapped format): P, vector, xAPIC destination in DST bits 15:8. */
#define IRTE_P (1ull << 0)
#define IRTE_FPD (1ull << 1)
#define IRTE_DM (1ull << 2)
#define IRTE_TM (1ull << 4)
static uint64_t irte_lo(uint8_t vector, uint8_t apic)
{
    return IRTE_P | ((uint64_t)vector << 16) | ((uint64_t)apic << 40);
}
/* IRTE high quadword: SID 15:0, SQ 17:16, SVT 19:18. */
static uint64_t irte_hi(unsigned svt, unsigned sq, uint16_t sid)
{
    return sid | ((uint64_t)sq << 16) | ((uint64_t)svt << 18);
}

/* Remappable-format request address for `handle`, with SHV if `shv`. */
static uint64_t msi_remap(uint32_t handle, bool shv)
{
    return 0xfee00000ull | ((uint64_t)(handle & 0x7fff) << 5) | ((handle >> 15) & 1) << 2 |
           (1ull << 4) | (shv ? 1ull << 3 : 0);
}

struct ir {
    struct tm t;
    uint64_t irt;
    unsigned s;
};

static void irte_set(struct ir *x, uint32_t index, uint64_t lo, uint64_t hi)
{
    tm_w64(&x->t, x->irt + index * 16ull + 8, hi);
    tm_w64(&x->t, x->irt + index * 16ull, lo);
}

static bool set_irta(struct ir *x, uint64_t irt, unsigned s, uint64_t flags)
{
    x->irt = irt;
    x->s = s;
    x->t.hw->write64(x->t.hw->ctx, R_IRTA, irt | flags | s);
    return tm_gcmd(&x->t, GCMD_SIRTP, true);
}

/* Interrupt remapping on with a one-page table (S = 7, 256 entries), no DMA remapping. */
static bool ir_setup(struct ir *x, const struct vtd_model_config *cfg)
{
    if (!tm_init(&x->t, cfg)) {
        return false;
    }
    return set_irta(x, tm_alloc(&x->t), 7, 0) && tm_gcmd(&x->t, GCMD_IRE, true);
}

static int irq(struct ir *x, uint16_t sid, uint64_t addr, uint32_t data, struct vtd_model_irq *o)
{
    return vtd_model_interrupt(x->t.m, sid, addr, data, o);
}

static uint32_t fro(struct ir *x)
{
    return (uint32_t)((x->t.hw->read64(x->t.hw->ctx, R_CAP) >> 24) & 0x3ff) * 16;
}
static uint64_t frcd_lo(struct ir *x)
{
    return x->t.hw->read64(x->t.hw->ctx, fro(x));
}
static uint64_t frcd_hi(struct ir *x)
{
    return x->t.hw->read64(x->t.hw->ctx, fro(x) + 8);
}
static void frcd_clear(struct ir *x)
{
    x->t.hw->write32(x->t.hw->ctx, fro(x) + 12, 1u << 31);
}
#define FRCD_F (1ull << 63)
#define FRCD_FR(hi) (((hi) >> 32) & 0xff)
#define FRCD_SID(hi) ((hi)&0xffff)

static void test_ir_off_passes_compat_through(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    CHECK(t.hw->read64(t.hw->ctx, R_ECAP) & (1u << 3)); /* ECAP.IR */
    struct vtd_model_irq o;
    /* Destination 0x12, logical; level, delivery mode 1 (lowest priority), vector 0x31. */
    CHECK_EQ(vtd_model_interrupt(t.m, SID_DEV, 0xfee12004, 0x8131, &o), 0);
    CHECK(!o.remapped);
    CHECK_EQ(o.vector, 0x31);
    CHECK_EQ(o.dest, 0x12);
    CHECK(o.level);
    CHECK(o.logical);
    CHECK_EQ(o.delivery, 1);
    CHECK(!vtd_model_ir_enabled(t.m));
    /* A remappable-looking address is not interpreted either. */
    CHECK_EQ(vtd_model_interrupt(t.m, SID_DEV, 0xfee00010 | (5 << 12), 0x40, &o), 0);
    CHECK(!o.remapped);
    CHECK_EQ(o.vector, 0x40);
    CHECK_EQ(o.dest, 5);
    CHECK(!o.level);
    CHECK(!o.logical);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.irq_delivered, 2);
    CHECK_EQ(st.irq_blocked, 0);
    tm_fini(&t);
}

static void test_compat_blocked_when_cfis_clear(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    CHECK(vtd_model_ir_enabled(x.t.m));
    struct vtd_model_irq o;
    CHECK_EQ(irq(&x, SID_DEV, 0xfee01000, 0x31, &o), VTD_MODEL_FR_IR_COMPAT_BLOCKED);
    CHECK(x.t.hw->read32(x.t.hw->ctx, R_FSTS) & FSTS_PPF);
    uint64_t hi = frcd_hi(&x);
    CHECK(hi & FRCD_F);
    CHECK_EQ(FRCD_FR(hi), 0x25);
    CHECK_EQ(FRCD_SID(hi), SID_DEV);
    /* CFI set: compatibility format passes unchanged. */
    CHECK(tm_gcmd(&x.t, GCMD_CFI, true));
    CHECK_EQ(irq(&x, SID_DEV, 0xfee01000, 0x31, &o), 0);
    CHECK(!o.remapped);
    CHECK_EQ(o.vector, 0x31);
    CHECK_EQ(o.dest, 1);
    /* The CFI write kept IRE (software wrote both bits): still remapping. */
    CHECK(vtd_model_ir_enabled(x.t.m));
    struct vtd_model_stats st;
    vtd_model_get_stats(x.t.m, &st);
    CHECK_EQ(st.irq_blocked, 1);
    CHECK_EQ(st.irq_delivered, 1);
    tm_fini(&x.t);
}

static void test_compat_blocked_in_x2apic_mode_despite_cfi(void)
{
    struct ir x;
    CHECK(tm_init(&x.t, NULL));
    CHECK(set_irta(&x, tm_alloc(&x.t), 7, IRTA_EIME));
    CHECK(tm_gcmd(&x.t, GCMD_IRE, true));
    CHECK(tm_gcmd(&x.t, GCMD_CFI, true));
    CHECK_EQ(irq(&x, SID_DEV, 0xfee01000, 0x31, NULL), VTD_MODEL_FR_IR_COMPAT_BLOCKED);
    tm_fini(&x.t);
}

static void test_remapped_delivers_irte_vector_and_dest(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    irte_set(&x, 5, irte_lo(0x41, 3) | IRTE_TM | IRTE_DM | (1ull << 5), 0);
    struct vtd_model_irq o;
    /* The request's data (its compatibility-format vector) means nothing once remapped. */
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(5, false), 0x99, &o), 0);
    CHECK(o.remapped);
    CHECK_EQ(o.index, 5);
    CHECK_EQ(o.vector, 0x41);
    CHECK_EQ(o.dest, 3);
    CHECK(o.level);
    CHECK(o.logical);
    CHECK_EQ(o.delivery, 1);
    tm_fini(&x.t);
}

static void test_handle_bit15_from_address_bit2(void)
{
    struct ir x;
    CHECK(tm_init(&x.t, NULL));
    CHECK(set_irta(&x, IRT_BIG_PA, 15, 0));
    CHECK(tm_gcmd(&x.t, GCMD_IRE, true));
    irte_set(&x, 0x8003, irte_lo(0x60, 9), 0);
    irte_set(&x, 0x0003, irte_lo(0x61, 9), 0);
    struct vtd_model_irq o;
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(0x8003, false), 0, &o), 0);
    CHECK_EQ(o.index, 0x8003);
    CHECK_EQ(o.vector, 0x60);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(0x0003, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x61);
    tm_fini(&x.t);
}

static void test_x2apic_mode_uses_all_dst_bits(void)
{
    struct ir x;
    CHECK(tm_init(&x.t, NULL));
    CHECK(set_irta(&x, tm_alloc(&x.t), 7, IRTA_EIME));
    CHECK(tm_gcmd(&x.t, GCMD_IRE, true));
    irte_set(&x, 1, IRTE_P | (0x42ull << 16) | (0x12345678ull << 32), 0);
    struct vtd_model_irq o;
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(1, false), 0, &o), 0);
    CHECK_EQ(o.dest, 0x12345678);
    tm_fini(&x.t);
}

static void test_request_address_not_fee_faults_0x20(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    CHECK_EQ(irq(&x, SID_DEV, 0xfed00010, 0, NULL), VTD_MODEL_FR_IR_REQ_RSVD);
    CHECK_EQ(FRCD_FR(frcd_hi(&x)), 0x20);
    tm_fini(&x.t);
}

static void test_subhandle_adds_to_index(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    irte_set(&x, 8, irte_lo(0x50, 1), 0);
    irte_set(&x, 11, irte_lo(0x53, 1), 0);
    struct vtd_model_irq o;
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(8, true), 3, &o), 0);
    CHECK_EQ(o.index, 11);
    CHECK_EQ(o.vector, 0x53);
    /* Without SHV the data is ignored. */
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(8, false), 3, &o), 0);
    CHECK_EQ(o.vector, 0x50);
    /* SHV with data bits 31:16 set is a malformed request. */
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(8, true), 0x10003, &o), VTD_MODEL_FR_IR_REQ_RSVD);
    tm_fini(&x.t);
}

static void test_index_beyond_table_faults_0x21(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL)); /* 256 entries */
    irte_set(&x, 255, irte_lo(0x70, 1), 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(255, false), 0, NULL), 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(256, false), 0, NULL), VTD_MODEL_FR_IR_INDEX_OVER);
    CHECK_EQ(FRCD_FR(frcd_hi(&x)), 0x21);
    CHECK_EQ(frcd_lo(&x), 256ull << 48);
    frcd_clear(&x);
    /* Handle + subhandle beyond the table. */
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(250, true), 6, NULL), VTD_MODEL_FR_IR_INDEX_OVER);
    tm_fini(&x.t);
}

static void test_not_present_faults_0x22(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    irte_set(&x, 4, irte_lo(0x70, 1) & ~IRTE_P, 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(4, false), 0, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(FRCD_FR(frcd_hi(&x)), 0x22);
    frcd_clear(&x);
    /* The unit does not cache a non-present entry: once present it is used at once. */
    irte_set(&x, 4, irte_lo(0x70, 1), 0);
    struct vtd_model_irq o;
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(4, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x70);
    tm_fini(&x.t);
}

static void test_fpd_suppresses_the_record_not_the_block(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    irte_set(&x, 6, IRTE_FPD, 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(6, false), 0, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(x.t.hw->read32(x.t.hw->ctx, R_FSTS), 0);
    CHECK_EQ(frcd_hi(&x) & FRCD_F, 0);
    struct vtd_model_stats st;
    vtd_model_get_stats(x.t.m, &st);
    CHECK_EQ(st.faults_suppressed, 1);
    CHECK_EQ(st.irq_blocked, 1);
    CHECK_EQ(st.faults_recorded, 0);
    tm_fini(&x.t);
}

static void test_reserved_irte_bits_fault_0x24(void)
{
    static const struct {
        uint64_t lo_or, hi;
    } bad[] = {
        {1ull << 15, 0}, /* IM = 1: posted format, not supported */
        {1ull << 12, 0}, /* bits 14:12 */
        {1ull << 24, 0}, /* bits 31:24 */
        {1ull << 32, 0}, /* DST bit 0: reserved in xAPIC mode */
        {1ull << 48, 0}, /* DST bit 16: reserved in xAPIC mode */
        {0, 1ull << 20}, /* high bits 63:20 */
        {0, 3ull << 18}, /* SVT = 3 */
    };
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t index = 20 + i;
        irte_set(&x, index, irte_lo(0x30, 2) | bad[i].lo_or, bad[i].hi);
        CHECK_EQ(irq(&x, SID_DEV, msi_remap(index, false), 0, NULL), VTD_MODEL_FR_IR_IRTE_RSVD);
        CHECK_EQ(FRCD_FR(frcd_hi(&x)), 0x24);
        CHECK_EQ(frcd_lo(&x), (uint64_t)index << 48);
        frcd_clear(&x);
    }
    /* The clean entry delivers. */
    irte_set(&x, 40, irte_lo(0x30, 2), 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(40, false), 0, NULL), 0);
    tm_fini(&x.t);
}

static void test_irte_outside_memory_faults_0x23(void)
{
    struct ir x;
    CHECK(tm_init(&x.t, NULL));
    CHECK(set_irta(&x, (64ull << 20) - 4096, 15, 0));
    CHECK(tm_gcmd(&x.t, GCMD_IRE, true));
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(300, false), 0, NULL), VTD_MODEL_FR_IR_ROOT_INVAL);
    CHECK_EQ(FRCD_FR(frcd_hi(&x)), 0x23);
    CHECK_EQ(frcd_lo(&x), 300ull << 48);
    tm_fini(&x.t);
}

/* Delivers through IRTE 2 with the given SID check from `sid`; returns the result. */
static int sid_case(struct ir *x, uint64_t hi, uint16_t sid)
{
    irte_set(x, 2, irte_lo(0x44, 1), hi);
    /* A fresh IRTE each time: drop the cached one. */
    uint64_t d[1][4];
    tm_desc(d[0], 4, 0);
    tm_submit(&x->t, d, 1);
    frcd_clear(x);
    return irq(x, sid, msi_remap(2, false), 0, NULL);
}

static void test_sid_exact_pass_and_fail(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    CHECK(tm_qi_enable(&x.t, false));
    CHECK_EQ(sid_case(&x, irte_hi(1, 0, 0x0308), 0x0308), 0);
    CHECK_EQ(sid_case(&x, irte_hi(1, 0, 0x0308), 0x0309), VTD_MODEL_FR_IR_SID_ERR);
    uint64_t hi = frcd_hi(&x);
    CHECK_EQ(FRCD_FR(hi), 0x26);
    CHECK_EQ(FRCD_SID(hi), 0x0309);
    CHECK_EQ(frcd_lo(&x), 2ull << 48);
    CHECK_EQ(sid_case(&x, irte_hi(1, 0, 0x0308), 0x0408), VTD_MODEL_FR_IR_SID_ERR);
    /* SVT = 0: no check. */
    CHECK_EQ(sid_case(&x, irte_hi(0, 0, 0x0308), 0x7777), 0);
    tm_fini(&x.t);
}

static void test_sid_sq_masks_pass_and_fail(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    CHECK(tm_qi_enable(&x.t, false));
    /* SQ = 1 ignores bit 2. */
    CHECK_EQ(sid_case(&x, irte_hi(1, 1, 0x0308), 0x030c), 0);
    CHECK_EQ(sid_case(&x, irte_hi(1, 1, 0x0308), 0x030a), VTD_MODEL_FR_IR_SID_ERR);
    /* SQ = 2 ignores bits 2:1. */
    CHECK_EQ(sid_case(&x, irte_hi(1, 2, 0x0308), 0x030e), 0);
    CHECK_EQ(sid_case(&x, irte_hi(1, 2, 0x0308), 0x0309), VTD_MODEL_FR_IR_SID_ERR);
    /* SQ = 3 ignores bits 2:0 (any function of the device). */
    CHECK_EQ(sid_case(&x, irte_hi(1, 3, 0x0308), 0x030f), 0);
    CHECK_EQ(sid_case(&x, irte_hi(1, 3, 0x0308), 0x0310), VTD_MODEL_FR_IR_SID_ERR);
    CHECK_EQ(sid_case(&x, irte_hi(1, 3, 0x0308), 0x0408), VTD_MODEL_FR_IR_SID_ERR);
    tm_fini(&x.t);
}

static void test_sid_bus_range_pass_and_fail(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    CHECK(tm_qi_enable(&x.t, false));
    /* SVT = 2: SID[15:8] = start bus 2, SID[7:0] = end bus 4 (the spec's order). */
    const uint64_t hi = irte_hi(2, 0, 0x0204);
    CHECK_EQ(sid_case(&x, hi, 0x0200), 0);
    CHECK_EQ(sid_case(&x, hi, 0x03ff), 0);
    CHECK_EQ(sid_case(&x, hi, 0x0407), 0);
    CHECK_EQ(sid_case(&x, hi, 0x0100), VTD_MODEL_FR_IR_SID_ERR);
    CHECK_EQ(sid_case(&x, hi, 0x0500), VTD_MODEL_FR_IR_SID_ERR);
    tm_fini(&x.t);
}

static void test_iec_caches_until_index_invalidation(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    CHECK(tm_qi_enable(&x.t, false));
    struct vtd_model_irq o;
    uint64_t d[1][4];
    irte_set(&x, 10, irte_lo(0x50, 1), 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x50);
    /* Changed in memory (and flushed): the unit still uses its cached copy. */
    irte_set(&x, 10, irte_lo(0x51, 1), 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x50);
    /* Index-selective for another index: still stale. */
    tm_desc(d[0], 4 | (1u << 4) | (11ull << 32), 0);
    tm_submit(&x.t, d, 1);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x50);
    /* For index 10: the new entry is read. */
    tm_desc(d[0], 4 | (1u << 4) | (10ull << 32), 0);
    tm_submit(&x.t, d, 1);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x51);
    /* IM = 2 from index 8 covers 8..11 (IIDX is aligned down). */
    irte_set(&x, 10, irte_lo(0x52, 1), 0);
    tm_desc(d[0], 4 | (1u << 4) | (2u << 27) | (9ull << 32), 0);
    tm_submit(&x.t, d, 1);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x52);
    /* IM = 1 from index 8 covers 8..9 only. */
    irte_set(&x, 10, irte_lo(0x53, 1), 0);
    tm_desc(d[0], 4 | (1u << 4) | (1u << 27) | (8ull << 32), 0);
    tm_submit(&x.t, d, 1);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x52);
    /* Global. */
    tm_desc(d[0], 4, 0);
    tm_submit(&x.t, d, 1);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x53);
    /* SIRTP drops the cache as well. */
    irte_set(&x, 10, irte_lo(0x54, 1), 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x53);
    CHECK(set_irta(&x, x.irt, 7, 0));
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(10, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x54);

    struct vtd_model_desc_log log[8];
    CHECK_EQ(vtd_model_desc_log(x.t.m, log, 8), 5);
    CHECK_EQ(log[1].qw[0], 4 | (1u << 4) | (10ull << 32));
    CHECK_EQ(log[4].qw[0], 4);
    struct vtd_model_stats st;
    vtd_model_get_stats(x.t.m, &st);
    CHECK_EQ(st.iec_invalidations, 5 + 2); /* five descriptors, two SIRTPs */
    CHECK_EQ(st.irq_delivered, 9);
    tm_fini(&x.t);
}

static void test_iec_descriptor_reserved_bits_raise_iqe(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    CHECK(tm_qi_enable(&x.t, false));
    uint64_t d[1][4];
    tm_desc(d[0], 4 | (1u << 5), 0);
    tm_submit(&x.t, d, 1);
    CHECK(x.t.hw->read32(x.t.hw->ctx, R_FSTS) & FSTS_IQE);
    CHECK_EQ(x.t.hw->read64(x.t.hw->ctx, R_IQERCD) & 0xf, VTD_MODEL_IQEI_RSVD);
    CHECK_EQ(x.t.hw->read64(x.t.hw->ctx, R_IQH), 0);
    tm_fini(&x.t);
}

static void test_no_ir_config_hides_interrupt_remapping(void)
{
    struct vtd_model_config cfg = {.no_ir = true};
    struct ir x;
    CHECK(tm_init(&x.t, &cfg));
    CHECK_EQ(x.t.hw->read64(x.t.hw->ctx, R_ECAP) & 0x18, 0);
    x.t.hw->write64(x.t.hw->ctx, R_IRTA, tm_alloc(&x.t) | 7);
    CHECK(!tm_gcmd(&x.t, GCMD_SIRTP, true));
    CHECK(!tm_gcmd(&x.t, GCMD_IRE, true));
    CHECK(!vtd_model_ir_enabled(x.t.m));
    CHECK(tm_qi_enable(&x.t, false));
    uint64_t d[1][4];
    tm_desc(d[0], 4, 0);
    tm_submit(&x.t, d, 1);
    CHECK_EQ(x.t.hw->read64(x.t.hw->ctx, R_IQERCD) & 0xf, VTD_MODEL_IQEI_TYPE);
    tm_fini(&x.t);
}

static void test_fault_record_fi_holds_index(void)
{
    struct ir x;
    CHECK(tm_init(&x.t, NULL));
    CHECK(set_irta(&x, IRT_BIG_PA, 15, 0));
    CHECK(tm_gcmd(&x.t, GCMD_IRE, true));
    x.t.hw->write32(x.t.hw->ctx, R_FECTL, 0); /* unmask fault events */
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(0x1230, true), 4, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    CHECK_EQ(frcd_lo(&x), 0x1234ull << 48);
    uint64_t hi = frcd_hi(&x);
    CHECK(hi & FRCD_F);
    CHECK_EQ(hi & (1ull << 62), 0); /* T1 = 0: an interrupt request is a write */
    CHECK_EQ(hi & (1ull << 28), 0); /* T2 */
    CHECK_EQ(hi & (1ull << 31), 0); /* no PASID */
    CHECK_EQ(FRCD_FR(hi), 0x22);
    CHECK_EQ(FRCD_SID(hi), SID_DEV);
    uint32_t fsts = x.t.hw->read32(x.t.hw->ctx, R_FSTS);
    CHECK_EQ(fsts, FSTS_PPF); /* FRI = 0 */
    struct vtd_model_stats st;
    vtd_model_get_stats(x.t.m, &st);
    CHECK_EQ(st.fault_interrupts, 1);
    CHECK_EQ(st.faults_recorded, 1);
    CHECK_EQ(vtd_model_fault_reason_name(0x22)[0] != 'u', 1);
    tm_fini(&x.t);
}

static void test_ir_fault_flood_single_record_and_pfo(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    x.t.hw->write32(x.t.hw->ctx, R_FECTL, 0);
    for (unsigned i = 0; i < 10000; i++) {
        CHECK_EQ(irq(&x, SID_DEV, 0xfee00000, 0x20, NULL), VTD_MODEL_FR_IR_COMPAT_BLOCKED);
    }
    struct vtd_model_stats st;
    vtd_model_get_stats(x.t.m, &st);
    CHECK_EQ(st.faults_recorded, 1);
    CHECK_EQ(st.faults_dropped, 9999);
    CHECK_EQ(st.irq_blocked, 10000);
    CHECK_EQ(st.fault_interrupts, 1);
    CHECK_EQ(x.t.hw->read32(x.t.hw->ctx, R_FSTS), FSTS_PPF | FSTS_PFO);
    /* The record still describes the first fault. */
    CHECK_EQ(FRCD_FR(frcd_hi(&x)), 0x25);
    /* Serviced: the next fault is recorded and signalled again. */
    frcd_clear(&x);
    x.t.hw->write32(x.t.hw->ctx, R_FSTS, FSTS_PFO);
    CHECK_EQ(x.t.hw->read32(x.t.hw->ctx, R_FSTS), 0);
    CHECK_EQ(irq(&x, 0x0500, msi_remap(3, false), 0, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    vtd_model_get_stats(x.t.m, &st);
    CHECK_EQ(st.faults_recorded, 2);
    CHECK_EQ(st.fault_interrupts, 2);
    CHECK_EQ(FRCD_SID(frcd_hi(&x)), 0x0500);
    tm_fini(&x.t);
}

static void test_sirtp_ire_handshakes_and_stuck(void)
{
    struct ir x;
    CHECK(tm_init(&x.t, NULL));
    const struct vtd_hw *hw = x.t.hw;
    uint64_t irt = tm_alloc(&x.t);
    hw->write64(hw->ctx, R_IRTA, irt | 7);
    CHECK_EQ(hw->read64(hw->ctx, R_IRTA), irt | 7);
    /* SIRTP completes only after the command delay: software has to poll. */
    hw->write32(hw->ctx, R_GCMD, GCMD_SIRTP);
    CHECK_EQ(hw->read32(hw->ctx, R_GSTS) & GCMD_SIRTP, 0);
    vtd_model_advance(x.t.m, 2000);
    CHECK(hw->read32(hw->ctx, R_GSTS) & GCMD_SIRTP);
    /* IRE stuck: IRES never sets, interrupts are not remapped. */
    vtd_model_set_commands_stuck(x.t.m, true);
    CHECK(!tm_gcmd(&x.t, GCMD_IRE, true));
    CHECK(!vtd_model_ir_enabled(x.t.m));
    struct vtd_model_irq o;
    CHECK_EQ(vtd_model_interrupt(x.t.m, SID_DEV, 0xfee01000, 0x31, &o), 0);
    CHECK(!o.remapped);
    vtd_model_set_commands_stuck(x.t.m, false);
    vtd_model_advance(x.t.m, 2000);
    CHECK(vtd_model_ir_enabled(x.t.m));
    CHECK_EQ(vtd_model_interrupt(x.t.m, SID_DEV, 0xfee01000, 0x31, &o),
             VTD_MODEL_FR_IR_COMPAT_BLOCKED);
    /* A second SIRTP while stuck: GSTS.IRTPS is cleared and stays clear. */
    vtd_model_set_commands_stuck(x.t.m, true);
    CHECK(!tm_gcmd(&x.t, GCMD_SIRTP, true));
    CHECK_EQ(hw->read32(hw->ctx, R_GSTS) & GCMD_SIRTP, 0);
    vtd_model_set_commands_stuck(x.t.m, false);
    CHECK(tm_gcmd(&x.t, GCMD_SIRTP, true));
    /* GCMD bits are commands: a write without IRE turns remapping off. */
    hw->write32(hw->ctx, R_GCMD, 0);
    vtd_model_advance(x.t.m, 2000);
    CHECK_EQ(hw->read32(hw->ctx, R_GSTS) & GCMD_IRE, 0);
    CHECK(!vtd_model_ir_enabled(x.t.m));
    tm_fini(&x.t);
}

static void test_irta_is_latched_only_by_sirtp(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL));
    uint64_t old = x.irt;
    irte_set(&x, 1, irte_lo(0x61, 1), 0);
    uint64_t other = tm_alloc(&x.t);
    x.irt = other;
    irte_set(&x, 1, irte_lo(0x62, 1), 0);
    x.t.hw->write64(x.t.hw->ctx, R_IRTA, other | 7);
    struct vtd_model_irq o;
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(1, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x61);
    CHECK(tm_gcmd(&x.t, GCMD_SIRTP, true));
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(1, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x62);
    (void)old;
    tm_fini(&x.t);
}

static void test_irte_read_without_flush_is_not_seen(void)
{
    struct ir x;
    CHECK(ir_setup(&x, NULL)); /* default ECAP.C = 0: the unit reads memory, not CPU caches */
    uint64_t e[2] = {irte_lo(0x66, 1), 0};
    void *p = vtd_model_phys(x.t.m, x.irt + 7 * 16, 16);
    memcpy(p, e, 16);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(7, false), 0, NULL), VTD_MODEL_FR_IR_NOT_PRESENT);
    x.t.hw->flush_cache(x.t.hw->ctx, p, 16);
    struct vtd_model_irq o;
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(7, false), 0, &o), 0);
    CHECK_EQ(o.vector, 0x66);
    tm_fini(&x.t);
}

static void test_freeing_a_cached_irt_page_is_counted(void)
{
    struct ir x;
    CHECK(tm_init(&x.t, NULL));
    const struct vtd_hw *hw = x.t.hw;
    uint64_t irt;
    void *va = hw->alloc_page(hw->ctx, &irt);
    CHECK(va != NULL);
    CHECK(set_irta(&x, irt, 7, 0));
    CHECK(tm_gcmd(&x.t, GCMD_IRE, true));
    CHECK(tm_qi_enable(&x.t, false));
    irte_set(&x, 3, irte_lo(0x71, 1), 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(3, false), 0, NULL), 0);
    /* Freed after a global IEC invalidation: fine. */
    uint64_t d[1][4];
    tm_desc(d[0], 4, 0);
    tm_submit(&x.t, d, 1);
    hw->free_page(hw->ctx, va, irt);
    struct vtd_model_stats st;
    vtd_model_get_stats(x.t.m, &st);
    CHECK_EQ(st.freed_while_cached, 0);
    /* Freed while the IEC still holds one of its entries: a software bug the model counts. */
    va = hw->alloc_page(hw->ctx, &irt);
    CHECK(va != NULL);
    CHECK(set_irta(&x, irt, 7, 0));
    irte_set(&x, 3, irte_lo(0x72, 1), 0);
    CHECK_EQ(irq(&x, SID_DEV, msi_remap(3, false), 0, NULL), 0);
    hw->free_page(hw->ctx, va, irt);
    vtd_model_get_stats(x.t.m, &st);
    CHECK_EQ(st.freed_while_cached, 1);
    tm_fini(&x.t);
}

int main(void)
{
    RUN(test_ir_off_passes_compat_through);
    RUN(test_compat_blocked_when_cfis_clear);
    RUN(test_compat_blocked_in_x2apic_mode_despite_cfi);
    RUN(test_remapped_delivers_irte_vector_and_dest);
    RUN(test_handle_bit15_from_address_bit2);
    RUN(test_x2apic_mode_uses_all_dst_bits);
    RUN(test_request_address_not_fee_faults_0x20);
    RUN(test_subhandle_adds_to_index);
    RUN(test_index_beyond_table_faults_0x21);
    RUN(test_not_present_faults_0x22);
    RUN(test_fpd_suppresses_the_record_not_the_block);
    RUN(test_reserved_irte_bits_fault_0x24);
    RUN(test_irte_outside_memory_faults_0x23);
    RUN(test_sid_exact_pass_and_fail);
    RUN(test_sid_sq_masks_pass_and_fail);
    RUN(test_sid_bus_range_pass_and_fail);
    RUN(test_iec_caches_until_index_invalidation);
    RUN(test_iec_descriptor_reserved_bits_raise_iqe);
    RUN(test_no_ir_config_hides_interrupt_remapping);
    RUN(test_fault_record_fi_holds_index);
    RUN(test_ir_fault_flood_single_record_and_pfo);
    RUN(test_sirtp_ire_handshakes_and_stuck);
    RUN(test_irta_is_latched_only_by_sirtp);
    RUN(test_irte_read_without_flush_is_not_seen);
    RUN(test_freeing_a_cached_irt_page_is_counted);
    printf("%s: %d failure(s)\n", tm_failures ? "FAILED" : "PASSED", tm_failures);
    return tm_failures ? 1 : 0;
}
