/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hotplug server's endpoint ("hotplug"), declared once. Two kinds of callers reach it, told
 * apart by the badge the root task minted into their copy:
 *
 *  - drivers (HPS_BADGE_DRIVER_BASE | task id). The server never blocks on a driver: to tell one
 *    that its device is going, gone or new it signals the driver's notification with
 *    HPS_NOTIFY_BIT, and the driver calls next_event to fetch the message. The message that
 *    comes back is exactly libhotplug's device-gone protocol (<hotplug/gone.h>: label
 *    HP_GONE_DEVICE_GOING / HP_GONE_DEVICE_GONE, MR0 = handle; hp_gone_decode accepts it) or
 *    HPS_EVENT_DEVICE_NEW (MR0 = the new occupant's handle: the root task re-granted the device
 *    to this driver) or HPS_EVENT_NONE. A driver answers a going with detached (the gone
 *    protocol's HP_GONE_DETACHED, MR0 = handle, reply MR0 = enum hp_gone_err).
 *  - operators and tests (HPS_BADGE_CONTROL): slot requests and status.
 *
 * Replies carry the error in MR0 and results from MR1 on. The server's own log lines on the
 * console start with "hotplug: ".
 */
#ifndef HPSRV_PROTOCOL_H
#define HPSRV_PROTOCOL_H

#include <stdint.h>

#define HPS_BADGE_DRIVER_BASE 0x20000ull /* | task id */
#define HPS_BADGE_CONTROL 0x50000000ull  /* operators and tests */

/* The bit the server signals in a driver's notification word: "call next_event". */
#define HPS_NOTIFY_BIT 0x100ull

/* Labels of next_event's reply besides the device-gone protocol's. */
#define HPS_EVENT_NONE 0x00u       /* nothing pending */
#define HPS_EVENT_DEVICE_NEW 0x10u /* MR0 = handle of a new occupant given to this driver */

/*
 * M(NAME, label, caller, arguments, results, errors)
 *  next_event   driver   -                     reply label = event, MR0 = handle
 *  detached     driver   MR0 handle            MR0 = enum hp_gone_err  (libhotplug's label 3)
 *  slot_request control  MR0 port sid, MR1 enum hp_request   MR0 = enum hp_err
 *  slot_status  control  MR0 port sid          MR0 = enum hp_err, MR1 state, MR2 device sid,
 *                                              MR3 handle, MR4 added, MR5 removed
 *  slot_find    control  MR0 device sid        MR0 = enum hp_err, MR1 port sid
 *  server_stats control  -                     MR0 = HP_OK, MR1 fences, MR2 removed, MR3 added,
 *                                              MR4 failed IOMMU calls, MR5 slot interrupts,
 *                                              MR6 refused messages, MR7 timeouts (detach, CC,
 *                                              config); the server prints BENCH lines of its
 *                                              latencies (event -> fenced, button -> removed)
 *  iommu_counts control  MR0 source-id         MR0 = the IOMMU server's error (or, when the
 *                                              IPC failed, PC_CALL_IPC_FAILED + pc_error:
 *                                              <portcullis/msg.h>), MR1.. its counts in order
 *                                              (domains, mappings, table_pages, pins, stuck,
 *                                              present, fenced, quarantined, generation)
 */
#define HPS_METHODS(M)                                                                             \
    M(NEXT_EVENT, 0x20, "driver", "fetch a pending going/gone/new event of the caller")            \
    M(DETACHED, 3, "driver", "the driver released the device (gone protocol)")                     \
    M(SLOT_REQUEST, 0x30, "control", "power off (surprise) / orderly remove / power on a slot")    \
    M(SLOT_STATUS, 0x31, "control", "state, device, handle and counters of a slot")                \
    M(SLOT_FIND, 0x32, "control", "the port whose slot holds a device source-id")                  \
    M(SERVER_STATS, 0x33, "control", "counters; prints the latency BENCH lines")                   \
    M(IOMMU_COUNTS, 0x34, "control", "the IOMMU server's leak accounting (its counts method)")

enum hps_label {
#define HPS_LABEL_(name, value, caller, text) HPS_##name = value,
    HPS_METHODS(HPS_LABEL_)
#undef HPS_LABEL_
};

#define HPS_STATUS_WORDS 6u
#define HPS_STATS_WORDS 8u
#define HPS_COUNTS_WORDS 11u

#endif /* HPSRV_PROTOCOL_H */
