/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parked requests (iommu/park.h): unmap and ats_flush split into a submit phase that queues
 * the invalidation batch asynchronously and a complete phase that releases memory and answers
 * once the hardware let go. The synchronous perform path (perform.c) stays as it is; this file
 * mirrors its unmap/ats_flush semantics for the requests worth parking, so a client gets the
 * same answer either way.
 */
#include "internal.h"

#include <iommu/park.h>
#include <stddef.h>
#include <string.h>

static enum iommu_err park_vtd_to_err(enum vtd_err e)
{
    switch (e) {
    case VTD_OK:
        return IOMMU_OK;
    case VTD_ERR_ITE:
    case VTD_ERR_ICE:
        return IOMMU_ERR_DEVICE_TIMEOUT;
    default:
        return IOMMU_ERR_HW;
    }
}

/* Status bits for the client's domain (as perform.c reports them). */
static uint64_t park_domain_status(const struct iommu_server *s, int client, int domain)
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

/* Devices of the unit that timed out and whose quarantine fence has not completed: retry each
 * fence once (perform.c does the same before releasing memory). */
static bool park_quarantine_pending(struct iommu_server *s, unsigned unit)
{
    bool pending = false;
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        struct iommu_device *d = &s->devices[i];
        if (d->state != IOMMU_DEV_UNUSED && d->unit == unit && d->quarantined &&
            !d->quarantine_done) {
            iommu_quarantine(s, unit, d->sid);
            pending |= !d->quarantine_done;
        }
    }
    return pending;
}

/* Will an unmap of this domain send device-TLB work (the wait that may be long)? */
static bool domain_has_live_ats(const struct iommu_server *s, int domain)
{
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        const struct iommu_device *d = &s->devices[i];
        if (d->state == IOMMU_DEV_PRESENT && d->domain == domain && d->ats_enabled &&
            !d->quarantined) {
            return true;
        }
    }
    return false;
}

bool iommu_park_any_live_ats(const struct iommu_server *s)
{
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        const struct iommu_device *d = &s->devices[i];
        if (d->state == IOMMU_DEV_PRESENT && d->domain >= 0 && d->ats_enabled && !d->quarantined) {
            return true;
        }
    }
    return false;
}

static struct iommu_parked *pick(struct iommu_parked *pool, unsigned n, int domain, int device)
{
    struct iommu_parked *free_rec = NULL;
    for (unsigned i = 0; i < n; i++) {
        if (!pool[i].used) {
            free_rec = free_rec ? free_rec : &pool[i];
        } else if ((domain >= 0 && pool[i].domain == domain) ||
                   (device >= 0 && pool[i].device == device)) {
            return NULL; /* one parked request per domain / device keeps completion exact */
        }
    }
    return free_rec;
}

/* Queue the batch; if the queue cannot take it asynchronously, complete it synchronously. */
static void park_submit(struct iommu_server *s, struct iommu_parked *p, uint64_t timeout_ns)
{
    if (p->batch.n == 0) {
        return; /* nothing to wait for: completes at the first poll */
    }
    s->stats.submissions++;
    if (vtd_batch_submit_async(&p->batch, timeout_ns) != VTD_OK &&
        p->batch.state == VTD_BATCH_OPEN) {
        (void)vtd_batch_submit(&p->batch, timeout_ns);
    }
}

static bool park_unmap(struct iommu_server *s, const struct iommu_request *req,
                       struct iommu_parked *p, uint64_t timeout_ns)
{
    struct iommu_domain *x = &s->domains[req->domain];
    struct iommu_unit *u = &s->units[x->unit];
    const struct iommu_unmap_args *a = &req->a.unmap;
    memset(&p->res, 0, sizeof(p->res));
    if (vtd_domain_unmap(&x->vd, a->iova, a->size, &p->res) != VTD_OK) {
        return false; /* decode made this impossible; nothing changed: answer synchronously */
    }
    vtd_batch_init(&p->batch, &u->vu);
    bool retry = false;
    p->n_maps = 0;
    for (unsigned i = req->map_lo; i < req->map_hi; i++) {
        retry |= x->maps[i].stuck;
        p->maps[p->n_maps++] = x->maps[i];
        x->maps[i].stuck = true; /* out of the tables, not yet confirmed: pinned, unusable */
    }
    if (retry) {
        vtd_batch_add_iotlb_domain(&p->batch, x->vd.did);
    }
    vtd_batch_add_unmap(&p->batch, &x->vd, &p->res);
    uint64_t inv_size = p->res.inv_end - p->res.inv_start;
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        const struct iommu_device *d = &s->devices[i];
        if (d->state == IOMMU_DEV_PRESENT && d->domain == req->domain && d->ats_enabled &&
            !d->quarantined && (inv_size > 0 || retry)) {
            vtd_batch_add_devtlb(&p->batch, d->sid, d->ats_qdep, retry ? 0 : p->res.inv_start,
                                 retry ? 0 : inv_size);
        }
    }
    p->unit = x->unit;
    p->unmapped = p->res.unmapped;
    park_submit(s, p, timeout_ns);
    return true;
}

