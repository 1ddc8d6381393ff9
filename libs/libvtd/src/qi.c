/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The queued-invalidation ring (VT-d 6.5.2): enabling it, submitting batches, and completion by
 * polling or by the completion interrupt, every wait bounded by the batch's deadline.
 *
 * Every submission ends in one wait descriptor that writes a fresh sequence number into a
 * status word no other in-flight batch uses, so a late status write from an abandoned wait can
 * never be taken for a newer completion (the confusion that made Xen drop its timeouts,
 * XSA-373). Device-TLB operations are checked against the fenced set when their descriptor is
 * written, never earlier, so a fence that arrives between building and submitting a batch still
 * keeps the descriptor off the queue. Queue errors are handed to qi_error.c; the batches an ITE
 * aborted come back here to be resubmitted, at most a few times with fewer device-TLB
 * operations each time.
 */
#include "batch.h"
#include "gcmd.h"
#include "mem.h"
#include "qi_desc.h"
#include "qi_error.h"
#include "qi_ring.h"

enum vtd_err vtd_unit_enable_qi(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->f.qi) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (u->qi_on) {
        return VTD_OK;
    }
    if (rd32(u, VTD_GSTS_REG) & VTD_GSTS_QIES) {
        /* Left on by firmware with a queue we do not own: turn it off first (bounded). */
        enum vtd_err e = vtd_gcmd_set(u, VTD_GCMD_QIE, false);
        if (e != VTD_OK) {
            return e;
        }
    }
    unsigned pages = 1u << u->cfg.qi_order;
    if (!u->iq_va) {
        void *va0;
        uint64_t pa0;
        enum vtd_err e = vtd_alloc_contiguous(u, pages, &va0, &pa0);
        if (e != VTD_OK) {
            return e;
        }
        u->status_va = vtd_alloc_table(u, &u->status_pa);
        if (!u->status_va) {
            vtd_free_contiguous(u, pages, va0, pa0);
            return VTD_ERR_NOMEM;
        }
        u->iq_va = va0;
        u->iq_pa = pa0;
    }
    u->iq_shift = u->cfg.qi_256 ? 5 : 4;
    u->iq_entries = (uint32_t)(pages * VTD_PAGE_SIZE) >> u->iq_shift;
    u->iq_tail = 0;
    u->iq_head_seen = 0;
    u->n_inflight = 0;
    wr64(u, VTD_IQT_REG, 0);
    wr64(u, VTD_IQA_REG, u->iq_pa | (u->cfg.qi_256 ? VTD_IQA_DW : 0) | VTD_IQA_QS(u->cfg.qi_order));
    enum vtd_err e = vtd_gcmd_set(u, VTD_GCMD_QIE, true);
    if (e == VTD_OK) {
        u->qi_on = true;
    }
    return e;
}

enum vtd_err vtd_unit_disable_qi(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->qi_on) {
        return VTD_OK;
    }
    if (u->ir_on) {
        return VTD_ERR_STATE; /* the interrupt entry cache can only be invalidated by the queue */
    }
    /* VT-d 6.5.2: let the hardware consume what is queued before turning the queue off. */
    uint64_t deadline = deadline_after(u, 0);
    while ((rd64(u, VTD_IQH_REG) & VTD_IQ_QH_MASK) != (rd64(u, VTD_IQT_REG) & VTD_IQ_QH_MASK)) {
        if (rd32(u, VTD_FSTS_REG) & (VTD_FSTS_IQE | VTD_FSTS_ITE)) {
            break; /* the queue is stopped on an error; disabling is how we recover */
        }
        if (deadline_passed(u, deadline)) {
            u->stats.timeouts++;
            return VTD_ERR_TIMEOUT;
        }
        relax(u);
    }
    enum vtd_err e = vtd_gcmd_set(u, VTD_GCMD_QIE, false);
    if (e == VTD_OK) {
        u->qi_on = false;
        u->n_inflight = 0;
    }
    return e;
}

static bool slot_in_use(const struct vtd_unit *u, uint32_t slot)
{
    for (unsigned i = 0; i < u->n_inflight; i++) {
        if (u->inflight[i]->slot == slot) {
            return true;
        }
    }
    return false;
}

