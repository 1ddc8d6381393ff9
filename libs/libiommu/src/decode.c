/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The decode half of message handling: every check a request needs — shape against the
 * protocol table, authority of the badge, handles and generations, alignment, overflow, ranges,
 * rights, state — made against a const server, so a rejected message provably changed
 * nothing. What passes is a struct iommu_request the perform half can carry out without
 * further checks.
 */
#include "internal.h"

#include <string.h>

/* Shape: known label of the right protocol, exact word count, caps within the method's limit. */
static bool shape_ok(const struct iommu_msg *m, const struct iommu_method_info *mi,
                     struct iommu_request *req)
{
    if (m->len < mi->nargs || m->len > mi->max_words || m->len > IOMMU_MSG_WORDS ||
        m->ncaps > mi->max_caps || m->ncaps > IOMMU_MSG_CAPS) {
        return false;
    }
    req->label = m->label;
    req->client = -1;
    req->device = -1;
    req->irq = -1;
    req->domain = -1;
    req->map_lo = req->map_hi = 0;
    req->pa = 0;
    req->vec = NULL;
    req->n_vec = 0;
    req->grant = 0;
    req->cookie = 0;
    /* A constant-size copy, inlined even where the build says -fno-builtin (not a library
     * call on the message path): words past m->len are never read for this method. */
    __builtin_memcpy(&req->a, m->w, sizeof(req->a));
    return true;
}
_Static_assert(sizeof(((struct iommu_request *)0)->a) <= sizeof(((struct iommu_msg *)0)->w),
               "every method's arguments fit in the message words");

/* A device handle of client ci: the device must be attached to ci under the same generation. */
enum iommu_err iommu_decode_handle(const struct iommu_server *s, int ci, uint64_t handle, int *dev)
{
    if (handle > IOMMU_HANDLE_MAX) {
        return IOMMU_ERR_BAD_ARG;
    }
    uint16_t sid = IOMMU_HANDLE_SID(handle);
    int i = iommu_device_find(s, sid);
    if (i < 0 || s->devices[i].generation != IOMMU_HANDLE_GEN(handle)) {
        return IOMMU_ERR_STALE;
    }
    if (s->devices[i].owner != ci) {
        return IOMMU_ERR_NOT_ATTACHED;
    }
    *dev = i;
    return IOMMU_OK;
}

enum iommu_err iommu_decode_live_handle(const struct iommu_server *s, int ci, uint64_t handle,
                                        int *dev)
{
    enum iommu_err e = iommu_decode_handle(s, ci, handle, dev);
    if (e != IOMMU_OK) {
        return e;
    }
    const struct iommu_device *d = &s->devices[*dev];
    if (d->quarantined) {
        return IOMMU_ERR_QUARANTINED;
    }
    return d->state == IOMMU_DEV_PRESENT ? IOMMU_OK : IOMMU_ERR_FENCED;
}

static enum iommu_err decode_range(const struct iommu_domain *d, uint64_t iova, uint64_t size)
{
    if (size == 0 || ((iova | size) & (IOMMU_PAGE_SIZE - 1))) {
        return IOMMU_ERR_ALIGN;
    }
    if (iommu_add_overflows(iova, size) || iova + size > d->vd.limit) {
        return IOMMU_ERR_RANGE;
    }
    return IOMMU_OK;
}

static enum iommu_err decode_attach(const struct iommu_server *s, const struct iommu_msg *m,
                                    struct iommu_request *req)
{
    const struct iommu_client *c = &s->clients[req->client];
    uint64_t sid = req->a.attach.sid;
    if (sid > 0xffff) {
        return IOMMU_ERR_BAD_ARG;
    }
    if (!iommu_client_granted(c, (uint16_t)sid)) {
        return IOMMU_ERR_NOT_GRANTED;
    }
    int i = iommu_device_find(s, (uint16_t)sid);
    if (i < 0 || s->devices[i].state == IOMMU_DEV_REMOVED) {
        return IOMMU_ERR_ABSENT;
    }
    const struct iommu_device *d = &s->devices[i];
    if (d->quarantined) {
        return IOMMU_ERR_QUARANTINED;
    }
    if (d->state != IOMMU_DEV_PRESENT) {
        return IOMMU_ERR_FENCED;
    }
    if (d->owner == req->client) {
        return IOMMU_ERR_ALREADY;
    }
    if (d->owner >= 0) {
        return IOMMU_ERR_BUSY;
    }
    if (s->domains[req->domain].unit != d->unit) {
        return IOMMU_ERR_UNIT;
    }
    enum iommu_err e = iommu_rmrr_check(s, i, req->domain);
    if (e != IOMMU_OK) {
        return e;
    }
    (void)m;
    req->device = i;
    return IOMMU_OK;
}

