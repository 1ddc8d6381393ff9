/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The invalidation queue's memory as submission (qi.c) and error recovery (qi_error.c) both see
 * it: descriptor slots, the head register, circular windows, the status words the waits write,
 * and the unit's list of batches in flight. Inline only; calls nothing above internal.h.
 */
#ifndef VTD_QI_RING_H
#define VTD_QI_RING_H

#include "internal.h"

#define VTD_QI_SCRATCH_SLOT (VTD_STATUS_SLOTS + 4) /* target of neutralised descriptors */

_Static_assert((VTD_QI_SCRATCH_SLOT + 1) * 4 <= VTD_PAGE_SIZE, "status words fit one page");

static inline volatile uint32_t *vtd_qi_status_word(const struct vtd_unit *u, uint32_t slot)
{
    return (volatile uint32_t *)u->status_va + slot;
}

static inline uint64_t *vtd_qi_slot(const struct vtd_unit *u, uint32_t idx)
{
    return (uint64_t *)((char *)u->iq_va + ((size_t)idx << u->iq_shift));
}

static inline void vtd_qi_write(const struct vtd_unit *u, uint32_t idx, const struct vtd_desc *d)
{
    uint64_t *s = vtd_qi_slot(u, idx);
    s[0] = d->qw[0];
    s[1] = d->qw[1];
    if (u->iq_shift == 5) {
        s[2] = d->qw[2];
        s[3] = d->qw[3];
    }
}

/* IQH as a slot index (an MMIO read). */
static inline uint32_t vtd_qi_head(const struct vtd_unit *u)
{
    return (uint32_t)((rd64(u, VTD_IQH_REG) & VTD_IQ_QH_MASK) >> u->iq_shift) & (u->iq_entries - 1);
}

/* idx in the circular window [from, to)? */
static inline bool vtd_qi_in_window(const struct vtd_unit *u, uint32_t idx, uint32_t from,
                                    uint32_t to)
{
    uint32_t m = u->iq_entries - 1;
    return ((idx - from) & m) < ((to - from) & m);
}

/* Has the batch's own wait written its sequence number? */
static inline bool vtd_qi_batch_complete(const struct vtd_batch *b)
{
    return __atomic_load_n(vtd_qi_status_word(b->unit, b->slot), __ATOMIC_ACQUIRE) == b->seq;
}

/* A wait that writes only the scratch word: what a descriptor is neutralised into. */
static inline struct vtd_desc vtd_qi_scratch_wait(const struct vtd_unit *u)
{
    return vtd_desc_wait_status(u->status_pa + 4ull * VTD_QI_SCRATCH_SLOT, 0, false, false);
}

static inline void vtd_qi_inflight_remove(struct vtd_unit *u, struct vtd_batch *b)
{
    unsigned w = 0;
    for (unsigned r = 0; r < u->n_inflight; r++) {
        if (u->inflight[r] != b) {
            u->inflight[w++] = u->inflight[r];
        }
    }
    u->n_inflight = w;
}

/* The batch leaves the queue's books with result e. */
static inline void vtd_qi_finish(struct vtd_batch *b, enum vtd_err e)
{
    vtd_qi_inflight_remove(b->unit, b);
    b->state = VTD_BATCH_DONE;
    b->result = e;
}

#endif /* VTD_QI_RING_H */
