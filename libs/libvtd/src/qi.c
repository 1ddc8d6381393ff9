/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The invalidation engine: batches of invalidation operations, the queued-invalidation ring
 * (VT-d 6.5.2), completion by polling or by the completion interrupt, and recovery from queue
 * errors that never loops.
 *
 * Every submission ends in one wait descriptor that writes a fresh sequence number into a
 * status word no other in-flight batch uses, so a late status write from an abandoned wait can
 * never be taken for a newer completion (the confusion that made Xen drop its timeouts,
 * XSA-373). Device-TLB operations are checked against the fenced set when their descriptor is
 * written, never earlier, so a fence that arrives between building and submitting a batch still
 * keeps the descriptor off the queue. An invalidation time-out (ITE) fences the source-id that
 * timed out, rewrites its unfetched descriptors into harmless waits, and resubmits the aborted
 * batches at most a few times with fewer device-TLB operations each time.
 */
#include "internal.h"

#include <string.h>

#define SCRATCH_SLOT (VTD_STATUS_SLOTS + 4) /* target of neutralised descriptors */
#define MAX_ATTEMPTS (VTD_REPORT_SIDS + 2u)
#define ALL_END UINT64_MAX /* range end meaning "whole address space" */

_Static_assert((SCRATCH_SLOT + 1) * 4 <= VTD_PAGE_SIZE, "status words fit one page");

/* ---- Building batches ------------------------------------------------------------------- */

void vtd_batch_init(struct vtd_batch *b, struct vtd_unit *u)
{
    b->unit = u;
    b->state = VTD_BATCH_OPEN;
    b->attempts = 0;
    b->drain = false;
    b->irq = false;
    b->n = 0;
    b->iqe = b->ice = false;
    b->result = VTD_OK;
    b->n_failed = 0;
    b->n_skipped = 0;
    b->descs = 0;
}

void vtd_batch_reset(struct vtd_batch *b)
{
    vtd_batch_init(b, b->unit);
}

static bool is_devtlb(unsigned kind)
{
    return kind == VTD_OP_DEVTLB || kind == VTD_OP_PDEVTLB;
}

static bool is_range(unsigned kind)
{
    return kind == VTD_OP_IOTLB_RANGE || kind == VTD_OP_DEVTLB || kind == VTD_OP_PIOTLB_RANGE ||
           kind == VTD_OP_PDEVTLB || kind == VTD_OP_IEC_INDEX;
}

static bool same_tag(const struct vtd_op *a, const struct vtd_op *b)
{
    return a->kind == b->kind && a->did == b->did && a->sid == b->sid && a->pasid == b->pasid;
}

/* Does existing operation `o` already invalidate everything `n` would? */
static bool covers(const struct vtd_op *o, const struct vtd_op *n)
{
    switch (n->kind) {
    case VTD_OP_IOTLB_RANGE:
    case VTD_OP_IOTLB_DOMAIN:
        return o->kind == VTD_OP_IOTLB_GLOBAL ||
               (o->kind == VTD_OP_IOTLB_DOMAIN && o->did == n->did);
    case VTD_OP_CC_DOMAIN:
    case VTD_OP_CC_DEVICE:
        return o->kind == VTD_OP_CC_GLOBAL || (o->kind == VTD_OP_CC_DOMAIN && o->did == n->did);
    case VTD_OP_PIOTLB_RANGE:
        return o->kind == VTD_OP_PIOTLB_PASID && o->did == n->did && o->pasid == n->pasid;
    case VTD_OP_PC_PASID:
        return o->kind == VTD_OP_PC_GLOBAL || (o->kind == VTD_OP_PC_DOMAIN && o->did == n->did);
    case VTD_OP_PC_DOMAIN:
        return o->kind == VTD_OP_PC_GLOBAL;
    case VTD_OP_IEC_INDEX:
        return o->kind == VTD_OP_IEC_GLOBAL;
    default:
        return false;
    }
}

