/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server's map/unmap costs as a client sees them, IPC included, in guest TSC cycles
 * (under `-icount shift=0` one cycle is one guest instruction): map + unmap of 4 KiB, of 2 MiB
 * (a superpage where the unit has them), and one unmap request covering 256 separately mapped
 * 4 KiB pages (which the server must turn into one queue submission). Each figure is the median
 * / minimum / 90th percentile over the iterations after a warm-up. Marker lines around the
 * batches let a trace check count QEMU's queue-tail writes per unmapped page.
 *
 * The same 4 KiB figures are printed for the pool path too (`..._pool`): memory the root task
 * granted ("dma_pool", a grant index at the server) named by (grant, offset) with map_pool, so
 * map and unmap are four-register messages without a capability (the kernel's IPC fastpath) and
 * the unmap deletes no capability.
 *
 * Role `iommu_bench` (edu attached, 8 MiB of its own memory, a 64 KiB DMA pool); command line:
 * iters=N (default
 * 1000), batches=N (default 8), quick (few iterations, for the functional trace test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu_test.h"

#define IOVA 0x400000ull
#define BATCH 256u
#define MAX_ITERS 2000u

static pc_cptr_t g_ep;
static uint64_t g_samples[MAX_ITERS];

static uint64_t map(uint64_t iova, const struct it_frame *f, uint64_t size)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map(&m, iova, IOMMU_MEM_CAP, 0, size, IOMMU_READ | IOMMU_WRITE);
    return it_call(g_ep, &m, f->cap, &r);
}

static uint64_t g_pool_grant;

static uint64_t map_pool(uint64_t iova, uint64_t offset, uint64_t size)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map_pool(&m, iova, IOMMU_POOL_MEMORY(g_pool_grant, IOMMU_READ | IOMMU_WRITE),
                          offset, size);
    return it_call(g_ep, &m, 0, &r);
}

static uint64_t map_vec(const uint64_t *ranges, unsigned n)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map_vec_list(&m, ranges, n);
    return it_call(g_ep, &m, 0, &r);
}

static uint64_t unmap(uint64_t iova, uint64_t size)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_unmap(&m, iova, size);
    return it_call(g_ep, &m, 0, &r);
}

/* n rounds of map + unmap of frame f (NULL: 4 KiB of the pool) at IOVA; false (with a FAIL
 * line) on any error. */
static bool map_unmap_rounds(const char *name, const struct it_frame *f, unsigned warm, unsigned n)
{
    uint64_t size = f != NULL ? f->size : 4096u;
    for (unsigned i = 0; i < warm + n; i++) {
        uint64_t t0 = task_rdtsc();
        uint64_t e1 = f != NULL ? map(IOVA, f, size) : map_pool(IOVA, 4096u, size);
        uint64_t e2 = unmap(IOVA, size);
        uint64_t t1 = task_rdtsc();
        if (e1 != IOMMU_OK || e2 != IOMMU_OK) {
            kt_result(name, false, "(round %u: map %s, unmap %s)", i, iommu_errname((unsigned)e1),
                      iommu_errname((unsigned)e2));
            return false;
        }
        if (i >= warm) {
            g_samples[i - warm] = t1 - t0;
        }
    }
    it_bench_report(name, g_samples, n);
    return true;
}

#define VEC_IOVA 0x10000000ull
#define VEC_N 64u

/*
 * map_vec (pool memory): 64 scattered 4 KiB pages in one request (IOVAs 8 KiB apart, pool pages
 * in reverse order) and one unmap of their span; one 2 MiB range, 2 MiB aligned in IOVA and
 * memory (a superpage); and a strict unmap of 256 pool pages (mapped by four map_vec requests)
 * in one request, whose cost per page has no capability delete in it.
 */
