/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test harness for libhotplug, shared by the host tests and the fuzzer: the QEMU slot model,
 * a hotplug server over it, and recording stand-ins for the IOMMU server, the drivers and the
 * root task's policy. Every call out of the library and every change the model sees (power,
 * the device vanishing, Slot Control writes) lands in one ordered trace, and the stand-ins
 * check the ordering rules as they are called, independently of the library's own bookkeeping:
 *  - device_removed only for a device that was added and fenced, never twice;
 *  - device_added only for a device that answers config reads, never twice;
 *  - after a device vanished under a live occupant, the first call about it is fence(surprise);
 *  - a populated slot is never powered off by software before its occupant was fenced;
 *  - going/gone only after the fence, and nothing for a handle after device_removed;
 *  - a Slot Control write follows the previous one's Command Completed, or a CC-timeout log
 *    at least cc_timeout later;
 *  - a told-going occupant is powered off only after detached(), a surprise, or a
 *    detach-timeout log at least detach_timeout after going.
 * Violations are counted with the first message kept.
 */
#ifndef HP_HARNESS_H
#define HP_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <hotplug/hotplug.h>
#include <pcie_slot_model.h>

enum hh_op {
    HH_FENCE_ORDERLY,
    HH_FENCE_SURPRISE,
    HH_REMOVED,
    HH_ADDED,
    HH_GOING,
    HH_GONE,
    HH_ASSIGN,
    HH_VANISH,    /* model: the device disappeared */
    HH_POWER_ON,  /* model: slot power came on */
    HH_POWER_OFF, /* model: slot power went off */
    HH_OP_COUNT_
};

struct hh_rec {
    enum hh_op op;
    pci_sid_t sid;
    uint64_t arg; /* handle for GOING/GONE/ASSIGN, why for VANISH */
    uint64_t now;
};

struct hh_dev {
    bool up;       /* device_added called and device_removed not yet */
    bool added_ok; /* ... and it succeeded */
    bool fenced;
    bool surprise_fenced;
    bool vanished;           /* the occupant left the model since added */
    bool vanished_unfenced;  /* vanished under a live occupant: next call must be fence(surprise) */
    hp_handle_t handle;      /* assigned handle (0 none) */
    hp_handle_t dead_handle; /* handle of the last removed occupant */
    bool going;              /* told going, not detached yet */
    uint64_t going_at;
    unsigned detach_logs_at_going, surprise_logs_at_going;
    unsigned cc_acks_at_write, cc_timeouts_at_write;
    bool wrote_sltctl;
};

#ifndef HH_TRACE_MAX
#define HH_TRACE_MAX 8192
#endif
#define HH_MAX_PORTS PCIE_MODEL_MAX_PORTS

struct harness {
    struct pcie_model m;
    struct hp_server srv;
    uint64_t now;
    struct hh_rec trace[HH_TRACE_MAX];
    unsigned n;       /* records kept */
    unsigned n_total; /* records seen */
    unsigned op_count[HH_OP_COUNT_];
    unsigned logs[HP_LOG_COUNT_];
    struct hp_log_rec last_log;
    bool print_logs;
    struct hh_dev dev[HH_MAX_PORTS];
    /* failure injection */
    int fence_rc, fence_orderly_rc, added_rc, removed_rc, going_rc, gone_rc, assign_rc;
    bool iommu_generations; /* device_added reports a generation (from iommu_gen) */
    uint32_t iommu_gen;
    /* timeouts the checks compare against (copied from the slot config of port 0) */
    uint64_t cc_timeout_ns, detach_timeout_ns;
    /* The port read all-ones and dropped writes for a while: the library was blind, so skip
     * the vanish rule and the library/model agreement at the end. */
    bool model_unreliable;
    /* Interrupts were lost (or acks dropped): the library may learn of a vanish late, so only a
     * vanish under an occupant that was not fenced at all must be followed by fence(surprise). */
    bool irq_unreliable;
    unsigned violations;
    char first_violation[256];
};

/* Model with port 0 = 00:03.0 -> bus 3 (slot 7, empty unless populated) and port 1 =
 * 00:04.0 -> bus 4 (populated with an edu device, never owned by the server). */
void hh_init(struct harness *h, bool populated);
/* Takes over port 0 with cfg (defaults if NULL); returns hp_server_add_slot's result. */
int hh_add_slot(struct harness *h, const struct hp_slot_config *cfg);
struct hp_slot *hh_slot(struct harness *h);

/* Delivers pending model interrupts to the server until none is left (bounded). */
void hh_pump(struct harness *h);
/* Advances the clock by ns, running timers at each deadline passed on the way, with pumps. */
void hh_advance(struct harness *h, uint64_t ns);
/* Runs deadlines until nothing waits or max_ns passed; returns true if the slot went idle. */
bool hh_settle(struct harness *h, uint64_t max_ns);

/* The driver answers detached(hd) (the reply is returned); the stand-in notes it let go. */
enum hp_gone_err hh_detached(struct harness *h, hp_handle_t hd);
/* Index of the first trace record with op at or after `from`, or -1. */
int hh_find(const struct harness *h, enum hh_op op, unsigned from);
void hh_violation(struct harness *h, const char *fmt, ...);
/* Checks the end-state agreement of library, model and stand-ins for a settled slot. */
void hh_check_settled(struct harness *h);

#define HH_SID_PORT0 PCI_SID(0, 3, 0)
#define HH_SID_PORT1 PCI_SID(0, 4, 0)
#define HH_SID_DEV0 PCI_SID(3, 0, 0)
#define HH_SID_DEV1 PCI_SID(4, 0, 0)
#define HH_EDU_VENDOR 0x1234
#define HH_EDU_DEVICE 0x11e8

#endif /* HP_HARNESS_H */
