/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What can happen to a driver besides its own device's interrupt: the hotplug server says the
 * device is going or gone (device-gone protocol, <hotplug/gone.h>, on the endpoint "gone"), and
 * the IOMMU server says a DMA of the driver's device faulted (a signal on the notification
 * "iommu_fault", then fault_read). Both are optional grants: without "gone" the driver never hears
 * of removal; without "iommu_fault" it reads faults only when it expects one.
 *
 * Waiting is always bounded: drv_events_wait returns after at most timeout_us.
 */
#ifndef DRV_EVENTS_H
#define DRV_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <hotplug/gone.h>
#include <task/start_info.h>

struct drv_events {
    pc_cptr_t gone_ep;     /* receive: device_going / device_gone (0 = not granted) */
    pc_cptr_t hotplug_ep;  /* call: detached (0 = not granted) */
    pc_cptr_t fault_ntfn;  /* wait: the IOMMU server signals a fault (0 = not granted) */
    uint64_t refused;      /* device-gone messages that failed to decode */
};

enum drv_event_kind {
    DRV_EVENT_NONE = 0,    /* the timeout passed */
    DRV_EVENT_GOING,       /* orderly removal: stop, unmap, detach, answer detached */
    DRV_EVENT_GONE,        /* the device vanished: release what is left */
    DRV_EVENT_FAULT,       /* the IOMMU server has fault records for us */
};

struct drv_event {
    enum drv_event_kind kind;
    hp_handle_t handle;    /* GOING / GONE */
};

void drv_events_init(struct drv_events *ev, const task_start_info_t *si);
/*
 * The next event within timeout_us. Pending faults are reported first; a malformed device-gone
 * message is counted in ev->refused and skipped (the sender gets no reply: the methods are
 * one-way sends). Slices the wait into short receives when both sources are granted; with
 * neither granted it returns DRV_EVENT_NONE at once.
 */
struct drv_event drv_events_wait(struct drv_events *ev, uint64_t timeout_us);
/*
 * Tells the hotplug server the driver no longer uses `handle`. Returns the server's
 * hp_gone_err, or -(pc_error) if the call did not reach it, or -1 without a hotplug endpoint.
 */
int drv_events_detached(struct drv_events *ev, hp_handle_t handle);

#endif /* DRV_EVENTS_H */
