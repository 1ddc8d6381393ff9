/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Recovery from queue errors, none of which may loop: an IQE skips the rejected descriptor, an
 * ITE fences the source-id that timed out, rewrites its unfetched descriptors into harmless
 * waits and hands the aborted batches back for resubmission, an ICE fences the device that
 * answered badly, and a batch past its deadline is abandoned with its device-TLB targets kept
 * as suspects for a late ITE. Finds the batch that owns a queue slot through the in-flight list.
 * Calls batch.c and fence.c; never the submission path (qi.c resubmits).
 */
#include "qi_error.h"

#include "batch.h"
#include "qi_ring.h"

static struct vtd_batch *owner_of(const struct vtd_unit *u, uint32_t idx)
{
    for (unsigned i = 0; i < u->n_inflight; i++) {
        struct vtd_batch *b = u->inflight[i];
        if (vtd_qi_in_window(u, idx, b->first_index, b->end_index)) {
            return b;
        }
    }
    return NULL;
}

/* VT-d 6.5.2.9 (IQE): IQH stays on the rejected descriptor. Report it, skip it, resume. */
void vtd_qi_handle_iqe(struct vtd_unit *u)
{
    uint32_t head = vtd_qi_head(u);
    uint64_t rec = rd64(u, VTD_IQERCD_REG);
    const uint64_t *s = vtd_qi_slot(u, head);
    u->last_iqe.index = head;
    u->last_iqe.iqei = (uint32_t)VTD_IQERCD_IQEI(rec);
    u->last_iqe.desc =
        (struct vtd_desc){{s[0], s[1], u->iq_shift == 5 ? s[2] : 0, u->iq_shift == 5 ? s[3] : 0}};
    u->stats.iqe++;
    struct vtd_batch *b = owner_of(u, head);
    bool own_wait = b && head == b->wait_index;
    if (b) {
        b->iqe = true;
    }
    struct vtd_desc w = vtd_qi_scratch_wait(u);
    vtd_qi_write(u, head, &w);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    wr32(u, VTD_FSTS_REG, VTD_FSTS_IQE);
    wr64(u, VTD_IQT_REG, (uint64_t)u->iq_tail << u->iq_shift);
    if (own_wait) {
        vtd_qi_finish(b, VTD_ERR_IQE); /* its completion can no longer be observed */
    }
}

static uint16_t desc_devtlb_sid(const uint64_t *s, bool *is_dev)
{
    unsigned t = VTD_DESC_TYPE_GET(s[0]);
    *is_dev = t == VTD_DESC_DEVTLB || t == VTD_DESC_PDEVTLB;
    if (t == VTD_DESC_DEVTLB) {
        return VTD_DESC_DEVTLB_SID_GET(s[0]);
    }
    if (t == VTD_DESC_PDEVTLB) {
        return VTD_DESC_PDEVTLB_SID_GET(s[0]);
    }
    return 0;
}

/*
 * VT-d 6.5.2.10 (ITE): a device-TLB invalidation timed out; hardware aborted every wait it had
 * fetched and fetches nothing until FSTS.ITE is cleared. Identify the source-id (IQERCD.ITESID
 * when it names a device we sent one to; otherwise every device-TLB target of the aborted work),
 * fence it, keep its unfetched descriptors from running, and hand back the aborted batches to
 * resubmit (those out of attempts finish with VTD_ERR_ITE here).
 */
