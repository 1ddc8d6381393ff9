/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hotplug server's endpoint ("hotplug"), declared once. Two kinds of callers reach it, told
 * apart by the badge the root task minted into their copy:
 *
 *  - drivers (HPS_BADGE_DRIVER_BASE | task id). The server never blocks on a driver: to tell one
 *    that its device is going, gone or new it signals the driver's notification with
 *    HPS_NOTIFY_BIT, and the driver calls next_event to fetch the message. What comes back is
 *    one event (HPS_EVENTS below, or libhotplug's device-gone device_going / device_gone:
 *    hps_event_decode accepts exactly those). A driver answers a going with the device-gone
 *    protocol's detached (<hotplug/gone.h>, label 3), which this endpoint also takes from drivers.
 *    Errors to drivers are enum hp_gone_err.
 *  - operators and tests (HPS_BADGE_CONTROL): slot requests and status. Errors are enum hp_err.
 *
 * Every table has the form of the other protocols (<iommu/protocol.h>):
 * M(NAME, name, label, ARGS, RETS, caps, ERRS, doc) with ARGS/RETS X-lists A(field, doc) of words
 * in order, caps the capabilities a message may carry (none here) and ERRS an X-list E(ERR) of
 * every error the method can answer (HP_GONE_ERR_<ERR> for driver methods, HP_ERR_<ERR> for
 * control methods). From them come the label enums, the argument/result structs, the encoders
 * and reply decoders below, the method table the server's decoder checks every message against
 * (hps_decode, src/protocol.c) and the tables in docs/hotplug-server.md (hotplug_protocol_doc).
 *
 * Replies: the error in MR0; on success (0) the method's results from MR1 on, on an error MR0
 * alone. next_event is the exception: its reply is the event (label and words of HPS_EVENTS or
 * of a device-gone message), or label HPS_EVENT_NONE with MR0 the error when refused. The
 * server's own log lines on the console start with "hotplug: ".
 *
 * The header needs neither libhotplug nor the kernel ABI: the error names in the tables are
 * expanded only by the files that include <hotplug/hotplug.h> and <hotplug/gone.h>.
 */
#ifndef HPSRV_PROTOCOL_H
#define HPSRV_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>

#include <iommu/protocol.h>

#define HPS_BADGE_DRIVER_BASE 0x20000ull /* | task id */
#define HPS_BADGE_CONTROL 0x50000000ull  /* operators and tests */

/* The bit the server signals in a driver's notification word: "call next_event". */
#define HPS_NOTIFY_BIT 0x100ull

/* ---- Driver methods (errors: enum hp_gone_err) --------------------------------------------- */
#define HPS_NEXT_EVENT_ARGS(A)
#define HPS_NEXT_EVENT_RETS(A)
#define HPS_NEXT_EVENT_ERRS(E) E(LENGTH)

#define HPS_DRIVER_METHODS(M)                                                                      \
    M(NEXT_EVENT, next_event, 0x20, HPS_NEXT_EVENT_ARGS, HPS_NEXT_EVENT_RETS, 0,                   \
      HPS_NEXT_EVENT_ERRS,                                                                         \
      "Fetch the oldest pending event of the caller's devices: the reply is the event "            \
      "(HPS_EVENTS or device_going / device_gone; HPS_EVENT_NONE when none is pending). "          \
      "Drivers also call the device-gone protocol's detached (label 3) here.")

/* ---- Events: the replies of next_event besides the device-gone protocol's ------------------ */
#define HPS_EVENT_NONE_ARGS(A)
#define HPS_EVENT_DEVICE_NEW_ARGS(A)                                                               \
    A(handle, "handle of the new occupant (generation << 16 | sid)")
#define HPS_NO_LIST_(X)

#define HPS_EVENTS(M)                                                                              \
    M(NONE, none, 0x00, HPS_EVENT_NONE_ARGS, HPS_NO_LIST_, 0, HPS_NO_LIST_,                        \
      "Nothing is pending (or, with MR0 the error, next_event was refused).")                      \
    M(DEVICE_NEW, device_new, 0x10, HPS_EVENT_DEVICE_NEW_ARGS, HPS_NO_LIST_, 0, HPS_NO_LIST_,      \
      "The root task gave this driver a new occupant of a slot (a re-plug of its device, or at "   \
      "start the device it drives): attach under the new generation; older handles are stale.")

