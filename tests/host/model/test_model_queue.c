/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Self-tests of the model's invalidation queue: wait descriptors (status write, completion
 * interrupt, fence), IQE on malformed input, device-TLB invalidations against devices' ATCs,
 * and the invalidation time-out (ITE) that aborts pending waits after a virtual delay.
 */
#include "tm.h"

#define SID_ATS 0x0100   /* 01:00.0, ATS capable */
#define SID_GONE 0x0200  /* 02:00.0, ATS capable, will vanish */
#define STATUS_PA 0x0f0000ull

static bool setup(struct tm *t, const struct vtd_model_config *cfg, bool dw)
{
    if (!tm_init(t, cfg) || !tm_enable(t, false) || !tm_qi_enable(t, dw)) {
        return false;
    }
    tm_w64(t, STATUS_PA, 0);
    return true;
}

static void wait_status_write(bool dw)
{
    struct tm t;
    CHECK(setup(&t, NULL, dw));
    uint64_t d[3][4];
    tm_desc(d[0], D_CC_GLOBAL, 0);
    tm_desc(d[1], D_IOTLB_GLOBAL, 0);
    tm_desc(d[2], d_wait_sw(0x1234), STATUS_PA);
    tm_submit(&t, d, 3);
    CHECK(tm_poll32(&t, STATUS_PA, 0x1234, 10000));
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQH), t.iq_tail);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.descriptors, 3);
    CHECK_EQ(st.waits, 1);
    CHECK_EQ(st.tail_writes, 2); /* one from enabling (tail = 0), one for the batch */
    struct vtd_model_desc_log log[4];
    CHECK_EQ(vtd_model_desc_log(t.m, log, 4), 3);
    CHECK_EQ(log[2].qw[0], d_wait_sw(0x1234));
    CHECK_EQ(log[2].qw[1], STATUS_PA);
    tm_fini(&t);
}

static void test_wait_writes_status_128bit(void)
{
    wait_status_write(false);
}

static void test_wait_writes_status_256bit(void)
{
    wait_status_write(true);
}

static void test_wait_interrupt_sets_iwc_and_counts(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    t.hw->write32(t.hw->ctx, R_IECTL, 0); /* unmask */
    uint64_t d[1][4];
    tm_desc(d[0], D_WAIT_IF, 0);
    tm_submit(&t, d, 1);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_ICS) & 1, 1);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.completion_interrupts, 1);
    /* IWC still set: the next completion raises no new interrupt. */
    tm_submit(&t, d, 1);
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.completion_interrupts, 1);
    t.hw->write32(t.hw->ctx, R_ICS, 1); /* W1C */
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_ICS), 0);
    /* Masked: IP is set and the interrupt comes when unmasked. */
    t.hw->write32(t.hw->ctx, R_IECTL, 1u << 31);
    tm_submit(&t, d, 1);
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.completion_interrupts, 1);
    CHECK(t.hw->read32(t.hw->ctx, R_IECTL) & (1u << 30));
    t.hw->write32(t.hw->ctx, R_IECTL, 0);
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.completion_interrupts, 2);
    tm_fini(&t);
}

static void test_wait_with_sw_and_if_raises_iqe_and_is_counted(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    uint64_t d[1][4];
    tm_desc(d[0], d_wait_sw(1) | (1u << 4), STATUS_PA);
    tm_submit(&t, d, 1);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_IQE);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 0);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.wait_sw_and_if, 1);
    tm_fini(&t);
}

/* Submits `bad` after a good IOTLB descriptor and checks IQE with IQH on the bad one, then
   replaces it with a wait, clears IQE and sees the queue resume. */
static void iqe_case(const uint64_t bad[4], unsigned iqei)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    uint64_t d[2][4];
    tm_desc(d[0], D_IOTLB_GLOBAL, 0);
    memcpy(d[1], bad, sizeof(d[1]));
    tm_submit(&t, d, 2);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_IQE);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQH), 16);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQERCD) & 0xf, iqei);
    /* Nothing moves while IQE is set. */
    for (int i = 0; i < 5; i++) {
        t.hw->relax(t.hw->ctx);
    }
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQH), 16);
    /* Fix the descriptor in place, clear IQE: the queue resumes from IQH. */
    uint64_t fix[4] = {d_wait_sw(7), STATUS_PA, 0, 0};
    memcpy(vtd_model_phys(t.m, t.iq_pa + 16, 16), fix, 16);
    t.hw->write32(t.hw->ctx, R_FSTS, FSTS_IQE);
    CHECK(tm_poll32(&t, STATUS_PA, 7, 10000));
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_IQE, 0);
    tm_fini(&t);
}

