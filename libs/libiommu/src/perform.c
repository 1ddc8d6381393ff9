/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The perform half of message handling: carry out a request decode accepted. Nothing here
 * re-checks arguments; what can still go wrong is the hardware (a page allocation, an
 * invalidation that times out), and each such outcome is reported with what was left behind.
 *
 * The rules of DESIGN.md live here: fence before invalidate (a device that is fenced or
 * quarantined never gets a device-TLB descriptor), memory is released only after the hardware
 * let go (pins end after the invalidation completed, or after the device that failed to answer
 * was blocked), and every unmap is one batch, one queue submission.
 */
#include "internal.h"

#include <string.h>

static void set_rets(struct iommu_reply *r, unsigned n)
{
    r->len = n;
}

static enum iommu_err vtd_to_err(enum vtd_err e)
{
    switch (e) {
    case VTD_OK:
        return IOMMU_OK;
    case VTD_ERR_NOMEM:
        return IOMMU_ERR_NO_MEMORY;
    case VTD_ERR_ITE:
    case VTD_ERR_ICE:
        return IOMMU_ERR_DEVICE_TIMEOUT;
    default:
        return IOMMU_ERR_HW;
    }
}

/* Devices of the unit that timed out and whose quarantine fence has not completed yet. */
static bool quarantine_pending(struct iommu_server *s, unsigned unit)
{
    bool pending = false;
    if (s->stats.quarantines == 0) {
        return false; /* no device was ever quarantined (iommu_quarantine counts each): no scan */
    }
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        struct iommu_device *d = &s->devices[i];
        if (d->state != IOMMU_DEV_UNUSED && d->unit == unit && d->quarantined &&
            !d->quarantine_done) {
            iommu_quarantine(s, unit, d->sid); /* retry the fence */
            pending |= !d->quarantine_done;
        }
    }
    return pending;
}

/* After vtd_dev_block or similar reported ITE/ICE for sid outside iommu_submit. */
static void quarantine_if_timeout(struct iommu_server *s, unsigned unit, uint16_t sid,
                                  enum vtd_err e)
{
    if (e == VTD_ERR_ITE || e == VTD_ERR_ICE) {
        iommu_quarantine(s, unit, sid);
    }
}

/*
 * After a block (fence, detach): any failure quarantines. A failed invalidation leaves the entry
 * possibly cached, so the block is not done: the device counts as a quarantine not completed,
 * memory unmapped meanwhile stays pinned (quarantine_pending), and the retries block it again
 * (libvtd repeats the invalidation of an entry whose invalidation failed) until it completes.
 */
static void quarantine_if_block_failed(struct iommu_server *s, unsigned unit, uint16_t sid,
                                       enum vtd_err e)
{
    if (e != VTD_OK) {
        iommu_quarantine(s, unit, sid);
    }
}

/* ---- PASIDs ------------------------------------------------------------------------------- */

/*
 * A page request of another PASID met during a drain: track its group like the page request
 * service does; a completed group is answered "invalid" once the drain returned the queue.
 */
static void drain_other(void *ctx, const struct vtd_page_req *r)
{
    struct iommu_unit *u = ctx;
    bool complete = false;
    struct vtd_prg done;
    if (vtd_prg_add(&u->prg, r, &complete, &done) == VTD_OK && complete &&
        u->n_deferred < sizeof(u->deferred) / sizeof(u->deferred[0])) {
        u->deferred[u->n_deferred].sid = done.sid;
        u->deferred[u->n_deferred].prgi = done.prgi;
        u->deferred[u->n_deferred].pasid = done.pasid_present ? done.pasid : VTD_NO_PASID;
        u->n_deferred++;
    }
}

static void answer_deferred(struct iommu_server *s, unsigned unit)
{
    struct iommu_unit *u = &s->units[unit];
    if (u->n_deferred == 0) {
        return;
    }
    struct vtd_batch b;
    vtd_batch_init(&b, &u->vu);
    for (unsigned i = 0; i < u->n_deferred; i++) {
        (void)vtd_batch_add_page_response(&b, u->deferred[i].sid, u->deferred[i].pasid,
                                          u->deferred[i].prgi, VTD_PRG_INVALID);
        s->stats.page_groups_answered++;
    }
    u->n_deferred = 0;
    (void)iommu_submit(s, unit, &b);
}

/* Block a bound PASID and drain its page requests; free it only if the drain completed. */
static enum vtd_err pasid_teardown(struct iommu_server *s, unsigned unit, unsigned slot)
{
    struct iommu_unit *u = &s->units[unit];
    struct iommu_pasid *p = &u->pasid[slot];
    uint32_t pasid = IOMMU_PASID_FIRST + slot;
    int dev = iommu_device_find(s, p->sid);
    /* The occupant the PASID was bound for: a drain retried after a re-plug must not address the
     * new occupant's device-TLB (nor quarantine it for not answering). */
    const struct iommu_device *d =
        dev >= 0 && s->devices[dev].generation == p->generation ? &s->devices[dev] : NULL;
    p->state = IOMMU_PASID_DRAINING; /* from here until the drain completes: not reusable */
    enum vtd_err e = vtd_pasid_block(&u->vu, p->sid, pasid);
    quarantine_if_timeout(s, unit, p->sid, e);
    vtd_prg_mark_drained(&u->prg, p->sid, pasid);
    uint16_t did = p->did;
    bool ats = d && d->ats_enabled && d->state == IOMMU_DEV_PRESENT && !d->quarantined;
    enum vtd_err e2 =
        vtd_pasid_drain(&u->vu, p->sid, pasid, did, d ? d->ats_qdep : 0, ats, drain_other, u);
    quarantine_if_timeout(s, unit, p->sid, e2);
    answer_deferred(s, unit);
    if (e2 == VTD_OK) {
        p->state = IOMMU_PASID_FREE;
        p->client = -1;
    }
    return e != VTD_OK ? e : e2;
}