static enum iommu_err decode_map(const struct iommu_server *s, const struct iommu_msg *m,
                                 struct iommu_request *req)
{
    const struct iommu_client *c = &s->clients[req->client];
    const struct iommu_domain *d = &s->domains[req->domain];
    const struct iommu_map_args *a = &req->a.map;
    if (a->size == 0 || ((a->iova | a->offset | a->size) & (IOMMU_PAGE_SIZE - 1))) {
        return IOMMU_ERR_ALIGN;
    }
    if (iommu_add_overflows(a->iova, a->size) || a->iova + a->size > d->vd.limit) {
        return IOMMU_ERR_RANGE;
    }
    if (a->rights == 0 || (a->rights & ~(uint64_t)(IOMMU_READ | IOMMU_WRITE))) {
        return IOMMU_ERR_RIGHTS;
    }
    uint64_t base, len;
    unsigned rights;
    if (a->memory == IOMMU_MEM_CAP) {
        const struct iommu_cap_ref *cap = &m->cap[0];
        if (m->ncaps != 1 || cap->kind != IOMMU_CAP_FRAME || cap->size == 0 ||
            ((cap->pa | cap->size) & (IOMMU_PAGE_SIZE - 1)) ||
            iommu_add_overflows(cap->pa, cap->size)) {
            return IOMMU_ERR_BAD_MEMORY;
        }
        if (iommu_frames_revoked(c, cap->pa, cap->size)) {
            return IOMMU_ERR_REVOKED; /* the root task took these frames back */
        }
        base = cap->pa;
        len = cap->size;
        rights = cap->rights;
        req->grant = IOMMU_GRANT_CAP;
        req->cookie = cap->cookie;
    } else {
        if (m->ncaps != 0) {
            return IOMMU_ERR_BAD_MSG; /* a capability nobody would use */
        }
        if (a->memory < IOMMU_CLIENT_MEMORY && c->mem[a->memory].revoked) {
            return IOMMU_ERR_REVOKED;
        }
        if (a->memory >= IOMMU_CLIENT_MEMORY || !c->mem[a->memory].used) {
            return IOMMU_ERR_BAD_MEMORY;
        }
        base = c->mem[a->memory].pa;
        len = c->mem[a->memory].size;
        rights = c->mem[a->memory].rights;
        req->grant = (uint16_t)a->memory;
    }
    if (iommu_add_overflows(a->offset, a->size) || a->offset + a->size > len) {
        return IOMMU_ERR_RANGE;
    }
    if (a->rights & ~(uint64_t)rights) {
        return IOMMU_ERR_RIGHTS;
    }
    if (iommu_frames_revoked(c, base + a->offset, a->size)) {
        return IOMMU_ERR_REVOKED; /* a grant's memory the root task took back as frames */
    }
    if (iommu_maps_overlap(d, a->iova, a->size)) {
        return IOMMU_ERR_OVERLAP;
    }
    if (d->n_maps >= IOMMU_MAPS_PER_DOMAIN) {
        return IOMMU_ERR_NO_SLOTS;
    }
    /* One client cannot drain the page pool all clients share (its few spare tables, bounded by
     * IOMMU_SPARE_TABLES, are reused by maps and do not count against it). */
    if (d->vd.table_pages - d->vd.spare_tables >= IOMMU_TABLE_PAGES_QUOTA) {
        return IOMMU_ERR_NO_MEMORY;
    }
    req->pa = base + a->offset;
    return IOMMU_OK;
}

static enum iommu_err decode_unmap(const struct iommu_server *s, struct iommu_request *req)
{
    const struct iommu_domain *d = &s->domains[req->domain];
    const struct iommu_unmap_args *a = &req->a.unmap;
    enum iommu_err e = decode_range(d, a->iova, a->size);
    if (e != IOMMU_OK) {
        return e;
    }
    unsigned lo = iommu_maps_first_end_after(d, a->iova);
    unsigned hi = iommu_maps_first_start_at(d, a->iova + a->size);
    if (lo >= hi) {
        return IOMMU_ERR_NOT_MAPPED;
    }
    if (d->maps[lo].iova < a->iova ||
        d->maps[hi - 1].iova + d->maps[hi - 1].size > a->iova + a->size) {
        return IOMMU_ERR_SPLIT;
    }
    for (unsigned i = lo; i < hi; i++) {
        if (d->maps[i].grant == IOMMU_GRANT_RESERVED) {
            return IOMMU_ERR_RESERVED;
        }
    }
    req->map_lo = lo;
    req->map_hi = hi;
    return IOMMU_OK;
}

