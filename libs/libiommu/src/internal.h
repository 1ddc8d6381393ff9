/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers shared by the libiommu sources: lookups in the fixed tables, the mapping table of a
 * domain (a sorted array of disjoint ranges), domain lifetime, submission and quarantine.
 */
#ifndef IOMMU_INTERNAL_H
#define IOMMU_INTERNAL_H

#include <iommu/server.h>

int iommu_unit_for_sid(const struct iommu_server *s, uint16_t sid);
int iommu_client_find(const struct iommu_server *s, uint64_t badge);
bool iommu_client_granted(const struct iommu_client *c, uint16_t sid);

/* Mapping table: first index whose range ends after addr (n_maps if none). */
unsigned iommu_maps_first_end_after(const struct iommu_domain *d, uint64_t addr);
/* First index whose range starts at or after addr. */
unsigned iommu_maps_first_start_at(const struct iommu_domain *d, uint64_t addr);
bool iommu_maps_overlap(const struct iommu_domain *d, uint64_t iova, uint64_t size);
/* Caller checked room and overlap. */
void iommu_maps_insert(struct iommu_domain *d, const struct iommu_mapping *m);
void iommu_maps_remove(struct iommu_domain *d, unsigned lo, unsigned hi);

int iommu_domain_create(struct iommu_server *s, unsigned unit, int owner);
/* Drop one holder; the last one destroys the domain (it must have no client mappings left). */
void iommu_domain_put(struct iommu_server *s, int domain);
/* Map [base, base+size) identity as a reserved mapping unless already there. */
enum iommu_err iommu_domain_map_reserved(struct iommu_server *s, int domain, uint64_t base,
                                         uint64_t size);
/* Does the domain have room for / a conflict with the reserved ranges of device dev? */
enum iommu_err iommu_rmrr_check(const struct iommu_server *s, int dev, int domain);

/* Submit a batch synchronously; on ITE/ICE quarantine the reported devices. */
/* Submit and wait (bounded); devices whose device-TLB invalidation failed are quarantined. */
enum vtd_err iommu_submit(struct iommu_server *s, unsigned unit, struct vtd_batch *b);
/* A batch finished with e: quarantine the devices it reports as not answering (ITE/ICE). */
void iommu_quarantine_failed(struct iommu_server *s, unsigned unit, const struct vtd_batch *b);
static inline void iommu_batch_failed(struct iommu_server *s, unsigned unit,
                                      const struct vtd_batch *b, enum vtd_err e)
{
    if (e == VTD_ERR_ITE || e == VTD_ERR_ICE) {
        iommu_quarantine_failed(s, unit, b);
    }
}
/* Quarantine: blocked, ATS off, fenced until device_added. */
void iommu_quarantine(struct iommu_server *s, unsigned unit, uint16_t sid);
/* A mapping's pin ends (its memory may be reused). */
void iommu_release_pin(struct iommu_server *s, int client, const struct iommu_mapping *m);
/* Return a device to its resting state: the RMRR identity domain, or blocked. */
enum vtd_err iommu_device_rest(struct iommu_server *s, int dev);
/* Unbind every PASID of device dev (block + drain). */
void iommu_device_unbind_pasids(struct iommu_server *s, int dev);
/* A device enters the index or replaces its previous occupant (boot or device_added). */
enum iommu_hp_err iommu_device_arrive(struct iommu_server *s, uint16_t sid, int *dev_out);
/* Disable ATS in the device's config space (no-op if not enabled). */
void iommu_ats_off(struct iommu_server *s, struct iommu_device *d);

/* Which mappings of a client an unmap pass takes (iommu_unmap_matching). */
enum iommu_match_kind {
    IOMMU_MATCH_GRANT,  /* those of memory grant `grant` */
    IOMMU_MATCH_CLIENT, /* every one but the reserved (RMRR) ones */
    IOMMU_MATCH_FRAMES, /* every one but the reserved ones whose memory intersects [pa, end) */
};
struct iommu_match {
    enum iommu_match_kind kind;
    unsigned grant;
    uint64_t pa, end;
};
bool iommu_match(const struct iommu_match *w, const struct iommu_mapping *m);

/*
 * Strictly unmap client ci's mappings that `w` matches, in runs of consecutive records, one
 * submission each; stuck ones stay pinned. *status: IOMMU_STATUS_* of the unmaps (may be NULL).
 * Returns the first failure (DEVICE_TIMEOUT, HW) or OK.
 */
enum iommu_err iommu_unmap_matching(struct iommu_server *s, int ci, const struct iommu_match *w,
                                    uint64_t *status);
/* Does [pa, pa + size) intersect a range revoked from client c (revoke_frames)? Inline: every
 * mapped range asks, and most clients have nothing revoked. */
static inline bool iommu_frames_revoked(const struct iommu_client *c, uint64_t pa, uint64_t size)
{
    for (unsigned k = 0; k < c->n_revoked; k++) {
        if (pa < c->revoked[k].pa + c->revoked[k].size && c->revoked[k].pa < pa + size) {
            return true;
        }
    }
    return false;
}

/* A device handle of client ci: attached to ci under the same generation (decode.c). */
enum iommu_err iommu_decode_handle(const struct iommu_server *s, int ci, uint64_t handle, int *dev);
/* The same, and the device is present, not fenced, not quarantined (FENCED, QUARANTINED). */
enum iommu_err iommu_decode_live_handle(const struct iommu_server *s, int ci, uint64_t handle,
                                        int *dev);

/* ---- Remapped interrupts (irq.c) ---- */
/* Clear every live IRTE of sid on unit (Present = 0) and flush them from the interrupt entry
 * cache in one batch; the entries stay allocated (CLEARED) until removal. First step of a fence. */
enum vtd_err iommu_irq_fence_sid(struct iommu_server *s, unsigned unit, uint16_t sid);
/* The device left: free every client entry of sid (cleared first if still live). */
void iommu_irq_release_sid(struct iommu_server *s, unsigned unit, uint16_t sid);
/* Free the client's entries: of device sid, or all of them (sid < 0). */
void iommu_irq_release_client(struct iommu_server *s, int client, int sid);
unsigned iommu_irq_count(const struct iommu_server *s);
enum iommu_err iommu_decode_irq_alloc(const struct iommu_server *s, struct iommu_request *req);
enum iommu_err iommu_decode_irq_handle(const struct iommu_server *s, struct iommu_request *req,
                                       uint64_t handle);
enum iommu_err iommu_decode_irq_retarget(const struct iommu_server *s, struct iommu_request *req);
void iommu_perform_irq(struct iommu_server *s, const struct iommu_request *req,
                       struct iommu_reply *r);
/* map_vec (vec.c) */
enum iommu_err iommu_decode_map_vec(const struct iommu_server *s, const struct iommu_msg *m,
                                    struct iommu_request *req);
void iommu_perform_map_vec(struct iommu_server *s, const struct iommu_request *req,
                           struct iommu_reply *r);
enum iommu_hp_err iommu_decode_port_irq(const struct iommu_server *s, struct iommu_request *req);
void iommu_perform_port_irq(struct iommu_server *s, const struct iommu_request *req,
                            struct iommu_reply *r);

static inline bool iommu_add_overflows(uint64_t a, uint64_t b)
{
    return a + b < a;
}

#endif /* IOMMU_INTERNAL_H */
