/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Revocation by the root task against the VT-d model: a memory grant taken back while the
 * client's device is using it is unmapped strictly before the call returns (the device's next
 * access faults; a live ATS device's device-TLB is flushed, a fenced one's never addressed), the
 * memory is released only when every invalidation completed, and the client gets REVOKED from
 * then on; a device taken back is blocked and flushed, its interrupts go with it, and the
 * client can neither use its old handle nor attach it again, while another client that is
 * granted it later attaches fresh. A revoke whose invalidation cannot complete keeps the memory
 * pinned and says so. Frames taken back by physical range (revoke_frames) are unmapped the same
 * way, the server's copies of their capabilities deleted only after the invalidation completed,
 * and any later map of memory in the range is refused.
 */
#include "fixture.h"

#define ATS 0x0100 /* 01:00.0, an ATS device */
#define PLAIN 0x0200
#define RW (IOMMU_READ | IOMMU_WRITE)
#define T_DEVTLB 3

static bool setup(struct fx *f, uint16_t sid, unsigned model_flags, uint64_t *h)
{
    uint16_t sids[] = {sid};
    if (!fx_init(f, NULL, NULL)) {
        return false;
    }
    fx_add_device(f, sid, model_flags, true);
    fx_client(f, CLIENT_A, POOL_A, sids, 1);
    return fx_attach(f, CLIENT_A, sid, h) == IOMMU_OK;
}

static bool dma_ok(struct fx *f, uint16_t sid, uint64_t iova)
{
    uint8_t b[8];
    return vtd_model_dma(f->m, sid, VTD_MODEL_NO_PASID, iova, b, sizeof(b), false) == 0;
}

static void test_revoked_memory_is_unmapped_before_the_reply_and_refused_after(void)
{
    struct fx f;
    uint64_t h, st = 0;
    unsigned left = 99;
    CHECK(setup(&f, ATS, VTD_MODEL_DEV_ATS, &h));
    /* a second grant that stays: its mapping must survive */
    unsigned g1 = 0;
    CHECK_EQ(iommu_client_grant_memory(f.s, CLIENT_A, POOL_B, 0x10000, RW, &g1), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x4000, RW), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x40000, 0, 0x8000, 0x1000, RW), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x80000, g1, 0, 0x1000, RW), IOMMU_OK);
    CHECK(dma_ok(&f, ATS, 0x10000)); /* IOTLB and the device's ATC hold it now */
    CHECK(dma_ok(&f, ATS, 0x40000));
    size_t from = fx_log(&f, NULL, 0);
    CHECK_EQ(iommu_client_revoke_memory(f.s, CLIENT_A, 0, &st, &left), IOMMU_OK);
    CHECK_EQ(left, 0);
    CHECK(fx_count_desc(&f, from, T_DEVTLB, ATS) >= 1); /* the live device's ATC was flushed */
    CHECK(!dma_ok(&f, ATS, 0x10000));                   /* the very next access faults */
    CHECK(!dma_ok(&f, ATS, 0x40000));
    CHECK(dma_ok(&f, ATS, 0x80000)); /* the other grant is untouched */
    CHECK(!f.s->clients[0].mem[0].used);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x1000, RW), IOMMU_ERR_REVOKED);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map_pool(&m, 0x10000, IOMMU_POOL_MEMORY(0, RW), 0, 0x1000);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_REVOKED);
    uint64_t range = IOMMU_VEC_RANGE(0x10000, 0, RW, 0, 0x1000);
    iommu_encode_map_vec_list(&m, &range, 1);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_REVOKED);
    /* twice: BAD_ARG, nothing changes */
    uint64_t fp = iommu_server_fingerprint(f.s);
    CHECK_EQ(iommu_client_revoke_memory(f.s, CLIENT_A, 0, &st, &left), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_client_revoke_memory(f.s, CLIENT_A, 7, &st, &left), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_client_revoke_memory(f.s, CLIENT_B, 1, &st, &left), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    /* the slot can be granted again: new memory, no longer revoked */
    unsigned g2 = 9;
    CHECK_EQ(iommu_client_grant_memory(f.s, CLIENT_A, POOL_A, 0x10000, RW, &g2), IOMMU_OK);
    CHECK_EQ(g2, 0);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x1000, RW), IOMMU_OK);