static enum iommu_err decode_ats_flush(const struct iommu_server *s, struct iommu_request *req)
{
    const struct iommu_ats_flush_args *a = &req->a.ats_flush;
    enum iommu_err e = iommu_decode_handle(s, req->client, a->handle, &req->device);
    if (e != IOMMU_OK) {
        return e;
    }
    const struct iommu_device *d = &s->devices[req->device];
    if (d->quarantined) {
        return IOMMU_ERR_QUARANTINED;
    }
    if (a->size != 0 || a->iova != 0) {
        e = decode_range(&s->domains[req->domain], a->iova, a->size);
        if (e != IOMMU_OK) {
            return e;
        }
    }
    if (d->state == IOMMU_DEV_PRESENT && !d->ats_enabled) {
        return IOMMU_ERR_NOT_ATS;
    }
    return IOMMU_OK;
}

static enum iommu_err decode_pasid_bind(const struct iommu_server *s, struct iommu_request *req)
{
    enum iommu_err e =
        iommu_decode_live_handle(s, req->client, req->a.pasid_bind.handle, &req->device);
    if (e != IOMMU_OK) {
        return e;
    }
    const struct iommu_device *d = &s->devices[req->device];
    const struct iommu_unit *u = &s->units[d->unit];
    /* The PASID drain needs the page request queue (VT-d 7.10); QEMU has no PRS. */
    if (u->vu.cfg.mode != VTD_MODE_SCALABLE || !u->vu.f.pasid || !u->vu.f.prs) {
        return IOMMU_ERR_UNSUPPORTED;
    }
    for (unsigned p = 0; p < IOMMU_MAX_PASIDS; p++) {
        if (u->pasid[p].state == IOMMU_PASID_FREE) {
            return IOMMU_OK;
        }
    }
    return IOMMU_ERR_NO_PASID;
}

static enum iommu_err decode_pasid_unbind(const struct iommu_server *s, struct iommu_request *req)
{
    const struct iommu_pasid_unbind_args *a = &req->a.pasid_unbind;
    if (a->handle > IOMMU_HANDLE_MAX || a->pasid > 0xfffff) {
        return IOMMU_ERR_BAD_ARG;
    }
    uint16_t sid = IOMMU_HANDLE_SID(a->handle);
    int i = iommu_device_find(s, sid);
    if (i < 0 || s->devices[i].generation != IOMMU_HANDLE_GEN(a->handle)) {
        return IOMMU_ERR_STALE;
    }
    if (a->pasid < IOMMU_PASID_FIRST || a->pasid >= IOMMU_PASID_FIRST + IOMMU_MAX_PASIDS) {
        return IOMMU_ERR_NOT_BOUND;
    }
    const struct iommu_pasid *p = &s->units[s->devices[i].unit].pasid[a->pasid - IOMMU_PASID_FIRST];
    if (p->state != IOMMU_PASID_BOUND || p->client != req->client || p->sid != sid ||
        p->generation != s->devices[i].generation) {
        return IOMMU_ERR_NOT_BOUND;
    }
    req->device = i;
    return IOMMU_OK;
}