static void test_iqe_on_reserved_bit(void)
{
    uint64_t bad[4] = {D_IOTLB_GLOBAL | (1ull << 40), 0, 0, 0};
    iqe_case(bad, VTD_MODEL_IQEI_RSVD);
}

static void test_iqe_on_unknown_type(void)
{
    uint64_t bad[4] = {0xf, 0, 0, 0};
    iqe_case(bad, VTD_MODEL_IQEI_TYPE);
}

static void test_iqe_on_am_above_mamv(void)
{
    uint64_t bad[4] = {d_iotlb_page(1), 19 /* MAMV is 18 */, 0, 0};
    iqe_case(bad, VTD_MODEL_IQEI_RSVD);
}

static void test_iqe_on_zero_granularity(void)
{
    uint64_t bad[4] = {2, 0, 0, 0};
    iqe_case(bad, VTD_MODEL_IQEI_RSVD);
}

static void test_iqe_on_page_drain_without_prs(void)
{
    uint64_t bad[4] = {d_wait_sw(1) | (1u << 7), STATUS_PA, 0, 0};
    iqe_case(bad, VTD_MODEL_IQEI_RSVD);
}

static void test_iqe_on_tail_beyond_queue(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    t.hw->write64(t.hw->ctx, R_IQT, 0x1000); /* queue is one page */
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_IQE);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQERCD) & 0xf, VTD_MODEL_IQEI_TAIL);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQH), 0);
    tm_fini(&t);
}

static void test_iqe_on_misaligned_tail_in_256bit_mode(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, true));
    t.hw->write64(t.hw->ctx, R_IQT, 0x30);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_IQE);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQERCD) & 0xf, VTD_MODEL_IQEI_TAIL);
    tm_fini(&t);
}

static void test_iqe_on_nonzero_upper_half_in_256bit_mode(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, true));
    uint64_t d[1][4] = {{D_IOTLB_GLOBAL, 0, 0, 1}};
    tm_submit(&t, d, 1);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_IQE);
    tm_fini(&t);
}

/* A device with ATS enabled, its context entry allowing device-TLB (TT = 1), one page mapped. */
static uint64_t ats_device(struct tm *t, uint16_t sid, uint16_t did, uint64_t iova, uint64_t pa)
{
    vtd_model_add_device(t->m, sid, VTD_MODEL_DEV_ATS);
    vtd_model_set_ats_enabled(t->m, sid, true);
    uint64_t pt = tm_legacy_ctx(t, sid, did, 1, 1);
    tm_map(t, pt, 3, iova, pa, 12, true, true);
    return pt;
}

static void test_atc_keeps_translation_until_devtlb_invalidation_covers_it(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    uint64_t pt = ats_device(&t, SID_ATS, 5, 0x6000, TM_BUF_BASE);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, true, &pa), 0);
    /* Unmap and invalidate the IOTLB only: the device's ATC still translates. */
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x6000, 12), 0);
    uint64_t d[2][4];
    tm_desc(d[0], d_iotlb_page(5), 0x6000);
    tm_desc(d[1], d_wait_sw(1), STATUS_PA);
    tm_submit(&t, d, 2);
    CHECK(tm_poll32(&t, STATUS_PA, 1, 10000));
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, true, &pa), 0);
    /* S = 1 with address 0x8000: bit 12 clear -> 8 KiB at 0x8000, does not cover 0x6000. */
    tm_desc(d[0], d_devtlb(SID_ATS), 0x8000 | 1);
    tm_desc(d[1], d_wait_sw(2), STATUS_PA);
    tm_submit(&t, d, 2);
    CHECK(tm_poll32(&t, STATUS_PA, 2, 100000));
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, true, &pa), 0);
    /* S = 1 with 0x5000 + bit 13 clear: bits 12 set -> 16 KiB at 0x4000..0x7fff covers it. */
    tm_desc(d[0], d_devtlb(SID_ATS), 0x5000 | 1);
    tm_desc(d[1], d_wait_sw(3), STATUS_PA);
    tm_submit(&t, d, 2);
    /* The wait completes only after the device answered (2 us of virtual time). */
    CHECK_EQ(tm_r32(&t, STATUS_PA), 2);
    CHECK(tm_poll32(&t, STATUS_PA, 3, 100000));
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, true, &pa),
             VTD_MODEL_FR_WRITE);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK(st.atc_hits >= 2);
    tm_fini(&t);
}