static void remove_ops(struct vtd_batch *b, bool (*match)(const struct vtd_op *, const void *),
                       const void *arg)
{
    unsigned w = 0;
    for (unsigned r = 0; r < b->n; r++) {
        if (!match(&b->ops[r], arg)) {
            b->ops[w++] = b->ops[r];
        }
    }
    b->n = w;
}

static bool match_iotlb_did(const struct vtd_op *o, const void *arg)
{
    const struct vtd_op *n = arg;
    return o->kind == VTD_OP_IOTLB_RANGE && o->did == n->did;
}
static bool match_iotlb_any(const struct vtd_op *o, const void *arg)
{
    (void)arg;
    return o->kind == VTD_OP_IOTLB_RANGE || o->kind == VTD_OP_IOTLB_DOMAIN;
}
static bool match_iec_index(const struct vtd_op *o, const void *arg)
{
    (void)arg;
    return o->kind == VTD_OP_IEC_INDEX;
}
static bool match_same_tag(const struct vtd_op *o, const void *arg)
{
    return same_tag(o, arg);
}

/* Make room for `op` by widening what is already there; false if that cannot help. */
static bool collapse(struct vtd_batch *b, struct vtd_op *op)
{
    unsigned before = b->n;
    switch (op->kind) {
    case VTD_OP_IOTLB_RANGE:
        remove_ops(b, match_iotlb_did, op);
        op->kind = VTD_OP_IOTLB_DOMAIN;
        if (b->n < before) {
            return true;
        }
        /* fall through */
    case VTD_OP_IOTLB_DOMAIN:
        remove_ops(b, match_iotlb_any, op);
        op->kind = VTD_OP_IOTLB_GLOBAL;
        return b->n < before;
    case VTD_OP_DEVTLB:
    case VTD_OP_PDEVTLB:
    case VTD_OP_PIOTLB_RANGE:
        remove_ops(b, match_same_tag, op);
        op->start = 0;
        op->end = ALL_END;
        if (op->kind == VTD_OP_PIOTLB_RANGE) {
            op->kind = VTD_OP_PIOTLB_PASID;
        }
        return b->n < before;
    case VTD_OP_IEC_INDEX:
        remove_ops(b, match_iec_index, op);
        op->kind = VTD_OP_IEC_GLOBAL;
        op->start = op->end = 0;
        return b->n < before;
    default:
        return false;
    }
}

static enum vtd_err add_op(struct vtd_batch *b, struct vtd_op op)
{
    if (b->state != VTD_BATCH_OPEN) {
        return VTD_ERR_STATE;
    }
    for (unsigned i = 0; i < b->n; i++) {
        struct vtd_op *o = &b->ops[i];
        if (covers(o, &op)) {
            return VTD_OK;
        }
        if (!same_tag(o, &op)) {
            continue;
        }
        if (!is_range(op.kind)) {
            if (op.kind != VTD_OP_PGRP_RESP) {
                return VTD_OK; /* identical non-range operation already queued */
            }
            continue;
        }
        if (op.start <= o->end && o->start <= op.end) {
            o->start = op.start < o->start ? op.start : o->start;
            o->end = op.end > o->end ? op.end : o->end;
            o->flags &= op.flags | ~VTD_OPF_IH; /* IH only if every merged range allows it */
            return VTD_OK;
        }
    }
    if (b->n == VTD_BATCH_OPS) {
        if (!collapse(b, &op)) {
            return VTD_ERR_FULL;
        }
        /* The widened operation may itself be covered now, or merge: re-add. */
        return add_op(b, op);
    }
    b->ops[b->n++] = op;
    return VTD_OK;
}

static bool range_ok(uint64_t iova, uint64_t size, uint64_t *end)
{
    if (size == 0 || (iova & (VTD_PAGE_SIZE - 1)) || (size & (VTD_PAGE_SIZE - 1))) {
        return false;
    }
    if (iova + size < iova) {
        return false;
    }
    *end = iova + size;
    return true;
}