static bool vec_rounds(const task_cap_t *pool, unsigned n)
{
    static uint64_t both[MAX_ITERS];
    uint64_t ranges[VEC_N];
    if (pool->size < (2ull << 20)) {
        return kt_result("bench_map_vec_pool_large_enough", false, "(%llu bytes)",
                         (unsigned long long)pool->size);
    }
    for (unsigned i = 0; i < VEC_N; i++) {
        ranges[i] = IOMMU_VEC_RANGE(VEC_IOVA + i * 0x2000ull, g_pool_grant,
                                    IOMMU_READ | IOMMU_WRITE, (VEC_N - 1 - i) * 0x1000ull, 4096);
    }
    for (unsigned i = 0; i < 10 + n; i++) {
        uint64_t t0 = task_rdtsc();
        uint64_t e1 = map_vec(ranges, VEC_N);
        uint64_t t1 = task_rdtsc();
        uint64_t e2 = unmap(VEC_IOVA, VEC_N * 0x2000ull);
        uint64_t t2 = task_rdtsc();
        if (e1 != IOMMU_OK || e2 != IOMMU_OK) {
            return kt_result("iommu_map_vec_64x4k_pool", false, "(round %u: %s, %s)", i,
                             iommu_errname((unsigned)e1), iommu_errname((unsigned)e2));
        }
        if (i >= 10) {
            g_samples[i - 10] = t1 - t0;
            both[i - 10] = t2 - t0;
        }
    }
    it_bench_report("iommu_map_vec_64x4k_pool", g_samples, n);
    it_bench_report("iommu_map_vec_unmap_64x4k_pool", both, n);

    /* 2 MiB: the first 2 MiB-aligned offset of the pool */
    uint64_t off = (0x200000ull - (pool->paddr & 0x1fffffull)) & 0x1fffffull;
    uint64_t r2m =
        IOMMU_VEC_RANGE(0x40000000ull, g_pool_grant, IOMMU_READ | IOMMU_WRITE, off, 2ull << 20);
    unsigned n2 = n / 4;
    for (unsigned i = 0; i < 10 + n2; i++) {
        uint64_t t0 = task_rdtsc();
        uint64_t e1 = map_vec(&r2m, 1);
        uint64_t e2 = unmap(0x40000000ull, 2ull << 20);
        uint64_t t1 = task_rdtsc();
        if (e1 != IOMMU_OK || e2 != IOMMU_OK) {
            return kt_result("iommu_map_vec_unmap_2m_pool", false, "(round %u: %s, %s)", i,
                             iommu_errname((unsigned)e1), iommu_errname((unsigned)e2));
        }
        if (i >= 10) {
            g_samples[i - 10] = t1 - t0;
        }
    }
    it_bench_report("iommu_map_vec_unmap_2m_pool", g_samples, n2);

    /* one unmap request over 256 separately mapped pool pages */
    unsigned rounds = n / 20 + 1;
    for (unsigned k = 0; k < rounds; k++) {
        for (unsigned q = 0; q < 4; q++) {
            for (unsigned i = 0; i < VEC_N; i++) {
                unsigned page = q * VEC_N + i;
                ranges[i] =
                    IOMMU_VEC_RANGE(VEC_IOVA + page * 0x2000ull, g_pool_grant,
                                    IOMMU_READ | IOMMU_WRITE, (page % 512) * 0x1000ull, 4096);
            }
            if (map_vec(ranges, VEC_N) != IOMMU_OK) {
                return kt_result("iommu_unmap_batch_256x4k_pool", false, "(map_vec refused)");
            }
        }
        uint64_t t0 = task_rdtsc();
        uint64_t e = unmap(VEC_IOVA, 4 * VEC_N * 0x2000ull);
        uint64_t t1 = task_rdtsc();
        if (e != IOMMU_OK) {
            return kt_result("iommu_unmap_batch_256x4k_pool", false, "(%s)",
                             iommu_errname((unsigned)e));
        }
        g_samples[k] = t1 - t0;
        both[k] = (t1 - t0) / (4 * VEC_N);
    }
    it_bench_report("iommu_unmap_batch_256x4k_pool", g_samples, rounds);
    it_bench_report("iommu_unmap_batch_256x4k_pool_per_page", both, rounds);
    return true;
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    g_ep = kt_cap("iommu", TASK_CAP_ENDPOINT);
    uint64_t iters = 1000, batches = 8;
    (void)task_cmdline_get_u64(si->cmdline, "iters", &iters);
    (void)task_cmdline_get_u64(si->cmdline, "batches", &batches);
    bool quick = task_cmdline_has(si->cmdline, "quick");
    if (quick) {
        iters = 20;
        batches = 2;
    }
    if (iters > MAX_ITERS) {
        iters = MAX_ITERS;
    }
    if (batches > MAX_ITERS) {
        batches = MAX_ITERS;
    }
    pci_sid_t sid = 0;
    struct it_frame small, large;
    bool ok = g_ep != 0 && it_config(si, &sid) != NULL && it_frame_new(12, &small) &&
              it_frame_new(21, &large);
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_attach(&m, sid);
    uint64_t e = ok ? it_call(g_ep, &m, 0, &r) : ~0ull;
    if (!kt_result("bench_client_attached_with_buffers", e == IOMMU_OK, "(%s)",
                   iommu_errname((unsigned)e))) {
        kt_finish();
    }

    /* Baseline: the cheapest call the server answers (a fault_read with nothing to read). */
    for (unsigned i = 0; i < 100 + iters; i++) {
        iommu_encode_fault_read(&m, 1);
        uint64_t t0 = task_rdtsc();
        (void)it_call(g_ep, &m, 0, &r);
        uint64_t t1 = task_rdtsc();
        if (i >= 100) {
            g_samples[i - 100] = t1 - t0;
        }
    }
    it_bench_report("iommu_null_call", g_samples, (unsigned)iters);

    bool all = map_unmap_rounds("iommu_map_unmap_4k", &small, 100, (unsigned)iters);
    /* The two halves of that round trip, measured apart. */
    static uint64_t unmap_samples[MAX_ITERS];
    for (unsigned i = 0; all && i < iters; i++) {
        uint64_t t0 = task_rdtsc();
        uint64_t e1 = map(IOVA, &small, 4096);
        uint64_t t1 = task_rdtsc();
        uint64_t e2 = unmap(IOVA, 4096);
        uint64_t t2 = task_rdtsc();
        all = e1 == IOMMU_OK && e2 == IOMMU_OK;
        g_samples[i] = t1 - t0;
        unmap_samples[i] = t2 - t1;
    }
    it_bench_report("iommu_map_4k", g_samples, (unsigned)iters);
    it_bench_report("iommu_unmap_4k", unmap_samples, (unsigned)iters);

    /* The pool path: the grant the root task made ("dma_pool"), mapped by (grant, offset). */
    const task_cap_t *pool = task_cap_find(si, "dma_pool");
    bool have_pool = pool != NULL && pool->kind == TASK_CAP_DMA_POOL && pool->size >= 8192u;
    if (have_pool) {
        g_pool_grant = pool->arg0;
    }
    all = all && kt_result("bench_pool_granted", have_pool, "(%s)",
                           have_pool ? "dma_pool" : "no dma_pool in the start information");
    if (all) {
        /* Declared errors, nothing mapped: past the grant's end, an index never granted. */
        uint64_t e_range = map_pool(IOVA, pool->size, 4096u);
        struct iommu_msg pm;
        iommu_encode_map_pool(&pm, IOVA, IOMMU_POOL_MEMORY(g_pool_grant + 5, IOMMU_READ), 0, 4096u);
        uint64_t e_bad = it_call(g_ep, &pm, 0, &r);
        all = kt_result("map_pool_refuses_range_and_ungranted_index",
                        e_range == IOMMU_ERR_RANGE && e_bad == IOMMU_ERR_BAD_MEMORY, "(%s, %s)",
                        iommu_errname((unsigned)e_range), iommu_errname((unsigned)e_bad));
    }
    all = all && map_unmap_rounds("iommu_map_unmap_4k_pool", NULL, 100, (unsigned)iters);
    for (unsigned i = 0; all && i < iters; i++) {
        uint64_t t0 = task_rdtsc();
        uint64_t e1 = map_pool(IOVA, 0, 4096);
        uint64_t t1 = task_rdtsc();
        uint64_t e2 = unmap(IOVA, 4096);
        uint64_t t2 = task_rdtsc();
        all = e1 == IOMMU_OK && e2 == IOMMU_OK;
        g_samples[i] = t1 - t0;
        unmap_samples[i] = t2 - t1;
    }
    if (all) {
        it_bench_report("iommu_map_4k_pool", g_samples, (unsigned)iters);
        it_bench_report("iommu_unmap_4k_pool", unmap_samples, (unsigned)iters);
    }
    all = all && map_unmap_rounds("iommu_map_unmap_2m", &large, 10, (unsigned)iters / 4);
    all = all && vec_rounds(pool, (unsigned)iters);

    /* 256 separate 4 KiB mappings, then one unmap request for all of them. */
    unsigned done = 0;
    for (unsigned b = 0; all && b < batches; b++) {
        for (unsigned i = 0; i < BATCH && all; i++) {
            all = map(IOVA + (uint64_t)i * 4096u, &small, 4096) == IOMMU_OK;
        }
        char line[64];
        snprintf(line, sizeof(line), "iommu_test: batch unmap %u start", b);
        task_log(line);
        uint64_t t0 = task_rdtsc();
        e = unmap(IOVA, (uint64_t)BATCH * 4096u);
        uint64_t t1 = task_rdtsc();
        snprintf(line, sizeof(line), "iommu_test: batch unmap %u end", b);
        task_log(line);
        all = all && e == IOMMU_OK;
        g_samples[done++] = t1 - t0;
    }
    it_bench_report("iommu_unmap_batch_256x4k", g_samples, done);
    kt_result("bench_map_unmap_paths_succeed", all, "(%llu rounds, %u batches of %u)",
              (unsigned long long)iters, done, BATCH);
    iommu_encode_detach(&m, IOMMU_HANDLE(sid, 1));
    kt_finish();
}