static void finish_completed(struct vtd_batch *b)
{
    enum vtd_err e = VTD_OK;
    if (b->iqe) {
        e = VTD_ERR_IQE;
    } else if (b->n_failed) {
        e = b->ice ? VTD_ERR_ICE : VTD_ERR_ITE;
    }
    vtd_qi_finish(b, e);
}

/*
 * Write the batch's descriptors and its wait at the tail and publish them with one IQT write.
 * Device-TLB operations for fenced or failed source-ids are dropped here; the last permitted
 * attempt drops (and reports) every device-TLB operation, so it cannot time out again.
 */
static enum vtd_err emit(struct vtd_batch *b)
{
    struct vtd_unit *u = b->unit;
    /* Each time-out removes at least one device; the last attempt sends no device-TLB work. */
    bool last_resort = b->attempts + 1u >= VTD_QI_MAX_ATTEMPTS;
    uint32_t count = 0;
    for (unsigned i = 0; i < b->n; i++) {
        struct vtd_op *op = &b->ops[i];
        op->flags &= (uint8_t)~VTD_OPF_DROPPED;
        if (vtd_op_is_devtlb(op->kind)) {
            if (vtd_unit_is_fenced(u, op->sid)) {
                if (b->attempts == 0) {
                    b->n_skipped++;
                    u->stats.devtlb_skipped_fenced++;
                }
                op->flags |= VTD_OPF_DROPPED;
                continue;
            }
            if (vtd_batch_failed_has(b, op->sid) || last_resort) {
                vtd_batch_failed_add(b, op->sid);
                op->flags |= VTD_OPF_DROPPED;
                continue;
            }
        }
        count++;
    }
    uint32_t need = count + 1 + (b->irq ? 1 : 0) + (b->drain ? 1 : 0);
    /*
     * Room from the head as last read: the hardware head only moves forward towards the tail,
     * so that is a lower bound of the real room and IQH (an MMIO read) is read again only when
     * the bound is not enough.
     */
    uint32_t used = (u->iq_tail - u->iq_head_seen) & (u->iq_entries - 1);
    if (need > u->iq_entries - 1 - used) {
        u->iq_head_seen = vtd_qi_head(u);
        used = (u->iq_tail - u->iq_head_seen) & (u->iq_entries - 1);
        if (need > u->iq_entries - 1 - used) {
            return VTD_ERR_FULL;
        }
    }
    if (u->n_inflight == VTD_MAX_INFLIGHT) {
        return VTD_ERR_FULL;
    }
    uint32_t seq, slot;
    do {
        seq = ++u->seq;
        if (seq == 0) {
            seq = ++u->seq; /* 0 is what a fresh status word holds */
        }
        slot = seq % VTD_STATUS_SLOTS;
    } while (slot_in_use(u, slot));
    *vtd_qi_status_word(u, slot) = 0;

    uint32_t m = u->iq_entries - 1;
    uint32_t t = u->iq_tail;
    b->first_index = t;
    if (b->drain) {
        /* VT-d 7.10: a fenced wait first, so the invalidations below start after everything
         * queued before has completed. */
        struct vtd_desc f =
            vtd_desc_wait_status(u->status_pa + 4ull * VTD_QI_SCRATCH_SLOT, 0, true, false);
        vtd_qi_write(u, t, &f);
        t = (t + 1) & m;
    }
    for (unsigned i = 0; i < b->n; i++) {
        if (b->ops[i].flags & VTD_OPF_DROPPED) {
            continue;
        }
        struct vtd_desc d = vtd_op_encode(u, &b->ops[i]);
        vtd_qi_write(u, t, &d);
        t = (t + 1) & m;
    }
    struct vtd_desc w = vtd_desc_wait_status(u->status_pa + 4ull * slot, seq, b->drain, b->drain);
    b->wait_index = t;
    vtd_qi_write(u, t, &w);
    t = (t + 1) & m;
    if (b->irq) {
        /* A separate wait for the interrupt: never SW and IF in one descriptor. */
        struct vtd_desc wi = vtd_desc_wait_irq();
        vtd_qi_write(u, t, &wi);
        t = (t + 1) & m;
    }
    b->end_index = t;
    b->seq = seq;
    b->slot = slot;
    b->descs = need;
    b->attempts++;
    b->state = VTD_BATCH_INFLIGHT;
    u->inflight[u->n_inflight++] = b;
    u->iq_tail = t;
    __atomic_thread_fence(__ATOMIC_RELEASE); /* descriptors before the tail that exposes them */
    wr64(u, VTD_IQT_REG, (uint64_t)t << u->iq_shift);
    u->stats.submissions++;
    u->stats.tail_writes++;
    u->stats.descriptors += need;
    u->stats.waits += 1 + (b->irq ? 1 : 0) + (b->drain ? 1 : 0);
    return VTD_OK;
}