void iommu_device_unbind_pasids(struct iommu_server *s, int dev)
{
    struct iommu_device *d = &s->devices[dev];
    struct iommu_unit *u = &s->units[d->unit];
    for (unsigned p = 0; p < IOMMU_MAX_PASIDS; p++) {
        if (u->pasid[p].state == IOMMU_PASID_BOUND && u->pasid[p].sid == d->sid) {
            (void)pasid_teardown(s, d->unit, p);
        }
    }
}

void iommu_server_retry(struct iommu_server *s)
{
    for (unsigned u = 0; u < s->n_units; u++) {
        (void)quarantine_pending(s, u);
        for (unsigned p = 0; p < IOMMU_MAX_PASIDS; p++) {
            if (s->units[u].pasid[p].state == IOMMU_PASID_DRAINING) {
                (void)pasid_teardown(s, u, p);
            }
        }
    }
}

/* ---- Client methods ------------------------------------------------------------------------ */

static void perform_attach(struct iommu_server *s, const struct iommu_request *req,
                           struct iommu_reply *r)
{
    struct iommu_device *d = &s->devices[req->device];
    struct iommu_domain *x = &s->domains[req->domain];
    struct iommu_unit *u = &s->units[d->unit];
    uint64_t flags = 0;
    for (unsigned k = 0; k < s->n_rmrr; k++) {
        if (s->rmrr[k].sid != d->sid) {
            continue;
        }
        /* Firmware keeps using the range (VT-d 8.4): it stays identity-mapped in the domain. */
        enum iommu_err e =
            iommu_domain_map_reserved(s, req->domain, s->rmrr[k].base, s->rmrr[k].size);
        if (e != IOMMU_OK) {
            r->err = e;
            return;
        }
        flags |= IOMMU_ATTACH_RMRR;
    }
    /* The device and the unit can (ATS capability, ECAP.DT); the platform must allow it too:
     * a refused device attaches untranslated-only, with no device-TLB to invalidate. */
    bool capable = d->has_ats && u->vu.f.dt && s->env.ecam;
    bool ats = capable && iommu_ats_verdict_allows((enum iommu_ats_verdict)d->ats_verdict);
    unsigned vflags = ats ? VTD_DEV_ATS : 0;
    if (u->vu.cfg.mode == VTD_MODE_SCALABLE && u->vu.f.pasid && u->vu.f.prs) {
        vflags |= VTD_DEV_PASID | VTD_DEV_PRI;
    }
    int old = d->domain; /* the RMRR identity domain, if any */
    enum vtd_err e = vtd_dev_attach(&u->vu, d->sid, &x->vd, vflags, d->ats_qdep);
    quarantine_if_timeout(s, d->unit, d->sid, e);
    if (old >= 0) {
        d->domain = -1;
        iommu_domain_put(s, old);
    }
    if (e != VTD_OK) {
        if (!d->quarantined) {
            (void)iommu_device_rest(s, req->device);
        }
        r->err = vtd_to_err(e);
        return;
    }
    x->refs++;
    d->domain = req->domain;
    d->owner = req->client;
    /* The entry accepts translation requests (TT=1 / DTE) before the device may send them. */
    if (ats && pci_ats_enable(s->env.ecam, d->sid, &d->ats, 0) == PCI_OK) {
        d->ats_enabled = true;
        flags |= IOMMU_ATTACH_ATS;
    }
    if (capable && !ats && !d->ats_refusal_said) {
        d->ats_refusal_said = true;
        if (s->env.ats_refused) {
            s->env.ats_refused(s->env.ctx, d->sid,
                               iommu_ats_verdict_str((enum iommu_ats_verdict)d->ats_verdict));
        }
    }
    r->w[0] = IOMMU_HANDLE(d->sid, d->generation);
    r->w[1] = flags;
    set_rets(r, 2);
    r->err = IOMMU_OK;
}

/* Drop the device's link to its client and domain. */
static void unlink_device(struct iommu_server *s, struct iommu_device *d)
{
    if (d->domain >= 0) {
        int dom = d->domain;
        d->domain = -1;
        iommu_domain_put(s, dom);
    }
    d->owner = -1;
}

static void perform_detach(struct iommu_server *s, const struct iommu_request *req,
                           struct iommu_reply *r)
{
    struct iommu_device *d = &s->devices[req->device];
    uint64_t status = 0;
    r->err = IOMMU_OK;
    /* The client gives the device up: its interrupts go first (entries cleared and freed). */
    iommu_irq_release_client(s, req->client, d->sid);
    if (d->state != IOMMU_DEV_PRESENT || d->quarantined) {
        /* Gone or quarantined: already blocked; nothing may be sent to its device-TLB. */
        status |= d->quarantined ? IOMMU_STATUS_QUARANTINED : IOMMU_STATUS_DEVICE_GONE;
        iommu_device_unbind_pasids(s, req->device);
        unlink_device(s, d);
    } else {
        iommu_device_unbind_pasids(s, req->device);
        /* Orderly: ATS off, entry blocked + caches flushed, device-TLB flushed, wait. */
        iommu_ats_off(s, d);
        enum vtd_err e = vtd_dev_block(&s->units[d->unit].vu, d->sid);
        quarantine_if_block_failed(s, d->unit, d->sid, e);
        unlink_device(s, d);
        if (e == VTD_ERR_ITE || e == VTD_ERR_ICE) {
            status |= IOMMU_STATUS_QUARANTINED;
            r->err = IOMMU_ERR_DEVICE_TIMEOUT;
        } else if (e != VTD_OK) {
            r->err = IOMMU_ERR_HW;
        } else if (iommu_device_rest(s, req->device) != VTD_OK) {
            r->err = IOMMU_ERR_HW; /* the device stays blocked */
        }
    }
    r->w[0] = status;
    set_rets(r, 1);
}