out:
    fx_fini(&f);
}

static void test_revoke_of_a_fenced_devices_memory_never_addresses_its_device_tlb(void)
{
    struct fx f;
    uint64_t h, st = 0;
    unsigned left = 99;
    CHECK(setup(&f, ATS, VTD_MODEL_DEV_ATS, &h));
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x4000, RW), IOMMU_OK);
    CHECK(dma_ok(&f, ATS, 0x10000));
    CHECK_EQ(fx_fence(&f, ATS, IOMMU_FENCE_SURPRISE, &st), IOMMU_HP_OK);
    fx_set_present(&f, ATS, false);
    size_t from = fx_log(&f, NULL, 0);
    CHECK_EQ(iommu_client_revoke_memory(f.s, CLIENT_A, 0, &st, &left), IOMMU_OK);
    CHECK_EQ(left, 0);
    CHECK(st & IOMMU_STATUS_DEVICE_GONE);
    CHECK_EQ(fx_count_desc(&f, from, T_DEVTLB, ATS), 0);
out:
    fx_fini(&f);
}

/* The queue stalls past its deadline: the revoke cannot confirm the invalidation, so the memory
 * stays pinned (left = 1) and the grant is refused to maps; once the queue runs, the client's
 * retried unmap (or client removal) releases it and the slot becomes grantable again. */
static void test_revoke_whose_invalidation_fails_keeps_the_memory_pinned(void)
{
    struct fx f;
    uint64_t h, st = 0;
    unsigned left = 0;
    CHECK(setup(&f, PLAIN, 0, &h));
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x1000, RW), IOMMU_OK);
    vtd_model_set_queue_stalled(f.m, true);
    CHECK(iommu_client_revoke_memory(f.s, CLIENT_A, 0, &st, &left) != IOMMU_OK);
    CHECK_EQ(left, 1);
    CHECK(f.s->clients[0].mem[0].used); /* not the root task's again yet */
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x20000, 0, 0x1000, 0x1000, RW), IOMMU_ERR_REVOKED);
    unsigned g = 9;
    CHECK_EQ(iommu_client_grant_memory(f.s, CLIENT_A, POOL_B, 0x1000, RW, &g), IOMMU_OK);
    CHECK(g != 0); /* the pinned slot is not handed out again */
    vtd_model_set_queue_stalled(f.m, false);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x10000, 0x1000, &st), IOMMU_OK);
    CHECK_EQ(f.s->clients[0].mem[0].pins, 0);
    CHECK(!dma_ok(&f, PLAIN, 0x10000));
out:
    fx_fini(&f);
}

static void test_revoked_device_is_blocked_and_can_be_granted_to_another_client(void)
{
    struct fx f;
    uint64_t h, h2, st = 0;
    uint16_t none[] = {0};
    CHECK(setup(&f, PLAIN, 0, &h));
    fx_client(&f, CLIENT_B, POOL_B, none, 0);
    CHECK_EQ(iommu_client_grant_vector(f.s, CLIENT_A, PLAIN, 0x61, NULL), IOMMU_OK);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_irq_alloc(&m, h, 0);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_OK);
    uint64_t msi_addr = r.w[1];
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x1000, RW), IOMMU_OK);
    CHECK(dma_ok(&f, PLAIN, 0x10000));
    CHECK_EQ(iommu_client_revoke_device(f.s, CLIENT_A, PLAIN, &st), IOMMU_OK);
    CHECK(!dma_ok(&f, PLAIN, 0x10000)); /* blocked at once */
    struct vtd_model_irq o;
    CHECK_EQ(vtd_model_interrupt(f.m, PLAIN, msi_addr, 0, &o), VTD_MODEL_FR_IR_NOT_PRESENT);
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.irtes, 0);
    /* the client: old handle NOT_ATTACHED, attach NOT_GRANTED, its memory mapping still there
     * (the memory grant was not revoked) */
    CHECK_EQ(fx_detach(&f, CLIENT_A, h, &st), IOMMU_ERR_NOT_ATTACHED);
    CHECK_EQ(fx_attach(&f, CLIENT_A, PLAIN, &h2), IOMMU_ERR_NOT_GRANTED);
    CHECK_EQ(iommu_client_grant_vector(f.s, CLIENT_A, PLAIN, 0x62, NULL), IOMMU_ERR_BAD_ARG);
    uint64_t fp = iommu_server_fingerprint(f.s);
    CHECK_EQ(iommu_client_revoke_device(f.s, CLIENT_A, PLAIN, &st), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    /* re-granted to another client: it attaches, maps and DMAs with fresh state */
    CHECK_EQ(iommu_client_grant_device(f.s, CLIENT_B, PLAIN), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_B, PLAIN, &h2), IOMMU_OK);
    CHECK(!dma_ok(&f, PLAIN, 0x10000)); /* nothing of A's domain */
    CHECK_EQ(fx_map(&f, CLIENT_B, 0x20000, 0, 0, 0x1000, RW), IOMMU_OK);
    CHECK(dma_ok(&f, PLAIN, 0x20000));
