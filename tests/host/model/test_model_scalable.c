/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Self-tests of the model's scalable mode (scalable root/context entries, PASID directory and
 * table, PGTT second-level / pass-through / blocked, the PASID cache) and of its page request
 * queue (requests, overflow with automatic responses, page group responses, page drain).
 */
#include "tm.h"

#define SID 0x0100       /* 01:00.0 */
#define SID_HI 0x0188    /* 01:11.0: devfn >= 128, upper half of the root entry */
#define STATUS_PA 0x0f0000ull

/* SMTS, SLTS, PASID (PSS = 19: 20-bit), PRS, PT, DT, QI, IR, IRO = 0xf0, C = 1. */
#define SM_ECAP ((1ull << 46) | (1ull << 43) | (1ull << 40) | (19ull << 35) | (1ull << 29) | \
                 (1ull << 6) | (1ull << 3) | (1ull << 2) | (1ull << 1) | (1ull << 0) |         \
                 (0xfull << 8))

static bool setup(struct tm *t)
{
    struct vtd_model_config cfg = {.ecap = SM_ECAP, .cap = 0x00d2038c22260206ull};
    if (!tm_init(t, &cfg) || !tm_enable(t, true) || !tm_qi_enable(t, true)) {
        return false;
    }
    tm_w64(t, STATUS_PA, 0);
    return true;
}

static uint64_t d_pc(unsigned g, uint16_t did, uint32_t pasid)
{
    return 7 | ((uint64_t)g << 4) | ((uint64_t)did << 16) | ((uint64_t)pasid << 32);
}

static uint64_t d_piotlb(unsigned g, uint16_t did, uint32_t pasid)
{
    return 6 | ((uint64_t)g << 4) | ((uint64_t)did << 16) | ((uint64_t)pasid << 32);
}

static void test_scalable_second_level_via_rid_pasid(void)
{
    struct tm t;
    CHECK(setup(&t));
    uint64_t dir = tm_sm_ctx(&t, SID, 0, false, false);
    uint64_t pt = tm_alloc(&t);
    tm_sm_pasid(&t, dir, 0, 3, 2, 1, pt);
    tm_map(&t, pt, 3, 0x5000, TM_BUF_BASE, 12, true, false);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID, VTD_MODEL_NO_PASID, 0x5010, false, &pa), 0);
    CHECK_EQ(pa, TM_BUF_BASE + 0x10);
    CHECK_EQ(vtd_model_translate(t.m, SID, VTD_MODEL_NO_PASID, 0x5010, true, &pa),
             VTD_MODEL_FR_SGN_WRITE);
    CHECK_EQ(vtd_model_translate(t.m, SID, VTD_MODEL_NO_PASID, 0x9000, false, &pa),
             VTD_MODEL_FR_SSL_NOT_PRESENT);
    /* A request with a PASID while the context entry has PASIDE = 0. */
    CHECK_EQ(vtd_model_translate(t.m, SID, 5, 0x5000, false, &pa), VTD_MODEL_FR_SCT_INVALID);
    tm_fini(&t);
}

static void test_scalable_upper_half_of_root_entry(void)
{
    struct tm t;
    CHECK(setup(&t));
    uint64_t pa;
    tm_sm_ctx(&t, SID, 0, false, false); /* lower half only */
    CHECK_EQ(vtd_model_translate(t.m, SID_HI, VTD_MODEL_NO_PASID, 0, false, &pa),
             VTD_MODEL_FR_SRT_NOT_PRESENT);
    uint64_t dir = tm_sm_ctx(&t, SID_HI, 0, false, false);
    tm_sm_pasid(&t, dir, 0, 4, 4, 0, 0); /* pass-through */
    CHECK_EQ(vtd_model_translate(t.m, SID_HI, VTD_MODEL_NO_PASID, 0x123456, true, &pa), 0);
    CHECK_EQ(pa, 0x123456);
    tm_fini(&t);
}