static void perform_map(struct iommu_server *s, const struct iommu_request *req,
                        struct iommu_reply *r)
{
    struct iommu_domain *x = &s->domains[req->domain];
    const struct iommu_map_args *a = &req->a.map;
    unsigned rights =
        ((a->rights & IOMMU_READ) ? VTD_R : 0) | ((a->rights & IOMMU_WRITE) ? VTD_W : 0);
    enum vtd_err e = vtd_domain_map(&x->vd, a->iova, req->pa, a->size, rights);
    if (e != VTD_OK) {
        r->err = e == VTD_ERR_NOMEM ? IOMMU_ERR_NO_MEMORY : IOMMU_ERR_HW;
        return;
    }
    if (vtd_domain_map_needs_flush(&x->vd)) {
        /* Caching mode: the unit may cache not-present entries (VT-d 6.1). */
        struct vtd_batch b;
        vtd_batch_init(&b, x->vd.unit);
        vtd_batch_add_iotlb_range(&b, x->vd.did, a->iova, a->size, true);
        enum vtd_err fe = iommu_submit(s, x->unit, &b);
        if (fe != VTD_OK && fe != VTD_ERR_ITE && fe != VTD_ERR_ICE) {
            struct vtd_unmap_result res;
            if (vtd_domain_unmap(&x->vd, a->iova, a->size, &res) == VTD_OK) {
                vtd_page_list_release(x->vd.unit, &res.freed); /* never reachable: not flushed in */
            }
            r->err = IOMMU_ERR_HW;
            return;
        }
    }
    struct iommu_mapping m = {.iova = a->iova,
                              .size = a->size,
                              .pa = req->pa,
                              .cookie = req->cookie,
                              .grant = req->grant,
                              .rights = (uint8_t)a->rights};
    iommu_maps_insert(x, &m);
    if (req->grant != IOMMU_GRANT_CAP) {
        s->clients[req->client].mem[req->grant].pins++;
    } else {
        r->cap_kept = true;
    }
    set_rets(r, 0);
    r->err = IOMMU_OK;
}

/* Status bits for an operation on the client's domain: are some of its devices gone? */
static uint64_t domain_status(const struct iommu_server *s, int client, int domain)
{
    uint64_t status = 0;
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        const struct iommu_device *d = &s->devices[i];
        if (d->state == IOMMU_DEV_UNUSED || (d->domain != domain && d->owner != client)) {
            continue;
        }
        if (d->quarantined) {
            status |= IOMMU_STATUS_QUARANTINED;
        } else if (d->state != IOMMU_DEV_PRESENT) {
            status |= IOMMU_STATUS_DEVICE_GONE;
        }
    }
    return status;
}

/* ---- Unmap and ats_flush: begin (tables changed, batch queued) and complete ------------------ */

static uint32_t next_pend_id(struct iommu_server *s)
{
    if (++s->pend_serial == 0) {
        s->pend_serial = 1; /* 0 means "no request" */
    }
    return s->pend_serial;
}

/*
 * Queue p's batch: asynchronously when allowed and possible (VTD_ERR_PENDING), else submit and
 * wait now (the batch's result).
 */
static enum vtd_err pending_submit(struct iommu_server *s, struct iommu_pending *p, bool async,
                                   uint64_t timeout_ns)
{
    if (p->batch.n == 0) {
        return VTD_OK; /* nothing to wait for */
    }
    s->stats.submissions++;
    if (async && vtd_batch_submit_async(&p->batch, timeout_ns) == VTD_OK &&
        p->batch.state == VTD_BATCH_INFLIGHT) {
        return VTD_ERR_PENDING;
    }
    if (p->batch.state == VTD_BATCH_OPEN) {
        return vtd_batch_submit(&p->batch, timeout_ns);
    }
    return p->batch.result;
}

/*
 * Begin an unmap: the range leaves the page tables, its records stay marked stuck under a new
 * request id, and one batch (IOTLB range, plus every live device-TLB of the domain) is built.
 * Returns whether the batch holds device-TLB work (the wait that may be long).
 */
static bool unmap_begin(struct iommu_server *s, const struct iommu_request *req,
                        struct iommu_pending *p)
{
    struct iommu_domain *x = &s->domains[req->domain];
    const struct iommu_unmap_args *a = &req->a.unmap;
    p->unit = x->unit;
    p->map_lo = req->map_lo;
    p->map_hi = req->map_hi;
    p->id = 0;
    p->unmap_failed = false;
    vtd_batch_init(&p->batch, &s->units[x->unit].vu);
    if (vtd_domain_unmap(&x->vd, a->iova, a->size, &p->res) != VTD_OK) {
        p->unmap_failed = true; /* decode made this impossible; nothing changed: answer HW */
        return false;
    }
    bool retry = false;
    for (unsigned i = req->map_lo; i < req->map_hi; i++) {
        retry |= x->maps[i].stuck;
    }
    if (retry) {
        vtd_batch_add_iotlb_domain(&p->batch, x->vd.did);
    }
    vtd_batch_add_unmap(&p->batch, &x->vd, &p->res);
    uint64_t inv_size = p->res.inv_end - p->res.inv_start;
    /* One pass over the devices: device-TLB work, and the reply's status as it stands (complete
     * computes it again only if a quarantine happened meanwhile). */
    uint64_t status = 0;
    bool devtlb = false;
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        const struct iommu_device *d = &s->devices[i];
        if (d->state == IOMMU_DEV_UNUSED || (d->domain != req->domain && d->owner != req->client)) {
            continue;
        }
        if (d->quarantined) {
            status |= IOMMU_STATUS_QUARANTINED;
        } else if (d->state != IOMMU_DEV_PRESENT) {
            status |= IOMMU_STATUS_DEVICE_GONE;
        }
        if (d->state == IOMMU_DEV_PRESENT && d->domain == req->domain && d->ats_enabled &&
            !d->quarantined && (inv_size > 0 || retry)) {
            vtd_batch_add_devtlb(&p->batch, d->sid, d->ats_qdep, retry ? 0 : p->res.inv_start,
                                 retry ? 0 : inv_size);
            devtlb = true;
        }
    }
    p->status = status;
    return devtlb;
}

