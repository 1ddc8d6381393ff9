/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How libvtd reaches the outside world. libvtd never dereferences a register address or calls an
 * allocator itself: everything goes through one struct vtd_hw per remapping unit. The IOMMU
 * server implements it over the DMAR register frame, frames from its memory pool and the TSC;
 * the host model (tests/model/vtd) implements it over a simulated unit and simulated physical
 * memory with a virtual clock. The same library code therefore runs on QEMU and in host tests.
 */
#ifndef VTD_HW_H
#define VTD_HW_H

#include <stddef.h>
#include <stdint.h>

struct vtd_hw {
    void *ctx;

    /* Register access at byte offset `off` of the unit's register page(s). */
    uint32_t (*read32)(void *ctx, uint32_t off);
    uint64_t (*read64)(void *ctx, uint32_t off);
    void (*write32)(void *ctx, uint32_t off, uint32_t val);
    void (*write64)(void *ctx, uint32_t off, uint64_t val);

    /*
     * Physical memory for tables, queues and status words. alloc_page returns a zeroed,
     * 4 KiB-aligned page and its physical address, or NULL when the pool is exhausted (callers
     * report VTD_ERR_NOMEM; they never assume success).
     */
    void *(*alloc_page)(void *ctx, uint64_t *pa);
    void (*free_page)(void *ctx, void *va, uint64_t pa);
    /* CPU pointer for a physical address of a page this unit allocated. */
    void *(*phys_to_virt)(void *ctx, uint64_t pa);
    /* Write back CPU cache lines covering [va, va + len); called only when ECAP.C = 0. */
    void (*flush_cache)(void *ctx, const void *va, size_t len);

    /* Monotonic time in nanoseconds, for deadlines. */
    uint64_t (*now_ns)(void *ctx);
    /*
     * Called once per iteration of every polling loop. Hardware: a pause instruction. Model:
     * lets the simulated unit make progress (execute queued descriptors, advance its clock).
     */
    void (*relax)(void *ctx);
};

#endif /* VTD_HW_H */
