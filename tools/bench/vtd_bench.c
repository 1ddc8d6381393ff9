/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvtd hot-path benchmark on the host, against the VT-d model: 4 KiB map, unmap, 2 MiB map
 * and unmap, and a strict map+unmap+invalidate cycle; plus the queue cost of batching N unmaps
 * (tail writes, descriptors, waits, from the model's counters), and the cost of adding 64
 * scattered page-selective operations to a batch. Each measured loop sits in its
 * own phase_* function so tools/bench/vtd_bench.sh can read exact instruction counts per phase
 * from callgrind; run alone it prints wall-clock nanoseconds per operation. Printed, never
 * asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <vtd/vtd.h>
#include <vtd_model.h>

#define N4K 4096u
#define N2M 64u
#define IOVA0 0x100000000ull

static struct vtd_model *m;
static struct vtd_unit u;
static struct vtd_domain d;
static struct vtd_batch b;

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, enum vtd_err e)
{
    fprintf(stderr, "vtd_bench: %s: %s\n", what, vtd_strerror(e));
    exit(1);
}

__attribute__((noinline)) void phase_map_4k(void)
{
    for (unsigned i = 0; i < N4K; i++) {
        enum vtd_err e = vtd_domain_map(&d, IOVA0 + i * 0x1000ull, 0x1000000 + i * 0x1000ull,
                                        0x1000, VTD_R | VTD_W);
        if (e != VTD_OK) {
            die("map 4K", e);
        }
    }
}

__attribute__((noinline)) void phase_unmap_4k(void)
{
    struct vtd_unmap_result r;
    for (unsigned i = 0; i < N4K; i++) {
        enum vtd_err e = vtd_domain_unmap(&d, IOVA0 + i * 0x1000ull, 0x1000, &r);
        if (e != VTD_OK) {
            die("unmap 4K", e);
        }
        vtd_page_list_release(&u, &r.freed); /* pretend the invalidation is done */
    }
}

__attribute__((noinline)) void phase_map_2m(void)
{
    for (unsigned i = 0; i < N2M; i++) {
        enum vtd_err e = vtd_domain_map(&d, IOVA0 + i * 0x200000ull, 0x200000ull * (i + 1),
                                        0x200000, VTD_R | VTD_W);
        if (e != VTD_OK) {
            die("map 2M", e);
        }
    }
}

__attribute__((noinline)) void phase_unmap_2m(void)
{
    struct vtd_unmap_result r;
    for (unsigned i = 0; i < N2M; i++) {
        enum vtd_err e = vtd_domain_unmap(&d, IOVA0 + i * 0x200000ull, 0x200000, &r);
        if (e != VTD_OK) {
            die("unmap 2M", e);
        }
        vtd_page_list_release(&u, &r.freed);
    }
}

/* The server's strict path: map, unmap, one batch, submit, wait. Includes the model's work. */
__attribute__((noinline)) void phase_cycle_4k(void)
{
    struct vtd_unmap_result r;
    for (unsigned i = 0; i < N2M; i++) {
        uint64_t iova = IOVA0 + i * 0x1000ull;
        enum vtd_err e = vtd_domain_map(&d, iova, 0x1000000, 0x1000, VTD_R);
        if (e == VTD_OK) {
            e = vtd_domain_unmap(&d, iova, 0x1000, &r);
        }
        if (e == VTD_OK) {
            vtd_batch_init(&b, &u);
            e = vtd_batch_add_unmap(&b, &d, &r);
        }
        if (e == VTD_OK) {
            e = vtd_batch_submit(&b, 0);
        }
        if (e != VTD_OK) {
            die("cycle", e);
        }
        vtd_page_list_release(&u, &r.freed);
    }
}

/*
 * Building batches: 64 page-selective operations at scattered, non-adjacent pages in shuffled
 * order (none merges, the batch ends exactly full), IOTLB and device-TLB; nothing submitted.
 */
#define NADD_ROUNDS 256u
#define NADD_OPS 64u

static uint64_t scattered_page(unsigned i)
{
    return IOVA0 + 2ull * ((i * 37u) % NADD_OPS) * 0x1000ull; /* 37 is coprime with 64 */
}

__attribute__((noinline)) void phase_add_scattered(void)
{
    for (unsigned r = 0; r < NADD_ROUNDS; r++) {
        vtd_batch_init(&b, &u);
        for (unsigned i = 0; i < NADD_OPS; i++) {
            enum vtd_err e = vtd_batch_add_iotlb_range(&b, 1, scattered_page(i), 0x1000, true);
            if (e != VTD_OK) {
                die("add iotlb", e);
            }
        }
    }
}

