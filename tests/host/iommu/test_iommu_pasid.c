/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PASID binding and the unbind drain (seed 003) on a model unit with scalable mode, PASID and
 * page requests (QEMU has no PRS: there pasid_bind must say "unsupported" and change nothing).
 * A PASID is handed out again only after the drain of its page requests completed.
 */
#include "fixture.h"

#define DEV 0x0100
#define DEV2 0x0200
/* SMTS, SLTS, PASID (PSS = 19), PRS, PT, DT, QI, IR, IRO = 0xf0, C = 1. */
#define SM_ECAP                                                                                    \
    ((1ull << 46) | (1ull << 43) | (1ull << 40) | (19ull << 35) | (1ull << 29) | (1ull << 6) |     \
     (1ull << 3) | (1ull << 2) | (1ull << 1) | (1ull << 0) | (0xfull << 8))
#define DEV_FLAGS (VTD_MODEL_DEV_PASID | VTD_MODEL_DEV_PRI | VTD_MODEL_DEV_ATS)

static bool setup(struct fx *f)
{
    struct vtd_model_config mc = {.ecap = SM_ECAP, .cap = 0x00d2038c22260206ull};
    struct vtd_unit_config uc = {.mode = VTD_MODE_SCALABLE};
    if (!fx_init(f, &mc, &uc)) {
        return false;
    }
    uint16_t sids[] = {DEV, DEV2};
    fx_add_device(f, DEV, DEV_FLAGS, true);
    fx_add_device(f, DEV2, DEV_FLAGS, true);
    fx_client(f, CLIENT_A, POOL_A, sids, 2);
    return true;
}

static uint64_t bind(struct fx *f, uint64_t h, uint64_t *pasid)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_pasid_bind(&m, h);
    fx_call(f, CLIENT_A, &m, &r);
    struct iommu_pasid_bind_rets rets;
    uint64_t e = iommu_reply_pasid_bind(&r, &rets);
    *pasid = rets.pasid;
    return e;
}

static uint64_t unbind(struct fx *f, uint64_t h, uint64_t pasid)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_pasid_unbind(&m, h, pasid);
    return fx_call(f, CLIENT_A, &m, &r);
}

static bool responded(struct fx *f, uint16_t sid, uint32_t pasid, uint16_t prgi, uint8_t code)
{
    struct vtd_model_page_response rs[64];
    size_t n = vtd_model_page_responses(f->m, rs, 64);
    for (size_t i = 0; i < n; i++) {
        if (rs[i].sid == sid && rs[i].pasid == pasid && rs[i].prgi == prgi && rs[i].code == code) {
            return true;
        }
    }
    return false;
}

static void test_pasid_bind_translates_through_the_client_domain(void)
{
    struct fx f;
    uint64_t h, p1, p2, h2;
    uint8_t buf[32];
    CHECK(setup(&f));
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV2, &h2), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    fx_fill(&f, POOL_A, 0x1000, 5);
    CHECK_EQ(bind(&f, h, &p1), IOMMU_OK);
    CHECK_EQ(bind(&f, h2, &p2), IOMMU_OK);
    CHECK(p1 != p2);
    CHECK_EQ(vtd_model_dma(f.m, DEV, (uint32_t)p1, 0x10000, buf, sizeof(buf), false), 0);
    CHECK(fx_same(&f, POOL_A, buf, sizeof(buf)));
    /* another device cannot use DEV's PASID binding... (its own PASID is p2) */
    CHECK(vtd_model_dma(f.m, DEV2, (uint32_t)p1, 0x10000, buf, sizeof(buf), false) > 0);
    /* ...nor unbind a PASID that is not its own */
    CHECK_EQ(unbind(&f, h2, p1), IOMMU_ERR_NOT_BOUND);
    CHECK_EQ(unbind(&f, h, 0), IOMMU_ERR_NOT_BOUND);
    CHECK_EQ(unbind(&f, h, 1u << 20), IOMMU_ERR_BAD_ARG);
out:
    fx_fini(&f);
}