enum vtd_err vtd_batch_add_iotlb_global(struct vtd_batch *b)
{
    return add_op(b, (struct vtd_op){.kind = VTD_OP_IOTLB_GLOBAL});
}

enum vtd_err vtd_batch_add_iotlb_domain(struct vtd_batch *b, uint16_t did)
{
    if ((uint32_t)did >> b->unit->f.nd_bits) {
        return VTD_ERR_INVAL;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_IOTLB_DOMAIN, .did = did});
}

enum vtd_err vtd_batch_add_iotlb_range(struct vtd_batch *b, uint16_t did, uint64_t iova,
                                       uint64_t size, bool leaf_only)
{
    uint64_t end;
    if ((uint32_t)did >> b->unit->f.nd_bits || !range_ok(iova, size, &end)) {
        return VTD_ERR_INVAL;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_IOTLB_RANGE,
                                     .did = did,
                                     .start = iova,
                                     .end = end,
                                     .flags = leaf_only ? VTD_OPF_IH : 0});
}

enum vtd_err vtd_batch_add_unmap(struct vtd_batch *b, const struct vtd_domain *d,
                                 const struct vtd_unmap_result *r)
{
    if (!d || !r) {
        return VTD_ERR_INVAL;
    }
    if (r->inv_end <= r->inv_start) {
        return VTD_OK;
    }
    return vtd_batch_add_iotlb_range(b, d->did, r->inv_start, r->inv_end - r->inv_start,
                                     !r->tables_freed);
}

enum vtd_err vtd_batch_add_cc_global(struct vtd_batch *b)
{
    return add_op(b, (struct vtd_op){.kind = VTD_OP_CC_GLOBAL});
}

enum vtd_err vtd_batch_add_cc_domain(struct vtd_batch *b, uint16_t did)
{
    if ((uint32_t)did >> b->unit->f.nd_bits) {
        return VTD_ERR_INVAL;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_CC_DOMAIN, .did = did});
}

enum vtd_err vtd_batch_add_cc_device(struct vtd_batch *b, uint16_t did, uint16_t sid)
{
    if ((uint32_t)did >> b->unit->f.nd_bits) {
        return VTD_ERR_INVAL;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_CC_DEVICE, .did = did, .sid = sid});
}

static enum vtd_err devtlb_args(struct vtd_batch *b, unsigned qdep, uint64_t iova, uint64_t size,
                                uint64_t *start, uint64_t *end)
{
    if (!b->unit->f.dt) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (qdep > 32) {
        return VTD_ERR_INVAL;
    }
    if (size == 0) {
        *start = 0;
        *end = ALL_END;
        return VTD_OK;
    }
    if (!range_ok(iova, size, end)) {
        return VTD_ERR_INVAL;
    }
    *start = iova;
    return VTD_OK;
}

enum vtd_err vtd_batch_add_devtlb(struct vtd_batch *b, uint16_t sid, unsigned qdep, uint64_t iova,
                                  uint64_t size)
{
    uint64_t start, end;
    enum vtd_err e = devtlb_args(b, qdep, iova, size, &start, &end);
    if (e != VTD_OK) {
        return e;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_DEVTLB,
                                     .sid = sid,
                                     .qdep_or_code = (uint16_t)(qdep & 31),
                                     .start = start,
                                     .end = end});
}

/*
 * PASID-granular IOTLB and PASID-cache invalidations exist wherever the unit runs in scalable
 * mode (RID_PASID entries are cached like any other, ECAP.PASID or not); PASID device-TLB
 * invalidations only where devices can use PASIDs.
 */
static enum vtd_err pasid_ok(struct vtd_batch *b, uint32_t pasid, bool needs_pasid_cap)
{
    const struct vtd_unit *u = b->unit;
    if (!u->cfg.qi_256 || u->cfg.mode != VTD_MODE_SCALABLE || (needs_pasid_cap && !u->f.pasid)) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (pasid >> 20) {
        return VTD_ERR_INVAL;
    }
    return VTD_OK;
}

