/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parked requests: a client's unmap or ats_flush whose invalidation may take long (device-TLB
 * work) is split into a "submit" phase, which changes the tables and queues the batch
 * asynchronously, and a "complete" phase, run when the batch finished (invalidation-completion
 * interrupt, or the request's deadline), which releases pinned memory and builds the reply.
 * Meanwhile the server serves other clients: a slow device delays only its requester.
 *
 * The glue owns a pool of struct iommu_parked (they must not move while in flight: libvtd keeps
 * a pointer to the batch) and one saved reply capability per parked request. Whatever cannot be
 * parked (no free record, not a long wait, too many mappings in the range, another request of
 * the same domain already parked) is completed synchronously by iommu_park_begin itself, so
 * parking never changes what a client is answered, only when.
 *
 * Safety while parked: the unmapped records stay in the domain marked `stuck` (translation gone
 * from the tables, invalidation not confirmed): the range cannot be mapped again (overlap), a
 * second unmap of it retries with a domain-wide invalidation, and the pins hold the memory.
 * Completion releases exactly the records it parked (matched by iova, size, pa and cookie).
 */
#ifndef IOMMU_PARK_H
#define IOMMU_PARK_H

#include <iommu/server.h>

#define IOMMU_PARK_MAPS 16u /* mapping records one parked unmap may cover (else synchronous) */

struct iommu_parked {
    bool used;
    uint64_t label; /* IOMMU_LABEL_UNMAP or IOMMU_LABEL_ATS_FLUSH */
    int client;
    int domain;
    int device; /* ats_flush: device index */
    unsigned unit;
    uint64_t badge;
    uint64_t cookie; /* glue: e.g. the slot holding the saved reply capability */
    uint64_t unmapped;
    struct vtd_unmap_result res;
    unsigned n_maps;
    struct iommu_mapping maps[IOMMU_PARK_MAPS];
    struct vtd_batch batch; /* in flight: libvtd holds a pointer to it */
};

/* Park policy flags for iommu_park_begin. */
#define IOMMU_PARK_FORCE (1u << 0) /* park every unmap/ats_flush that submits work (tests) */

/*
 * Handle a client message. Returns the record of pool[0..n) the request was parked in (reply
 * later with iommu_park_complete), or NULL if *r already holds the complete reply (any label,
 * decode errors included: exactly what iommu_handle_client would have answered).
 * timeout_ns bounds the wait (0 = the unit's default).
 */
struct iommu_parked *iommu_park_begin(struct iommu_server *s, const struct iommu_msg *m,
                                      struct iommu_reply *r, struct iommu_parked *pool, unsigned n,
                                      unsigned flags, uint64_t timeout_ns);
/*
 * Poll a parked request: false while its batch is in flight (and its deadline has not passed);
 * true when it finished — *r holds the reply, pins of confirmed unmaps were released, devices
 * that timed out were quarantined, and p is free again.
 */
bool iommu_park_complete(struct iommu_server *s, struct iommu_parked *p, struct iommu_reply *r);
/* Is any present, non-quarantined device with ATS enabled attached to a domain? (Without one,
 * nothing but IOMMU_PARK_FORCE ever parks: callers may cache this until an attach, detach,
 * hotplug or registration message.) */
bool iommu_park_any_live_ats(const struct iommu_server *s);
/* The unit's invalidation-completion interrupt (acknowledge; reap with iommu_park_complete). */
unsigned iommu_park_event(struct iommu_server *s, unsigned unit);
/* The batch's absolute deadline in the unit's clock (ns), for the event loop's timeout. */
uint64_t iommu_park_deadline(const struct iommu_parked *p);

#endif /* IOMMU_PARK_H */