static unsigned progress(struct vtd_unit *u)
{
    uint32_t fsts = rd32(u, VTD_FSTS_REG);
    if (fsts & VTD_FSTS_IQE) {
        vtd_qi_handle_iqe(u);
    }
    if (fsts & VTD_FSTS_ICE) {
        vtd_qi_handle_ice(u);
    }
    if (fsts & VTD_FSTS_ITE) {
        struct vtd_batch *again[VTD_MAX_INFLIGHT];
        unsigned n = vtd_qi_handle_ite(u, again);
        for (unsigned i = 0; i < n; i++) {
            u->stats.resubmits++;
            enum vtd_err e = emit(again[i]);
            if (e != VTD_OK) {
                again[i]->state = VTD_BATCH_DONE;
                again[i]->result = e;
            }
        }
    }
    unsigned done = 0;
    for (unsigned i = 0; i < u->n_inflight;) {
        struct vtd_batch *b = u->inflight[i];
        if (vtd_qi_batch_complete(b)) {
            finish_completed(b); /* removes it: do not advance i */
            done++;
        } else {
            i++;
        }
    }
    return done;
}

static enum vtd_err start(struct vtd_batch *b, uint64_t timeout_ns, bool irq)
{
    struct vtd_unit *u = b->unit;
    if (b->state != VTD_BATCH_OPEN) {
        return VTD_ERR_STATE;
    }
    if (!u->qi_on) {
        return VTD_ERR_STATE;
    }
    b->deadline_ns = deadline_after(u, timeout_ns);
    b->irq = irq;
    for (;;) {
        enum vtd_err e = emit(b);
        if (e != VTD_ERR_FULL || irq) {
            return e;
        }
        /* Synchronous: wait for room, but never past the deadline. */
        progress(u);
        if (deadline_passed(u, b->deadline_ns)) {
            u->stats.timeouts++;
            b->state = VTD_BATCH_DONE;
            b->result = VTD_ERR_TIMEOUT;
            return VTD_ERR_TIMEOUT;
        }
        relax(u);
    }
}

enum vtd_err vtd_batch_submit(struct vtd_batch *b, uint64_t timeout_ns)
{
    enum vtd_err e = start(b, timeout_ns, false);
    if (e != VTD_OK) {
        return e;
    }
    struct vtd_unit *u = b->unit;
    for (;;) {
        if (b->state == VTD_BATCH_INFLIGHT && vtd_qi_batch_complete(b)) {
            finish_completed(b);
        }
        if (b->state == VTD_BATCH_DONE) {
            return b->result;
        }
        progress(u);
        if (b->state == VTD_BATCH_DONE) {
            return b->result;
        }
        if (deadline_passed(u, b->deadline_ns)) {
            vtd_qi_abandon(b);
            return VTD_ERR_TIMEOUT;
        }
        relax(u);
    }
}

enum vtd_err vtd_batch_submit_async(struct vtd_batch *b, uint64_t timeout_ns)
{
    return start(b, timeout_ns, true);
}

enum vtd_err vtd_batch_poll(struct vtd_batch *b)
{
    if (b->state == VTD_BATCH_DONE) {
        return b->result;
    }
    if (b->state != VTD_BATCH_INFLIGHT) {
        return VTD_ERR_STATE;
    }
    progress(b->unit);
    if (b->state == VTD_BATCH_DONE) {
        return b->result;
    }
    if (deadline_passed(b->unit, b->deadline_ns)) {
        vtd_qi_abandon(b);
        return VTD_ERR_TIMEOUT;
    }
    return VTD_ERR_PENDING;
}

unsigned vtd_unit_qi_event(struct vtd_unit *u)
{
    if (!u || !u->qi_on) {
        return 0;
    }
    wr32(u, VTD_ICS_REG, VTD_ICS_IWC);
    return progress(u);
}
