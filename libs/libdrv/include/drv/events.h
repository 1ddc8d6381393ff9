/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What can happen to a driver besides its own device's interrupt: the hotplug server says the
 * device is going, gone or new, and the IOMMU server says a DMA of the driver's device faulted.
 *
 * Hotplug (<hpsrv/protocol.h>): the server never blocks on a driver. It signals the driver's
 * interrupt notification with HPS_NOTIFY_BIT; the driver then calls next_event on its "hotplug"
 * endpoint and gets a device-gone message (<hotplug/gone.h>: device_going / device_gone, MR0 =
 * handle) or HPS_EVENT_DEVICE_NEW (a new occupant of the slot was given to this driver). A driver
 * answers device_going with detached(handle). Every waiter on the interrupt notification must
 * pass the word it received to drv_events_note, so a hotplug signal that arrives during a DMA
 * wait is not lost.
 *
 * Faults: the IOMMU server signals the notification "iommu_fault"; fault_read fetches them.
 * Both grants are optional. Waiting is always bounded by the caller's timeout.
 */
#ifndef DRV_EVENTS_H
#define DRV_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <hotplug/gone.h>
#include <portcullis/portcullis.h>
#include <task/start_info.h>

/* How long a driver waits for the hotplug server to assign it the device it already drives. */
#define DRV_ASSIGN_TIMEOUT_US 10000000u

struct drv_events {
    pc_cptr_t hotplug_ep; /* call: next_event, detached (0 = not granted) */
    pc_cptr_t irq_ntfn;   /* the driver's interrupt notification (0 = none) */
    pc_cptr_t fault_ntfn; /* signalled by the IOMMU server on a fault (0 = not granted) */
    bool hp_pending;      /* HPS_NOTIFY_BIT seen, next_event not yet called */
    uint64_t refused;     /* malformed events from the hotplug server, skipped */
};

enum drv_event_kind {
    DRV_EVENT_NONE = 0, /* the timeout passed */
    DRV_EVENT_GOING,    /* orderly removal: stop, unmap, detach, answer detached */
    DRV_EVENT_GONE,     /* the device vanished: release what is left, never touch it */
    DRV_EVENT_NEW,      /* a new occupant (handle) was given to this driver */
    DRV_EVENT_FAULT,    /* the IOMMU server has fault records for us */
};

struct drv_event {
    enum drv_event_kind kind;
    hp_handle_t handle; /* GOING / GONE / NEW */
};

void drv_events_init(struct drv_events *ev, const task_start_info_t *si, pc_cptr_t irq_ntfn);
/* Remembers a hotplug signal in a word received from the interrupt notification. */
void drv_events_note(struct drv_events *ev, uint64_t word);
/*
 * The next event within timeout_us: a pending hotplug event first (fetched with next_event),
 * then pending faults, else waits on the interrupt notification (in 5 ms slices when a fault
 * notification must be polled too). Device interrupts that arrive meanwhile are acknowledged by
 * nobody here: the caller has no DMA in flight when it waits for events.
 */
struct drv_event drv_events_wait(struct drv_events *ev, uint64_t timeout_us);
/*
 * Tells the hotplug server the driver no longer uses `handle`. Returns the server's
 * hp_gone_err, -(pc_error) if the call did not reach it, or -1 without a hotplug endpoint.
 */
int drv_events_detached(struct drv_events *ev, hp_handle_t handle);
const char *drv_event_name(enum drv_event_kind k);

#endif /* DRV_EVENTS_H */