static void test_scalable_pasid_request_recorded_with_pasid(void)
{
    struct tm t;
    CHECK(setup(&t));
    uint64_t dir = tm_sm_ctx(&t, SID, 0, false, true);
    uint64_t pt = tm_alloc(&t);
    tm_sm_pasid(&t, dir, 77, 9, 2, 1, pt);
    tm_map(&t, pt, 3, 0x7000, TM_BUF_BASE, 12, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID, 77, 0x7000, true, &pa), 0);
    CHECK_EQ(vtd_model_translate(t.m, SID, 77, 0x8000, true, &pa), VTD_MODEL_FR_SSL_NOT_PRESENT);
    uint64_t hi = t.hw->read64(t.hw->ctx, 0x228);
    CHECK(hi & (1ull << 31));                 /* PP */
    CHECK_EQ((hi >> 40) & 0xfffff, 77);       /* PV */
    CHECK_EQ((hi >> 32) & 0xff, VTD_MODEL_FR_SSL_NOT_PRESENT);
    /* PASID 78 has no entry (same PASID table): SPT.2. */
    CHECK_EQ(vtd_model_translate(t.m, SID, 78, 0x7000, true, &pa), VTD_MODEL_FR_SPT_NOT_PRESENT);
    /* PASID 64 * 200 is beyond the directory (PDTS = 0: 128 entries). */
    CHECK_EQ(vtd_model_translate(t.m, SID, 64 * 200, 0x7000, true, &pa),
             VTD_MODEL_FR_SCT_INVALID);
    /* PASID 64 * 3: directory entry not present. */
    CHECK_EQ(vtd_model_translate(t.m, SID, 64 * 3, 0x7000, true, &pa),
             VTD_MODEL_FR_SPD_NOT_PRESENT);
    tm_fini(&t);
}

static void test_scalable_blocked_and_first_level_entries_fault(void)
{
    struct tm t;
    CHECK(setup(&t));
    uint64_t dir = tm_sm_ctx(&t, SID, 0, false, true);
    uint64_t pe = tm_sm_pasid(&t, dir, 1, 2, 1 /* first-level */, 1, tm_alloc(&t));
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID, 1, 0, false, &pa), VTD_MODEL_FR_SPT_INVALID);
    tm_w64(&t, pe, 0); /* blocked: P = 0 */
    CHECK_EQ(vtd_model_translate(t.m, SID, 1, 0, false, &pa), VTD_MODEL_FR_SPT_NOT_PRESENT);
    tm_fini(&t);
}

static void test_pasid_cache_keeps_entry_until_pasid_cache_invalidation(void)
{
    struct tm t;
    CHECK(setup(&t));
    uint64_t dir = tm_sm_ctx(&t, SID, 0, false, true);
    uint64_t pt = tm_alloc(&t);
    uint64_t pe = tm_sm_pasid(&t, dir, 4, 3, 2, 1, pt);
    tm_map(&t, pt, 3, 0x1000, TM_BUF_BASE, 12, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID, 4, 0x1000, false, &pa), 0);
    /* Block the PASID: clear P in its entry. The PASID cache and IOTLB still hold it. */
    tm_w64(&t, pe, 0);
    uint64_t d[3][4];
    tm_desc(d[0], d_piotlb(2, 3, 4), 0); /* IOTLB for (domain 3, PASID 4) */
    tm_submit(&t, d, 1);
    CHECK_EQ(vtd_model_translate(t.m, SID, 4, 0x1000, false, &pa), 0); /* PASID cache */
    /* PASID-selective PASID-cache invalidation for the wrong PASID changes nothing. */
    tm_desc(d[0], d_pc(1, 3, 5), 0);
    tm_desc(d[1], d_piotlb(2, 3, 4), 0);
    tm_submit(&t, d, 2);
    CHECK_EQ(vtd_model_translate(t.m, SID, 4, 0x1000, false, &pa), 0);
    tm_desc(d[0], d_pc(1, 3, 4), 0);
    tm_desc(d[1], d_piotlb(2, 3, 4), 0);
    tm_desc(d[2], d_wait_sw(1), STATUS_PA);
    tm_submit(&t, d, 3);
    CHECK(tm_poll32(&t, STATUS_PA, 1, 10000));
    CHECK_EQ(vtd_model_translate(t.m, SID, 4, 0x1000, false, &pa), VTD_MODEL_FR_SPT_NOT_PRESENT);
    tm_fini(&t);
}