__attribute__((noinline)) void phase_add_scattered_dev(void)
{
    for (unsigned r = 0; r < NADD_ROUNDS; r++) {
        vtd_batch_init(&b, &u);
        for (unsigned i = 0; i < NADD_OPS; i++) {
            enum vtd_err e = vtd_batch_add_devtlb(&b, 0x0100, 0, scattered_page(i), 0x1000);
            if (e != VTD_OK) {
                die("add devtlb", e);
            }
        }
    }
}

static void batch_cost(unsigned n, bool contiguous)
{
    struct vtd_unmap_result r;
    for (unsigned i = 0; i < n; i++) {
        uint64_t iova = IOVA0 + (contiguous ? i * 0x1000ull : i * 0x200000ull);
        if (vtd_domain_map(&d, iova, 0x1000000, 0x1000, VTD_R) != VTD_OK) {
            die("batch map", VTD_ERR_INVAL);
        }
    }
    struct vtd_model_stats s0, s1;
    vtd_model_get_stats(m, &s0);
    vtd_batch_init(&b, &u);
    struct vtd_page_list keep[64];
    unsigned nk = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t iova = IOVA0 + (contiguous ? i * 0x1000ull : i * 0x200000ull);
        if (vtd_domain_unmap(&d, iova, 0x1000, &r) != VTD_OK) {
            die("batch unmap", VTD_ERR_INVAL);
        }
        if (r.freed.count && nk < 64) {
            keep[nk++] = r.freed;
        }
        enum vtd_err e = vtd_batch_add_unmap(&b, &d, &r);
        if (e != VTD_OK) {
            die("batch add", e);
        }
    }
    enum vtd_err e = vtd_batch_submit(&b, 0);
    if (e != VTD_OK) {
        die("batch submit", e);
    }
    for (unsigned i = 0; i < nk; i++) {
        vtd_page_list_release(&u, &keep[i]);
    }
    vtd_model_get_stats(m, &s1);
    printf("batch of %4u %s unmaps: %llu tail write(s), %llu descriptor(s), %llu wait(s)\n", n,
           contiguous ? "adjacent 4K" : "scattered 4K",
           (unsigned long long)(s1.tail_writes - s0.tail_writes),
           (unsigned long long)(s1.descriptors - s0.descriptors),
           (unsigned long long)(s1.waits - s0.waits));
}

int main(void)
{
    struct vtd_model_config mc = {.mem_bytes = 256u << 20, .ecap = 0x0000000000f00f5full};
    m = vtd_model_create(&mc); /* ECAP.C = 1: no cache write-back in the numbers */
    if (!m) {
        fprintf(stderr, "vtd_bench: model\n");
        return 1;
    }
    enum vtd_err e = vtd_unit_probe(&u, vtd_model_hw(m), NULL);
    if (e == VTD_OK) {
        e = vtd_unit_set_root_table(&u);
    }
    if (e == VTD_OK) {
        e = vtd_unit_enable_qi(&u);
    }
    if (e == VTD_OK) {
        e = vtd_unit_enable_translation(&u);
    }
    if (e == VTD_OK) {
        e = vtd_domain_init(&d, &u, 1, 0);
    }
    if (e != VTD_OK) {
        die("bring-up", e);
    }
    struct {
        const char *name;
        void (*fn)(void);
        unsigned n;
    } phases[] = {
        {"map 4K", phase_map_4k, N4K},
        {"unmap 4K", phase_unmap_4k, N4K},
        {"map 2M", phase_map_2m, N2M},
        {"unmap 2M", phase_unmap_2m, N2M},
        {"map+unmap+flush 4K", phase_cycle_4k, N2M},
        {"add 64 scattered", phase_add_scattered, NADD_ROUNDS * NADD_OPS},
        {"add 64 scattered dev", phase_add_scattered_dev, NADD_ROUNDS * NADD_OPS},
    };
    for (unsigned i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        uint64_t t0 = wall_ns();
        phases[i].fn();
        uint64_t t1 = wall_ns();
        printf("%-20s %8.1f ns/op (wall clock, %u ops)\n", phases[i].name,
               (double)(t1 - t0) / phases[i].n, phases[i].n);
    }
    batch_cost(1, true);
    batch_cost(64, true);
    batch_cost(512, true);
    batch_cost(64, false);
    batch_cost(200, false);
    printf("phase_counts map4k=%u unmap4k=%u map2m=%u unmap2m=%u cycle4k=%u addscat=%u "
           "addscatdev=%u\n",
           N4K, N4K, N2M, N2M, N2M, NADD_ROUNDS * NADD_OPS, NADD_ROUNDS * NADD_OPS);
    vtd_model_destroy(m);
    return 0;
}