enum vtd_err vtd_batch_add_piotlb(struct vtd_batch *b, uint16_t did, uint32_t pasid, uint64_t iova,
                                  uint64_t size)
{
    enum vtd_err e = pasid_ok(b, pasid, false);
    if (e != VTD_OK) {
        return e;
    }
    if ((uint32_t)did >> b->unit->f.nd_bits) {
        return VTD_ERR_INVAL;
    }
    if (size == 0) {
        return add_op(b, (struct vtd_op){.kind = VTD_OP_PIOTLB_PASID, .did = did, .pasid = pasid});
    }
    uint64_t end;
    if (!range_ok(iova, size, &end)) {
        return VTD_ERR_INVAL;
    }
    return add_op(
        b, (struct vtd_op){
               .kind = VTD_OP_PIOTLB_RANGE, .did = did, .pasid = pasid, .start = iova, .end = end});
}

enum vtd_err vtd_batch_add_pasid_cache(struct vtd_batch *b, uint16_t did, uint32_t pasid)
{
    if (pasid == VTD_NO_PASID) {
        if (!b->unit->cfg.qi_256 || b->unit->cfg.mode != VTD_MODE_SCALABLE) {
            return VTD_ERR_UNSUPPORTED;
        }
        if ((uint32_t)did >> b->unit->f.nd_bits) {
            return VTD_ERR_INVAL;
        }
        return add_op(b, (struct vtd_op){.kind = VTD_OP_PC_DOMAIN, .did = did});
    }
    enum vtd_err e = pasid_ok(b, pasid, false);
    if (e != VTD_OK) {
        return e;
    }
    if ((uint32_t)did >> b->unit->f.nd_bits) {
        return VTD_ERR_INVAL;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_PC_PASID, .did = did, .pasid = pasid});
}

enum vtd_err vtd_batch_add_pasid_cache_global(struct vtd_batch *b)
{
    if (!b->unit->cfg.qi_256 || b->unit->cfg.mode != VTD_MODE_SCALABLE) {
        return VTD_ERR_UNSUPPORTED;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_PC_GLOBAL});
}

enum vtd_err vtd_batch_add_pdevtlb(struct vtd_batch *b, uint16_t sid, uint32_t pasid, unsigned qdep,
                                   uint64_t iova, uint64_t size)
{
    enum vtd_err e = pasid_ok(b, pasid, true);
    if (e != VTD_OK) {
        return e;
    }
    uint64_t start, end;
    e = devtlb_args(b, qdep, iova, size, &start, &end);
    if (e != VTD_OK) {
        return e;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_PDEVTLB,
                                     .sid = sid,
                                     .pasid = pasid,
                                     .qdep_or_code = (uint16_t)(qdep & 31),
                                     .start = start,
                                     .end = end});
}

enum vtd_err vtd_batch_add_iec_global(struct vtd_batch *b)
{
    if (!b->unit->f.ir) {
        return VTD_ERR_UNSUPPORTED;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_IEC_GLOBAL});
}

enum vtd_err vtd_batch_add_iec_index(struct vtd_batch *b, uint32_t index, unsigned im)
{
    if (!b->unit->f.ir) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (im > 16 || index > 0xffff || (index & ((1u << im) - 1))) {
        return VTD_ERR_INVAL;
    }
    /* Interrupt indices ride in the range fields, so neighbouring entries merge like pages. */
    return add_op(
        b, (struct vtd_op){.kind = VTD_OP_IEC_INDEX, .start = index, .end = index + (1ull << im)});
}