static void test_pasid_iotlb_invalidation_is_pasid_selective(void)
{
    struct tm t;
    CHECK(setup(&t));
    uint64_t dir = tm_sm_ctx(&t, SID, 0, false, true);
    uint64_t pt = tm_alloc(&t);
    tm_sm_pasid(&t, dir, 1, 3, 2, 1, pt);
    tm_sm_pasid(&t, dir, 2, 3, 2, 1, pt);
    tm_map(&t, pt, 3, 0x1000, TM_BUF_BASE, 12, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID, 1, 0x1000, false, &pa), 0);
    CHECK_EQ(vtd_model_translate(t.m, SID, 2, 0x1000, false, &pa), 0);
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x1000, 12), 0);
    uint64_t d[1][4];
    tm_desc(d[0], d_piotlb(3, 3, 1), 0x1000); /* page-selective within PASID 1 */
    tm_submit(&t, d, 1);
    CHECK_EQ(vtd_model_translate(t.m, SID, 1, 0x1000, false, &pa), VTD_MODEL_FR_SSL_NOT_PRESENT);
    CHECK_EQ(vtd_model_translate(t.m, SID, 2, 0x1000, false, &pa), 0);
    /* Type 2 (domain-selective) covers every PASID of the domain. */
    tm_desc(d[0], (2ull << 4) | 2 | (3ull << 16), 0);
    tm_submit(&t, d, 1);
    CHECK_EQ(vtd_model_translate(t.m, SID, 2, 0x1000, false, &pa), VTD_MODEL_FR_SSL_NOT_PRESENT);
    tm_fini(&t);
}

static void test_128bit_queue_in_scalable_mode_raises_iqe(void)
{
    struct vtd_model_config cfg = {.ecap = SM_ECAP};
    struct tm t;
    CHECK(tm_init(&t, &cfg));
    CHECK(tm_enable(&t, true));
    CHECK(tm_qi_enable(&t, false));
    uint64_t d[1][4];
    tm_desc(d[0], D_IOTLB_GLOBAL, 0);
    tm_submit(&t, d, 1);
    CHECK(t.hw->read32(t.hw->ctx, R_FSTS) & FSTS_IQE);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_IQERCD) & 0xf, VTD_MODEL_IQEI_WIDTH);
    tm_fini(&t);
}

static void test_pasid_devtlb_invalidation_drops_pasid_atc_entries(void)
{
    struct tm t;
    CHECK(setup(&t));
    vtd_model_add_device(t.m, SID, VTD_MODEL_DEV_ATS | VTD_MODEL_DEV_PASID);
    vtd_model_set_ats_enabled(t.m, SID, true);
    uint64_t dir = tm_sm_ctx(&t, SID, 0, true, true);
    uint64_t pt = tm_alloc(&t);
    tm_sm_pasid(&t, dir, 6, 3, 2, 1, pt);
    tm_map(&t, pt, 3, 0x1000, TM_BUF_BASE, 12, true, true);
    uint64_t pa;
    CHECK_EQ(vtd_model_translate(t.m, SID, 6, 0x1000, false, &pa), 0);
    tm_w64(&t, tm_pte_addr(&t, pt, 3, 0x1000, 12), 0);
    uint64_t d[3][4];
    tm_desc(d[0], d_piotlb(2, 3, 6), 0);
    tm_desc(d[1], 8 | ((uint64_t)SID << 16) | (7ull << 32), 0x1000); /* other PASID */
    tm_desc(d[2], d_wait_sw(1), STATUS_PA);
    tm_submit(&t, d, 3);
    CHECK(tm_poll32(&t, STATUS_PA, 1, 100000));
    CHECK_EQ(vtd_model_translate(t.m, SID, 6, 0x1000, false, &pa), 0); /* ATC */
    tm_desc(d[0], 8 | ((uint64_t)SID << 16) | (6ull << 32), 0x1000);
    tm_desc(d[1], d_wait_sw(2), STATUS_PA);
    tm_submit(&t, d, 2);
    CHECK(tm_poll32(&t, STATUS_PA, 2, 100000));
    CHECK_EQ(vtd_model_translate(t.m, SID, 6, 0x1000, false, &pa), VTD_MODEL_FR_SSL_NOT_PRESENT);
    tm_fini(&t);
}

/* ---------------------------------------------------------------- page requests */