/* Give back the pins of records [lo, hi): one subtraction per run of the same memory grant. */
static void release_run_pins(struct iommu_server *s, int client, const struct iommu_domain *x,
                             unsigned lo, unsigned hi)
{
    unsigned i = lo;
    while (i < hi) {
        unsigned grant = x->maps[i].grant;
        if (grant >= IOMMU_CLIENT_MEMORY) {
            iommu_release_pin(s, client, &x->maps[i]);
            i++;
            continue;
        }
        unsigned j = i + 1;
        while (j < hi && x->maps[j].grant == grant) {
            j++;
        }
        if (client >= 0) {
            struct iommu_mem_grant *g = &s->clients[client].mem[grant];
            unsigned run = j - i;
            g->pins -= run < g->pins ? run : g->pins;
        }
        i = j;
    }
}

/*
 * The request stays pending: its records stay in the domain marked stuck (out of the tables, not
 * confirmed: pinned, the range cannot be mapped again) under a fresh request id, by which
 * completion finds them wherever later messages moved them.
 */
static void mark_pending(struct iommu_server *s, struct iommu_pending *p)
{
    struct iommu_domain *x = &s->domains[p->domain];
    p->id = next_pend_id(s);
    for (unsigned i = p->map_lo; i < p->map_hi; i++) {
        x->maps[i].stuck = true;
        x->maps[i].pend = p->id;
    }
}

/*
 * The records the request took out: [map_lo, map_hi) if it never left begin (nothing moved them),
 * else those still marked with its id. Those are contiguous: nothing can be mapped into a range
 * whose records are stuck, and another unmap that takes them over re-marks or removes them all.
 */
static bool pending_records(const struct iommu_domain *x, const struct iommu_pending *p,
                            unsigned *lo, unsigned *hi)
{
    if (p->id == 0) {
        *lo = p->map_lo;
        *hi = p->map_hi;
        return p->map_hi > p->map_lo;
    }
    unsigned i = 0;
    while (i < x->n_maps && x->maps[i].pend != p->id) {
        i++;
    }
    unsigned j = i;
    while (j < x->n_maps && x->maps[j].pend == p->id) {
        j++;
    }
    *lo = i;
    *hi = j;
    return j > i;
}

static void unmap_complete(struct iommu_server *s, struct iommu_pending *p, enum vtd_err e,
                           struct iommu_reply *r)
{
    struct iommu_domain *x = &s->domains[p->domain];
    if (p->unmap_failed) {
        r->err = IOMMU_ERR_HW;
        return;
    }
    bool confirmed = e == VTD_OK || e == VTD_ERR_ITE || e == VTD_ERR_ICE;
    /*
     * The IOTLB and every answering device-TLB dropped the range. A device that did not answer
     * was quarantined; its memory is released only once that quarantine fence (block + flush)
     * completed.
     */
    bool released = confirmed && !quarantine_pending(s, p->unit);
    r->err = !confirmed ? IOMMU_ERR_HW : e == VTD_OK ? IOMMU_OK : IOMMU_ERR_DEVICE_TIMEOUT;
    unsigned lo = 0, hi = 0;
    bool found = (p->id == 0 || x->used) && pending_records(x, p, &lo, &hi);
    if (released) {
        vtd_page_list_release(&s->units[p->unit].vu, &p->res.freed);
        if (found) {
            release_run_pins(s, p->client, x, lo, hi);
            iommu_maps_remove(x, lo, hi);
        }
    } else {
        /*
         * Not confirmed: the translations are gone from the tables but may still be cached.
         * Keep the pins (the memory must not be reused) and the freed table pages (not returned
         * to the allocator: a leak is safe, a reuse is not); a later unmap of the range retries
         * with a domain-wide invalidation.
         */
        for (unsigned i = lo; found && i < hi; i++) {
            x->maps[i].stuck = true;
            x->maps[i].pend = 0;
        }
    }
    /* Only iommu_quarantine changes what the status reads, and it counts every quarantine. */
    r->w[0] =
        s->stats.quarantines == p->quarantines ? p->status : domain_status(s, p->client, p->domain);
    r->w[1] = p->res.unmapped;
    set_rets(r, 2);
}

/* Begin an ats_flush; false (and *r set) when it is answered without any queue work. */
static bool ats_flush_begin(struct iommu_server *s, const struct iommu_request *req,
                            struct iommu_pending *p, struct iommu_reply *r)
{
    struct iommu_device *d = &s->devices[req->device];
    const struct iommu_ats_flush_args *a = &req->a.ats_flush;
    r->err = IOMMU_OK;
    r->w[0] = 0; /* every word within r->len is written (the glue does not clear the reply) */
    set_rets(r, 1);
    if (d->state != IOMMU_DEV_PRESENT) {
        r->w[0] = IOMMU_STATUS_DEVICE_GONE; /* fence before invalidate: nothing is sent */
        return false;
    }
    p->unit = d->unit;
    vtd_batch_init(&p->batch, &s->units[d->unit].vu);
    if (vtd_batch_add_devtlb(&p->batch, d->sid, d->ats_qdep, a->iova, a->size) != VTD_OK) {
        r->err = IOMMU_ERR_HW;
        return false;
    }
    return true;
}

static void ats_flush_complete(struct iommu_server *s, struct iommu_pending *p, enum vtd_err e,
                               struct iommu_reply *r)
{
    r->err = vtd_to_err(e);
    r->w[0] = s->devices[p->device].quarantined ? IOMMU_STATUS_QUARANTINED : 0;
    set_rets(r, 1);
}

static void finish(struct iommu_server *s, struct iommu_pending *p, enum vtd_err e,
                   struct iommu_reply *r);

/*
 * Begin an unmap or ats_flush into p. Returns true if p was left pending (only with async, and
 * only when device-TLB work was queued, or force); else *r holds the reply.
 */