static void test_atc_filled_only_with_ats_enabled(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    uint64_t pt = ats_device(&t, SID_ATS, 5, 0x6000, TM_BUF_BASE);
    vtd_model_set_ats_enabled(t.m, SID_ATS, false);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, true, &pa), 0);
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x6000, 12), 0);
    uint64_t d[1][4];
    tm_desc(d[0], d_iotlb_page(5), 0x6000);
    tm_submit(&t, d, 1);
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, true, &pa),
             VTD_MODEL_FR_WRITE);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.atc_hits + st.atc_misses, 0);
    tm_fini(&t);
}

static void test_translated_requests_blocked_once_context_blocks_ats(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    ats_device(&t, SID_ATS, 5, 0x6000, TM_BUF_BASE);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, false, &pa), 0);
    /* Re-point the context entry at TT = 0 (no device-TLB) and invalidate the context cache:
       the ATC entry still exists but translated requests are now blocked. */
    uint64_t pt2 = tm_alloc(&t);
    tm_legacy_ctx_raw(&t, SID_ATS, pt2 | 1, 1 | (5 << 8));
    uint64_t d[1][4];
    tm_desc(d[0], d_cc_dev(SID_ATS, 5), 0);
    tm_submit(&t, d, 1);
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, false, &pa),
             VTD_MODEL_FR_TT_BLOCKED);
    tm_fini(&t);
}

static void test_translation_request_blocked_without_device_tlb_context(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    vtd_model_add_device(t.m, SID_ATS, VTD_MODEL_DEV_ATS);
    vtd_model_set_ats_enabled(t.m, SID_ATS, true);
    uint64_t pt = tm_legacy_ctx(&t, SID_ATS, 5, 0 /* TT: untranslated only */, 1);
    tm_map(&t, pt, 3, 0x6000, TM_BUF_BASE, 12, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, false, &pa),
             VTD_MODEL_FR_TT_BLOCKED);
    vtd_model_set_ats_enabled(t.m, SID_ATS, false); /* untranslated requests are fine */
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, false, &pa), 0);
    tm_fini(&t);
}

static void test_ite_on_absent_device_aborts_waits_and_stops_queue(void)
{
    struct vtd_model_config cfg = {.ite_timeout_ns = 50000};
    struct tm t;
    CHECK(setup(&t, &cfg, false));
    uint64_t pt = ats_device(&t, SID_ATS, 5, 0x6000, TM_BUF_BASE);
    ats_device(&t, SID_GONE, 6, 0x6000, TM_BUF_BASE);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, false, &pa), 0);
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x6000, 12), 0); /* unmapped; ATC and IOTLB hold it */
    vtd_model_set_device_present(t.m, SID_GONE, false);
    /* Batch: IOTLB, device-TLB for the present device, for the absent one, then one wait. */
    uint64_t d[4][4];
    tm_desc(d[0], d_iotlb_dom(5), 0);
    tm_desc(d[1], d_devtlb(SID_ATS), 0x6000);
    tm_desc(d[2], d_devtlb(SID_GONE), 0x6000);
    tm_desc(d[3], d_wait_sw(9), STATUS_PA);
    uint32_t gone_off = (t.iq_tail + 32) % t.iq_size;
    tm_submit(&t, d, 4);
    /* Just before the time-out nothing is reported and the wait is pending. */
    vtd_model_advance(t.m, 49000);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_ITE, 0);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 0);
    /* The IOTLB work and the present device's invalidation are done. */
    CHECK_EQ(vtd_model_translate(t.m, SID_ATS, VTD_MODEL_NO_PASID, 0x6000, false, &pa),
             VTD_MODEL_FR_READ);
    vtd_model_advance(t.m, 2000);
    uint32_t fsts = t.hw->read32(t.hw->ctx, R_FSTS);
    CHECK(fsts & FSTS_ITE);
    CHECK_EQ((t.hw->read64(t.hw->ctx, R_IQERCD) >> 32) & 0xffff, SID_GONE);
    uint16_t sid;
    uint32_t off;
    CHECK(vtd_model_last_ite(t.m, &sid, &off));
    CHECK_EQ(sid, SID_GONE);
    CHECK_EQ(off, gone_off);
    /* VT-d 6.5.2.10: the pending wait was aborted - its status is never written. */
    vtd_model_advance(t.m, 100000);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 0);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.waits_aborted, 1);
    CHECK_EQ(st.ite, 1);
    /* The queue is stopped until ITE is cleared. */
    uint64_t w[1][4];
    tm_desc(w[0], d_wait_sw(10), STATUS_PA);
    tm_submit(&t, w, 1);
    vtd_model_advance(t.m, 10000);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 0);
    t.hw->write32(t.hw->ctx, R_FSTS, FSTS_ITE);
    CHECK(tm_poll32(&t, STATUS_PA, 10, 10000));
    tm_fini(&t);
}

