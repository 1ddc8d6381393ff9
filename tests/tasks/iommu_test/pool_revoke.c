/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The target of the root task's pool revocation (init.revoke=pool, init/src/revoke.c): edu DMA
 * runs into part of this task's DMA pool (the root task's memory, mapped with map_pool by grant
 * index) when the root task takes the grant back with revoke_memory. Checked here: transfers land
 * until then and fault after (fault_read: edu's source-id, a write into the pool's IOVA range, the
 * reason); a transfer after the revoke leaves the pool untouched; the grant is refused from then
 * on (map_pool and map_vec: REVOKED) and its mappings are gone (unmap: NOT_MAPPED), while memory
 * of a frame capability still maps and moves data.
 *
 * Role `iommu_pool_revoke` (init/src/policy.c): edu's config page and BAR0, a client endpoint, a
 * 64 KiB pool ("dma_pool"), 1 MiB of its own memory, and the "ready" notification it signals when
 * the transfers run. The console lines "iommu_test: pool_revoke: ..." give a trace check the pool's
 * IOVA range and the client's domain (tests/qemu/iommu/pool_revoke_check.py).
 */
#include <stdio.h>
#include <string.h>

#include "iommu_test.h"

#define IOVA_SRC 0x100000ull /* a frame: the bytes edu copies into the pool */
#define IOVA_PROBE                                                                                 \
    0x200000ull                /* a frame mapped and unmapped once: names the domain in the trace  \
                                */
#define IOVA_POOL 0x300000ull  /* the pool's first POOL_MAPPED bytes */
#define IOVA_AFTER 0x400000ull /* a frame mapped after the revoke */
#define POOL_MAPPED 0x4000ull
#define LEN 512u
#define REVOKE_WAIT_US 20000000ull /* how long the root task's step may take to come */

static pc_cptr_t g_ep;
static uint64_t g_grant;
static pci_sid_t g_sid;

static uint64_t call(const struct iommu_msg *m, pc_cptr_t cap, struct iommu_reply *r)
{
    return it_call(g_ep, m, cap, r);
}

static uint64_t map_frame(uint64_t iova, const struct it_frame *f, unsigned rights)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map(&m, iova, IOMMU_MEM_CAP, 0, f->size, rights);
    return call(&m, f->cap, &r);
}

static uint64_t unmap(uint64_t iova, uint64_t size)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_unmap(&m, iova, size);
    return call(&m, 0, &r);
}

/* src (at IOVA_SRC) -> edu's buffer -> RAM at `iova`; dst is the CPU's view of that RAM, set to
 * 0x5e first. *ran: both transfers completed. True if the bytes arrived. */
static bool transfer(const struct it_frame *src, uint64_t iova, volatile uint8_t *dst, uint8_t seed,
                     bool *ran)
{
    it_fill(src->va, LEN, seed);
    memset((void *)dst, 0x5e, LEN);
    *ran = it_edu_dma(IOVA_SRC, 0, LEN, false) && it_edu_dma(iova, 0, LEN, true);
    return *ran && it_same(src->va, dst, LEN);
}

/* Every fault record waiting at the server; *hit = the last one that is edu writing into
 * [lo, hi) (hit->reason 0 if none). Returns the records read. */
