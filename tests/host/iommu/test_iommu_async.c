/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parked requests against the VT-d model (iommu/park.h): a slow device-TLB invalidation for
 * client A is queued asynchronously and A's reply waits for the completion interrupt, while
 * client B is served meanwhile; A's memory stays pinned until the hardware let go; an ITE while
 * parked quarantines A's device and answers A with the typed error; a full pool or a request
 * without device-TLB work is completed synchronously, exactly as before.
 */
#include "fixture.h"

#include <iommu/park.h>
#include <iommu/protocol.h>
#include <vtd/vtd.h>

#define ATS1 0x0100  /* client A's ATS device */
#define PLAIN 0x0200 /* client B's device, no ATS */
#define ATS2 0x0300  /* client C's ATS device */
#define CLIENT_C 0xc3ull
#define LATENCY_NS 2000000ull /* 2 ms device-TLB answer */
#define ITE_NS 20000000ull    /* 20 ms to an invalidation time-out */
#define POOL 4u

static struct iommu_parked pool[POOL];

static void setup(struct fx *f)
{
    struct vtd_model_config mc = {.devtlb_latency_ns = LATENCY_NS, .ite_timeout_ns = ITE_NS};
    if (!fx_init(f, &mc, NULL)) {
        fprintf(stderr, "fixture init failed\n");
        exit(1);
    }
    memset(pool, 0, sizeof(pool));
    fx_add_device(f, ATS1, VTD_MODEL_DEV_ATS, true);
    fx_add_device(f, PLAIN, 0, true);
    fx_add_device(f, ATS2, VTD_MODEL_DEV_ATS, true);
    uint16_t a = ATS1, b = PLAIN, c = ATS2;
    fx_client(f, CLIENT_A, POOL_A, &a, 1);
    fx_client(f, CLIENT_B, POOL_B, &b, 1);
    fx_client(f, CLIENT_C, POOL_B + POOL_SIZE, &c, 1);
    /* the invalidation-completion event, as the server programs it */
    (void)vtd_unit_qi_event_setup(iommu_server_vtd_unit(f->s, 0), 0xfee00000u, 0x42);
}

static struct iommu_parked *begin_unmap(struct fx *f, uint64_t badge, uint64_t iova, uint64_t size,
                                        unsigned flags, struct iommu_reply *r)
{
    struct iommu_msg m;
    iommu_encode_unmap(&m, iova, size);
    m.badge = badge;
    return iommu_park_begin(f->s, &m, r, pool, POOL, flags, 0);
}

/* Let virtual time pass in steps, delivering the completion event, until p completes. */
static bool wait_parked(struct fx *f, struct iommu_parked *p, struct iommu_reply *r,
                        uint64_t limit_ns)
{
    for (uint64_t t = 0; t <= limit_ns; t += 100000) {
        iommu_park_event(f->s, 0);
        if (iommu_park_complete(f->s, p, r)) {
            return true;
        }
        vtd_model_advance(f->m, 100000);
    }
    return false;
}

static uint64_t pins(struct fx *f)
{
    struct iommu_counts c;
    iommu_server_counts(f->s, &c);
    return c.pins;
}