static void test_pasid_unbind_drains_pending_page_requests(void)
{
    struct fx f;
    uint64_t h, p;
    uint8_t buf[32];
    CHECK(setup(&f));
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(bind(&f, h, &p), IOMMU_OK);
    CHECK_EQ(vtd_model_dma(f.m, DEV, (uint32_t)p, 0x10000, buf, sizeof(buf), false), 0);
    /* a page group for p sits in the queue, unserviced, when the driver unbinds */
    struct vtd_model_page_request rq = {
        .sid = DEV, .pasid = (uint32_t)p, .addr = 0x20000, .prgi = 3, .read = true, .last = false};
    CHECK_EQ(vtd_model_page_request(f.m, &rq), 0);
    rq.addr = 0x21000;
    rq.last = true;
    CHECK_EQ(vtd_model_page_request(f.m, &rq), 0);
    struct vtd_model_stats a, b;
    vtd_model_get_stats(f.m, &a);
    CHECK_EQ(unbind(&f, h, p), IOMMU_OK);
    vtd_model_get_stats(f.m, &b);
    CHECK(b.page_drains > a.page_drains);
    CHECK(responded(&f, DEV, (uint32_t)p, 3, 1)); /* answered "invalid", not serviced */
    CHECK(vtd_model_dma(f.m, DEV, (uint32_t)p, 0x10000, buf, sizeof(buf), false) > 0);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.pasids_bound, 0);
    CHECK_EQ(c.pasids_draining, 0);
    CHECK_EQ(unbind(&f, h, p), IOMMU_ERR_NOT_BOUND);
    /* drained: the PASID may be handed out again */
    uint64_t p2;
    CHECK_EQ(bind(&f, h, &p2), IOMMU_OK);
    CHECK_EQ(p2, p);
out:
    fx_fini(&f);
}

static void test_pasid_is_not_reused_before_its_drain_completes(void)
{
    struct fx f;
    uint64_t h, p, p2;
    CHECK(setup(&f));
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    CHECK_EQ(bind(&f, h, &p), IOMMU_OK);
    /* a page request still on the wire: the page-drain wait cannot finish before it lands */
    struct vtd_model_page_request rq = {
        .sid = DEV, .pasid = (uint32_t)p, .addr = 0x30000, .prgi = 7, .read = true, .last = true};
    CHECK_EQ(vtd_model_page_request_delayed(f.m, &rq, 3000000000ull), 0);
    uint64_t e = unbind(&f, h, p);
    CHECK(e == IOMMU_ERR_HW || e == IOMMU_ERR_DEVICE_TIMEOUT);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.pasids_draining, 1);
    CHECK_EQ(unbind(&f, h, p), IOMMU_ERR_NOT_BOUND);
    CHECK_EQ(bind(&f, h, &p2), IOMMU_OK);
    CHECK(p2 != p);
    /* the request arrives; the retried drain answers it and only then frees the PASID */
    vtd_model_advance(f.m, 3000000000ull);
    iommu_server_retry(f.s);
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.pasids_draining, 0);
    CHECK(responded(&f, DEV, (uint32_t)p, 7, 1));
    uint64_t p3;
    CHECK_EQ(bind(&f, h, &p3), IOMMU_OK);
    CHECK_EQ(p3, p);
out:
    fx_fini(&f);
}

/* A drain left unfinished by a removed occupant and retried after a re-plug addresses only the
 * old binding: no PASID device-TLB invalidation reaches the new occupant (found by the fence
 * protocol's model). */
static void test_drain_retried_after_replug_leaves_the_new_occupant_alone(void)
{
    struct fx f;
    uint64_t h, p, st, gen = 0;
    CHECK(setup(&f));
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    CHECK_EQ(bind(&f, h, &p), IOMMU_OK);
    struct vtd_model_page_request rq = {
        .sid = DEV, .pasid = (uint32_t)p, .addr = 0x30000, .prgi = 9, .read = true, .last = true};
    CHECK_EQ(vtd_model_page_request_delayed(f.m, &rq, 3000000000ull), 0);
    uint64_t e = unbind(&f, h, p);
    CHECK(e == IOMMU_ERR_HW || e == IOMMU_ERR_DEVICE_TIMEOUT);
    /* the request lands (the queue's page-drain wait completes); the drain is retried only
     * later. Meanwhile the old occupant leaves, a new one arrives and is attached (ATS on). */
    vtd_model_advance(f.m, 3000000000ull);
    CHECK_EQ(fx_fence(&f, DEV, IOMMU_FENCE_SURPRISE, &st), IOMMU_HP_OK);
    CHECK_EQ(fx_removed(&f, DEV), IOMMU_HP_OK);
    CHECK_EQ(fx_added(&f, DEV, &gen), IOMMU_HP_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    size_t from = fx_log(&f, NULL, 0);
    iommu_server_retry(f.s);
    CHECK_EQ(fx_count_desc(&f, from, 8, DEV), 0); /* no PASID device-TLB for the new device */
    CHECK(!iommu_device_get(f.s, DEV)->quarantined);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.pasids_draining, 0);
out:
    fx_fini(&f);
}

