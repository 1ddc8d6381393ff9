/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The bottom layer every libvtd source stands on: register access through struct vtd_hw,
 * deadlines for bounded waits, cache write-back for non-coherent units, and the single-copy
 * atomic stores the walker relies on. Inline only; it calls no other libvtd file.
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

#endif /* VTD_INTERNAL_H */