static unsigned read_faults(uint64_t lo, uint64_t hi, struct iommu_fault_rec *hit)
{
    unsigned total = 0;
    for (;;) {
        struct iommu_msg m;
        struct iommu_reply r;
        iommu_encode_fault_read(&m, IOMMU_FAULTS_PER_REPLY);
        if (call(&m, 0, &r) != IOMMU_OK) {
            return total;
        }
        struct iommu_fault_read_rets fr;
        iommu_reply_fault_read(&r, &fr);
        for (unsigned i = 0; i < fr.count && 2 + 2 * i + 1 < r.len; i++) {
            struct iommu_fault_rec rec;
            iommu_fault_unpack(&r.w[2 + 2 * i], &rec);
            if (rec.sid == g_sid && rec.write && rec.addr >= lo && rec.addr < hi) {
                *hit = rec;
            }
        }
        total += (unsigned)fr.count;
        if (fr.count == 0) {
            return total;
        }
    }
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    g_ep = kt_cap("iommu", TASK_CAP_ENDPOINT);
    pc_cptr_t ready = kt_cap("ready", TASK_CAP_NOTIFICATION);
    const task_cap_t *pool = task_cap_find(si, "dma_pool");
    const struct pci_ecam *ecam = it_config(si, &g_sid);
    struct it_frame src, probe, after;
    bool ok = g_ep != 0 && ready != 0 && ecam != NULL && it_edu_init(si) && pool != NULL &&
              pool->kind == TASK_CAP_DMA_POOL && pool->vaddr != 0 && pool->size >= POOL_MAPPED &&
              it_frame_new(12, &src) && it_frame_new(12, &probe) && it_frame_new(12, &after);
    if (!kt_result("pool_client_has_device_pool_and_buffers", ok, "(edu at %02x:%02x.%x, pool %s)",
                   g_sid >> 8, (g_sid >> 3) & 0x1f, g_sid & 7,
                   pool != NULL ? "granted" : "missing")) {
        kt_finish();
    }
    g_grant = pool->arg0;
    volatile uint8_t *pool_va = (volatile uint8_t *)(uintptr_t)pool->vaddr;
    (void)pci_set_bus_master(ecam, g_sid, true);

    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_attach(&m, g_sid);
    uint64_t e_at = call(&m, 0, &r);
    struct iommu_attach_rets at;
    iommu_reply_attach(&r, &at);
    uint64_t e_src = map_frame(IOVA_SRC, &src, IOMMU_READ);
    iommu_encode_map_pool(&m, IOVA_POOL, IOMMU_POOL_MEMORY(g_grant, IOMMU_READ | IOMMU_WRITE), 0,
                          POOL_MAPPED);
    uint64_t e_pool = call(&m, 0, &r);
    if (!kt_result("pool_mapped_by_grant_index",
                   e_at == IOMMU_OK && e_src == IOMMU_OK && e_pool == IOMMU_OK,
                   "(attach %s, source frame %s, map_pool grant %llu: %s)",
                   iommu_errname((unsigned)e_at), iommu_errname((unsigned)e_src),
                   (unsigned long long)g_grant, iommu_errname((unsigned)e_pool))) {
        kt_finish();
    }
    /* One unmap of a frame names the client's domain in QEMU's trace (its IOTLB descriptor). */
    char line[160];
    snprintf(line, sizeof(line),
             "iommu_test: pool_revoke: domain probe at IOVA %#llx: map and unmap begin",
             (unsigned long long)IOVA_PROBE);
    task_log(line);
    uint64_t e_pm = map_frame(IOVA_PROBE, &probe, IOMMU_READ);
    uint64_t e_pu = unmap(IOVA_PROBE, 4096);
    task_log("iommu_test: pool_revoke: domain probe end");
    snprintf(line, sizeof(line),
             "iommu_test: pool_revoke: pool grant %llu at IOVA [%#llx, %#llx): transfers start",
             (unsigned long long)g_grant, (unsigned long long)IOVA_POOL,
             (unsigned long long)(IOVA_POOL + POOL_MAPPED));
    task_log(line);
    kt_result("probe_frame_mapped_and_unmapped", e_pm == IOMMU_OK && e_pu == IOMMU_OK, "(%s, %s)",
              iommu_errname((unsigned)e_pm), iommu_errname((unsigned)e_pu));

    /* Transfers into the pool, page after page, until one does not land: the root task took the
     * grant back (ready is signalled once every mapped page received one). */
    unsigned landed = 0, records = 0;
    bool ran = true, stopped = false;
    struct iommu_fault_rec hit;
    memset(&hit, 0, sizeof(hit));
    uint64_t until = task_rdtsc() + kt_us_to_tsc(REVOKE_WAIT_US);
    while (!stopped && task_rdtsc() < until) {
        uint64_t off = (uint64_t)(landed % (POOL_MAPPED / 4096u)) * 4096u;
        if (transfer(&src, IOVA_POOL + off, pool_va + off, (uint8_t)(landed + 1), &ran)) {
            if (++landed == POOL_MAPPED / 4096u) {
                pc_signal(ready);
            }
        } else {
            stopped = true;
        }
    }
    if (stopped) {
        (void)it_wait_fault(2000000);
        records += read_faults(IOVA_POOL, IOVA_POOL + POOL_MAPPED, &hit);
    }
    kt_result("pool_dma_lands_until_revoked_then_faults",
              landed >= POOL_MAPPED / 4096u && stopped && ran, "(%u transfers landed, then %s)",
              landed,
              !stopped ? "no revoke came"
              : ran    ? "one did not"
                       : "edu timed out");
    /* VT-d: a write through a second-level entry without write permission (not present after the
     * unmap) is fault reason 5. */
    kt_result("revoked_pool_fault_read_names_device_address_reason",
              hit.sid == g_sid && hit.reason == 5 && (hit.addr & 0xfffu) == 0,
              "(%u record(s); sid %04x addr %#llx reason %u write %u)", records, hit.sid,
              (unsigned long long)hit.addr, hit.reason, hit.write);

    /* After the revoke: the old IOVA leads nowhere, the pool stays as the CPU left it. */
    memset(&hit, 0, sizeof(hit));
    bool lands = transfer(&src, IOVA_POOL, pool_va, 0x77, &ran);
    (void)it_wait_fault(2000000);
    records = read_faults(IOVA_POOL, IOVA_POOL + 4096u, &hit);
    kt_result("revoked_pool_dma_lands_nowhere",
              ran && !lands && it_all_byte(pool_va, LEN, 0x5e) && hit.addr == IOVA_POOL &&
                  hit.reason == 5,
              "(transfer %s, pool %s, fault at %#llx reason %u, %u record(s))",
              ran ? "ran" : "timed out", it_all_byte(pool_va, LEN, 0x5e) ? "untouched" : "WRITTEN",
              (unsigned long long)hit.addr, hit.reason, records);

    /* The grant is refused from now on, by every path that names it. */
    iommu_encode_map_pool(&m, IOVA_POOL, IOMMU_POOL_MEMORY(g_grant, IOMMU_READ | IOMMU_WRITE), 0,
                          4096);
    uint64_t e_again = call(&m, 0, &r);
    iommu_encode_map_pool(&m, 0x600000ull, IOMMU_POOL_MEMORY(g_grant, IOMMU_READ), 0x8000, 4096);
    uint64_t e_other = call(&m, 0, &r);
    uint64_t range = IOMMU_VEC_RANGE(0x700000ull, g_grant, IOMMU_READ, 0, 4096);
    iommu_encode_map_vec_list(&m, &range, 1);
    uint64_t e_vec = call(&m, 0, &r);
    kt_result("map_pool_naming_revoked_grant_refused",
              e_again == IOMMU_ERR_REVOKED && e_other == IOMMU_ERR_REVOKED &&
                  e_vec == IOMMU_ERR_REVOKED,
              "(same range %s, unmapped part %s, map_vec %s)", iommu_errname((unsigned)e_again),
              iommu_errname((unsigned)e_other), iommu_errname((unsigned)e_vec));

    /* Its mappings went with it: nothing left to unmap at the old IOVAs. */
    uint64_t e_un = unmap(IOVA_POOL, POOL_MAPPED);
    kt_result("revoked_pool_mappings_gone", e_un == IOMMU_ERR_NOT_MAPPED, "(unmap: %s)",
              iommu_errname((unsigned)e_un));

    /* Memory of a frame capability is not touched by the pool's revoke. */
    uint64_t e_after = map_frame(IOVA_AFTER, &after, IOMMU_READ | IOMMU_WRITE);
    bool moved = e_after == IOMMU_OK && transfer(&src, IOVA_AFTER, after.va, 0x42, &ran);
    kt_result("frame_memory_still_maps_and_moves_data", moved, "(map %s, transfer %s)",
              iommu_errname((unsigned)e_after), moved ? "landed" : "did not land");

    uint64_t e_all = unmap(0, 0x800000ull);
    iommu_encode_detach(&m, at.handle);
    uint64_t e_det = call(&m, 0, &r);
    kt_result("unmap_all_and_detach", e_all == IOMMU_OK && e_det == IOMMU_OK, "(%s, %s)",
              iommu_errname((unsigned)e_all), iommu_errname((unsigned)e_det));
    kt_finish();
}