/* ---- Control methods (errors: enum hp_err) ------------------------------------------------- */
#define HPS_SLOT_REQUEST_ARGS(A)                                                                   \
    A(port, "source-id of the slot's port (bits 15:0)")                                            \
    A(request, "enum hp_request: HP_REQ_POWER_OFF, HP_REQ_REMOVE or HP_REQ_POWER_ON")
#define HPS_SLOT_REQUEST_RETS(A)
#define HPS_SLOT_REQUEST_ERRS(E) E(INVALID) E(NOT_OWNED) E(BUSY) E(NO_DEVICE)

#define HPS_SLOT_STATUS_ARGS(A) A(port, "source-id of the slot's port (bits 15:0)")
#define HPS_SLOT_STATUS_RETS(A)                                                                    \
    A(state, "enum hp_state")                                                                      \
    A(device, "source-id of the slot's device")                                                    \
    A(handle, "handle of the occupant (generation << 16 | sid; 0 when none)")                      \
    A(added, "occupants added since the server took the slot over")                                \
    A(removed, "occupants removed since then")
#define HPS_SLOT_STATUS_ERRS(E) E(INVALID) E(NOT_OWNED)

#define HPS_SLOT_FIND_ARGS(A) A(device, "a device source-id (bits 15:0)")
#define HPS_SLOT_FIND_RETS(A) A(port, "source-id of the port whose slot holds it")
#define HPS_SLOT_FIND_ERRS(E) E(INVALID) E(NOT_OWNED)

#define HPS_SERVER_STATS_ARGS(A)
#define HPS_SERVER_STATS_RETS(A)                                                                   \
    A(fences, "device_fence calls")                                                                \
    A(removed, "device_removed calls")                                                             \
    A(added, "device_added calls")                                                                 \
    A(iommu_failed, "IOMMU server calls that failed")                                              \
    A(irqs, "slot interrupts")                                                                     \
    A(refused, "messages refused by the decoder")                                                  \
    A(timeouts, "deadlines that expired (driver detach, command completed, config)")
#define HPS_SERVER_STATS_ERRS(E) E(INVALID)

/* The results are the IOMMU server's counts method's, in its order. */
#define HPS_IOMMU_COUNTS_ARGS(A) A(sid, "source-id whose device state is reported too (bits 15:0)")
#define HPS_IOMMU_COUNTS_RETS(A) IOMMU_COUNTS_RETS(A)
#define HPS_IOMMU_COUNTS_ERRS(E) E(INVALID)

#define HPS_CONTROL_METHODS(M)                                                                     \
    M(SLOT_REQUEST, slot_request, 0x30, HPS_SLOT_REQUEST_ARGS, HPS_SLOT_REQUEST_RETS, 0,           \
      HPS_SLOT_REQUEST_ERRS,                                                                       \
      "Power off (a surprise removal when populated), remove in order, or power on a slot.")       \
    M(SLOT_STATUS, slot_status, 0x31, HPS_SLOT_STATUS_ARGS, HPS_SLOT_STATUS_RETS, 0,               \
      HPS_SLOT_STATUS_ERRS, "State, device, handle and counters of a slot.")                       \
    M(SLOT_FIND, slot_find, 0x32, HPS_SLOT_FIND_ARGS, HPS_SLOT_FIND_RETS, 0, HPS_SLOT_FIND_ERRS,   \
      "The port whose slot holds a device source-id.")                                             \
    M(SERVER_STATS, server_stats, 0x33, HPS_SERVER_STATS_ARGS, HPS_SERVER_STATS_RETS, 0,           \
      HPS_SERVER_STATS_ERRS, "The server's counters; it prints its latency BENCH lines.")          \
    M(IOMMU_COUNTS, iommu_counts, 0x34, HPS_IOMMU_COUNTS_ARGS, HPS_IOMMU_COUNTS_RETS, 0,           \
      HPS_IOMMU_COUNTS_ERRS,                                                                       \
      "The IOMMU server's leak accounting, forwarded to its counts method (only this server "      \
      "holds its hotplug badge). Once the request is decoded, MR0 is that call's result: the "     \
      "IOMMU server's enum iommu_hp_err, or PC_CALL_IPC_FAILED + pc_error when the call failed.")

#define HPS_METHODS(M) HPS_DRIVER_METHODS(M) HPS_CONTROL_METHODS(M)