static bool begin_invalidating(struct iommu_server *s, const struct iommu_request *req,
                               struct iommu_reply *r, struct iommu_pending *p, unsigned flags,
                               uint64_t timeout_ns)
{
    p->label = req->label;
    p->client = req->client;
    p->domain = req->domain;
    p->device = req->device;
    p->quarantines = s->stats.quarantines;
    bool long_wait;
    if (req->label == IOMMU_LABEL_UNMAP) {
        long_wait = unmap_begin(s, req, p);
    } else if (ats_flush_begin(s, req, p, r)) {
        long_wait = true;
    } else {
        return false;
    }
    bool async =
        (flags & IOMMU_BEGIN_ASYNC) && (long_wait || (flags & IOMMU_BEGIN_FORCE)) && p->batch.n > 0;
    enum vtd_err e = pending_submit(s, p, async, timeout_ns);
    if (e == VTD_ERR_PENDING) {
        if (req->label == IOMMU_LABEL_UNMAP) {
            mark_pending(s, p);
        }
        p->used = true;
        return true;
    }
    finish(s, p, e, r);
    return false;
}

/* The batch finished with e (or was never needed): quarantine, release, build the reply. */
static void finish(struct iommu_server *s, struct iommu_pending *p, enum vtd_err e,
                   struct iommu_reply *r)
{
    iommu_batch_failed(s, p->unit, &p->batch, e);
    if (p->label == IOMMU_LABEL_UNMAP) {
        unmap_complete(s, p, e, r);
    } else {
        ats_flush_complete(s, p, e, r);
    }
    p->used = false;
}

bool iommu_complete(struct iommu_server *s, struct iommu_pending *p, struct iommu_reply *r)
{
    enum vtd_err e = VTD_OK;
    if (p->batch.n > 0) {
        e = vtd_batch_poll(&p->batch);
        if (e == VTD_ERR_PENDING) {
            return false;
        }
    }
    r->err = 0;
    r->len = 0;
    r->cap_kept = false;
    finish(s, p, e, r);
    return true;
}

uint64_t iommu_pending_deadline(const struct iommu_pending *p)
{
    return p->used && p->batch.n > 0 ? p->batch.deadline_ns : 0;
}

unsigned iommu_completion_event(struct iommu_server *s, unsigned unit)
{
    if (unit >= IOMMU_MAX_UNITS || !s->units[unit].used) {
        return 0;
    }
    return vtd_unit_qi_event(&s->units[unit].vu);
}

static void perform_fault_read(struct iommu_server *s, const struct iommu_request *req,
                               struct iommu_reply *r)
{
    struct iommu_client *c = &s->clients[req->client];
    uint64_t max = req->a.fault_read.max;
    if (max > IOMMU_FAULTS_PER_REPLY) {
        max = IOMMU_FAULTS_PER_REPLY;
    }
    unsigned n = 0;
    while (n < max && c->ring_count > 0) {
        iommu_fault_pack(&c->ring[c->ring_head], &r->w[2 + n * IOMMU_FAULT_WORDS]);
        c->ring_head = (c->ring_head + 1) % IOMMU_FAULT_RING;
        c->ring_count--;
        n++;
    }
    r->w[0] = n;
    r->w[1] = c->dropped;
    c->dropped = 0;
    if (c->ring_count == 0) {
        c->notified = false; /* the next fault notifies again */
    }
    set_rets(r, 2 + n * IOMMU_FAULT_WORDS);
    r->err = IOMMU_OK;
}

static void perform_pasid_bind(struct iommu_server *s, const struct iommu_request *req,
                               struct iommu_reply *r)
{
    struct iommu_device *d = &s->devices[req->device];
    struct iommu_unit *u = &s->units[d->unit];
    unsigned slot = 0;
    while (u->pasid[slot].state != IOMMU_PASID_FREE) {
        slot++; /* decode found one */
    }
    uint32_t pasid = IOMMU_PASID_FIRST + slot;
    enum vtd_err e = vtd_pasid_set_sl(&u->vu, d->sid, pasid, &s->domains[req->domain].vd);
    quarantine_if_timeout(s, d->unit, d->sid, e);
    if (e != VTD_OK) {
        r->err = vtd_to_err(e);
        return;
    }
    u->pasid[slot] = (struct iommu_pasid){.state = IOMMU_PASID_BOUND,
                                          .sid = d->sid,
                                          .did = s->domains[req->domain].vd.did,
                                          .client = req->client,
                                          .generation = d->generation};
    r->w[0] = pasid;
    set_rets(r, 1);
    r->err = IOMMU_OK;
}

static void perform_pasid_unbind(struct iommu_server *s, const struct iommu_request *req,
                                 struct iommu_reply *r)
{
    struct iommu_device *d = &s->devices[req->device];
    unsigned slot = (unsigned)(req->a.pasid_unbind.pasid - IOMMU_PASID_FIRST);
    enum vtd_err e = pasid_teardown(s, d->unit, slot);
    r->w[0] = d->quarantined ? IOMMU_STATUS_QUARANTINED : 0;
    set_rets(r, 1);
    r->err = vtd_to_err(e);
}

void iommu_perform_client(struct iommu_server *s, const struct iommu_request *req,
                          struct iommu_reply *r)
{
    switch (req->label) {
    case IOMMU_LABEL_ATTACH:
        perform_attach(s, req, r);
        break;
    case IOMMU_LABEL_DETACH:
        perform_detach(s, req, r);
        break;
    case IOMMU_LABEL_MAP:
        perform_map(s, req, r);
        break;
    case IOMMU_LABEL_UNMAP:
    case IOMMU_LABEL_ATS_FLUSH: {
        struct iommu_pending p;
        (void)begin_invalidating(s, req, r, &p, 0, 0);
        break;
    }
    case IOMMU_LABEL_FAULT_READ:
        perform_fault_read(s, req, r);
        break;
    case IOMMU_LABEL_PASID_BIND:
        perform_pasid_bind(s, req, r);
        break;
    case IOMMU_LABEL_PASID_UNBIND:
        perform_pasid_unbind(s, req, r);
        break;
    case IOMMU_LABEL_MAP_VEC:
        iommu_perform_map_vec(s, req, r);
        break;
    case IOMMU_LABEL_IRQ_ALLOC:
    case IOMMU_LABEL_IRQ_FREE:
    case IOMMU_LABEL_IRQ_RETARGET:
        iommu_perform_irq(s, req, r);
        break;
    default:
        r->err = IOMMU_ERR_BAD_LABEL;
        break;
    }
}