static bool park_ats_flush(struct iommu_server *s, const struct iommu_request *req,
                           struct iommu_parked *p, uint64_t timeout_ns)
{
    struct iommu_device *d = &s->devices[req->device];
    const struct iommu_ats_flush_args *a = &req->a.ats_flush;
    vtd_batch_init(&p->batch, &s->units[d->unit].vu);
    if (vtd_batch_add_devtlb(&p->batch, d->sid, d->ats_qdep, a->iova, a->size) != VTD_OK) {
        return false; /* answered synchronously (IOMMU_ERR_HW, as perform.c does) */
    }
    p->unit = d->unit;
    p->n_maps = 0;
    park_submit(s, p, timeout_ns);
    return true;
}

struct iommu_parked *iommu_park_begin(struct iommu_server *s, const struct iommu_msg *m,
                                      struct iommu_reply *r, struct iommu_parked *pool, unsigned n,
                                      unsigned flags, uint64_t timeout_ns)
{
    r->err = 0;
    r->len = 0;
    r->cap_kept = false;
    s->stats.messages++;
    struct iommu_request req;
    enum iommu_err e = iommu_decode_client(s, m, &req);
    if (e != IOMMU_OK) {
        r->err = e;
        s->stats.errors++;
        return NULL;
    }
    struct iommu_parked *p = NULL;
    bool force = flags & IOMMU_PARK_FORCE;
    if (req.label == IOMMU_LABEL_UNMAP && req.map_hi - req.map_lo <= IOMMU_PARK_MAPS &&
        (force || domain_has_live_ats(s, req.domain))) {
        p = pick(pool, n, req.domain, -1);
    } else if (req.label == IOMMU_LABEL_ATS_FLUSH && req.device >= 0 &&
               s->devices[req.device].state == IOMMU_DEV_PRESENT &&
               s->devices[req.device].ats_enabled && !s->devices[req.device].quarantined) {
        p = pick(pool, n, -1, req.device);
    }
    if (p) {
        memset(p, 0, offsetof(struct iommu_parked, batch));
        p->label = req.label;
        p->client = req.client;
        p->domain = req.label == IOMMU_LABEL_UNMAP ? req.domain : -1;
        p->device = req.label == IOMMU_LABEL_ATS_FLUSH ? req.device : -1;
        p->badge = m->badge;
        bool parked = req.label == IOMMU_LABEL_UNMAP ? park_unmap(s, &req, p, timeout_ns)
                                                     : park_ats_flush(s, &req, p, timeout_ns);
        if (parked) {
            p->used = true;
            return p;
        }
    }
    iommu_perform_client(s, &req, r); /* the synchronous path, unchanged */
    if (r->err != IOMMU_OK) {
        s->stats.errors++;
    }
    return NULL;
}

/* Release the records this request parked, if they are still the ones it left stuck. */
static void release_parked_maps(struct iommu_server *s, struct iommu_parked *p)
{
    struct iommu_domain *x = &s->domains[p->domain];
    if (!x->used || x->owner != p->client) {
        return; /* the domain went away meanwhile: its stuck pins stay (safe) */
    }
    for (unsigned k = 0; k < p->n_maps; k++) {
        const struct iommu_mapping *want = &p->maps[k];
        unsigned i = iommu_maps_first_start_at(x, want->iova);
        if (i < x->n_maps && x->maps[i].iova == want->iova && x->maps[i].size == want->size &&
            x->maps[i].pa == want->pa && x->maps[i].cookie == want->cookie &&
            x->maps[i].grant == want->grant && x->maps[i].stuck) {
            iommu_release_pin(s, p->client, &x->maps[i]);
            iommu_maps_remove(x, i, i + 1);
        }
    }
}

bool iommu_park_complete(struct iommu_server *s, struct iommu_parked *p, struct iommu_reply *r)
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
    if (e == VTD_ERR_ITE || e == VTD_ERR_ICE) {
        for (unsigned i = 0; i < p->batch.n_failed && i < VTD_REPORT_SIDS; i++) {
            iommu_quarantine(s, p->unit, p->batch.failed_sid[i]);
        }
    }
    if (p->label == IOMMU_LABEL_UNMAP) {
        bool confirmed = e == VTD_OK || e == VTD_ERR_ITE || e == VTD_ERR_ICE;
        /* A device that did not answer must be blocked before its memory is reused. */
        if (confirmed && !park_quarantine_pending(s, p->unit)) {
            vtd_page_list_release(&s->units[p->unit].vu, &p->res.freed);
            release_parked_maps(s, p);
        }
        r->err = confirmed ? (e == VTD_OK ? IOMMU_OK : IOMMU_ERR_DEVICE_TIMEOUT) : IOMMU_ERR_HW;
        r->w[0] = park_domain_status(s, p->client, p->domain);
        r->w[1] = p->unmapped;
        r->len = 2;
    } else {
        const struct iommu_device *d = &s->devices[p->device];
        r->err = park_vtd_to_err(e);
        r->w[0] = d->quarantined ? IOMMU_STATUS_QUARANTINED : 0;
        r->len = 1;
    }
    if (r->err != IOMMU_OK) {
        s->stats.errors++;
    }
    p->used = false;
    return true;
}

unsigned iommu_park_event(struct iommu_server *s, unsigned unit)
{
    if (unit >= IOMMU_MAX_UNITS || !s->units[unit].used) {
        return 0;
    }
    return vtd_unit_qi_event(&s->units[unit].vu);
}

uint64_t iommu_park_deadline(const struct iommu_parked *p)
{
    return p->batch.n > 0 ? p->batch.deadline_ns : 0;
}
