/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * map_vec: a scatter list of memory-grant ranges mapped by one message. A driver that sets up a
 * ring of buffers, or a 2 MiB region, pays one IPC round trip, one decode and - where the unit
 * caches not-present entries (caching mode) - one invalidation batch with one wait, instead of
 * one of each per range. The list is validated completely before anything changes (ascending,
 * disjoint, inside the domain and the grants, within the rights, free of existing mappings,
 * room for every record); then every range is mapped, or on a page-pool or hardware failure
 * none is. Superpages come from vtd_domain_map where IOVA, memory and size align.
 */
#include "internal.h"

/* Beyond this many ranges a map's caching-mode invalidation is domain-selective: one descriptor
 * instead of a page-selective one per range (and the batch engine's merge scan over them). */
#define VEC_PSI_MAX 8u

enum iommu_err iommu_decode_map_vec(const struct iommu_server *s, const struct iommu_msg *m,
                                    struct iommu_request *req)
{
    const struct iommu_client *c = &s->clients[req->client];
    const struct iommu_domain *d = &s->domains[req->domain];
    uint64_t prev_end = 0;
    for (unsigned i = 0; i < m->len; i++) {
        uint64_t w = m->w[i];
        uint64_t iova = IOMMU_VEC_IOVA(w), size = IOMMU_VEC_SIZE(w), off = IOMMU_VEC_OFFSET(w);
        unsigned g = IOMMU_VEC_GRANT(w), rights = IOMMU_VEC_RIGHTS(w);
        /* The fields cannot overflow: IOVA < 2^48, size <= 2 MiB, offset < 64 MiB. */
        if (i > 0 && iova < prev_end) {
            return IOMMU_ERR_BAD_ARG; /* not ascending, or overlapping each other */
        }
        if (iova + size > d->vd.limit) {
            return IOMMU_ERR_RANGE;
        }
        if (rights == 0) {
            return IOMMU_ERR_RIGHTS;
        }
        if (g < IOMMU_CLIENT_MEMORY && c->mem[g].revoked) {
            return IOMMU_ERR_REVOKED;
        }
        if (g >= IOMMU_CLIENT_MEMORY || !c->mem[g].used) {
            return IOMMU_ERR_BAD_MEMORY;
        }
        if (off + size > c->mem[g].size) {
            return IOMMU_ERR_RANGE;
        }
        if (rights & ~(unsigned)c->mem[g].rights) {
            return IOMMU_ERR_RIGHTS;
        }
        if (iommu_frames_revoked(c, c->mem[g].pa + off, size)) {
            return IOMMU_ERR_REVOKED;
        }
        if (iommu_maps_overlap(d, iova, size)) {
            return IOMMU_ERR_OVERLAP;
        }
        prev_end = iova + size;
    }
    if (d->n_maps + m->len > IOMMU_MAPS_PER_DOMAIN) {
        return IOMMU_ERR_NO_SLOTS;
    }
    if (d->vd.table_pages - d->vd.spare_tables >= IOMMU_TABLE_PAGES_QUOTA) {
        return IOMMU_ERR_NO_MEMORY;
    }
    req->vec = m->w;
    req->n_vec = m->len;
    return IOMMU_OK;
}

/* Take ranges [0, n) out of the page table again (never reported, never flushed in). */
static void unmap_prefix(struct iommu_domain *x, const uint64_t *vec, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct vtd_unmap_result res;
        if (vtd_domain_unmap(&x->vd, IOMMU_VEC_IOVA(vec[i]), IOMMU_VEC_SIZE(vec[i]), &res) ==
            VTD_OK) {
            vtd_page_list_release(x->vd.unit, &res.freed);
        }
    }
}

void iommu_perform_map_vec(struct iommu_server *s, const struct iommu_request *req,
                           struct iommu_reply *r)
{
    struct iommu_domain *x = &s->domains[req->domain];
    struct iommu_client *c = &s->clients[req->client];
    const uint64_t *vec = req->vec;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < req->n_vec; i++) {
        uint64_t w = vec[i];
        unsigned rights = IOMMU_VEC_RIGHTS(w);
        unsigned vr = ((rights & IOMMU_READ) ? VTD_R : 0) | ((rights & IOMMU_WRITE) ? VTD_W : 0);
        uint64_t pa = c->mem[IOMMU_VEC_GRANT(w)].pa + IOMMU_VEC_OFFSET(w);
        enum vtd_err e = vtd_domain_map(&x->vd, IOMMU_VEC_IOVA(w), pa, IOMMU_VEC_SIZE(w), vr);
        if (e != VTD_OK) {
            unmap_prefix(x, vec, i);
            r->err = e == VTD_ERR_NOMEM ? IOMMU_ERR_NO_MEMORY : IOMMU_ERR_HW;
            return;
        }
        bytes += IOMMU_VEC_SIZE(w);
    }
    if (vtd_domain_map_needs_flush(&x->vd)) {
        /* Caching mode (VT-d 6.1): one batch for every range; adjacent ones merge. */
        struct vtd_batch b;
        vtd_batch_init(&b, x->vd.unit);
        if (req->n_vec > VEC_PSI_MAX) {
            vtd_batch_add_iotlb_domain(&b, x->vd.did);
        }
        for (unsigned i = 0; i < req->n_vec && req->n_vec <= VEC_PSI_MAX; i++) {
            vtd_batch_add_iotlb_range(&b, x->vd.did, IOMMU_VEC_IOVA(vec[i]), IOMMU_VEC_SIZE(vec[i]),
                                      true);
        }
        enum vtd_err fe = iommu_submit(s, x->unit, &b);
        if (fe != VTD_OK && fe != VTD_ERR_ITE && fe != VTD_ERR_ICE) {
            unmap_prefix(x, vec, req->n_vec);
            r->err = IOMMU_ERR_HW;
            return;
        }
    }
    for (unsigned i = 0; i < req->n_vec; i++) {
        uint64_t w = vec[i];
        unsigned g = IOMMU_VEC_GRANT(w);
        struct iommu_mapping m = {.iova = IOMMU_VEC_IOVA(w),
                                  .size = IOMMU_VEC_SIZE(w),
                                  .pa = c->mem[g].pa + IOMMU_VEC_OFFSET(w),
                                  .cookie = 0,
                                  .grant = (uint16_t)g,
                                  .rights = (uint8_t)IOMMU_VEC_RIGHTS(w)};
        iommu_maps_insert(x, &m);
        c->mem[g].pins++;
    }
    r->w[0] = bytes;
    r->len = 1;
    r->err = IOMMU_OK;
}
