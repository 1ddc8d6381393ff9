/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers shared by the libvtd sources: register access through struct vtd_hw, bounded waits,
 * cache write-back for non-coherent units, and the queue engine's internal entry points used
 * by the table code.
 */
#ifndef VTD_INTERNAL_H
#define VTD_INTERNAL_H

#include <vtd/vtd.h>

static inline uint32_t rd32(const struct vtd_unit *u, uint32_t off)
{
    return u->hw->read32(u->hw->ctx, off);
}
static inline uint64_t rd64(const struct vtd_unit *u, uint32_t off)
{
    return u->hw->read64(u->hw->ctx, off);
}
static inline void wr32(const struct vtd_unit *u, uint32_t off, uint32_t v)
{
    u->hw->write32(u->hw->ctx, off, v);
}
static inline void wr64(const struct vtd_unit *u, uint32_t off, uint64_t v)
{
    u->hw->write64(u->hw->ctx, off, v);
}
static inline uint64_t now_ns(const struct vtd_unit *u)
{
    return u->hw->now_ns(u->hw->ctx);
}
static inline void relax(const struct vtd_unit *u)
{
    u->hw->relax(u->hw->ctx);
}
static inline bool deadline_passed(const struct vtd_unit *u, uint64_t deadline)
{
    return now_ns(u) >= deadline;
}
static inline uint64_t deadline_after(const struct vtd_unit *u, uint64_t timeout_ns)
{
    uint64_t t = now_ns(u);
    uint64_t to = timeout_ns ? timeout_ns : u->cfg.timeout_ns;
    return t + to < t ? UINT64_MAX : t + to;
}
/* Make CPU writes to [va, va+len) visible to a non-coherent page walker. */
static inline void flush(const struct vtd_unit *u, const void *va, size_t len)
{
    if (!u->f.coherent) {
        u->hw->flush_cache(u->hw->ctx, va, len);
    }
}
/* A single 64-bit store the walker sees atomically. */
static inline void store64(volatile uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static inline uint64_t load64(const volatile uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

void *vtd_alloc_table(struct vtd_unit *u, uint64_t *pa);
/* `pages` physically and virtually contiguous pages (queues); VTD_ERR_NOMEM when the pool is
   empty, VTD_ERR_UNSUPPORTED when the accessor cannot give a contiguous run. */
enum vtd_err vtd_alloc_contiguous(struct vtd_unit *u, unsigned pages, void **va, uint64_t *pa);
void vtd_free_contiguous(struct vtd_unit *u, unsigned pages, void *va, uint64_t pa);
/* GCMD handshakes (unit.c): a one-shot command waiting for sts_bit set, or a persistent bit
   set/cleared in the unit's GCMD copy waiting for its GSTS twin; both bounded by the unit timeout.
 */
enum vtd_err vtd_gcmd_one_shot(struct vtd_unit *u, uint32_t cmd_bit, uint32_t sts_bit);
enum vtd_err vtd_gcmd_set(struct vtd_unit *u, uint32_t bit, bool on);
/* Pages of an interrupt remapping table of 2^order entries (ir.c). */
unsigned vtd_irt_pages(unsigned order);

#endif /* VTD_INTERNAL_H */