enum vtd_err vtd_batch_add_page_response(struct vtd_batch *b, uint16_t sid, uint32_t pasid,
                                         uint16_t prgi, unsigned code)
{
    if (!b->unit->f.prs) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (prgi > 0x1ff || code > 0xf || (pasid != VTD_NO_PASID && (pasid >> 20))) {
        return VTD_ERR_INVAL;
    }
    return add_op(b, (struct vtd_op){.kind = VTD_OP_PGRP_RESP,
                                     .sid = sid,
                                     .pasid = pasid == VTD_NO_PASID ? 0 : pasid,
                                     .flags = pasid == VTD_NO_PASID ? 0 : VTD_OPF_PP,
                                     .prgi = prgi,
                                     .qdep_or_code = (uint16_t)code});
}

/* ---- Encoding ---------------------------------------------------------------------------- */

static struct vtd_desc encode(const struct vtd_unit *u, const struct vtd_op *op)
{
    uint64_t size = op->end - op->start;
    switch (op->kind) {
    case VTD_OP_IOTLB_GLOBAL:
        return vtd_desc_iotlb(VTD_G_GLOBAL, 0, 0, 0, false);
    case VTD_OP_IOTLB_DOMAIN:
        return vtd_desc_iotlb(VTD_G_DOMAIN, op->did, 0, 0, false);
    case VTD_OP_IOTLB_RANGE: {
        unsigned am = vtd_cover_order(op->start, size);
        if (!u->f.psi || am > u->f.mamv) {
            return vtd_desc_iotlb(VTD_G_DOMAIN, op->did, 0, 0, false);
        }
        uint64_t base = op->start & ~((VTD_PAGE_SIZE << am) - 1);
        return vtd_desc_iotlb(VTD_G_PAGE, op->did, base, am, op->flags & VTD_OPF_IH);
    }
    case VTD_OP_CC_GLOBAL:
        return vtd_desc_cc(VTD_G_GLOBAL, 0, 0, 0);
    case VTD_OP_CC_DOMAIN:
        return vtd_desc_cc(VTD_G_DOMAIN, op->did, 0, 0);
    case VTD_OP_CC_DEVICE:
        return vtd_desc_cc(VTD_G_PAGE, op->did, op->sid, 0);
    case VTD_OP_DEVTLB: {
        unsigned order = op->end == ALL_END ? 64 : vtd_cover_order(op->start, size);
        return vtd_desc_devtlb(op->sid, op->qdep_or_code, op->start, order);
    }
    case VTD_OP_PIOTLB_PASID:
        return vtd_desc_piotlb(VTD_G_PASID_ALL, op->did, op->pasid, 0, 0, false);
    case VTD_OP_PIOTLB_RANGE: {
        unsigned am = vtd_cover_order(op->start, size);
        if (am > u->f.mamv) {
            return vtd_desc_piotlb(VTD_G_PASID_ALL, op->did, op->pasid, 0, 0, false);
        }
        uint64_t base = op->start & ~((VTD_PAGE_SIZE << am) - 1);
        return vtd_desc_piotlb(VTD_G_PASID_PAGE, op->did, op->pasid, base, am, false);
    }
    case VTD_OP_PC_PASID:
        return vtd_desc_pc(VTD_G_PC_PASID, op->did, op->pasid);
    case VTD_OP_PC_DOMAIN:
        return vtd_desc_pc(VTD_G_PC_DOMAIN, op->did, 0);
    case VTD_OP_PC_GLOBAL:
        return vtd_desc_pc(VTD_G_PC_GLOBAL, 0, 0);
    case VTD_OP_PDEVTLB: {
        unsigned order = op->end == ALL_END ? 64 : vtd_cover_order(op->start, size);
        return vtd_desc_pdevtlb(op->sid, op->pasid, op->qdep_or_code, op->start, order);
    }
    case VTD_OP_IEC_GLOBAL:
        return vtd_desc_iec(true, 0, 0);
    case VTD_OP_IEC_INDEX: {
        /* Smallest aligned block of indices covering the (possibly merged) range. */
        uint64_t diff = op->start ^ (op->end - 1);
        unsigned im = diff ? 64u - (unsigned)__builtin_clzll(diff) : 0u;
        if (im > u->f.mhmv || im > 16) {
            return vtd_desc_iec(true, 0, 0);
        }
        return vtd_desc_iec(false, (uint16_t)(op->start & ~((1ull << im) - 1)), im);
    }
    case VTD_OP_PGRP_RESP:
    default:
        return vtd_desc_pgrp_resp(op->sid, op->flags & VTD_OPF_PP, op->pasid, op->prgi,
                                  op->qdep_or_code);
    }
}