/* ---- Generated: labels, argument and result structs ---------------------------------------- */
#define HPS_LABEL_ENUM_(U, l, v, A, R, c, E, d) HPS_##U = v,
enum hps_label { HPS_METHODS(HPS_LABEL_ENUM_) };
#undef HPS_LABEL_ENUM_
#define HPS_EVENT_ENUM_(U, l, v, A, R, c, E, d) HPS_EVENT_##U = v,
enum hps_event_label { HPS_EVENTS(HPS_EVENT_ENUM_) };
#undef HPS_EVENT_ENUM_

#define HPS_FIELD_(n, d) uint64_t n;
#define HPS_STRUCTS_(U, l, v, A, R, c, E, d)                                                       \
    struct hps_##l##_args {                                                                        \
        A(HPS_FIELD_)                                                                              \
    };                                                                                             \
    struct hps_##l##_rets {                                                                        \
        R(HPS_FIELD_)                                                                              \
    };
HPS_METHODS(HPS_STRUCTS_)
#undef HPS_STRUCTS_

#define HPS_COUNT_(n, d) +1
/* Words of a successful reply: MR0 (the error, 0) and the results. */
#define HPS_REPLY_LEN_(U, l, v, A, R, c, E, d) HPS_##U##_REPLY_WORDS = 1 R(HPS_COUNT_),
enum { HPS_CONTROL_METHODS(HPS_REPLY_LEN_) };
#undef HPS_REPLY_LEN_
#define HPS_STATUS_WORDS ((unsigned)HPS_SLOT_STATUS_REPLY_WORDS)
#define HPS_STATS_WORDS ((unsigned)HPS_SERVER_STATS_REPLY_WORDS)
#define HPS_COUNTS_WORDS ((unsigned)HPS_IOMMU_COUNTS_REPLY_WORDS)