static void test_slow_devtlb_unmap_parks_and_other_client_is_served_meanwhile(void)
{
    struct fx f;
    struct iommu_reply r;
    uint8_t buf[16];
    setup(&f);
    CHECK_EQ(fx_attach(&f, CLIENT_A, ATS1, NULL), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_B, PLAIN, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x4000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    CHECK_EQ(vtd_model_dma(f.m, ATS1, VTD_MODEL_NO_PASID, 0x10000, buf, sizeof(buf), false), 0);
    uint64_t pins_before = pins(&f);
    struct vtd_model_stats st0, st1;
    vtd_model_get_stats(f.m, &st0);

    uint64_t t0 = vtd_model_now(f.m);
    struct iommu_parked *p = begin_unmap(&f, CLIENT_A, 0x10000, 0x4000, 0, &r);
    CHECK(p != NULL);
    uint64_t t_parked = vtd_model_now(f.m);
    /* B maps and reads its faults while A waits */
    CHECK_EQ(fx_map(&f, CLIENT_B, 0x20000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    struct iommu_msg m;
    iommu_encode_fault_read(&m, 4);
    CHECK_EQ(fx_call(&f, CLIENT_B, &m, &r), IOMMU_OK);
    uint64_t t_b = vtd_model_now(f.m);
    CHECK(t_b - t0 < LATENCY_NS / 10);
    printf("  A parked after %llu ns; B's map + fault_read done %llu ns later "
           "(A's device-TLB answers after %llu ns)\n",
           (unsigned long long)(t_parked - t0), (unsigned long long)(t_b - t_parked),
           (unsigned long long)LATENCY_NS);
    /* not completed yet, and A's memory is still pinned */
    CHECK(!iommu_park_complete(f.s, p, &r));
    CHECK_EQ(pins(&f), pins_before + 1); /* A's still held, plus B's new one */
    CHECK(wait_parked(&f, p, &r, 10 * LATENCY_NS));
    uint64_t t_done = vtd_model_now(f.m);
    CHECK_EQ(r.err, IOMMU_OK);
    CHECK_EQ(r.len, 2);
    CHECK_EQ(r.w[1], 0x4000); /* bytes unmapped */
    CHECK(t_done - t0 >= LATENCY_NS);
    CHECK_EQ(pins(&f), pins_before); /* A's released, B's held */
    CHECK(!p->used);
    vtd_model_get_stats(f.m, &st1);
    CHECK(st1.completion_interrupts > st0.completion_interrupts);
    printf("  A answered after %llu ns (completion interrupts: %llu)\n",
           (unsigned long long)(t_done - t0),
           (unsigned long long)(st1.completion_interrupts - st0.completion_interrupts));
    /* the ATC and IOTLB let go: A's device faults there now */
    CHECK(vtd_model_dma(f.m, ATS1, VTD_MODEL_NO_PASID, 0x10000, buf, sizeof(buf), false) > 0);
    /* the range is free again */
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x4000, IOMMU_READ), IOMMU_OK);
out:
    fx_fini(&f);
}

/* The same unmap without parking: the server is busy (and B waits) for the whole wait. */
static void test_synchronous_unmap_holds_the_server_for_the_device_tlb_wait(void)
{
    struct fx f;
    uint64_t status = 0;
    setup(&f);
    CHECK_EQ(fx_attach(&f, CLIENT_A, ATS1, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x4000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    uint64_t t0 = vtd_model_now(f.m);
    CHECK_EQ(fx_unmap(&f, CLIENT_A, 0x10000, 0x4000, &status), IOMMU_OK);
    uint64_t busy = vtd_model_now(f.m) - t0;
    CHECK(busy >= LATENCY_NS);
    printf("  synchronous: the server is busy %llu ns with A's unmap before B's map is read\n",
           (unsigned long long)busy);
out:
    fx_fini(&f);
}

static void test_parked_range_cannot_be_remapped_before_completion(void)
{
    struct fx f;
    struct iommu_reply r;
    setup(&f);
    CHECK_EQ(fx_attach(&f, CLIENT_A, ATS1, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x2000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    struct iommu_parked *p = begin_unmap(&f, CLIENT_A, 0x10000, 0x2000, 0, &r);
    CHECK(p != NULL);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0x100000, 0x1000, IOMMU_READ), IOMMU_ERR_OVERLAP);
    CHECK(wait_parked(&f, p, &r, 10 * LATENCY_NS));
    CHECK_EQ(r.err, IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0x100000, 0x1000, IOMMU_READ), IOMMU_OK);
out:
    fx_fini(&f);
}

static void test_ite_while_parked_quarantines_and_answers_typed_error(void)
{
    struct fx f;
    struct iommu_reply r;
    uint64_t status = 0;
    setup(&f);
    CHECK_EQ(fx_attach(&f, CLIENT_A, ATS1, NULL), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_B, PLAIN, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x4000, IOMMU_READ | IOMMU_WRITE), IOMMU_OK);
    uint64_t pins_before = pins(&f);
    fx_set_present(&f, ATS1, false); /* pulled out, nobody told the server yet */
    uint64_t t0 = vtd_model_now(f.m);
    struct iommu_parked *p = begin_unmap(&f, CLIENT_A, 0x10000, 0x4000, 0, &r);
    CHECK(p != NULL);
    /* B is served while A's invalidation heads for its time-out */
    CHECK_EQ(fx_map(&f, CLIENT_B, 0x20000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    CHECK(vtd_model_now(f.m) - t0 < ITE_NS / 10);
    CHECK_EQ(pins(&f), pins_before + 1);
    CHECK(wait_parked(&f, p, &r, 5 * ITE_NS));
    CHECK_EQ(r.err, IOMMU_ERR_DEVICE_TIMEOUT);
    CHECK(r.w[0] & IOMMU_STATUS_QUARANTINED);
    CHECK(vtd_model_now(f.m) - t0 >= ITE_NS);
    const struct iommu_device *d = iommu_device_get(f.s, ATS1);
    CHECK(d && d->quarantined && d->quarantine_done && !d->ats_enabled);
    CHECK_EQ(pins(&f), pins_before); /* A's released once the quarantine fence completed */
    /* B keeps working, including waits on the same queue */
    CHECK_EQ(fx_unmap(&f, CLIENT_B, 0x20000, 0x1000, &status), IOMMU_OK);
out:
    fx_fini(&f);
}

static void test_full_pool_and_plain_unmaps_complete_synchronously(void)
{
    struct fx f;
    struct iommu_reply r;
    setup(&f);
    CHECK_EQ(fx_attach(&f, CLIENT_A, ATS1, NULL), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_B, PLAIN, NULL), IOMMU_OK);
    CHECK_EQ(fx_attach(&f, CLIENT_C, ATS2, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_A, 0x10000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_B, 0x10000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_C, 0x10000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    /* no device-TLB work: the fast path, answered at once */
    CHECK(begin_unmap(&f, CLIENT_B, 0x10000, 0x1000, 0, &r) == NULL);
    CHECK_EQ(r.err, IOMMU_OK);
    CHECK_EQ(r.w[1], 0x1000);
    /* every record taken: C's unmap waits synchronously but gets the same answer */
    for (unsigned i = 0; i < POOL; i++) {
        pool[i].used = true;
        pool[i].domain = -1;
        pool[i].device = -1;
    }
    uint64_t t0 = vtd_model_now(f.m);
    CHECK(begin_unmap(&f, CLIENT_C, 0x10000, 0x1000, 0, &r) == NULL);
    CHECK_EQ(r.err, IOMMU_OK);
    CHECK_EQ(r.w[1], 0x1000);
    CHECK(vtd_model_now(f.m) - t0 >= LATENCY_NS);
    /* decode errors are answered as iommu_handle_client would */
    for (unsigned i = 0; i < POOL; i++) {
        pool[i].used = false;
    }
    CHECK(begin_unmap(&f, CLIENT_A, 0x10001, 0x1000, 0, &r) == NULL);
    CHECK(r.err != IOMMU_OK);
    CHECK(begin_unmap(&f, 0x999, 0x10000, 0x1000, 0, &r) == NULL);
    CHECK_EQ(r.err, IOMMU_ERR_DENIED);
out:
    fx_fini(&f);
}

static void test_forced_parking_and_ats_flush_park_and_complete(void)
{
    struct fx f;
    struct iommu_reply r;
    uint64_t h = 0;
    setup(&f);
    CHECK_EQ(fx_attach(&f, CLIENT_B, PLAIN, NULL), IOMMU_OK);
    CHECK_EQ(fx_map(&f, CLIENT_B, 0x10000, 0, 0, 0x1000, IOMMU_READ), IOMMU_OK);
    struct iommu_parked *p = begin_unmap(&f, CLIENT_B, 0x10000, 0x1000, IOMMU_PARK_FORCE, &r);
    CHECK(p != NULL);
    CHECK(wait_parked(&f, p, &r, 10 * LATENCY_NS));
    CHECK_EQ(r.err, IOMMU_OK);
    CHECK_EQ(r.w[1], 0x1000);
    CHECK_EQ(fx_attach(&f, CLIENT_A, ATS1, &h), IOMMU_OK);
    struct iommu_msg m;
    iommu_encode_ats_flush(&m, h, 0, 0);
    m.badge = CLIENT_A;
    uint64_t t0 = vtd_model_now(f.m);
    p = iommu_park_begin(f.s, &m, &r, pool, POOL, 0, 0);
    CHECK(p != NULL);
    CHECK(!iommu_park_complete(f.s, p, &r));
    CHECK(wait_parked(&f, p, &r, 10 * LATENCY_NS));
    CHECK_EQ(r.err, IOMMU_OK);
    CHECK_EQ(r.w[0], 0);
    CHECK(vtd_model_now(f.m) - t0 >= LATENCY_NS);
out:
    fx_fini(&f);
}

int main(void)
{
    RUN(test_slow_devtlb_unmap_parks_and_other_client_is_served_meanwhile);
    RUN(test_synchronous_unmap_holds_the_server_for_the_device_tlb_wait);
    RUN(test_parked_range_cannot_be_remapped_before_completion);
    RUN(test_ite_while_parked_quarantines_and_answers_typed_error);
    RUN(test_full_pool_and_plain_unmaps_complete_synchronously);
    RUN(test_forced_parking_and_ats_flush_park_and_complete);
    return fx_report();
}