static void test_ite_wait_survives_a_bounded_poll_loop(void)
{
    /* A deadline-bounded poll (as libvtd must write) ends; an unbounded one would not. */
    struct vtd_model_config cfg = {.ite_timeout_ns = 1000000};
    struct tm t;
    CHECK(setup(&t, &cfg, false));
    uint64_t d[2][4];
    tm_desc(d[0], d_devtlb(0x0300), 0); /* no such device */
    tm_desc(d[1], d_wait_sw(1), STATUS_PA);
    tm_submit(&t, d, 2);
    uint64_t start = vtd_model_now(t.m);
    CHECK(!tm_poll32(&t, STATUS_PA, 1, 2000000));
    CHECK(vtd_model_now(t.m) - start >= 2000000);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_ITE);
    tm_fini(&t);
}

static void test_fence_wait_blocks_later_descriptors(void)
{
    struct tm t;
    CHECK(setup(&t, NULL, false));
    ats_device(&t, SID_ATS, 5, 0x6000, TM_BUF_BASE);
    uint64_t d[3][4];
    tm_desc(d[0], d_devtlb(SID_ATS), 0x6000);
    tm_desc(d[1], d_wait_sw(1) | (1u << 6), STATUS_PA); /* FN */
    tm_desc(d[2], D_IOTLB_GLOBAL, 0);
    tm_submit(&t, d, 3);
    /* Fetching stopped after the fenced wait. */
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQH), 32);
    CHECK(tm_poll32(&t, STATUS_PA, 1, 100000));
    t.hw->relax(t.hw->ctx);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQH), 48);
    tm_fini(&t);
}

static void test_ice_reports_icesid_and_ends_in_ite(void)
{
    struct vtd_model_config cfg = {.ite_timeout_ns = 20000};
    struct tm t;
    CHECK(setup(&t, &cfg, false));
    ats_device(&t, SID_ATS, 5, 0x6000, TM_BUF_BASE);
    vtd_model_inject_ice(t.m, SID_ATS);
    uint64_t d[2][4];
    tm_desc(d[0], d_devtlb(SID_ATS), 0x6000);
    tm_desc(d[1], d_wait_sw(1), STATUS_PA);
    tm_submit(&t, d, 2);
    vtd_model_advance(t.m, 5000);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_ICE);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQERCD) >> 48, SID_ATS);
    vtd_model_advance(t.m, 20000);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_ITE);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 0);
    tm_fini(&t);
}

static void test_qi_disable_refused_while_work_pending(void)
{
    struct vtd_model_config cfg = {.ite_timeout_ns = 1000000};
    struct tm t;
    CHECK(setup(&t, &cfg, false));
    uint64_t d[1][4];
    tm_desc(d[0], d_devtlb(0x0300), 0);
    tm_submit(&t, d, 1);
    CHECK(!tm_gcmd(&t, GCMD_QIE, false));
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK(st.qi_disable_refused >= 1);
    tm_fini(&t);
}

