/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvtd against the VT-d model in scalable mode: RID_PASID and PASID-granular entries with
 * second-level, pass-through and blocked translation, PASID-based invalidations, the page
 * request queue and the PASID drain of VT-d 7.10.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

VT_GLOBALS;

#define SID 0x0308 /* 03:01.0 */
#define SID2 0x0400
#define IOVA 0x40000000ull

struct srig {
    struct rig r;
    struct vtd_domain d2;
};

static bool sm_up(struct srig *s, unsigned dev_flags, unsigned attach_flags)
{
    memset(s, 0, sizeof(*s));
    struct vtd_model_config mc = {.ecap = SM_ECAP};
    struct vtd_unit_config uc = {.mode = VTD_MODE_SCALABLE};
    if (!rig_up(&s->r, &mc, &uc)) {
        return false;
    }
    CHECK(s->r.u.cfg.qi_256);
    enum vtd_err e;
    CHECK_ERR(e = vtd_domain_init(&s->r.d, &s->r.u, 1, 0), VTD_OK);
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_domain_init(&s->d2, &s->r.u, 2, 0), VTD_OK);
    }
    vtd_model_add_device(s->r.m, SID, dev_flags);
    if (dev_flags & VTD_MODEL_DEV_ATS) {
        vtd_model_set_ats_enabled(s->r.m, SID, true);
    }
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_dev_attach(&s->r.u, SID, &s->r.d, attach_flags, 8), VTD_OK);
    }
    return e == VTD_OK;
}