/* ---- Hotplug methods ----------------------------------------------------------------------- */

static enum iommu_hp_err fence(struct iommu_server *s, int dev, uint64_t mode, uint64_t *status)
{
    struct iommu_device *d = &s->devices[dev];
    struct vtd_unit *vu = &s->units[d->unit].vu;
    if (d->state != IOMMU_DEV_PRESENT) {
        *status |= IOMMU_STATUS_ALREADY;
        if (mode == IOMMU_FENCE_SURPRISE) {
            vtd_unit_fence(vu, d->sid);
            d->fence = IOMMU_FENCE_KIND_SURPRISE;
        }
        return IOMMU_HP_OK;
    }
    /* (0) Interrupts first: every IRTE of the device not present, interrupt cache flushed, so
     * nothing the device (or whatever takes its place) sends is delivered from here on. */
    enum vtd_err ie = iommu_irq_fence_sid(s, d->unit, d->sid);
    enum vtd_err e;
    if (mode == IOMMU_FENCE_ORDERLY) {
        s->stats.fences_orderly++;
        /* (1) ATS off in config space: the device stops caching and asking. */
        iommu_ats_off(s, d);
        /* (2) entry blocked, context cache + IOTLB flushed, (3) device-TLB flushed, (4) wait:
         * one batch, in that order, ending in one wait. */
        e = vtd_dev_block(vu, d->sid);
        /* From now on no device-TLB descriptor for it. */
        vtd_unit_fence(vu, d->sid);
        d->fence = IOMMU_FENCE_KIND_ORDERLY;
    } else {
        s->stats.fences_surprise++;
        /* Fenced first: the device is gone, its ATC is never addressed (the seed-000 hang). */
        vtd_unit_fence(vu, d->sid);
        d->ats_enabled = false; /* config space is not touched: nothing answers there */
        e = vtd_dev_block(vu, d->sid);
        d->fence = IOMMU_FENCE_KIND_SURPRISE;
    }
    d->state = IOMMU_DEV_FENCED;
    quarantine_if_block_failed(s, d->unit, d->sid, e);
    if (d->quarantined) {
        *status |= IOMMU_STATUS_QUARANTINED;
    }
    if (d->owner < 0 && d->domain >= 0) {
        /* Resting in the RMRR identity domain: nothing else holds it for this device. */
        int dom = d->domain;
        d->domain = -1;
        iommu_domain_put(s, dom);
    }
    if (ie != VTD_OK) {
        return IOMMU_HP_ERR_HW;
    }
    return (e == VTD_OK || e == VTD_ERR_ITE || e == VTD_ERR_ICE) ? IOMMU_HP_OK : IOMMU_HP_ERR_HW;
}

static enum iommu_hp_err removed(struct iommu_server *s, int dev)
{
    struct iommu_device *d = &s->devices[dev];
    enum iommu_hp_err e = IOMMU_HP_OK;
    if (d->state == IOMMU_DEV_REMOVED) {
        return IOMMU_HP_OK;
    }
    if (d->state == IOMMU_DEV_PRESENT) {
        uint64_t st = 0;
        e = fence(s, dev, IOMMU_FENCE_SURPRISE, &st); /* the hotplug server skipped the fence */
    }
    iommu_device_unbind_pasids(s, dev);
    iommu_irq_release_sid(s, d->unit, d->sid); /* the handles of this occupant die here */
    if (d->domain >= 0) {
        int dom = d->domain;
        d->domain = -1;
        iommu_domain_put(s, dom); /* the domain lives on while its client holds it */
    }
    d->state = IOMMU_DEV_REMOVED; /* owner kept: its detach says "gone" until device_added */
    return e;
}

void iommu_perform_hotplug(struct iommu_server *s, const struct iommu_request *req,
                           struct iommu_reply *r)
{
    switch (req->label) {
    case IOMMU_LABEL_DEVICE_FENCE: {
        uint64_t status = 0;
        r->err = fence(s, req->device, req->a.device_fence.mode, &status);
        r->w[0] = status;
        set_rets(r, 1);
        break;
    }
    case IOMMU_LABEL_DEVICE_REMOVED:
        r->err = removed(s, req->device);
        set_rets(r, 0);
        break;
    case IOMMU_LABEL_COUNTS: {
        struct iommu_counts c;
        iommu_server_counts(s, &c);
        r->err = IOMMU_HP_OK;
        r->w[0] = c.domains;
        r->w[1] = c.mappings;
        r->w[2] = c.table_pages;
        r->w[3] = c.pins;
        r->w[4] = c.stuck;
        r->w[5] = c.devices_present;
        r->w[6] = c.devices_fenced;
        r->w[7] = c.devices_quarantined;
        r->w[8] = req->device >= 0 ? s->devices[req->device].generation : 0;
        r->w[9] = c.irtes;
        set_rets(r, 10);
        break;
    }
    case IOMMU_LABEL_PORT_IRQ:
        iommu_perform_port_irq(s, req, r);
        break;
    case IOMMU_LABEL_DEVICE_ADDED: {
        enum iommu_hp_err e = IOMMU_HP_OK;
        if (req->device >= 0 && s->devices[req->device].state == IOMMU_DEV_FENCED) {
            e = removed(s, req->device);
        }
        int dev = -1;
        enum iommu_hp_err e2 = iommu_device_arrive(s, (uint16_t)req->a.device_added.sid, &dev);
        r->err = e2 != IOMMU_HP_OK ? e2 : e;
        if (dev >= 0) {
            r->w[0] = s->devices[dev].generation;
            set_rets(r, 1);
        }
        break;
    }
    default:
        r->err = IOMMU_HP_ERR_BAD_LABEL;
        break;
    }
}

/* ---- Entry points ---------------------------------------------------------------------------- */

/* Only r->len words are ever sent: the rest of w[] need not be cleared. */
static void reply_init(struct iommu_reply *r)
{
    r->err = 0;
    r->len = 0;
    r->cap_kept = false;
}