enum iommu_err iommu_decode_client(const struct iommu_server *s, const struct iommu_msg *m,
                                   struct iommu_request *req)
{
    int ci = iommu_client_find(s, m->badge);
    if (ci < 0) {
        return IOMMU_ERR_DENIED;
    }
    const struct iommu_method_info *mi = iommu_method_find(m->label);
    if (!mi || mi->proto != IOMMU_PROTO_CLIENT) {
        return IOMMU_ERR_BAD_LABEL;
    }
    if (!shape_ok(m, mi, req)) {
        return IOMMU_ERR_BAD_MSG;
    }
    req->client = ci;
    req->domain = s->clients[ci].domain;
    if (req->domain < 0 || !s->domains[req->domain].used) {
        return IOMMU_ERR_DENIED;
    }
    switch (m->label) {
    case IOMMU_LABEL_ATTACH:
        return decode_attach(s, m, req);
    case IOMMU_LABEL_DETACH:
        return iommu_decode_handle(s, ci, req->a.detach.handle, &req->device);
    case IOMMU_LABEL_MAP:
        return decode_map(s, m, req);
    case IOMMU_LABEL_MAP_POOL: {
        /* The same request as map of a grant from then on (perform sees MAP). */
        struct iommu_map_pool_args p = req->a.map_pool;
        req->label = IOMMU_LABEL_MAP;
        req->a.map = (struct iommu_map_args){.iova = p.iova,
                                             .memory = (uint32_t)p.memory,
                                             .offset = p.offset,
                                             .size = p.size,
                                             .rights = p.memory >> 32};
        if (req->a.map.memory == IOMMU_MEM_CAP) {
            return IOMMU_ERR_BAD_MEMORY; /* map_pool never carries a capability */
        }
        return decode_map(s, m, req);
    }
    case IOMMU_LABEL_UNMAP:
        return decode_unmap(s, req);
    case IOMMU_LABEL_ATS_FLUSH:
        return decode_ats_flush(s, req);
    case IOMMU_LABEL_FAULT_READ:
        return IOMMU_OK;
    case IOMMU_LABEL_PASID_BIND:
        return decode_pasid_bind(s, req);
    case IOMMU_LABEL_PASID_UNBIND:
        return decode_pasid_unbind(s, req);
    case IOMMU_LABEL_IRQ_ALLOC:
        return iommu_decode_irq_alloc(s, req);
    case IOMMU_LABEL_IRQ_FREE:
        return iommu_decode_irq_handle(s, req, req->a.irq_free.irq);
    case IOMMU_LABEL_IRQ_RETARGET:
        return iommu_decode_irq_retarget(s, req);
    case IOMMU_LABEL_MAP_VEC:
        return iommu_decode_map_vec(s, m, req);
    default:
        return IOMMU_ERR_BAD_LABEL;
    }
}

enum iommu_hp_err iommu_decode_hotplug(const struct iommu_server *s, const struct iommu_msg *m,
                                       struct iommu_request *req)
{
    if (s->hotplug_badge == 0 || m->badge != s->hotplug_badge) {
        return IOMMU_HP_ERR_DENIED;
    }
    const struct iommu_method_info *mi = iommu_method_find(m->label);
    if (!mi || mi->proto != IOMMU_PROTO_HOTPLUG) {
        return IOMMU_HP_ERR_BAD_LABEL;
    }
    if (!shape_ok(m, mi, req)) {
        return IOMMU_HP_ERR_BAD_MSG;
    }
    uint64_t sid = m->w[0]; /* every hotplug method starts with the source-id */
    if (sid > 0xffff) {
        return IOMMU_HP_ERR_BAD_ARG;
    }
    int i = iommu_device_find(s, (uint16_t)sid);
    switch (m->label) {
    case IOMMU_LABEL_COUNTS:
        req->device = i; /* -1: never seen, reported as generation 0 */
        return IOMMU_HP_OK;
    case IOMMU_LABEL_PORT_IRQ:
        return iommu_decode_port_irq(s, req);
    case IOMMU_LABEL_DEVICE_FENCE:
        if (req->a.device_fence.mode != IOMMU_FENCE_ORDERLY &&
            req->a.device_fence.mode != IOMMU_FENCE_SURPRISE) {
            return IOMMU_HP_ERR_BAD_ARG;
        }
        /* fall through */
    case IOMMU_LABEL_DEVICE_REMOVED:
        if (i < 0) {
            return IOMMU_HP_ERR_UNKNOWN;
        }
        req->device = i;
        return IOMMU_HP_OK;
    case IOMMU_LABEL_DEVICE_ADDED:
        if (iommu_unit_for_sid(s, (uint16_t)sid) < 0) {
            return IOMMU_HP_ERR_NO_UNIT;
        }
        if (i >= 0 && s->devices[i].state == IOMMU_DEV_PRESENT) {
            return IOMMU_HP_ERR_PRESENT;
        }
        if (i < 0) {
            bool room = false;
            for (unsigned k = 0; k < IOMMU_MAX_DEVICES && !room; k++) {
                room = s->devices[k].state == IOMMU_DEV_UNUSED;
            }
            if (!room) {
                return IOMMU_HP_ERR_NO_SPACE;
            }
        }
        req->device = i;
        return IOMMU_HP_OK;
    default:
        return IOMMU_HP_ERR_BAD_LABEL;
    }
}