/* ---- Messages ------------------------------------------------------------------------------ */
#define HPS_MSG_WORDS 2u    /* the most argument words of any method */
#define HPS_REPLY_WORDS 11u /* the longest reply (iommu_counts) */
#define HPS_MAX_CHECK_(U, l, v, A, R, c, E, d)                                                     \
    _Static_assert((0 A(HPS_COUNT_)) <= HPS_MSG_WORDS, #l ": arguments exceed HPS_MSG_WORDS");     \
    _Static_assert((1 R(HPS_COUNT_)) <= HPS_REPLY_WORDS, #l ": results exceed HPS_REPLY_WORDS");
HPS_METHODS(HPS_MAX_CHECK_)
#undef HPS_MAX_CHECK_

/* A message as the server received it (the glue copies label, badge and words) or as a client
 * sends it; len is the length the sender gave, which may exceed HPS_MSG_WORDS. */
struct hps_msg {
    uint64_t label;
    uint64_t badge;
    unsigned len;
    uint64_t w[HPS_MSG_WORDS];
};

struct hps_reply {
    uint64_t label;              /* next_event: the event; otherwise 0 */
    unsigned len;                /* words the reply carried (0 when the call failed) */
    uint64_t w[HPS_REPLY_WORDS]; /* its first min(len, HPS_REPLY_WORDS) words, zero after */
};

/* ---- Generated client stubs: hps_encode_<m>(msg, args...), hps_reply_<m>(reply, rets) ------ */
#define HPS_PARAM_(n, d) , uint64_t n
#define HPS_PUT_(n, d) m->w[m->len++] = (n);
#define HPS_GET_(n, d)                                                                             \
    out->n = i_ < r->len && i_ < HPS_REPLY_WORDS ? r->w[i_] : 0;                                   \
    i_++;
#define HPS_ENCODE_(U, l, v, A, R, c, E, d)                                                        \
    static inline void hps_encode_##l(struct hps_msg *m A(HPS_PARAM_))                             \
    {                                                                                              \
        m->label = HPS_##U;                                                                        \
        m->badge = 0;                                                                              \
        m->len = 0;                                                                                \
        A(HPS_PUT_)                                                                                \
    }
/* Returns MR0 (the server's error, 0 on success); *out gets the results, 0 for words the reply
 * did not carry (hps_reply_complete tells whether it carried all). */
#define HPS_REPLY_(U, l, v, A, R, c, E, d)                                                         \
    static inline uint64_t hps_reply_##l(const struct hps_reply *r, struct hps_##l##_rets *out)    \
    {                                                                                              \
        unsigned i_ = 1;                                                                           \
        (void)i_;                                                                                  \
        (void)out;                                                                                 \
        R(HPS_GET_)                                                                                \
        return r->len >= 1 ? r->w[0] : 0;                                                          \
    }
HPS_METHODS(HPS_ENCODE_)
HPS_CONTROL_METHODS(HPS_REPLY_)
#undef HPS_ENCODE_
#undef HPS_REPLY_
#undef HPS_PARAM_
#undef HPS_PUT_
#undef HPS_GET_

/* Whether a reply to a control method `label` has all its words: an error reply is MR0 alone,
 * a success reply MR0 and every result. True for labels that are no control method (their
 * replies have no such shape: next_event's is an event, detached's the device-gone one's). */
static inline bool hps_reply_complete(uint64_t label, const struct hps_reply *r)
{
    switch (label) {
#define HPS_COMPLETE_CASE_(U, l, v, A, R, c, E, d)                                                 \
    case v:                                                                                        \
        return r->len >= 1 && (r->w[0] != 0 || r->len == HPS_##U##_REPLY_WORDS);
        HPS_CONTROL_METHODS(HPS_COMPLETE_CASE_)
#undef HPS_COMPLETE_CASE_
    default:
        return true;
    }
}

/* ---- Method metadata and the server's decoder (src/protocol.c) ----------------------------- */
enum hps_caller { HPS_CALLER_NONE = 0, HPS_CALLER_DRIVER = 1, HPS_CALLER_CONTROL = 2 };

struct hps_method_info {
    uint64_t label;
    const char *name;
    const char *doc;
    unsigned nargs, nrets, max_caps;
    uint64_t errors; /* bit e set: the method may answer error e (besides 0) */
    unsigned caller; /* enum hps_caller: who may call it; errors are that caller's enum */
    const char *const *arg_names, *const *arg_docs, *const *ret_names, *const *ret_docs;
};
/* Metadata for a label, or NULL. The device-gone protocol's detached is not in this table (its
 * own is <hotplug/gone.h>'s). */
const struct hps_method_info *hps_method_find(uint64_t label);
/* All methods: driver ones, then control; *n = count. */
const struct hps_method_info *hps_methods(unsigned *n);
/* The events next_event can return besides the device-gone ones (nargs, arg names and docs
 * filled, caller HPS_CALLER_DRIVER); *n = count. */
const struct hps_method_info *hps_events(unsigned *n);

/* Who sent a message, by its badge; *task (may be NULL) gets a driver's task id. */
unsigned hps_caller_of(uint64_t badge, unsigned *task);

/* A decoded request: every argument checked. */
struct hps_request {
    uint64_t label;  /* HPS_<NAME>, or the device-gone protocol's detached label */
    unsigned caller; /* enum hps_caller */
    unsigned task;   /* the driver's task id (driver callers) */
    union {
#define HPS_ARGS_MEMBER_(U, l, v, A, R, c, E, d) struct hps_##l##_args l;
        HPS_METHODS(HPS_ARGS_MEMBER_)
#undef HPS_ARGS_MEMBER_
        uint64_t detached_handle; /* well-formed (hp_gone_decode), not yet known to be owned */
    } a;
};

/*
 * Checks a received message without side effects: the caller's badge, the label (a method of
 * that caller, or detached for drivers), the word count against the method table and every
 * argument's range. Returns 0 with *req filled, or the error to reply with MR0: for drivers an
 * enum hp_gone_err (LABEL for a label that is not theirs), for control and unknown badges an
 * enum hp_err (INVALID). For a known method of the caller the error is one of its declared ones.
 */
uint64_t hps_decode(const struct hps_msg *m, struct hps_request *req);

/* A next_event reply as a driver sees it. */
struct hps_event {
    uint64_t label; /* HPS_EVENT_NONE, HPS_EVENT_DEVICE_NEW, HP_GONE_DEVICE_GOING/GONE */
    uint64_t handle;
};
/*
 * Decodes a next_event reply (label and words) without side effects: device_going/device_gone
 * by hp_gone_decode, the HPS_EVENTS by their table (length exact, handle well formed).
 * Returns 0 (HP_GONE_OK) with *out filled, or an enum hp_gone_err: LABEL for an unknown event,
 * LENGTH for a wrong word count (also for an HPS_EVENT_NONE carrying the server's error in
 * MR0), HANDLE for a malformed handle. *out is untouched on error.
 */
int hps_event_decode(uint64_t label, const uint64_t *w, unsigned len, struct hps_event *out);

#endif /* HPSRV_PROTOCOL_H */
