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
enum vtd_err iommu_submit(struct iommu_server *s, unsigned unit, struct vtd_batch *b);
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

static inline bool iommu_add_overflows(uint64_t a, uint64_t b)
{
    return a + b < a;
}

#endif /* IOMMU_INTERNAL_H */
