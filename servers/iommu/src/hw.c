/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * struct vtd_hw on the real machine: libvtd reaches a remapping unit only through these
 * callbacks. Registers are the DRHD's uncached register frames the root task mapped for us;
 * table, queue and status pages come from a pool of 2 MiB frames retyped from the server's own
 * untyped memory and mapped into its own address space, so every page has a known physical
 * address (Frame_GetAddress once per large frame) and a CPU address; time is the TSC scaled
 * with the rate from the start information; a polling loop relaxes with `pause`.
 */
#include <string.h>

#include <portcullis/portcullis.h>
#include <task/task.h>

#include "iommu_srv.h"

/* ---- registers ---------------------------------------------------------------------------- */

static uint32_t reg_read32(void *ctx, uint32_t off)
{
    const struct srv_unit_regs *r = ctx;
    return *(volatile uint32_t *)(r->base + off);
}

static uint64_t reg_read64(void *ctx, uint32_t off)
{
    const struct srv_unit_regs *r = ctx;
    return *(volatile uint64_t *)(r->base + off);
}

static void reg_write32(void *ctx, uint32_t off, uint32_t val)
{
    const struct srv_unit_regs *r = ctx;
    *(volatile uint32_t *)(r->base + off) = val;
}

static void reg_write64(void *ctx, uint32_t off, uint64_t val)
{
    const struct srv_unit_regs *r = ctx;
    *(volatile uint64_t *)(r->base + off) = val;
}

/* ---- page pool ---------------------------------------------------------------------------- */

/* The pool: up to SRV_POOL_FRAMES large frames, handed out page by page; freed pages are kept
 * on a free stack of physical page numbers (no allocation after start-up). */
static struct {
    unsigned n_frames;
    uint64_t frame_pa[SRV_POOL_FRAMES];
    uint64_t frame_va[SRV_POOL_FRAMES];
    unsigned next_fresh; /* pages never handed out start here (pool-wide page index) */
    unsigned n_free;
    uint32_t free_idx[SRV_POOL_FRAMES * SRV_PAGES_PER_FRAME];
    unsigned in_use, high_water;
} g_pool;

static void *page_va(unsigned idx)
{
    return (void *)(uintptr_t)(g_pool.frame_va[idx / SRV_PAGES_PER_FRAME] +
                               (uint64_t)(idx % SRV_PAGES_PER_FRAME) * 4096u);
}

static uint64_t page_pa(unsigned idx)
{
    return g_pool.frame_pa[idx / SRV_PAGES_PER_FRAME] +
           (uint64_t)(idx % SRV_PAGES_PER_FRAME) * 4096u;
}

/* Pool page index of a physical address, or -1 if it is not a pool page. */
static int page_index(uint64_t pa)
{
    if ((pa & 0xfffu) != 0) {
        return -1;
    }
    for (unsigned f = 0; f < g_pool.n_frames; f++) {
        if (pa >= g_pool.frame_pa[f] && pa - g_pool.frame_pa[f] < SRV_LARGE_PAGE) {
            return (int)(f * SRV_PAGES_PER_FRAME + (pa - g_pool.frame_pa[f]) / 4096u);
        }
    }
    return -1;
}

