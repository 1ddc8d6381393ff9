/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server's parked requests (park.c): the event loop's hooks for requests answered
 * later through a saved reply capability, once their invalidation completed. The hooks are
 * inline tests of a few words so that a message that is not parked pays almost nothing.
 */
#ifndef IOMMU_SRV_PARK_H
#define IOMMU_SRV_PARK_H

#include <stdbool.h>
#include <stdint.h>

#include <iommu/park.h>
#include <iommu/protocol.h>
#include <iommu/server.h>
#include <iommu_srv/root.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

#include "iommu_srv.h"

/* Bits of the notification word bound to the server thread. */
#define SRV_NTFN_FAULT 0x1u /* fault event (unit 0) */
#define SRV_NTFN_QI 0x2u    /* invalidation-completion event (unit 0) */

/* What the inline hooks look at (park.c owns it). */
struct srv_park_state {
    bool enabled;              /* the completion event works: requests may park */
    bool forced;               /* park=force */
    bool ats_dirty;            /* recompute ats_live before the next decision */
    bool ats_live;             /* some attached device has ATS on (cached) */
    unsigned n_parked;         /* requests waiting for their completion */
    struct iommu_parked *just; /* parked by the message just handled */
};
extern struct srv_park_state srv_park;

/* Before srv_pool_init: one notification for both events (needs the `qi_msi` grant). */
void srv_park_prepare(const task_start_info_t *si, struct srv_caps *caps);
/* After the units are up: program the completion event; parking is on if it worked. */
void srv_park_start(const task_start_info_t *si, struct iommu_server *s);
bool srv_park_client_slow(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r);
bool srv_park_take_slow(pc_msg_t *out);
void srv_park_poll_slow(void);
uint64_t srv_park_timeout_slow(uint64_t tmo_us);
/* The completion event arrived (notification bit SRV_NTFN_QI). */
void srv_park_event(void);
/* Requests parked so far, completed synchronously because no reply slot was left, parked now. */
void srv_park_counts(uint64_t *parked, uint64_t *sync_fallback, unsigned *now);

/* Instead of iommu_handle_client: true if parked (then srv_park_take saves the caller). */
static inline bool srv_park_client(struct iommu_server *s, const struct iommu_msg *m,
                                   struct iommu_reply *r)
{
    if (!srv_park.enabled || (m->label != IOMMU_LABEL_UNMAP && m->label != IOMMU_LABEL_ATS_FLUSH)) {
        iommu_handle_client(s, m, r);
        return false;
    }
    return srv_park_client_slow(s, m, r);
}

/* After handle_message(in, out): true = the caller's reply was saved, do not reply now. A
 * message that may change which devices have ATS (anything but map, map_pool, unmap,
 * ats_flush and fault_read of a client) makes the cached answer stale. */
static inline bool srv_park_take(const pc_msg_t *in, pc_msg_t *out)
{
    uint64_t label = pc_msginfo_label(in->info);
    if (in->badge == IOMMU_SRV_BADGE_ROOT || in->badge == IOMMU_SRV_BADGE_HOTPLUG ||
        (label != IOMMU_LABEL_MAP && label != IOMMU_LABEL_MAP_POOL && label != IOMMU_LABEL_UNMAP &&
         label != IOMMU_LABEL_FAULT_READ && label != IOMMU_LABEL_ATS_FLUSH)) {
        srv_park.ats_dirty = true;
    }
    return srv_park.just != NULL && srv_park_take_slow(out);
}

/* Reply to every finished parked request. */
static inline void srv_park_poll(void)
{
    if (srv_park.n_parked != 0) {
        srv_park_poll_slow();
    }
}

/* The receive time-out, shortened to the earliest parked deadline. */
static inline uint64_t srv_park_timeout_us(uint64_t tmo_us)
{
    return srv_park.n_parked != 0 ? srv_park_timeout_slow(tmo_us) : tmo_us;
}

#endif /* IOMMU_SRV_PARK_H */