out:
    fx_fini(&f);
}

/* Map one frame capability (pa, size, cookie) read-write at iova; the server's answer. */
static uint64_t map_frame(struct fx *f, uint64_t iova, uint64_t pa, uint64_t size, uint64_t cookie)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map(&m, iova, IOMMU_MEM_CAP, 0, size, RW);
    m.ncaps = 1;
    m.cap[0] = (struct iommu_cap_ref){
        .kind = IOMMU_CAP_FRAME, .rights = RW, .pa = pa, .size = size, .cookie = cookie};
    uint64_t e = fx_call(f, CLIENT_A, &m, &r);
    return e == IOMMU_OK && !r.cap_kept ? ~0ull : e;
}

#define FRAMES 0x0c00000ull /* frames the client holds as capabilities (outside both pools) */

static void test_revoked_frames_are_unmapped_before_the_reply_and_their_caps_released_after(void)
{
    struct fx f;
    uint64_t h, st = 0;
    unsigned left = 99;
    CHECK(setup(&f, ATS, VTD_MODEL_DEV_ATS, &h));
    CHECK_EQ(map_frame(&f, 0x100000, FRAMES, 0x2000, 77), IOMMU_OK);
    CHECK_EQ(map_frame(&f, 0x103000, FRAMES + 0x4000, 0x1000, 78), IOMMU_OK);
    CHECK_EQ(map_frame(&f, 0x200000, FRAMES + 0x100000, 0x1000, 79), IOMMU_OK); /* stays */
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x1000, RW), IOMMU_OK);        /* pool: stays */
    CHECK(dma_ok(&f, ATS, 0x100000)); /* IOTLB and the device's ATC hold them */
    CHECK(dma_ok(&f, ATS, 0x103000));
    size_t from = fx_log(&f, NULL, 0);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES, 0x10000, &st, &left), IOMMU_OK);
    CHECK_EQ(left, 0);
    CHECK(fx_count_desc(&f, from, T_DEVTLB, ATS) >= 1); /* the live device's ATC was flushed */
    CHECK(!dma_ok(&f, ATS, 0x100000));                  /* the very next accesses fault */
    CHECK(!dma_ok(&f, ATS, 0x101000));
    CHECK(!dma_ok(&f, ATS, 0x103000));
    CHECK(dma_ok(&f, ATS, 0x200000)); /* other frames and the pool are untouched */
    CHECK(dma_ok(&f, ATS, 0x10000));
    CHECK_EQ(f.releases, 2); /* the server's copies of 77 and 78 went, after the invalidation */
    struct iommu_counts c;
    iommu_server_counts(f.s, &c);
    CHECK_EQ(c.pins, 2);
    /* any later map of a frame within, or overlapping, the range is refused */
    uint64_t fp = iommu_server_fingerprint(f.s);
    CHECK_EQ(map_frame(&f, 0x300000, FRAMES, 0x1000, 80), IOMMU_ERR_REVOKED);
    CHECK_EQ(map_frame(&f, 0x300000, FRAMES + 0xf000, 0x1000, 80), IOMMU_ERR_REVOKED);
    CHECK_EQ(map_frame(&f, 0x300000, FRAMES - 0x1000, 0x2000, 80), IOMMU_ERR_REVOKED);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    CHECK_EQ(f.releases, 2);
    /* next to it: fine */
    CHECK_EQ(map_frame(&f, 0x300000, FRAMES + 0x10000, 0x1000, 81), IOMMU_OK);
    /* the same range again (a retry): no new record, nothing left to unmap */
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES + 0x1000, 0x1000, &st, &left),
             IOMMU_OK);
    CHECK_EQ(left, 0);
    CHECK_EQ(f.s->clients[0].n_revoked, 1);
