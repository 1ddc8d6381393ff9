/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pending requests against the VT-d model (iommu_begin with IOMMU_BEGIN_ASYNC, iommu_complete):
 * a slow device-TLB invalidation for
 * client A is queued asynchronously and A's reply waits for the completion interrupt, while
 * client B is served meanwhile; A's memory stays pinned until the hardware let go; an ITE while
 * parked quarantines A's device and answers A with the typed error; a full pool or a request
 * without device-TLB work is completed synchronously, exactly as before.
 */
#include "fixture.h"

#include <iommu/protocol.h>
#include <vtd/vtd.h>

#define ATS1 0x0100  /* client A's ATS device */
#define PLAIN 0x0200 /* client B's device, no ATS */
#define ATS2 0x0300  /* client C's ATS device */
#define CLIENT_C 0xc3ull
#define LATENCY_NS 2000000ull /* 2 ms device-TLB answer */
#define ITE_NS 20000000ull    /* 20 ms to an invalidation time-out */
#define POOL 4u

static struct iommu_pending pool[POOL];

/* The transport's part: a free record (NULL: all in flight, the request runs synchronously). */
static struct iommu_pending *begin(struct fx *f, const struct iommu_msg *m, unsigned flags,
                                   struct iommu_reply *r)
{
    struct iommu_pending *p = NULL;
    for (unsigned i = 0; i < POOL && p == NULL; i++) {
        p = pool[i].used ? NULL : &pool[i];
    }
    flags |= p != NULL ? IOMMU_BEGIN_ASYNC : 0u;
    return iommu_begin(f->s, m, r, p, flags, 0) == IOMMU_STEP_PENDING ? p : NULL;
}

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

static struct iommu_pending *begin_unmap(struct fx *f, uint64_t badge, uint64_t iova, uint64_t size,
                                         unsigned flags, struct iommu_reply *r)
{
    struct iommu_msg m;
    iommu_encode_unmap(&m, iova, size);
    m.badge = badge;
    return begin(f, &m, flags, r);
}