static uint64_t prq_setup(struct tm *t)
{
    uint64_t pq = tm_alloc(t);
    t->hw->write64(t->hw->ctx, R_PQH, 0);
    t->hw->write64(t->hw->ctx, R_PQT, 0);
    t->hw->write64(t->hw->ctx, R_PQA, pq); /* PQS = 0: 4 KiB, 128 requests */
    vtd_model_add_device(t->m, SID, VTD_MODEL_DEV_ATS | VTD_MODEL_DEV_PASID | VTD_MODEL_DEV_PRI);
    tm_sm_ctx(t, SID, 0, true, true);
    uint64_t ce = tm_sm_ctx_addr(t, SID);
    tm_w64(t, ce, tm_r64(t, ce) | (1u << 4)); /* PRE */
    return pq;
}

static void test_page_request_written_to_queue_with_ppr(void)
{
    struct tm t;
    CHECK(setup(&t));
    uint64_t pq = prq_setup(&t);
    t.hw->write32(t.hw->ctx, R_PECTL, 0);
    struct vtd_model_page_request req = {
        .sid = SID, .pasid = 33, .addr = 0x12345000, .prgi = 17, .write = true, .last = true};
    CHECK_EQ(vtd_model_page_request(t.m, &req), 0);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_PQT), 32);
    CHECK(t.hw->read32(t.hw->ctx, R_PRS) & 1);
    uint64_t q0 = tm_r64(&t, pq), q1 = tm_r64(&t, pq + 8);
    CHECK_EQ((q0 >> 16) & 0xffff, SID);
    CHECK(q0 & (1ull << 8));
    CHECK_EQ((q0 >> 32) & 0xfffff, 33);
    CHECK_EQ(q1 & ~0xfffull, 0x12345000);
    CHECK_EQ((q1 >> 3) & 0x1ff, 17);
    CHECK_EQ(q1 & 7, 2 | 4); /* write, last */
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.prq_interrupts, 1);
    t.hw->write32(t.hw->ctx, R_PRS, 1);
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_PRS), 0);
    tm_fini(&t);
}

static void test_prq_overflow_sets_pro_and_answers_last_requests(void)
{
    struct tm t;
    CHECK(setup(&t));
    prq_setup(&t);
    struct vtd_model_page_request req = {.sid = SID, .pasid = 1, .read = true};
    /* 128 slots, one kept empty: 127 fit. */
    for (unsigned i = 0; i < 127; i++) {
        req.addr = i * 0x1000ull;
        req.prgi = i & 0x1ff;
        CHECK_EQ(vtd_model_page_request(t.m, &req), 0);
    }
    CHECK_EQ(t.hw->read32(t.hw->ctx, R_PRS) & 2, 0);
    req.prgi = 200;
    CHECK_EQ(vtd_model_page_request(t.m, &req), 1); /* dropped, not last: no response */
    req.last = true;
    req.prgi = 201;
    CHECK_EQ(vtd_model_page_request(t.m, &req), 1); /* dropped, last: automatic response */
    CHECK(t.hw->read32(t.hw->ctx, R_PRS) & 2);
    struct vtd_model_page_response r[4];
    CHECK_EQ(vtd_model_page_responses(t.m, r, 4), 1);
    CHECK_EQ(r[0].prgi, 201);
    CHECK(r[0].automatic);
    CHECK_EQ(r[0].code, 0);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.page_requests_dropped, 2);
    /* Software consumes some and clears PRO: requests flow again. */
    t.hw->write64(t.hw->ctx, R_PQH, 64 * 32);
    t.hw->write32(t.hw->ctx, R_PRS, 2);
    req.last = false;
    CHECK_EQ(vtd_model_page_request(t.m, &req), 0);
    tm_fini(&t);
}