/* ---- The ring ------------------------------------------------------------------------------ */

static volatile uint32_t *status_word(const struct vtd_unit *u, uint32_t slot)
{
    return (volatile uint32_t *)u->status_va + slot;
}

static uint64_t *ring_slot(const struct vtd_unit *u, uint32_t idx)
{
    return (uint64_t *)((char *)u->iq_va + ((size_t)idx << u->iq_shift));
}

static void ring_write(const struct vtd_unit *u, uint32_t idx, const struct vtd_desc *d)
{
    uint64_t *s = ring_slot(u, idx);
    s[0] = d->qw[0];
    s[1] = d->qw[1];
    if (u->iq_shift == 5) {
        s[2] = d->qw[2];
        s[3] = d->qw[3];
    }
}

static uint32_t ring_head(const struct vtd_unit *u)
{
    return (uint32_t)((rd64(u, VTD_IQH_REG) & VTD_IQ_QH_MASK) >> u->iq_shift) & (u->iq_entries - 1);
}

/* idx in the circular window [from, to)? */
static bool in_window(const struct vtd_unit *u, uint32_t idx, uint32_t from, uint32_t to)
{
    uint32_t m = u->iq_entries - 1;
    return ((idx - from) & m) < ((to - from) & m);
}

static bool batch_complete(const struct vtd_batch *b)
{
    return __atomic_load_n(status_word(b->unit, b->slot), __ATOMIC_ACQUIRE) == b->seq;
}

static bool failed_has(const struct vtd_batch *b, uint16_t sid)
{
    for (unsigned i = 0; i < b->n_failed; i++) {
        if (b->failed_sid[i] == sid) {
            return true;
        }
    }
    return false;
}

static void failed_add(struct vtd_batch *b, uint16_t sid)
{
    if (!failed_has(b, sid) && b->n_failed < VTD_REPORT_SIDS) {
        b->failed_sid[b->n_failed++] = sid;
    }
}

