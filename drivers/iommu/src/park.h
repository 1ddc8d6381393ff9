/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server's parked requests (park.c): the event loop's hooks for requests answered
 * later through a saved reply capability, once their invalidation completed.
 */
#ifndef IOMMU_SRV_PARK_H
#define IOMMU_SRV_PARK_H

#include <stdbool.h>
#include <stdint.h>

#include <iommu/server.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

#include "iommu_srv.h"

/* Bits of the notification word bound to the server thread. */
#define SRV_NTFN_FAULT 0x1u /* fault event (unit 0) */
#define SRV_NTFN_QI 0x2u    /* invalidation-completion event (unit 0) */

/* Before srv_pool_init: one notification for both events (needs the `qi_msi` grant). */
void srv_park_prepare(const task_start_info_t *si, struct srv_caps *caps);
/* After the units are up: program the completion event; parking is on if it worked. */
void srv_park_start(const task_start_info_t *si, struct iommu_server *s);
/* Instead of iommu_handle_client: true if parked (then srv_park_take saves the caller). */
bool srv_park_client(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r);
/* After handle_message: true = the caller's reply was saved, do not reply now. */
bool srv_park_take(pc_msg_t *out);
/* Reply to every finished parked request. */
void srv_park_poll(void);
/* The completion event arrived (notification bit SRV_NTFN_QI). */
void srv_park_event(void);
/* The receive time-out, shortened to the earliest parked deadline. */
uint64_t srv_park_timeout_us(uint64_t tmo_us);
/* Requests parked so far, completed synchronously because no reply slot was left, parked now. */
void srv_park_counts(uint64_t *parked, uint64_t *sync_fallback, unsigned *now);

#endif /* IOMMU_SRV_PARK_H */