static void test_page_group_response_and_drain_consumed_from_queue(void)
{
    struct tm t;
    CHECK(setup(&t));
    prq_setup(&t);
    uint64_t d[2][4];
    /* Response: PASID present, code 0, RID = SID, PASID 33; PRGI 17, LPIG. */
    tm_desc(d[0], 9 | (1u << 4) | ((uint64_t)SID << 16) | (33ull << 32), (17ull << 3) | 4);
    tm_desc(d[1], d_wait_sw(5) | (1u << 7) | (1u << 6), STATUS_PA); /* PD + FN */
    tm_submit(&t, d, 2);
    CHECK(tm_poll32(&t, STATUS_PA, 5, 10000));
    struct vtd_model_page_response r[2];
    CHECK_EQ(vtd_model_page_responses(t.m, r, 2), 1);
    CHECK_EQ(r[0].sid, SID);
    CHECK_EQ(r[0].pasid, 33);
    CHECK_EQ(r[0].prgi, 17);
    CHECK(!r[0].automatic);
    struct vtd_model_stats st;
    vtd_model_get_stats(t.m, &st);
    CHECK_EQ(st.page_responses, 1);
    CHECK_EQ(st.page_drains, 1);
    tm_fini(&t);
}

static void test_page_request_rejected_without_pre(void)
{
    struct tm t;
    CHECK(setup(&t));
    prq_setup(&t);
    vtd_model_add_device(t.m, 0x0108, VTD_MODEL_DEV_PRI);
    tm_sm_ctx(&t, 0x0108, 0, true, true); /* PRE = 0 */
    struct vtd_model_page_request req = {.sid = 0x0108, .pasid = 3, .prgi = 4, .last = true};
    CHECK_EQ(vtd_model_page_request(t.m, &req), 2);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_PQT), 0);
    struct vtd_model_page_response r[1];
    CHECK_EQ(vtd_model_page_responses(t.m, r, 1), 1);
    CHECK_EQ(r[0].code, 1); /* invalid request */
    tm_fini(&t);
}

static void test_page_drain_waits_for_requests_in_flight(void)
{
    struct tm t;
    CHECK(setup(&t));
    prq_setup(&t);
    struct vtd_model_page_request req = {.sid = SID, .pasid = 9, .prgi = 1, .last = true};
    CHECK_EQ(vtd_model_page_request_delayed(t.m, &req, 30000), 0);
    uint64_t d[1][4];
    tm_desc(d[0], d_wait_sw(1) | (1u << 7), STATUS_PA); /* PD */
    tm_submit(&t, d, 1);
    vtd_model_advance(t.m, 20000);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 0);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_PQT), 0);
    vtd_model_advance(t.m, 11000);
    CHECK_EQ(t.hw->read64(t.hw->ctx, R_PQT), 32);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 1);
    /* A wait without PD does not wait for page requests. */
    CHECK_EQ(vtd_model_page_request_delayed(t.m, &req, 30000), 0);
    tm_desc(d[0], d_wait_sw(2), STATUS_PA);
    tm_submit(&t, d, 1);
    CHECK_EQ(tm_r32(&t, STATUS_PA), 2);
    tm_fini(&t);
}

static void test_page_request_refused_without_prs(void)
{
    struct tm t;
    CHECK(tm_init(&t, NULL));
    struct vtd_model_page_request req = {.sid = SID, .pasid = VTD_MODEL_NO_PASID};
    CHECK_EQ(vtd_model_page_request(t.m, &req), -1);
    tm_fini(&t);
}

int main(void)
{
    RUN(test_scalable_second_level_via_rid_pasid);
    RUN(test_scalable_upper_half_of_root_entry);
    RUN(test_scalable_pasid_request_recorded_with_pasid);
    RUN(test_scalable_blocked_and_first_level_entries_fault);
    RUN(test_pasid_cache_keeps_entry_until_pasid_cache_invalidation);
    RUN(test_pasid_iotlb_invalidation_is_pasid_selective);
    RUN(test_128bit_queue_in_scalable_mode_raises_iqe);
    RUN(test_pasid_devtlb_invalidation_drops_pasid_atc_entries);
    RUN(test_page_request_written_to_queue_with_ppr);
    RUN(test_prq_overflow_sets_pro_and_answers_last_requests);
    RUN(test_page_group_response_and_drain_consumed_from_queue);
    RUN(test_page_request_rejected_without_pre);
    RUN(test_page_drain_waits_for_requests_in_flight);
    RUN(test_page_request_refused_without_prs);
    printf("%s: %d failure(s)\n", tm_failures ? "FAILED" : "PASSED", tm_failures);
    return tm_failures ? 1 : 0;
}