/* Let virtual time pass in steps, delivering the completion event, until p completes. */
static bool wait_parked(struct fx *f, struct iommu_pending *p, struct iommu_reply *r,
                        uint64_t limit_ns)
{
    for (uint64_t t = 0; t <= limit_ns; t += 100000) {
        iommu_completion_event(f->s, 0);
        if (iommu_complete(f->s, p, r)) {
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
    struct iommu_pending *p = begin_unmap(&f, CLIENT_A, 0x10000, 0x4000, 0, &r);
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
    CHECK(!iommu_complete(f.s, p, &r));
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
    struct iommu_pending *p = begin_unmap(&f, CLIENT_A, 0x10000, 0x2000, 0, &r);
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
    struct iommu_pending *p = begin_unmap(&f, CLIENT_A, 0x10000, 0x4000, 0, &r);
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
    struct iommu_pending *p = begin_unmap(&f, CLIENT_B, 0x10000, 0x1000, IOMMU_BEGIN_FORCE, &r);
    CHECK(p != NULL);
    CHECK(wait_parked(&f, p, &r, 10 * LATENCY_NS));
    CHECK_EQ(r.err, IOMMU_OK);
    CHECK_EQ(r.w[1], 0x1000);
    CHECK_EQ(fx_attach(&f, CLIENT_A, ATS1, &h), IOMMU_OK);
    struct iommu_msg m;
    iommu_encode_ats_flush(&m, h, 0, 0);
    m.badge = CLIENT_A;
    uint64_t t0 = vtd_model_now(f.m);
    p = begin(&f, &m, 0, &r);
    CHECK(p != NULL);
    CHECK(!iommu_complete(f.s, p, &r));
    CHECK(wait_parked(&f, p, &r, 10 * LATENCY_NS));
    CHECK_EQ(r.err, IOMMU_OK);
    CHECK_EQ(r.w[0], 0);
    CHECK(vtd_model_now(f.m) - t0 >= LATENCY_NS);
out:
    fx_fini(&f);
}

/*
 * Random interleavings: three clients map, unmap (parked or not), let time pass and reap
 * completions in any order while one ATS device may die. A shadow of every page says what must
 * hold: pins cover every mapped or parked page until its completion, a parked range refuses a
 * new map, a completed unmap leaves the device faulting, and nothing is left at the end.
 */
#define RAND_PAGES 12u
#define RAND_STEPS 3000u
enum { PG_FREE, PG_MAPPED, PG_PARKED };

static uint64_t rand_state = 0x5eed1234abcdull;
static unsigned rnd(unsigned n)
{
    rand_state ^= rand_state << 13;
    rand_state ^= rand_state >> 7;
    rand_state ^= rand_state << 17;
    return (unsigned)(rand_state % n);
}

static void test_random_interleavings_keep_pins_until_completion(void)
{
    struct fx f;
    struct iommu_reply r;
    const uint64_t badge[3] = {CLIENT_A, CLIENT_B, CLIENT_C};
    const uint16_t sid[3] = {ATS1, PLAIN, ATS2};
    uint8_t pg[3][RAND_PAGES];
    struct {
        struct iommu_pending *p;
        unsigned client, first, n;
    } out[POOL];
    unsigned n_out = 0, parked = 0, sync = 0, completed = 0;
    bool c_dead = false;
    uint8_t buf[8];
    memset(pg, PG_FREE, sizeof(pg));
    setup(&f);
    for (unsigned c = 0; c < 3; c++) {
        CHECK_EQ(fx_attach(&f, badge[c], sid[c], NULL), IOMMU_OK);
    }
    for (unsigned step = 0; step < RAND_STEPS; step++) {
        unsigned c = rnd(3), i = rnd(RAND_PAGES), op = rnd(10);
        uint64_t iova = 0x100000 + (uint64_t)i * 0x1000;
        if (op < 4) {
            uint64_t e = fx_map(&f, badge[c], iova, 0, (uint64_t)i * 0x1000, 0x1000,
                                IOMMU_READ | IOMMU_WRITE);
            if (pg[c][i] == PG_FREE) {
                CHECK_EQ(e, IOMMU_OK);
                pg[c][i] = PG_MAPPED;
            } else {
                CHECK_EQ(e, IOMMU_ERR_OVERLAP); /* mapped, or parked and not yet released */
            }
        } else if (op < 7) {
            unsigned n = 1 + rnd(3);
            if (i + n > RAND_PAGES) {
                continue;
            }
            bool all = true;
            for (unsigned k = 0; k < n; k++) {
                all = all && pg[c][i + k] == PG_MAPPED;
            }
            if (!all) {
                continue;
            }
            struct iommu_pending *p = begin_unmap(&f, badge[c], iova, n * 0x1000ull, 0, &r);
            if (p != NULL) {
                CHECK(n_out < POOL);
                out[n_out].p = p;
                out[n_out].client = c;
                out[n_out].first = i;
                out[n_out].n = n;
                n_out++;
                parked++;
                CHECK(c != 1); /* B has no device-TLB work: never parked */
                for (unsigned k = 0; k < n; k++) {
                    pg[c][i + k] = PG_PARKED;
                }
            } else {
                CHECK(r.err == IOMMU_OK || (c == 2 && c_dead && r.err == IOMMU_ERR_DEVICE_TIMEOUT));
                sync++;
                for (unsigned k = 0; k < n; k++) {
                    pg[c][i + k] = PG_FREE;
                }
            }
        } else if (op < 9) {
            vtd_model_advance(f.m, rnd(3000000));
            iommu_completion_event(f.s, 0);
            for (unsigned k = 0; k < n_out;) {
                if (!iommu_complete(f.s, out[k].p, &r)) {
                    k++;
                    continue;
                }
                unsigned oc = out[k].client;
                if (r.err != IOMMU_OK && !(oc == 2 && c_dead)) {
                    fprintf(stderr, "  step %u: client %u parked unmap: err %llu\n", step, oc,
                            (unsigned long long)r.err);
                }
                CHECK(r.err == IOMMU_OK ||
                      (oc == 2 && c_dead && r.err == IOMMU_ERR_DEVICE_TIMEOUT));
                for (unsigned q = 0; q < out[k].n; q++) {
                    pg[oc][out[k].first + q] = PG_FREE;
                    if (oc == 0) { /* A's device stays present: the page must fault now */
                        uint64_t va = 0x100000 + (uint64_t)(out[k].first + q) * 0x1000;
                        CHECK(vtd_model_dma(f.m, ATS1, VTD_MODEL_NO_PASID, va, buf, sizeof(buf),
                                            false) > 0);
                    }
                }
                completed++;
                out[k] = out[--n_out];
            }
        } else if (!c_dead && rnd(20) == 0) {
            fx_set_present(&f, ATS2, false); /* C's device dies silently */
            c_dead = true;
        } else if (pg[0][i] == PG_MAPPED) {
            CHECK_EQ(vtd_model_dma(f.m, ATS1, VTD_MODEL_NO_PASID, iova, buf, sizeof(buf), false),
                     0);
        }
        unsigned held = 0;
        for (unsigned cc = 0; cc < 3; cc++) {
            for (unsigned k = 0; k < RAND_PAGES; k++) {
                held += pg[cc][k] != PG_FREE;
            }
        }
        CHECK_EQ(pins(&f), held);
    }
    /* drain: everything parked completes, then everything is unmapped */
    for (unsigned k = 0; k < n_out; k++) {
        CHECK(wait_parked(&f, out[k].p, &r, 5 * ITE_NS));
        completed++;
        for (unsigned q = 0; q < out[k].n; q++) {
            pg[out[k].client][out[k].first + q] = PG_FREE;
        }
    }
    for (unsigned c = 0; c < 3; c++) {
        uint64_t status;
        uint64_t e = fx_unmap(&f, badge[c], 0x100000, RAND_PAGES * 0x1000ull, &status);
        CHECK(e == IOMMU_OK || (c == 2 && e == IOMMU_ERR_DEVICE_TIMEOUT));
    }
    struct iommu_counts cnt;
    iommu_server_counts(f.s, &cnt);
    CHECK_EQ(cnt.pins, 0);
    CHECK_EQ(cnt.stuck, 0);
    CHECK(parked > 0 && sync > 0);
    printf("  %u parked (%u completed), %u synchronous unmaps; C's device %s\n", parked, completed,
           sync, c_dead ? "died" : "lived");
out:
    fx_fini(&f);
}

int main(void)
{
    const char *seed = getenv("IOMMU_ASYNC_SEED"); /* other interleavings */
    if (seed != NULL && strtoull(seed, NULL, 0) != 0) {
        rand_state = strtoull(seed, NULL, 0);
    }
    RUN(test_slow_devtlb_unmap_parks_and_other_client_is_served_meanwhile);
    RUN(test_synchronous_unmap_holds_the_server_for_the_device_tlb_wait);
    RUN(test_parked_range_cannot_be_remapped_before_completion);
    RUN(test_ite_while_parked_quarantines_and_answers_typed_error);
    RUN(test_full_pool_and_plain_unmaps_complete_synchronously);
    RUN(test_forced_parking_and_ats_flush_park_and_complete);
    RUN(test_random_interleavings_keep_pins_until_completion);
    return fx_report();
}