static bool batch_has_devtlb(const struct vtd_batch *b, uint16_t sid)
{
    for (unsigned i = 0; i < b->n; i++) {
        if (is_devtlb(b->ops[i].kind) && b->ops[i].sid == sid) {
            return true;
        }
    }
    return false;
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

static void inflight_remove(struct vtd_unit *u, struct vtd_batch *b)
{
    unsigned w = 0;
    for (unsigned r = 0; r < u->n_inflight; r++) {
        if (u->inflight[r] != b) {
            u->inflight[w++] = u->inflight[r];
        }
    }
    u->n_inflight = w;
}

static void finish(struct vtd_batch *b, enum vtd_err e)
{
    inflight_remove(b->unit, b);
    b->state = VTD_BATCH_DONE;
    b->result = e;
}

static void finish_completed(struct vtd_batch *b)
{
    enum vtd_err e = VTD_OK;
    if (b->iqe) {
        e = VTD_ERR_IQE;
    } else if (b->n_failed) {
        e = b->ice ? VTD_ERR_ICE : VTD_ERR_ITE;
    }
    finish(b, e);
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
    bool last_resort = b->attempts + 1u >= MAX_ATTEMPTS;
    uint32_t count = 0;
    for (unsigned i = 0; i < b->n; i++) {
        struct vtd_op *op = &b->ops[i];
        op->flags &= (uint8_t)~VTD_OPF_DROPPED;
        if (is_devtlb(op->kind)) {
            if (vtd_unit_is_fenced(u, op->sid)) {
                if (b->attempts == 0) {
                    b->n_skipped++;
                    u->stats.devtlb_skipped_fenced++;
                }
                op->flags |= VTD_OPF_DROPPED;
                continue;
            }
            if (failed_has(b, op->sid) || last_resort) {
                failed_add(b, op->sid);
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
        u->iq_head_seen = ring_head(u);
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
    *status_word(u, slot) = 0;

    uint32_t m = u->iq_entries - 1;
    uint32_t t = u->iq_tail;
    b->first_index = t;
    if (b->drain) {
        /* VT-d 7.10: a fenced wait first, so the invalidations below start after everything
         * queued before has completed. */
        struct vtd_desc f =
            vtd_desc_wait_status(u->status_pa + 4ull * SCRATCH_SLOT, 0, true, false);
        ring_write(u, t, &f);
        t = (t + 1) & m;
    }
    for (unsigned i = 0; i < b->n; i++) {
        if (b->ops[i].flags & VTD_OPF_DROPPED) {
            continue;
        }
        struct vtd_desc d = encode(u, &b->ops[i]);
        ring_write(u, t, &d);
        t = (t + 1) & m;
    }
    struct vtd_desc w = vtd_desc_wait_status(u->status_pa + 4ull * slot, seq, b->drain, b->drain);
    b->wait_index = t;
    ring_write(u, t, &w);
    t = (t + 1) & m;
    if (b->irq) {
        /* A separate wait for the interrupt: never SW and IF in one descriptor. */
        struct vtd_desc wi = vtd_desc_wait_irq();
        ring_write(u, t, &wi);
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

static struct vtd_desc scratch_wait(const struct vtd_unit *u)
{
    return vtd_desc_wait_status(u->status_pa + 4ull * SCRATCH_SLOT, 0, false, false);
}

static struct vtd_batch *owner_of(const struct vtd_unit *u, uint32_t idx)
{
    for (unsigned i = 0; i < u->n_inflight; i++) {
        struct vtd_batch *b = u->inflight[i];
        if (in_window(u, idx, b->first_index, b->end_index)) {
            return b;
        }
    }
    return NULL;
}

/* VT-d 6.5.2.9 (IQE): IQH stays on the rejected descriptor. Report it, skip it, resume. */
static void handle_iqe(struct vtd_unit *u)
{
    uint32_t head = ring_head(u);
    uint64_t rec = rd64(u, VTD_IQERCD_REG);
    const uint64_t *s = ring_slot(u, head);
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
    struct vtd_desc w = scratch_wait(u);
    ring_write(u, head, &w);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    wr32(u, VTD_FSTS_REG, VTD_FSTS_IQE);
    wr64(u, VTD_IQT_REG, (uint64_t)u->iq_tail << u->iq_shift);
    if (own_wait) {
        finish(b, VTD_ERR_IQE); /* its completion can no longer be observed */
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
 * fence it, keep its unfetched descriptors from running, and resubmit the aborted batches.
 */
static void handle_ite(struct vtd_unit *u)
{
    uint32_t head = ring_head(u);
    uint32_t tail = u->iq_tail;
    uint16_t itesid = (uint16_t)VTD_IQERCD_ITESID(rd64(u, VTD_IQERCD_REG));
    uint16_t cand[VTD_REPORT_SIDS * 2];
    unsigned nc = 0;
    bool itesid_found = false;
    u->stats.ite++;

    for (unsigned i = 0; i < u->n_inflight; i++) {
        struct vtd_batch *b = u->inflight[i];
        if (batch_complete(b)) {
            continue;
        }
        for (uint32_t idx = b->first_index; idx != b->wait_index;
             idx = (idx + 1) & (u->iq_entries - 1)) {
            if (in_window(u, idx, head, tail)) {
                break; /* not fetched yet */
            }
            bool dev;
            uint16_t sid = desc_devtlb_sid(ring_slot(u, idx), &dev);
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
            if (batch_has_devtlb(u->inflight[i], cand[k])) {
                failed_add(u->inflight[i], cand[k]);
            }
        }
    }
    /* Unfetched descriptors for the failed devices would only time out again. */
    for (uint32_t idx = head; idx != tail; idx = (idx + 1) & (u->iq_entries - 1)) {
        bool dev;
        uint16_t sid = desc_devtlb_sid(ring_slot(u, idx), &dev);
        if (!dev) {
            continue;
        }
        for (unsigned k = 0; k < nc; k++) {
            if (cand[k] == sid) {
                struct vtd_desc w = scratch_wait(u);
                ring_write(u, idx, &w);
                break;
            }
        }
    }
    struct vtd_batch *aborted[VTD_MAX_INFLIGHT];
    unsigned na = 0;
    for (unsigned i = 0; i < u->n_inflight; i++) {
        struct vtd_batch *b = u->inflight[i];
        if (!batch_complete(b) && !in_window(u, b->wait_index, head, tail)) {
            aborted[na++] = b;
        }
    }
    for (unsigned i = 0; i < na; i++) {
        inflight_remove(u, aborted[i]);
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    wr32(u, VTD_FSTS_REG, VTD_FSTS_ITE);
    for (unsigned i = 0; i < na; i++) {
        struct vtd_batch *b = aborted[i];
        if (b->attempts >= MAX_ATTEMPTS) {
            b->state = VTD_BATCH_DONE;
            b->result = VTD_ERR_ITE;
            continue;
        }
        u->stats.resubmits++;
        enum vtd_err e = emit(b);
        if (e != VTD_OK) {
            b->state = VTD_BATCH_DONE;
            b->result = e;
        }
    }
}

/* ICE: a device answered an invalidation with a bad completion; it cannot be trusted. */
static void handle_ice(struct vtd_unit *u)
{
    uint16_t sid = (uint16_t)VTD_IQERCD_ICESID(rd64(u, VTD_IQERCD_REG));
    u->stats.ice++;
    vtd_unit_fence(u, sid);
    for (unsigned i = 0; i < u->n_inflight; i++) {
        struct vtd_batch *b = u->inflight[i];
        if (batch_has_devtlb(b, sid)) {
            failed_add(b, sid);
            b->ice = true;
        }
    }
    wr32(u, VTD_FSTS_REG, VTD_FSTS_ICE);
}

static unsigned progress(struct vtd_unit *u)
{
    uint32_t fsts = rd32(u, VTD_FSTS_REG);
    if (fsts & VTD_FSTS_IQE) {
        handle_iqe(u);
    }
    if (fsts & VTD_FSTS_ICE) {
        handle_ice(u);
    }
    if (fsts & VTD_FSTS_ITE) {
        handle_ite(u);
    }
    unsigned done = 0;
    for (unsigned i = 0; i < u->n_inflight;) {
        struct vtd_batch *b = u->inflight[i];
        if (batch_complete(b)) {
            finish_completed(b); /* removes it: do not advance i */
            done++;
        } else {
            i++;
        }
    }
    return done;
}

static void abandon(struct vtd_batch *b)
{
    /* The descriptors stay queued; a late status write carries this seq, which no later
     * batch will ever wait for. */
    struct vtd_unit *u = b->unit;
    u->stats.timeouts++;
    for (unsigned i = 0; i < b->n; i++) {
        const struct vtd_op *op = &b->ops[i];
        if (is_devtlb(op->kind) && !(op->flags & VTD_OPF_DROPPED) &&
            u->n_suspect < VTD_REPORT_SIDS) {
            u->suspect[u->n_suspect++] = op->sid;
        }
    }
    finish(b, VTD_ERR_TIMEOUT);
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
        if (b->state == VTD_BATCH_INFLIGHT && batch_complete(b)) {
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
            abandon(b);
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
        abandon(b);
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