out:
    fx_fini(&f);
}

/* Memory of a pool grant named as frames goes too: the root task wants the pages back. */
static void test_revoked_frames_take_grant_memory_in_the_range_as_well(void)
{
    struct fx f;
    uint64_t h, st = 0;
    unsigned left = 99;
    CHECK(setup(&f, PLAIN, 0, &h));
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x2000, RW), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x20000, 0, 0x10000, 0x1000, RW), IOMMU_OK);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, POOL_A + 0x1000, 0x1000, &st, &left),
             IOMMU_OK);
    CHECK_EQ(left, 0);
    CHECK(!dma_ok(&f, PLAIN, 0x10000));
    CHECK(dma_ok(&f, PLAIN, 0x20000));
    CHECK_EQ(f.s->clients[0].mem[0].pins, 1);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x30000, 0, 0x1000, 0x1000, RW), IOMMU_ERR_REVOKED);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x30000, 0, 0, 0x1000, RW), IOMMU_OK);
    uint64_t range = IOMMU_VEC_RANGE(0x40000, 0, RW, 0x1000, 0x1000);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map_vec_list(&m, &range, 1);
    CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_REVOKED);
out:
    fx_fini(&f);
}

/* Refusals change nothing: unknown badge, unaligned, zero, too large, wrapping, table full. */
static void test_revoke_frames_refusals_change_nothing(void)
{
    struct fx f;
    uint64_t h, st = 7;
    unsigned left = 7;
    CHECK(setup(&f, PLAIN, 0, &h));
    CHECK_EQ(map_frame(&f, 0x100000, FRAMES, 0x1000, 77), IOMMU_OK);
    uint64_t fp = iommu_server_fingerprint(f.s);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_B, FRAMES, 0x1000, &st, &left),
             IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_client_revoke_frames(f.s, 0, FRAMES, 0x1000, &st, &left), IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_client_revoke_frames(f.s, HP_BADGE, FRAMES, 0x1000, &st, &left),
             IOMMU_ERR_BAD_ARG);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES + 0x800, 0x1000, &st, &left),
             IOMMU_ERR_ALIGN);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES, 0x800, &st, &left), IOMMU_ERR_ALIGN);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES, 0, &st, &left), IOMMU_ERR_ALIGN);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES, IOMMU_REVOKE_FRAMES_MAX + 0x1000,
                                        &st, &left),
             IOMMU_ERR_RANGE);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, UINT64_MAX & ~0xfffull, 0x2000, &st, &left),
             IOMMU_ERR_RANGE);
    CHECK_EQ(st, 0);
    CHECK_EQ(left, 0);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    CHECK(dma_ok(&f, PLAIN, 0x100000));
    /* the table: IOMMU_CLIENT_REVOKED ranges, then NO_SLOTS and nothing unmapped */
    for (unsigned k = 0; k < IOMMU_CLIENT_REVOKED; k++) {
        CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, 0x10000000 + k * 0x100000, 0x1000, &st,
                                            &left),
                 IOMMU_OK);
    }
    fp = iommu_server_fingerprint(f.s);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES, 0x1000, &st, &left),
             IOMMU_ERR_NO_SLOTS);
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
    CHECK(dma_ok(&f, PLAIN, 0x100000));
    CHECK_EQ(f.releases, 0);
    /* inside a recorded range: no record needed, accepted */
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, 0x10000000, 0x1000, &st, &left), IOMMU_OK);
out:
    fx_fini(&f);
}

/* The queue stalls past its deadline: the capability stays pinned (not released, the memory must
 * not be reused: pins left 1), maps in the range are refused at once; the retried revoke, once the
 * queue runs, completes the invalidation and only then releases the capability. */