/* A client message; only its unmap and ats_flush can stay pending (in p, with ASYNC). */
static enum iommu_step client_message(struct iommu_server *s, const struct iommu_msg *m,
                                      struct iommu_reply *r, struct iommu_pending *p,
                                      unsigned flags, uint64_t timeout_ns)
{
    reply_init(r);
    s->stats.messages++;
    struct iommu_request req;
    enum iommu_err e = iommu_decode_client(s, m, &req);
    if (e != IOMMU_OK) {
        r->err = e;
        s->stats.errors++;
        return IOMMU_STEP_DONE;
    }
    if (p != NULL && (flags & IOMMU_BEGIN_ASYNC) &&
        (req.label == IOMMU_LABEL_UNMAP || req.label == IOMMU_LABEL_ATS_FLUSH)) {
        if (begin_invalidating(s, &req, r, p, flags, timeout_ns)) {
            return IOMMU_STEP_PENDING;
        }
    } else {
        iommu_perform_client(s, &req, r);
    }
    if (r->err != IOMMU_OK) {
        s->stats.errors++;
    }
    return IOMMU_STEP_DONE;
}

/*
 * The one entry point: the badge picks the protocol, decode checks, perform carries out.
 * Everything but a client's unmap and ats_flush completes here, its waits bounded in perform.
 */
enum iommu_step iommu_begin(struct iommu_server *s, const struct iommu_msg *m,
                            struct iommu_reply *r, struct iommu_pending *p, unsigned flags,
                            uint64_t timeout_ns)
{
    if (s->hotplug_badge != 0 && m->badge == s->hotplug_badge) {
        iommu_handle_hotplug(s, m, r);
        return IOMMU_STEP_DONE;
    }
    if (s->env.root_badge != 0 && m->badge == s->env.root_badge) {
        iommu_handle_root(s, m, r);
        return IOMMU_STEP_DONE;
    }
    return client_message(s, m, r, p, flags, timeout_ns);
}

void iommu_handle_client(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r)
{
    (void)client_message(s, m, r, NULL, 0, 0);
}

void iommu_handle_hotplug(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r)
{
    reply_init(r);
    s->stats.messages++;
    struct iommu_request req;
    enum iommu_hp_err e = iommu_decode_hotplug(s, m, &req);
    if (e != IOMMU_HP_OK) {
        r->err = e;
        s->stats.errors++;
        return;
    }
    iommu_perform_hotplug(s, &req, r);
    if (r->err != IOMMU_HP_OK) {
        s->stats.errors++;
    }
}

/* ---- Root task: a client ends --------------------------------------------------------------- */

bool iommu_match(const struct iommu_match *w, const struct iommu_mapping *m)
{
    switch (w->kind) {
    case IOMMU_MATCH_GRANT:
        return m->grant == w->grant;
    case IOMMU_MATCH_CLIENT:
        return m->grant != IOMMU_GRANT_RESERVED;
    case IOMMU_MATCH_FRAMES:
        return m->grant != IOMMU_GRANT_RESERVED && m->pa < w->end && w->pa < m->pa + m->size;
    }
    return false;
}

enum iommu_err iommu_unmap_matching(struct iommu_server *s, int ci, const struct iommu_match *w,
                                    uint64_t *status)
{
    struct iommu_client *c = &s->clients[ci];
    struct iommu_domain *x = &s->domains[c->domain];
    enum iommu_err result = IOMMU_OK;
    uint64_t st = 0;
    unsigned lo = 0;
    /* Runs of consecutive records that match: one strict unmap (one submission) each. */
    while (lo < x->n_maps) {
        while (lo < x->n_maps && !iommu_match(w, &x->maps[lo])) {
            lo++;
        }
        unsigned hi = lo;
        while (hi < x->n_maps && iommu_match(w, &x->maps[hi])) {
            hi++;
        }
        if (hi == lo) {
            break;
        }
        struct iommu_request req = {.label = IOMMU_LABEL_UNMAP,
                                    .client = ci,
                                    .device = -1,
                                    .domain = c->domain,
                                    .map_lo = lo,
                                    .map_hi = hi};
        req.a.unmap.iova = x->maps[lo].iova;
        req.a.unmap.size = x->maps[hi - 1].iova + x->maps[hi - 1].size - x->maps[lo].iova;
        struct iommu_reply r;
        reply_init(&r);
        unsigned before = x->n_maps;
        struct iommu_pending p;
        (void)begin_invalidating(s, &req, &r, &p, 0, 0);
        st |= r.len > 0 ? r.w[0] : 0;
        if (r.err != IOMMU_OK && result == IOMMU_OK) {
            result = (enum iommu_err)r.err;
        }
        if (x->n_maps == before) {
            lo = hi; /* stuck: leave them pinned */
        }
    }
    if (status) {
        *status = st;
    }
    return result;
}

enum iommu_err iommu_client_revoke_memory(struct iommu_server *s, uint64_t badge, unsigned grant,
                                          uint64_t *status, unsigned *pins_left)
{
    int ci = iommu_client_find(s, badge);
    if (ci < 0 || grant >= IOMMU_CLIENT_MEMORY || !s->clients[ci].mem[grant].used ||
        s->clients[ci].mem[grant].revoked) {
        return IOMMU_ERR_BAD_ARG;
    }
    struct iommu_mem_grant *g = &s->clients[ci].mem[grant];
    g->revoked = true; /* no new mapping of it from here on */
    uint64_t st = 0;
    const struct iommu_match w = {.kind = IOMMU_MATCH_GRANT, .grant = grant};
    enum iommu_err e = iommu_unmap_matching(s, ci, &w, &st);
    if (status) {
        *status = st;
    }
    if (pins_left) {
        *pins_left = g->pins;
    }
    if (g->pins == 0) {
        *g = (struct iommu_mem_grant){.revoked = true}; /* the memory is the root task's again */
    }
    return e;
}