static void test_pasid_bind_is_unsupported_without_prs(void)
{
    struct fx f;
    uint16_t sids[] = {DEV};
    uint64_t h, p;
    CHECK(fx_init(&f, NULL, NULL)); /* QEMU-like: legacy mode, no PRS */
    fx_add_device(&f, DEV, VTD_MODEL_DEV_ATS, true);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    uint64_t fp = iommu_server_fingerprint(f.s);
    size_t before = fx_log(&f, NULL, 0);
    CHECK_EQ(bind(&f, h, &p), IOMMU_ERR_UNSUPPORTED);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    CHECK_EQ(fx_log(&f, NULL, 0), before);
out:
    fx_fini(&f);
}

static void test_removed_device_pasids_are_drained(void)
{
    struct fx f;
    uint64_t h, p;
    CHECK(setup(&f));
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    CHECK_EQ(bind(&f, h, &p), IOMMU_OK);
    fx_set_present(&f, DEV, false);
    CHECK_EQ(fx_fence(&f, DEV, IOMMU_FENCE_SURPRISE, NULL), IOMMU_HP_OK);
    CHECK_EQ(fx_removed(&f, DEV), IOMMU_HP_OK);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.pasids_bound, 0);
    CHECK_EQ(c.pasids_draining, 0);
    CHECK_EQ(fx_count_desc(&f, 0, 8, DEV), 0); /* no PASID device-TLB to the dead device */
    struct vtd_model_stats st;
    vtd_model_get_stats(f.m, &st);
    CHECK_EQ(st.ite, 0);
out:
    fx_fini(&f);
}

static void test_page_requests_are_answered_invalid_by_the_service(void)
{
    struct fx f;
    uint64_t h, p;
    CHECK(setup(&f));
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    CHECK_EQ(bind(&f, h, &p), IOMMU_OK);
    struct vtd_model_page_request rq = {
        .sid = DEV, .pasid = (uint32_t)p, .addr = 0x50000, .prgi = 9, .write = true, .last = false};
    CHECK_EQ(vtd_model_page_request(f.m, &rq), 0);
    iommu_prq_service(f.s, 0);
    CHECK(!responded(&f, DEV, (uint32_t)p, 9, 1)); /* group not complete yet */
    rq.last = true;
    rq.addr = 0x51000;
    CHECK_EQ(vtd_model_page_request(f.m, &rq), 0);
    iommu_prq_service(f.s, 0);
    CHECK(responded(&f, DEV, (uint32_t)p, 9, 1));
    CHECK_EQ(f.s->stats.page_groups_answered, 1);
out:
    fx_fini(&f);
}

static void test_drain_leaves_other_pasids_page_requests_answered_invalid(void)
{
    struct fx f;
    uint64_t h, h2, p, p2;
    CHECK(setup(&f));
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV, &h), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_A, DEV2, &h2), IOMMU_OK);
    CHECK_EQ(bind(&f, h, &p), IOMMU_OK);
    CHECK_EQ(bind(&f, h2, &p2), IOMMU_OK);
    /* DEV2's group sits in the queue ahead of the drain of DEV's PASID */
    struct vtd_model_page_request rq = {
        .sid = DEV2, .pasid = (uint32_t)p2, .addr = 0x60000, .prgi = 4, .read = true, .last = true};
    CHECK_EQ(vtd_model_page_request(f.m, &rq), 0);
    CHECK_EQ(unbind(&f, h, p), IOMMU_OK);
    /* answered like the page request service would ("invalid"), never "response failure",
       which would make the innocent device turn its PRI off */
    CHECK(responded(&f, DEV2, (uint32_t)p2, 4, 1));
    CHECK(!responded(&f, DEV2, (uint32_t)p2, 4, 0xf));
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.pasids_bound, 1);
out:
    fx_fini(&f);
}

int main(void)
{
    RUN(test_pasid_bind_translates_through_the_client_domain);
    RUN(test_pasid_unbind_drains_pending_page_requests);
    RUN(test_pasid_is_not_reused_before_its_drain_completes);
    RUN(test_drain_retried_after_replug_leaves_the_new_occupant_alone);
    RUN(test_pasid_bind_is_unsupported_without_prs);
    RUN(test_removed_device_pasids_are_drained);
    RUN(test_page_requests_are_answered_invalid_by_the_service);
    RUN(test_drain_leaves_other_pasids_page_requests_answered_invalid);
    return fx_report();
}