static void test_ite_reports_each_absent_device_in_turn(void)
{
    struct vtd_model_config cfg = {.ite_timeout_ns = 10000};
    struct tm t;
    CHECK(setup(&t, &cfg, false));
    uint64_t d[3][4];
    tm_desc(d[0], d_devtlb(0x0300), 0);
    tm_desc(d[1], d_devtlb(0x0400), 0);
    tm_desc(d[2], d_wait_sw(1), STATUS_PA);
    tm_submit(&t, d, 3);
    vtd_model_advance(t.m, 11000);
    CHECK_EQ((t.hw->read64(t.hw->ctx, R_IQERCD) >> 32) & 0xffff, 0x0300);
    t.hw->write32(t.hw->ctx, R_FSTS, FSTS_ITE);
    vtd_model_advance(t.m, 1000);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_ITE);
    CHECK_EQ((t.hw->read64(t.hw->ctx, R_IQERCD) >> 32) & 0xffff, 0x0400);
    t.hw->write32(t.hw->ctx, R_FSTS, FSTS_ITE);
    /* Queue empty and working again. */
    uint64_t w[1][4];
    tm_desc(w[0], d_wait_sw(2), STATUS_PA);
    tm_submit(&t, w, 1);
    CHECK(tm_poll32(&t, STATUS_PA, 2, 10000));
    tm_fini(&t);
}

static void test_devtlb_queue_depth_holds_fetch(void)
{
    struct vtd_model_config cfg = {.devtlb_latency_ns = 10000};
    struct tm t;
    CHECK(setup(&t, &cfg, false));
    ats_device(&t, SID_ATS, 5, 0x6000, TM_BUF_BASE);
    uint64_t d[3][4];
    uint64_t qdep1 = 1ull << 16; /* invalidate queue depth 1 */
    tm_desc(d[0], d_devtlb(SID_ATS) | qdep1, 0x6000);
    tm_desc(d[1], d_devtlb(SID_ATS) | qdep1, 0x7000);
    tm_desc(d[2], d_wait_sw(1), STATUS_PA);
    tm_submit(&t, d, 3);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQH), 16); /* second one held */
    vtd_model_advance(t.m, 11000);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQH), 48);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 0);
    CHECK(tm_poll32(&t, STATUS_PA, 1, 100000));
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK(st.devtlb_flow_stalls >= 1);
    tm_fini(&t);
}

int main(void)
{
    RUN(test_wait_writes_status_128bit);
    RUN(test_wait_writes_status_256bit);
    RUN(test_wait_interrupt_sets_iwc_and_counts);
    RUN(test_wait_with_sw_and_if_raises_iqe_and_is_counted);
    RUN(test_iqe_on_reserved_bit);
    RUN(test_iqe_on_unknown_type);
    RUN(test_iqe_on_am_above_mamv);
    RUN(test_iqe_on_zero_granularity);
    RUN(test_iqe_on_page_drain_without_prs);
    RUN(test_iqe_on_tail_beyond_queue);
    RUN(test_iqe_on_misaligned_tail_in_256bit_mode);
    RUN(test_iqe_on_nonzero_upper_half_in_256bit_mode);
    RUN(test_atc_keeps_translation_until_devtlb_invalidation_covers_it);
    RUN(test_atc_filled_only_with_ats_enabled);
    RUN(test_translated_requests_blocked_once_context_blocks_ats);
    RUN(test_translation_request_blocked_without_device_tlb_context);
    RUN(test_ite_on_absent_device_aborts_waits_and_stops_queue);
    RUN(test_ite_wait_survives_a_bounded_poll_loop);
    RUN(test_fence_wait_blocks_later_descriptors);
    RUN(test_ice_reports_icesid_and_ends_in_ite);
    RUN(test_qi_disable_refused_while_work_pending);
    RUN(test_ite_reports_each_absent_device_in_turn);
    RUN(test_devtlb_queue_depth_holds_fetch);
    printf("%s: %d failure(s)\n", tm_failures ? "FAILED" : "PASSED", tm_failures);
    return tm_failures ? 1 : 0;
}