static void test_revoke_frames_whose_invalidation_fails_keeps_the_cap_pinned(void)
{
    struct fx f;
    uint64_t h, st = 0;
    unsigned left = 0;
    CHECK(setup(&f, PLAIN, 0, &h));
    CHECK_EQ(map_frame(&f, 0x100000, FRAMES, 0x1000, 77), IOMMU_OK);
    CHECK(dma_ok(&f, PLAIN, 0x100000));
    vtd_model_set_queue_stalled(f.m, true);
    CHECK(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES, 0x1000, &st, &left) != IOMMU_OK);
    CHECK_EQ(left, 1);
    CHECK_EQ(f.releases, 0);
    CHECK_EQ(map_frame(&f, 0x200000, FRAMES, 0x1000, 78), IOMMU_ERR_REVOKED);
    vtd_model_set_queue_stalled(f.m, false);
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES, 0x1000, &st, &left), IOMMU_OK);
    CHECK_EQ(left, 0);
    CHECK_EQ(f.releases, 1);
    CHECK_EQ(f.last_released, 77);
    CHECK(!dma_ok(&f, PLAIN, 0x100000));
    CHECK_EQ(f.s->clients[0].n_revoked, 1);
out:
    fx_fini(&f);
}

/* A restarted driver is a new client: the record went with the old one (client_remove). */
static void test_revoked_frames_record_ends_with_the_client(void)
{
    struct fx f;
    uint64_t h, st = 0;
    unsigned left = 0;
    uint16_t sids[] = {PLAIN};
    CHECK(setup(&f, PLAIN, 0, &h));
    CHECK_EQ(iommu_client_revoke_frames(f.s, CLIENT_A, FRAMES, 0x1000, &st, &left), IOMMU_OK);
    CHECK_EQ(iommu_client_unregister(f.s, CLIENT_A), IOMMU_OK);
    fx_client(&f, CLIENT_A, POOL_A, sids, 1);
    CHECK_EQ(fx_attach(&f, CLIENT_A, PLAIN, &h), IOMMU_OK);
    CHECK_EQ(map_frame(&f, 0x100000, FRAMES, 0x1000, 77), IOMMU_OK);
    CHECK(dma_ok(&f, PLAIN, 0x100000));
out:
    fx_fini(&f);
}

/* Revocation is the root task's: no client label reaches it. */
static void test_no_client_message_can_revoke(void)
{
    struct fx f;
    uint64_t h;
    CHECK(setup(&f, PLAIN, 0, &h));
    uint64_t fp = iommu_server_fingerprint(f.s);
    /* the root protocol's labels (96..104) and beyond, naming the client itself */
    for (uint64_t label = 96; label < 110; label++) {
        struct iommu_msg m;
        struct iommu_reply r;
        iommu_msg_init(&m, label);
        m.len = 3;
        m.w[0] = CLIENT_A;
        m.w[1] = 0;
        m.w[2] = 0x1000;
        CHECK_EQ(fx_call(&f, CLIENT_A, &m, &r), IOMMU_ERR_BAD_LABEL);
        m.badge = HP_BADGE;
        iommu_handle_hotplug(f.s, &m, &r);
        CHECK_EQ(r.err, IOMMU_HP_ERR_BAD_LABEL);
    }
    CHECK_EQ(iommu_server_fingerprint(f.s), fp);
out:
    fx_fini(&f);
}

int main(void)
{
    RUN(test_revoked_memory_is_unmapped_before_the_reply_and_refused_after);
    RUN(test_revoke_of_a_fenced_devices_memory_never_addresses_its_device_tlb);
    RUN(test_revoke_whose_invalidation_fails_keeps_the_memory_pinned);
    RUN(test_revoked_device_is_blocked_and_can_be_granted_to_another_client);
    RUN(test_revoked_frames_are_unmapped_before_the_reply_and_their_caps_released_after);
    RUN(test_revoked_frames_take_grant_memory_in_the_range_as_well);
    RUN(test_revoke_frames_refusals_change_nothing);
    RUN(test_revoke_frames_whose_invalidation_fails_keeps_the_cap_pinned);
    RUN(test_revoked_frames_record_ends_with_the_client);
    RUN(test_no_client_message_can_revoke);
    return fx_report();
}