unsigned vtd_qi_handle_ite(struct vtd_unit *u, struct vtd_batch *resubmit[VTD_MAX_INFLIGHT])
{
    uint32_t head = vtd_qi_head(u);
    uint32_t tail = u->iq_tail;
    uint16_t itesid = (uint16_t)VTD_IQERCD_ITESID(rd64(u, VTD_IQERCD_REG));
    uint16_t cand[VTD_REPORT_SIDS * 2];
    unsigned nc = 0;
    bool itesid_found = false;
    u->stats.ite++;

    for (unsigned i = 0; i < u->n_inflight; i++) {
        struct vtd_batch *b = u->inflight[i];
        if (vtd_qi_batch_complete(b)) {
            continue;
        }
        for (uint32_t idx = b->first_index; idx != b->wait_index;
             idx = (idx + 1) & (u->iq_entries - 1)) {
            if (vtd_qi_in_window(u, idx, head, tail)) {
                break; /* not fetched yet */
            }
            bool dev;
            uint16_t sid = desc_devtlb_sid(vtd_qi_slot(u, idx), &dev);
            if (!dev) {
                continue;
            }
            if (sid == itesid) {
                itesid_found = true;
            }
            bool seen = false;
            for (unsigned k = 0; k < nc; k++) {
                seen |= cand[k] == sid;
            }
            if (!seen && nc < sizeof(cand) / sizeof(cand[0])) {
                cand[nc++] = sid;
            }
        }
    }
    for (unsigned k = 0; k < u->n_suspect && !itesid_found; k++) {
        if (u->suspect[k] == itesid) {
            itesid_found = true; /* the late ITE of an abandoned batch */
            u->suspect[k] = u->suspect[--u->n_suspect];
        }
    }
    if (!itesid_found && vtd_unit_is_fenced(u, itesid)) {
        /* The late ITE of a request to a device already fenced (an earlier ITE, or gone): with
         * asynchronous batches several requests to it can be outstanding at once. Blaming the
         * other devices in the window would quarantine live ones. */
        itesid_found = true;
    }
    if (itesid_found) {
        cand[0] = itesid;
        nc = 1;
    }
    for (unsigned k = 0; k < nc; k++) {
        vtd_unit_fence(u, cand[k]);
        for (unsigned i = 0; i < u->n_inflight; i++) {
            if (vtd_batch_has_devtlb(u->inflight[i], cand[k])) {
                vtd_batch_failed_add(u->inflight[i], cand[k]);
            }
        }
    }
    /* Unfetched descriptors for the failed devices would only time out again. */
    for (uint32_t idx = head; idx != tail; idx = (idx + 1) & (u->iq_entries - 1)) {
        bool dev;
        uint16_t sid = desc_devtlb_sid(vtd_qi_slot(u, idx), &dev);
        if (!dev) {
            continue;
        }
        for (unsigned k = 0; k < nc; k++) {
            if (cand[k] == sid) {
                struct vtd_desc w = vtd_qi_scratch_wait(u);
                vtd_qi_write(u, idx, &w);
                break;
            }
        }
    }
    struct vtd_batch *aborted[VTD_MAX_INFLIGHT];
    unsigned na = 0;
    for (unsigned i = 0; i < u->n_inflight; i++) {
        struct vtd_batch *b = u->inflight[i];
        if (!vtd_qi_batch_complete(b) && !vtd_qi_in_window(u, b->wait_index, head, tail)) {
            aborted[na++] = b;
        }
    }
    for (unsigned i = 0; i < na; i++) {
        vtd_qi_inflight_remove(u, aborted[i]);
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    wr32(u, VTD_FSTS_REG, VTD_FSTS_ITE);
    unsigned nr = 0;
    for (unsigned i = 0; i < na; i++) {
        struct vtd_batch *b = aborted[i];
        if (b->attempts >= VTD_QI_MAX_ATTEMPTS) {
            b->state = VTD_BATCH_DONE;
            b->result = VTD_ERR_ITE;
        } else {
            resubmit[nr++] = b;
        }
    }
    return nr;
}

/* ICE: a device answered an invalidation with a bad completion; it cannot be trusted. */
void vtd_qi_handle_ice(struct vtd_unit *u)
{
    uint16_t sid = (uint16_t)VTD_IQERCD_ICESID(rd64(u, VTD_IQERCD_REG));
    u->stats.ice++;
    vtd_unit_fence(u, sid);
    for (unsigned i = 0; i < u->n_inflight; i++) {
        struct vtd_batch *b = u->inflight[i];
        if (vtd_batch_has_devtlb(b, sid)) {
            vtd_batch_failed_add(b, sid);
            b->ice = true;
        }
    }
    wr32(u, VTD_FSTS_REG, VTD_FSTS_ICE);
}

void vtd_qi_abandon(struct vtd_batch *b)
{
    /* The descriptors stay queued; a late status write carries this seq, which no later
     * batch will ever wait for. */
    struct vtd_unit *u = b->unit;
    u->stats.timeouts++;
    for (unsigned i = 0; i < b->n; i++) {
        const struct vtd_op *op = &b->ops[i];
        if (vtd_op_is_devtlb(op->kind) && !(op->flags & VTD_OPF_DROPPED) &&
            u->n_suspect < VTD_REPORT_SIDS) {
            u->suspect[u->n_suspect++] = op->sid;
        }
    }
    vtd_qi_finish(b, VTD_ERR_TIMEOUT);
}