/* Is [pa, pa + size) inside one range already revoked from c? */
static bool frames_recorded(const struct iommu_client *c, uint64_t pa, uint64_t size)
{
    for (unsigned k = 0; k < c->n_revoked; k++) {
        if (pa >= c->revoked[k].pa && pa + size <= c->revoked[k].pa + c->revoked[k].size) {
            return true;
        }
    }
    return false;
}

/* Every check of revoke_frames, no side effects. */
static enum iommu_err decode_revoke_frames(const struct iommu_server *s, int ci, uint64_t pa,
                                           uint64_t size)
{
    if (ci < 0) {
        return IOMMU_ERR_BAD_ARG;
    }
    if (size == 0 || ((pa | size) & (IOMMU_PAGE_SIZE - 1))) {
        return IOMMU_ERR_ALIGN;
    }
    if (size > IOMMU_REVOKE_FRAMES_MAX || iommu_add_overflows(pa, size)) {
        return IOMMU_ERR_RANGE;
    }
    const struct iommu_client *c = &s->clients[ci];
    if (!frames_recorded(c, pa, size) && c->n_revoked >= IOMMU_CLIENT_REVOKED) {
        return IOMMU_ERR_NO_SLOTS;
    }
    return IOMMU_OK;
}

enum iommu_err iommu_client_revoke_frames(struct iommu_server *s, uint64_t badge, uint64_t pa,
                                          uint64_t size, uint64_t *status, unsigned *pins_left)
{
    int ci = iommu_client_find(s, badge);
    uint64_t st = 0;
    unsigned left = 0;
    enum iommu_err e = decode_revoke_frames(s, ci, pa, size);
    if (e == IOMMU_OK) {
        struct iommu_client *c = &s->clients[ci];
        if (!frames_recorded(c, pa, size)) {
            /* recorded first: no map of these frames slips in from here on */
            c->revoked[c->n_revoked].pa = pa;
            c->revoked[c->n_revoked].size = size;
            c->n_revoked++;
        }
        /* The server's capability copies go in perform_unmap (env.release_cap), and only for
         * the mappings whose invalidation completed; the others stay pinned until a retry. */
        const struct iommu_match w = {.kind = IOMMU_MATCH_FRAMES, .pa = pa, .end = pa + size};
        e = iommu_unmap_matching(s, ci, &w, &st);
        const struct iommu_domain *x = &s->domains[c->domain];
        for (unsigned i = 0; i < x->n_maps; i++) {
            left += iommu_match(&w, &x->maps[i]);
        }
    }
    if (status) {
        *status = st;
    }
    if (pins_left) {
        *pins_left = left;
    }
    return e;
}

enum iommu_err iommu_client_revoke_device(struct iommu_server *s, uint64_t badge, uint16_t sid,
                                          uint64_t *status)
{
    int ci = iommu_client_find(s, badge);
    if (ci < 0 || !iommu_client_granted(&s->clients[ci], sid)) {
        return IOMMU_ERR_BAD_ARG;
    }
    struct iommu_client *c = &s->clients[ci];
    enum iommu_err e = IOMMU_OK;
    uint64_t st = 0;
    int dev = iommu_device_find(s, sid);
    if (dev >= 0 && s->devices[dev].owner == ci) {
        struct iommu_request req = {
            .label = IOMMU_LABEL_DETACH, .client = ci, .device = dev, .domain = c->domain};
        struct iommu_reply r;
        reply_init(&r);
        perform_detach(s, &req, &r);
        e = (enum iommu_err)r.err;
        st = r.len > 0 ? r.w[0] : 0;
    }
    iommu_irq_release_client(s, ci, sid);
    for (unsigned g = 0; g < IOMMU_CLIENT_VECTORS; g++) {
        if (c->vec[g].used && c->vec[g].sid == sid) {
            c->vec[g].used = false;
        }
    }
    for (unsigned k = 0; k < c->n_dev_grants; k++) {
        if (c->dev_grants[k] == sid) {
            c->dev_grants[k] = c->dev_grants[--c->n_dev_grants];
            break;
        }
    }
    if (status) {
        *status = st;
    }
    return e;
}

enum iommu_err iommu_client_unregister(struct iommu_server *s, uint64_t badge)
{
    int ci = iommu_client_find(s, badge);
    if (ci < 0) {
        return IOMMU_ERR_BAD_ARG;
    }
    struct iommu_client *c = &s->clients[ci];
    enum iommu_err result = IOMMU_OK;
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        if (s->devices[i].state != IOMMU_DEV_UNUSED && s->devices[i].owner == ci) {
            struct iommu_request req = {
                .label = IOMMU_LABEL_DETACH, .client = ci, .device = (int)i, .domain = c->domain};
            struct iommu_reply r;
            reply_init(&r);
            perform_detach(s, &req, &r);
            if (r.err != IOMMU_OK && result == IOMMU_OK) {
                result = (enum iommu_err)r.err;
            }
        }
    }
    for (unsigned u = 0; u < s->n_units; u++) {
        for (unsigned p = 0; p < IOMMU_MAX_PASIDS; p++) {
            if (s->units[u].pasid[p].state == IOMMU_PASID_BOUND &&
                s->units[u].pasid[p].client == ci) {
                (void)pasid_teardown(s, u, p);
            }
        }
    }
    /* Unmap every client mapping strictly, as if the client had asked. */
    const struct iommu_match all = {.kind = IOMMU_MATCH_CLIENT};
    enum iommu_err ue = iommu_unmap_matching(s, ci, &all, NULL);
    if (ue != IOMMU_OK && result == IOMMU_OK) {
        result = ue;
    }
    iommu_irq_release_client(s, ci, -1); /* entries of devices already removed or fenced */
    /* The pins that are left are stuck; they stay with the domain, whose owner goes away. */
    int dom = c->domain;
    iommu_domain_put(s, dom);
    if (s->domains[dom].used) {
        s->domains[dom].owner = -1;
    }
    if (c->has_notify && s->env.release_cap) {
        s->env.release_cap(s->env.ctx, c->notify_cookie); /* the notification goes with it */
    }
    memset(c, 0, sizeof(*c));
    c->domain = -1;
    return result;
}