/* One string instruction: the page-table page a map may need costs little to clear. */
static void zero_page(void *va)
{
    void *d = va;
    uint64_t n = 4096 / 8;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

static void *pool_alloc(void *ctx, uint64_t *pa)
{
    (void)ctx;
    unsigned idx;
    if (g_pool.n_free > 0) {
        idx = g_pool.free_idx[--g_pool.n_free];
    } else if (g_pool.next_fresh < g_pool.n_frames * SRV_PAGES_PER_FRAME) {
        idx = g_pool.next_fresh++;
    } else {
        return NULL;
    }
    void *va = page_va(idx);
    zero_page(va);
    *pa = page_pa(idx);
    if (++g_pool.in_use > g_pool.high_water) {
        g_pool.high_water = g_pool.in_use;
    }
    return va;
}

static void pool_free(void *ctx, void *va, uint64_t pa)
{
    (void)ctx;
    (void)va;
    int idx = page_index(pa);
    /* A page that is not ours is a libvtd bug; keeping it out of the pool is the safe answer. */
    if (idx < 0 || g_pool.n_free >= SRV_POOL_FRAMES * SRV_PAGES_PER_FRAME) {
        return;
    }
    g_pool.free_idx[g_pool.n_free++] = (uint32_t)idx;
    g_pool.in_use--;
}

static void *pool_phys_to_virt(void *ctx, uint64_t pa)
{
    (void)ctx;
    /* Straight from the frame holding pa (each frame is mapped contiguously): every table
     * walk of a map or unmap asks, so no page-index round trip with its divisions. */
    for (unsigned f = 0; f < g_pool.n_frames; f++) {
        if (pa >= g_pool.frame_pa[f] && pa - g_pool.frame_pa[f] < SRV_LARGE_PAGE) {
            return (uint8_t *)(uintptr_t)g_pool.frame_va[f] + (pa - g_pool.frame_pa[f]);
        }
    }
    return NULL;
}

static void flush_cache(void *ctx, const void *va, size_t len)
{
    (void)ctx;
    uintptr_t p = (uintptr_t)va & ~(uintptr_t)63;
    uintptr_t end = (uintptr_t)va + len;
    __asm__ volatile("mfence" ::: "memory");
    for (; p < end; p += 64) {
        __asm__ volatile("clflush (%0)" ::"r"(p) : "memory");
    }
    __asm__ volatile("mfence" ::: "memory");
}

/* ---- time --------------------------------------------------------------------------------- */

static uint64_t g_tsc_hz;

uint64_t srv_now_ns(void)
{
    uint64_t t = task_rdtsc();
    uint64_t hz = g_tsc_hz;
    /* split so neither product overflows for any TSC value and rate up to 18 GHz */
    return (t / hz) * 1000000000ull + (t % hz) * 1000000000ull / hz;
}

static uint64_t hw_now_ns(void *ctx)
{
    (void)ctx;
    return srv_now_ns();
}

static void hw_relax(void *ctx)
{
    (void)ctx;
    __asm__ volatile("pause");
}

void srv_hw_init(struct vtd_hw *hw, struct srv_unit_regs *regs)
{
    memset(hw, 0, sizeof(*hw));
    hw->ctx = regs;
    hw->read32 = reg_read32;
    hw->read64 = reg_read64;
    hw->write32 = reg_write32;
    hw->write64 = reg_write64;
    hw->alloc_page = pool_alloc;
    hw->free_page = pool_free;
    hw->phys_to_virt = pool_phys_to_virt;
    hw->flush_cache = flush_cache;
    hw->now_ns = hw_now_ns;
    hw->relax = hw_relax;
}

/* ---- building the pool from our untyped --------------------------------------------------- */

/* Map `frame` at vaddr, retyping the paging structures the kernel reports missing. */
static pc_word_t map_frame(struct srv_caps *caps, pc_cptr_t frame, uint64_t vaddr)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        pc_word_t a[3] = {vaddr, PC_VM_READ | PC_VM_WRITE, 0};
        pc_word_t missing = 0;
        pc_word_t err = pc_invoke(frame, PC_FRAME_MAP, 3, a, 1, &caps->vspace, &missing, 1);
        if (err != PC_ERR_FAILED_LOOKUP) {
            return err;
        }
        if (missing != PC_OBJ_PDPT && missing != PC_OBJ_PD && missing != PC_OBJ_PT) {
            return err;
        }
        pc_cptr_t table = srv_slot_alloc();
        if (table == 0) {
            return PC_ERR_RANGE;
        }
        err = pc_untyped_retype(caps->untyped, (unsigned)missing, 0, PC_NULL_CPTR, table, 1);
        if (err == PC_OK) {
            err = pc_page_table_map(table, caps->vspace, vaddr);
        }
        if (err != PC_OK) {
            return err;
        }
    }
    return PC_ERR_FAILED_LOOKUP;
}

pc_word_t srv_pool_init(struct srv_caps *caps, uint64_t tsc_hz, uint64_t untyped_bytes)
{
    g_tsc_hz = tsc_hz ? tsc_hz : 1000000000ull;
    memset(&g_pool, 0, sizeof(g_pool));
    /*
     * The paging structures for the pool's window come first (two 4 KiB objects at the start
     * of the untyped), then as many 2 MiB frames as fit after them at 2 MiB alignment.
     */
    uint64_t want = untyped_bytes / SRV_LARGE_PAGE;
    if (want > 0) {
        want--; /* the first 2 MiB holds the paging structures */
    }
    if (want > SRV_POOL_FRAMES) {
        want = SRV_POOL_FRAMES;
    }
    pc_word_t err = PC_OK;
    for (unsigned f = 0; f < want; f++) {
        pc_cptr_t frame = srv_slot_alloc();
        if (frame == 0) {
            return PC_ERR_RANGE;
        }
        uint64_t va = SRV_POOL_VADDR + (uint64_t)f * SRV_LARGE_PAGE;
        if (f == 0) {
            /* Fault in the paging structures with a throw-away 4 KiB probe: a 2 MiB frame
             * retyped first would push them past the untyped's end. */
            pc_cptr_t probe = srv_slot_alloc();
            if (probe == 0) {
                return PC_ERR_RANGE;
            }
            err = pc_untyped_retype(caps->untyped, PC_OBJ_FRAME_4K, 0, PC_NULL_CPTR, probe, 1);
            if (err == PC_OK) {
                err = map_frame(caps, probe, va);
            }
            if (err == PC_OK) {
                err = pc_frame_unmap(probe);
            }
            if (err != PC_OK) {
                return err;
            }
            /* The probe's page table keeps the first 2 MiB window: frames go after it. */
        }
        va += SRV_LARGE_PAGE;
        err = pc_untyped_retype(caps->untyped, PC_OBJ_FRAME_2M, 0, PC_NULL_CPTR, frame, 1);
        if (err != PC_OK) {
            break; /* the untyped is full: use what we have */
        }
        err = map_frame(caps, frame, va);
        uint64_t pa = 0;
        if (err == PC_OK) {
            err = pc_frame_get_address(frame, &pa);
        }
        if (err != PC_OK) {
            return err;
        }
        g_pool.frame_pa[g_pool.n_frames] = pa;
        g_pool.frame_va[g_pool.n_frames] = va;
        g_pool.n_frames++;
    }
    return g_pool.n_frames > 0 ? PC_OK : PC_ERR_NOT_ENOUGH_MEMORY;
}

void srv_pool_stats(unsigned *in_use, unsigned *high_water, unsigned *total)
{
    *in_use = g_pool.in_use;
    *high_water = g_pool.high_water;
    *total = g_pool.n_frames * SRV_PAGES_PER_FRAME;
}