static void test_scalable_rid_pasid_translates_and_blocks(void)
{
    struct srig s;
    if (!sm_up(&s, 0, 0)) {
        rig_down(&s.r);
        return;
    }
    poke(&s.r, BUF_PA(5), 0x5555);
    CHECK_ERR(vtd_domain_map(&s.r.d, IOVA, BUF_PA(5), 0x1000, VTD_R), VTD_OK);
    uint32_t v = 0;
    CHECK_EQ(dma_read(&s.r, SID, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 0x5555);
    enum vtd_dev_state st;
    uint16_t did;
    CHECK_ERR(vtd_dev_query(&s.r.u, SID, &st, &did), VTD_OK);
    CHECK_EQ(st, VTD_DEV_TRANSLATED);
    CHECK_EQ(did, 1);
    /* Re-attach to the other domain: only the RID_PASID entry changes, nothing stale remains */
    poke(&s.r, BUF_PA(6), 0x6666);
    CHECK_ERR(vtd_domain_map(&s.d2, IOVA, BUF_PA(6), 0x1000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_dev_attach(&s.r.u, SID, &s.d2, 0, 0), VTD_OK);
    CHECK_EQ(dma_read(&s.r, SID, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 0x6666);
    size_t pages = vtd_model_pages_in_use(s.r.m);
    CHECK_ERR(vtd_dev_block(&s.r.u, SID), VTD_OK);
    CHECK(dma_read(&s.r, SID, VTD_MODEL_NO_PASID, IOVA, &v) > 0);
    CHECK(vtd_model_pages_in_use(s.r.m) < pages); /* PASID tables of the blocked device freed */
    struct vtd_model_stats ms;
    vtd_model_get_stats(s.r.m, &ms);
    CHECK_EQ(ms.freed_while_cached, 0);
    CHECK_EQ(ms.iqe, 0);
    rig_down(&s.r);
}

/* QEMU's x-scalable-mode without x-pasid-mode: no ECAP.PASID, RID_PASID entries only. */
static void test_scalable_without_pasid_cap_reattach_leaves_nothing_stale(void)
{
    struct rig r = {0};
    struct vtd_model_config mc = {.ecap = 0x0000000000f00f5eull | VTD_ECAP_SMTS | VTD_ECAP_SLTS};
    struct vtd_unit_config uc = {.mode = VTD_MODE_SCALABLE};
    if (!rig_up(&r, &mc, &uc)) {
        rig_down(&r);
        return;
    }
    struct vtd_domain d1, d2;
    CHECK_ERR(vtd_domain_init(&d1, &r.u, 1, 0), VTD_OK);
    CHECK_ERR(vtd_domain_init(&d2, &r.u, 2, 0), VTD_OK);
    vtd_model_add_device(r.m, SID, 0);
    poke(&r, BUF_PA(1), 0x1111);
    poke(&r, BUF_PA(2), 0x2222);
    CHECK_ERR(vtd_domain_map(&d1, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_domain_map(&d2, IOVA, BUF_PA(2), 0x1000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_dev_attach(&r.u, SID, &d1, 0, 0), VTD_OK);
    CHECK_ERR(vtd_dev_attach(&r.u, SID, &d1, VTD_DEV_PASID, 0), VTD_ERR_UNSUPPORTED);
    uint32_t v = 0;
    CHECK_EQ(dma_read(&r, SID, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 0x1111);
    CHECK_ERR(vtd_dev_attach(&r.u, SID, &d2, 0, 0), VTD_OK);
    CHECK_EQ(dma_read(&r, SID, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 0x2222);
    CHECK_ERR(vtd_dev_block(&r.u, SID), VTD_OK);
    CHECK(dma_read(&r, SID, VTD_MODEL_NO_PASID, IOVA, &v) > 0);
    struct vtd_model_stats ms;
    vtd_model_get_stats(r.m, &ms);
    CHECK_EQ(ms.iqe, 0);
    CHECK(ms.pc_invalidations > 0);
    rig_down(&r);
}

static void test_scalable_unmap_then_dma_faults(void)
{
    struct srig s;
    if (!sm_up(&s, VTD_MODEL_DEV_ATS, VTD_DEV_ATS)) {
        rig_down(&s.r);
        return;
    }
    CHECK_ERR(vtd_domain_map(&s.r.d, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    uint32_t v;
    CHECK_EQ(dma_read(&s.r, SID, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&s.r.d, IOVA, 0x1000, &res), VTD_OK);
    CHECK_EQ(dma_read(&s.r, SID, VTD_MODEL_NO_PASID, IOVA, &v), 0); /* stale until flushed */
    static struct vtd_batch b;
    vtd_batch_init(&b, &s.r.u);
    CHECK_ERR(vtd_batch_add_unmap(&b, &s.r.d, &res), VTD_OK);
    CHECK_ERR(vtd_batch_add_devtlb(&b, SID, 8, IOVA, 0x1000), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    vtd_page_list_release(&s.r.u, &res.freed);
    CHECK(dma_read(&s.r, SID, VTD_MODEL_NO_PASID, IOVA, &v) > 0);
    rig_down(&s.r);
}

static void test_scalable_pasid_entries_second_level_passthrough_blocked(void)
{
    struct srig s;
    if (!sm_up(&s, VTD_MODEL_DEV_PASID, VTD_DEV_PASID)) {
        rig_down(&s.r);
        return;
    }
    poke(&s.r, BUF_PA(1), 0x1111);
    poke(&s.r, BUF_PA(2), 0x2222);
    CHECK_ERR(vtd_domain_map(&s.r.d, IOVA, BUF_PA(1), 0x1000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_domain_map(&s.d2, IOVA, BUF_PA(2), 0x1000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_pasid_set_sl(&s.r.u, SID, 5, &s.d2), VTD_OK);
    uint32_t v = 0;
    CHECK_EQ(dma_read(&s.r, SID, 5, IOVA, &v), 0);
    CHECK_EQ(v, 0x2222);
    CHECK_EQ(dma_read(&s.r, SID, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    CHECK_EQ(v, 0x1111);
    /* pass-through PASID: IOVA is the physical address */
    poke(&s.r, BUF_PA(3), 0x3333);
    CHECK_ERR(vtd_pasid_set_pt(&s.r.u, SID, 6, 3), VTD_OK);
    CHECK_EQ(dma_read(&s.r, SID, 6, BUF_PA(3), &v), 0);
    CHECK_EQ(v, 0x3333);
    /* blocked: the PASID cache and PASID-IOTLB entries are gone too */
    CHECK_ERR(vtd_pasid_block(&s.r.u, SID, 5), VTD_OK);
    CHECK(dma_read(&s.r, SID, 5, IOVA, &v) > 0);
    CHECK_EQ(dma_read(&s.r, SID, VTD_MODEL_NO_PASID, IOVA, &v), 0);
    /* switch PASID 6 from pass-through to translated: no stale pass-through */
    CHECK_ERR(vtd_pasid_set_sl(&s.r.u, SID, 6, &s.d2), VTD_OK);
    CHECK_EQ(dma_read(&s.r, SID, 6, IOVA, &v), 0);
    CHECK_EQ(v, 0x2222);
    CHECK(dma_read(&s.r, SID, 6, BUF_PA(3), &v) > 0);
    /* invalid requests change nothing */
    CHECK_ERR(vtd_pasid_set_sl(&s.r.u, SID, 1u << 20, &s.d2), VTD_ERR_INVAL);
    CHECK_ERR(vtd_pasid_set_sl(&s.r.u, SID2, 5, &s.d2), VTD_ERR_STATE); /* not attached */
    CHECK_ERR(vtd_pasid_set_sl(&s.r.u, SID, 7, NULL), VTD_ERR_INVAL);
    struct vtd_model_stats ms;
    vtd_model_get_stats(s.r.m, &ms);
    CHECK_EQ(ms.iqe, 0);
    rig_down(&s.r);
}

static void test_pasid_requests_refused_without_pasid_enable(void)
{
    struct srig s;
    if (!sm_up(&s, VTD_MODEL_DEV_PASID, 0)) {
        rig_down(&s.r);
        return;
    }
    CHECK_ERR(vtd_pasid_set_sl(&s.r.u, SID, 5, &s.d2), VTD_ERR_STATE);
    uint32_t v;
    CHECK(dma_read(&s.r, SID, 5, IOVA, &v) > 0);
    rig_down(&s.r);
}

static void test_pasid_unmap_needs_pasid_iotlb_and_pasid_devtlb(void)
{
    struct srig s;
    if (!sm_up(&s, VTD_MODEL_DEV_PASID | VTD_MODEL_DEV_ATS, VTD_DEV_PASID | VTD_DEV_ATS)) {
        rig_down(&s.r);
        return;
    }
    CHECK_ERR(vtd_domain_map(&s.d2, IOVA, BUF_PA(2), 0x2000, VTD_R), VTD_OK);
    CHECK_ERR(vtd_pasid_set_sl(&s.r.u, SID, 9, &s.d2), VTD_OK);
    uint32_t v;
    CHECK_EQ(dma_read(&s.r, SID, 9, IOVA + 0x1000, &v), 0);
    struct vtd_unmap_result res;
    CHECK_ERR(vtd_domain_unmap(&s.d2, IOVA, 0x2000, &res), VTD_OK);
    static struct vtd_batch b;
    vtd_batch_init(&b, &s.r.u);
    CHECK_ERR(vtd_batch_add_piotlb(&b, s.d2.did, 9, IOVA, 0x2000), VTD_OK);
    CHECK_ERR(vtd_batch_add_pdevtlb(&b, SID, 9, 8, IOVA, 0x2000), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    vtd_page_list_release(&s.r.u, &res.freed);
    CHECK(dma_read(&s.r, SID, 9, IOVA + 0x1000, &v) > 0);
    CHECK_EQ(log_count(&s.r, VTD_DESC_PDEVTLB, SID), 1);
    /* fenced: the PASID device-TLB descriptor is not sent either */
    vtd_unit_fence(&s.r.u, SID);
    vtd_model_clear_log(s.r.m);
    vtd_batch_init(&b, &s.r.u);
    CHECK_ERR(vtd_batch_add_pdevtlb(&b, SID, 9, 8, 0, 0), VTD_OK);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    CHECK_EQ(log_count(&s.r, VTD_DESC_PDEVTLB, SID), 0);
    rig_down(&s.r);
}

static bool prq_up(struct srig *s)
{
    unsigned f = VTD_MODEL_DEV_PASID | VTD_MODEL_DEV_ATS | VTD_MODEL_DEV_PRI;
    if (!sm_up(s, f, VTD_DEV_PASID | VTD_DEV_ATS | VTD_DEV_PRI)) {
        return false;
    }
    enum vtd_err e;
    CHECK_ERR(e = vtd_prq_enable(&s->r.u), VTD_OK);
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_prq_event_setup(&s->r.u, 0xfee00000, 0x43), VTD_OK);
    }
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_pasid_set_sl(&s->r.u, SID, 5, &s->d2), VTD_OK);
    }
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_pasid_set_sl(&s->r.u, SID, 7, &s->d2), VTD_OK);
    }
    return e == VTD_OK;
}

static int request(struct srig *s, uint32_t pasid, uint16_t prgi, uint64_t addr, bool last)
{
    struct vtd_model_page_request rq = {
        .sid = SID, .pasid = pasid, .addr = addr, .prgi = prgi, .read = true, .last = last};
    return vtd_model_page_request(s->r.m, &rq);
}

static void test_prq_read_group_and_respond(void)
{
    struct srig s;
    if (!prq_up(&s)) {
        rig_down(&s.r);
        return;
    }
    CHECK_EQ(request(&s, 5, 3, 0x10000, false), 0);
    CHECK_EQ(request(&s, 5, 3, 0x11000, false), 0);
    CHECK_EQ(request(&s, 5, 3, 0x12000, true), 0);
    struct vtd_page_req reqs[8];
    size_t n;
    bool ovf;
    CHECK_ERR(vtd_prq_read(&s.r.u, reqs, 8, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 3);
    CHECK(!ovf);
    struct vtd_prg_tracker t;
    vtd_prg_init(&t);
    static struct vtd_batch b;
    vtd_batch_init(&b, &s.r.u);
    unsigned groups = 0;
    for (size_t i = 0; i < n; i++) {
        bool complete;
        struct vtd_prg g;
        CHECK_ERR(vtd_prg_add(&t, &reqs[i], &complete, &g), VTD_OK);
        if (complete) {
            groups++;
            CHECK_EQ(g.pages, 3);
            CHECK_EQ(g.first_addr, 0x10000);
            CHECK_ERR(vtd_batch_add_page_response(&b, g.sid, g.pasid, g.prgi, VTD_PRG_SUCCESS),
                      VTD_OK);
        }
    }
    CHECK_EQ(groups, 1);
    CHECK_ERR(vtd_batch_submit(&b, 0), VTD_OK);
    struct vtd_model_page_response resp[8];
    size_t nr = vtd_model_page_responses(s.r.m, resp, 8);
    CHECK_EQ(nr, 1);
    if (nr == 1) {
        CHECK_EQ(resp[0].sid, SID);
        CHECK_EQ(resp[0].pasid, 5);
        CHECK_EQ(resp[0].prgi, 3);
        CHECK_EQ(resp[0].code, VTD_PRG_SUCCESS);
    }
    CHECK_ERR(vtd_prq_read(&s.r.u, reqs, 8, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 0);
    rig_down(&s.r);
}

struct others {
    unsigned n;
    uint32_t pasid[16];
};

static void collect_other(void *ctx, const struct vtd_page_req *r)
{
    struct others *o = ctx;
    if (o->n < 16) {
        o->pasid[o->n++] = r->pasid;
    }
}

static void test_pasid_drain_with_page_requests_pending(void)
{
    struct srig s;
    if (!prq_up(&s)) {
        rig_down(&s.r);
        return;
    }
    CHECK_EQ(request(&s, 5, 1, 0x10000, false), 0);
    CHECK_EQ(request(&s, 7, 2, 0x20000, true), 0);
    CHECK_EQ(request(&s, 5, 1, 0x11000, true), 0);
    /* Teardown of PASID 5: entry cleared first, then drained. */
    CHECK_ERR(vtd_pasid_block(&s.r.u, SID, 5), VTD_OK);
    struct others o = {0};
    vtd_model_clear_log(s.r.m);
    CHECK_ERR(vtd_pasid_drain(&s.r.u, SID, 5, s.d2.did, 8, true, collect_other, &o), VTD_OK);
    CHECK_EQ(o.n, 1);
    CHECK_EQ(o.pasid[0], 7);
    struct vtd_model_page_response resp[8];
    size_t nr = vtd_model_page_responses(s.r.m, resp, 8);
    CHECK_EQ(nr, 1);
    if (nr == 1) {
        CHECK_EQ(resp[0].pasid, 5);
        CHECK_EQ(resp[0].prgi, 1);
        CHECK_EQ(resp[0].code, VTD_PRG_INVALID);
    }
    struct vtd_model_stats ms;
    vtd_model_get_stats(s.r.m, &ms);
    CHECK_EQ(ms.page_drains, 1);
    CHECK_EQ(ms.iqe, 0);
    CHECK_EQ(log_count(&s.r, VTD_DESC_PIOTLB, -1), 1);
    CHECK_EQ(log_count(&s.r, VTD_DESC_PDEVTLB, SID), 1);
    rig_down(&s.r);
}

static void test_pasid_drain_repeats_after_overflow(void)
{
    struct srig s;
    if (!prq_up(&s)) {
        rig_down(&s.r);
        return;
    }
    /* One page of queue holds 128 requests; the next ones overflow (PRS.PRO). */
    unsigned dropped = 0;
    for (unsigned i = 0; i < 140; i++) {
        int rc = request(&s, 5, (uint16_t)(i % 64), 0x10000 + i * 0x1000ull, true);
        CHECK(rc == 0 || rc == 1);
        dropped += rc == 1;
    }
    CHECK(dropped > 0);
    CHECK(s.r.hw->read32(s.r.hw->ctx, VTD_PRS_REG) & VTD_PRS_PRO);
    CHECK_ERR(vtd_pasid_block(&s.r.u, SID, 5), VTD_OK);
    CHECK_ERR(vtd_pasid_drain(&s.r.u, SID, 5, s.d2.did, 8, true, NULL, NULL), VTD_OK);
    struct vtd_model_stats ms;
    vtd_model_get_stats(s.r.m, &ms);
    CHECK_EQ(ms.page_drains, 2); /* the overflow forced a second round */
    CHECK(!(s.r.hw->read32(s.r.hw->ctx, VTD_PRS_REG) & VTD_PRS_PRO));
    CHECK_EQ(s.r.u.stats.prq_overflows, 1);
    rig_down(&s.r);
}

static void test_pasid_drain_waits_for_requests_in_flight(void)
{
    struct srig s;
    if (!prq_up(&s)) {
        rig_down(&s.r);
        return;
    }
    /* A request the device sent before the teardown, still on its way to the unit. */
    struct vtd_model_page_request rq = {
        .sid = SID, .pasid = 5, .addr = 0x30000, .prgi = 4, .read = true, .last = true};
    CHECK_EQ(vtd_model_page_request_delayed(s.r.m, &rq, 500000), 0);
    CHECK_ERR(vtd_pasid_block(&s.r.u, SID, 5), VTD_OK);
    CHECK_ERR(vtd_pasid_drain(&s.r.u, SID, 5, s.d2.did, 8, true, NULL, NULL), VTD_OK);
    /* The page-drain wait completed only after the request arrived; the drain answered it. */
    struct vtd_model_page_response resp[4];
    size_t nr = vtd_model_page_responses(s.r.m, resp, 4);
    CHECK_EQ(nr, 1);
    if (nr == 1) {
        CHECK_EQ(resp[0].prgi, 4);
        CHECK_EQ(resp[0].pasid, 5);
        CHECK_EQ(resp[0].code, VTD_PRG_INVALID);
    }
    struct vtd_page_req reqs[4];
    size_t n;
    bool ovf;
    CHECK_ERR(vtd_prq_read(&s.r.u, reqs, 4, &n, &ovf), VTD_OK);
    CHECK_EQ(n, 0); /* nothing of the old PASID is left for its next user */
    rig_down(&s.r);
}

static void test_drain_refused_without_page_request_support(void)
{
    struct rig r = {0};
    if (!rig_up(&r, NULL, NULL)) {
        rig_down(&r);
        return;
    }
    vtd_model_clear_log(r.m);
    CHECK_ERR(vtd_pasid_drain(&r.u, SID, 5, 1, 8, true, NULL, NULL), VTD_ERR_UNSUPPORTED);
    CHECK_ERR(vtd_prq_enable(&r.u), VTD_ERR_UNSUPPORTED);
    struct vtd_model_desc_log log[4];
    CHECK_EQ(vtd_model_desc_log(r.m, log, 4), 0);
    rig_down(&r);
}

int main(void)
{
    RUN(test_scalable_rid_pasid_translates_and_blocks);
    RUN(test_scalable_without_pasid_cap_reattach_leaves_nothing_stale);
    RUN(test_scalable_unmap_then_dma_faults);
    RUN(test_scalable_pasid_entries_second_level_passthrough_blocked);
    RUN(test_pasid_requests_refused_without_pasid_enable);
    RUN(test_pasid_unmap_needs_pasid_iotlb_and_pasid_devtlb);
    RUN(test_prq_read_group_and_respond);
    RUN(test_pasid_drain_with_page_requests_pending);
    RUN(test_pasid_drain_repeats_after_overflow);
    RUN(test_pasid_drain_waits_for_requests_in_flight);
    RUN(test_drain_refused_without_page_request_support);
    VT_MAIN_END();
}
