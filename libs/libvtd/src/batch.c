/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Building invalidation batches: argument checks against the unit's capabilities, and the
 * operation set itself — an operation covered by a broader one already queued is dropped,
 * overlapping or adjacent ranges of one tag merge, and a full batch collapses ranges into the
 * broader invalidation. Two indices beside the operations (which stay in the order they were
 * added, the order they are written to the queue) keep adding a range cheap however full the
 * batch is: the ranges sorted by tag and start, and the few operations that can cover others.
 * Nothing here touches the hardware; encoding is qi_desc.h, submission qi.c.
 */
#include "batch.h"

#include <string.h>

void vtd_batch_init(struct vtd_batch *b, struct vtd_unit *u)
{
    b->unit = u;
    b->state = VTD_BATCH_OPEN;
    b->attempts = 0;
    b->drain = false;
    b->irq = false;
    b->n = 0;
    b->n_range = 0;
    b->n_broad = 0;
    b->has_devtlb = false;
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

_Static_assert(VTD_BATCH_OPS <= 64 && VTD_BATCH_OPS <= UINT8_MAX, "op sets fit a uint64_t mask");

/* Kinds that can make a later operation redundant (the `o` side of covers()). */
static bool is_broad(unsigned kind)
{
    return kind == VTD_OP_IOTLB_GLOBAL || kind == VTD_OP_IOTLB_DOMAIN || kind == VTD_OP_CC_GLOBAL ||
           kind == VTD_OP_CC_DOMAIN || kind == VTD_OP_PIOTLB_PASID || kind == VTD_OP_PC_GLOBAL ||
           kind == VTD_OP_PC_DOMAIN || kind == VTD_OP_IEC_GLOBAL;
}

/* Order of the range index: by tag, then by start. */
static bool range_before(const struct vtd_op *a, const struct vtd_op *b)
{
    if (a->kind != b->kind) {
        return a->kind < b->kind;
    }
    if (a->did != b->did) {
        return a->did < b->did;
    }
    if (a->sid != b->sid) {
        return a->sid < b->sid;
    }
    if (a->pasid != b->pasid) {
        return a->pasid < b->pasid;
    }
    return a->start < b->start;
}

/* Drop the operations whose bit is set in `mask`, keeping the order of the rest and of both
   indices. */
static void remove_mask(struct vtd_batch *b, uint64_t mask)
{
    uint8_t to[VTD_BATCH_OPS];
    unsigned w = 0;
    for (unsigned r = 0; r < b->n; r++) {
        to[r] = (uint8_t)w;
        if (!(mask >> r & 1)) {
            b->ops[w++] = b->ops[r];
        }
    }
    b->n = w;
    w = 0;
    for (unsigned k = 0; k < b->n_range; k++) {
        if (!(mask >> b->by_range[k] & 1)) {
            b->by_range[w++] = to[b->by_range[k]];
        }
    }
    b->n_range = (uint8_t)w;
    w = 0;
    for (unsigned k = 0; k < b->n_broad; k++) {
        if (!(mask >> b->broad[k] & 1)) {
            b->broad[w++] = to[b->broad[k]];
        }
    }
    b->n_broad = (uint8_t)w;
}

static uint64_t match_mask(const struct vtd_batch *b,
                           bool (*match)(const struct vtd_op *, const void *), const void *arg)
{
    uint64_t mask = 0;
    for (unsigned r = 0; r < b->n; r++) {
        if (match(&b->ops[r], arg)) {
            mask |= 1ull << r;
        }
    }
    return mask;
}

/* Remove the operations `match` selects; true if there were any. */
static bool remove_ops(struct vtd_batch *b, bool (*match)(const struct vtd_op *, const void *),
                       const void *arg)
{
    uint64_t mask = match_mask(b, match, arg);
    remove_mask(b, mask);
    return mask != 0;
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
    switch (op->kind) {
    case VTD_OP_IOTLB_RANGE:
        op->kind = VTD_OP_IOTLB_DOMAIN;
        if (remove_ops(b, match_iotlb_did, op)) {
            return true;
        }
        /* fall through */
    case VTD_OP_IOTLB_DOMAIN:
        op->kind = VTD_OP_IOTLB_GLOBAL;
        return remove_ops(b, match_iotlb_any, op);
    case VTD_OP_DEVTLB:
    case VTD_OP_PDEVTLB:
    case VTD_OP_PIOTLB_RANGE:
        op->start = 0;
        op->end = VTD_ALL_END;
        if (op->kind == VTD_OP_PIOTLB_RANGE) {
            op->kind = VTD_OP_PIOTLB_PASID;
        }
        return remove_ops(b, match_same_tag, op);
    case VTD_OP_IEC_INDEX:
        op->kind = VTD_OP_IEC_GLOBAL;
        op->start = op->end = 0;
        return remove_ops(b, match_iec_index, op);
    default:
        return false;
    }
}

/*
 * Merge range `op` with the queued ranges of its tag it overlaps or touches. The range index
 * holds each tag's ranges sorted by start, never overlapping or touching, so the candidates are
 * the one before op's place (if it reaches op) and those after it that start within the growing
 * union: a binary search and, usually, one comparison. The union replaces the earliest queued
 * of them (its place in the queue order is kept); the others are dropped. Returns false, with
 * *pos at op's place in the index, when nothing merges.
 */
static bool merge_range(struct vtd_batch *b, const struct vtd_op *op, unsigned *pos)
{
    unsigned lo = 0, hi = b->n_range;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (range_before(&b->ops[b->by_range[mid]], op)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    if (lo > 0) {
        const struct vtd_op *prev = &b->ops[b->by_range[lo - 1]];
        if (same_tag(prev, op) && prev->end >= op->start) {
            lo--;
        }
    }
    uint64_t start = op->start, end = op->end;
    uint8_t flags = op->flags;
    unsigned keep = VTD_BATCH_OPS;
    uint64_t absorbed = 0;
    for (hi = lo; hi < b->n_range; hi++) {
        unsigned i = b->by_range[hi];
        const struct vtd_op *o = &b->ops[i];
        if (!same_tag(o, op) || o->start > end) {
            break;
        }
        start = o->start < start ? o->start : start;
        end = o->end > end ? o->end : end;
        flags &= o->flags | ~VTD_OPF_IH; /* IH only if every merged range allows it */
        absorbed |= 1ull << i;
        keep = i < keep ? i : keep;
    }
    if (!absorbed) {
        return false;
    }
    struct vtd_op *k = &b->ops[keep];
    k->start = start;
    k->end = end;
    k->flags = (uint8_t)((k->flags & ~VTD_OPF_IH) | (flags & VTD_OPF_IH));
    absorbed &= ~(1ull << keep);
    if (absorbed) {
        remove_mask(b, absorbed); /* op bridged a gap: the union is one range now */
    }
    return true;
}

/* Is `op` already invalidated by a queued operation? */
static bool redundant(const struct vtd_batch *b, const struct vtd_op *op)
{
    for (unsigned k = 0; k < b->n_broad; k++) {
        if (covers(&b->ops[b->broad[k]], op)) {
            return true;
        }
    }
    if (is_range(op->kind) || op->kind == VTD_OP_PGRP_RESP) {
        return false; /* ranges merge instead; every page response is sent */
    }
    /* Identical non-range operation already queued (rare kinds: a linear scan). */
    for (unsigned i = 0; i < b->n; i++) {
        if (same_tag(&b->ops[i], op)) {
            return true;
        }
    }
    return false;
}

static enum vtd_err add_op(struct vtd_batch *b, struct vtd_op op);

/* add_op once the batch holds an operation: cover, merge, collapse when full. */
/* Context, PASID, IOTLB and PASID-IOTLB caches: what a device-TLB refills from. */
static bool is_translation_cache(unsigned kind)
{
    _Static_assert(VTD_OP_IOTLB_GLOBAL == 0, "IOTLB and context-cache kinds come first");
    return kind <= VTD_OP_CC_DEVICE || (kind >= VTD_OP_PIOTLB_PASID && kind <= VTD_OP_PC_GLOBAL);
}

/*
 * Where op goes in the queue order. Invariant: no translation-cache invalidation follows a
 * device-TLB invalidation in a batch (VT-d 6.5.2.5: a device whose ATC was invalidated first
 * could refill it from the stale IOTLB before the IOTLB's own descriptor). So such an op added
 * after a device-TLB op (a caller's order, or a full batch's collapse re-adding a wider op) is
 * placed before the first device-TLB op; everything else is appended.
 */
static unsigned queue_place(const struct vtd_batch *b, const struct vtd_op *op)
{
    if (!b->has_devtlb || !is_translation_cache(op->kind)) {
        return b->n;
    }
    for (unsigned i = 0; i < b->n; i++) {
        if (vtd_op_is_devtlb(b->ops[i].kind)) {
            return i;
        }
    }
    return b->n;
}

/* Open a hole at queue position i (indices at or after it move up by one). */
static void open_hole(struct vtd_batch *b, unsigned i)
{
    memmove(&b->ops[i + 1], &b->ops[i], (b->n - i) * sizeof(b->ops[0]));
    for (unsigned k = 0; k < b->n_range; k++) {
        b->by_range[k] = (uint8_t)(b->by_range[k] + (b->by_range[k] >= i));
    }
    for (unsigned k = 0; k < b->n_broad; k++) {
        b->broad[k] = (uint8_t)(b->broad[k] + (b->broad[k] >= i));
    }
}

static enum vtd_err add_op_queued(struct vtd_batch *b, struct vtd_op op)
{
    if (b->state != VTD_BATCH_OPEN) {
        return VTD_ERR_STATE;
    }
    if (redundant(b, &op)) {
        return VTD_OK;
    }
    unsigned pos = 0;
    if (is_range(op.kind) && merge_range(b, &op, &pos)) {
        return VTD_OK;
    }
    if (b->n == VTD_BATCH_OPS) {
        if (!collapse(b, &op)) {
            return VTD_ERR_FULL;
        }
        /* The widened operation may itself be covered now, or merge: re-add. */
        return add_op(b, op);
    }
    unsigned i = queue_place(b, &op);
    if (i < b->n) {
        open_hole(b, i);
    }
    b->n++;
    b->ops[i] = op;
    b->has_devtlb = b->has_devtlb || vtd_op_is_devtlb(op.kind);
    if (is_range(op.kind)) {
        if (pos < b->n_range) {
            memmove(&b->by_range[pos + 1], &b->by_range[pos], b->n_range - pos);
        }
        b->by_range[pos] = (uint8_t)i;
        b->n_range++;
    } else if (is_broad(op.kind)) {
        b->broad[b->n_broad++] = (uint8_t)i;
    }
    return VTD_OK;
}

/*
 * The first operation of an open batch (most batches hold one) has nothing to cover it or merge
 * with: it is stored here, inline in the adding function (whose kind is a constant there), and
 * only later operations take add_op_queued with its indices.
 */
static inline enum vtd_err add_op(struct vtd_batch *b, struct vtd_op op)
{
    if (b->n != 0 || b->state != VTD_BATCH_OPEN) {
        return add_op_queued(b, op);
    }
    b->n = 1;
    b->ops[0] = op;
    b->has_devtlb = vtd_op_is_devtlb(op.kind);
    if (is_range(op.kind)) {
        b->by_range[0] = 0;
        b->n_range = 1;
    } else if (is_broad(op.kind)) {
        b->broad[0] = 0;
        b->n_broad = 1;
    }
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
        *end = VTD_ALL_END;
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

/* ---- Results ---------------------------------------------------------------------------- */

bool vtd_batch_failed_has(const struct vtd_batch *b, uint16_t sid)
{
    for (unsigned i = 0; i < b->n_failed; i++) {
        if (b->failed_sid[i] == sid) {
            return true;
        }
    }
    return false;
}

void vtd_batch_failed_add(struct vtd_batch *b, uint16_t sid)
{
    if (!vtd_batch_failed_has(b, sid) && b->n_failed < VTD_REPORT_SIDS) {
        b->failed_sid[b->n_failed++] = sid;
    }
}

bool vtd_batch_has_devtlb(const struct vtd_batch *b, uint16_t sid)
{
    for (unsigned i = 0; i < b->n; i++) {
        if (vtd_op_is_devtlb(b->ops[i].kind) && b->ops[i].sid == sid) {
            return true;
        }
    }
    return false;
}
