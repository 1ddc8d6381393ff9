/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hotplug server's endpoint protocol expanded from the tables in <hpsrv/protocol.h>: the
 * method table, the decoder that checks every message against it before the server acts, and
 * the decoder drivers use for next_event's replies. Pure logic, built for the host as well, so
 * the host tests and the fuzzer hold the decoder to every method's declared errors.
 */
#include <hpsrv/protocol.h>

#include <stddef.h>

#include <hotplug/gone.h>
#include <hotplug/hotplug.h>

#define NAME_(n, d) #n,
#define DOC_(n, d) d,
/* Each list gets a trailing NULL so that empty lists are valid arrays. */
#define LISTS_(U, l, v, A, R, c, E, d)                                                             \
    static const char *const l##_arg_names[] = {A(NAME_) NULL};                                    \
    static const char *const l##_arg_docs[] = {A(DOC_) NULL};                                      \
    static const char *const l##_ret_names[] = {R(NAME_) NULL};                                    \
    static const char *const l##_ret_docs[] = {R(DOC_) NULL};
HPS_METHODS(LISTS_)
HPS_EVENTS(LISTS_)

#define GONE_EBIT_(e) | (1ull << HP_GONE_ERR_##e)
#define HP_EBIT_(e) | (1ull << HP_ERR_##e)
#define INFO_(U, l, v, A, R, c, E, d, EBIT, caller)                                                \
    {v,                                                                                            \
     #l,                                                                                           \
     d,                                                                                            \
     0 A(HPS_COUNT_),                                                                              \
     0 R(HPS_COUNT_),                                                                              \
     c,                                                                                            \
     0 E(EBIT),                                                                                    \
     caller,                                                                                       \
     l##_arg_names,                                                                                \
     l##_arg_docs,                                                                                 \
     l##_ret_names,                                                                                \
     l##_ret_docs},
#define DRIVER_INFO_(U, l, v, A, R, c, E, d)                                                       \
    INFO_(U, l, v, A, R, c, E, d, GONE_EBIT_, HPS_CALLER_DRIVER)
#define CONTROL_INFO_(U, l, v, A, R, c, E, d)                                                      \
    INFO_(U, l, v, A, R, c, E, d, HP_EBIT_, HPS_CALLER_CONTROL)
static const struct hps_method_info methods[] = {HPS_DRIVER_METHODS(DRIVER_INFO_)
                                                     HPS_CONTROL_METHODS(CONTROL_INFO_)};
static const struct hps_method_info events[] = {HPS_EVENTS(DRIVER_INFO_)};

/* Labels are unique on the endpoint, the device-gone protocol's included (drivers send its
 * detached here): a duplicate would be two enumerators of one value. */
#define LABEL_UNIQUE_(U, l, v, A, R, c, E, d) LABEL_UNIQUE_##v,
#define GONE_UNIQUE_(U, l, v, A, R, dir, E, d) LABEL_UNIQUE_##v,
enum { HPS_METHODS(LABEL_UNIQUE_) HP_GONE_METHODS(GONE_UNIQUE_) };
/* The error enums the tables name fit the 64-bit masks. */
_Static_assert(HP_ERR_COUNT_ <= 64 && HP_GONE_ERR_COUNT_ <= 64, "error masks hold every error");
/* iommu_counts replies with the IOMMU server's counts after MR0. */
_Static_assert(HPS_IOMMU_COUNTS_REPLY_WORDS == 1 IOMMU_COUNTS_RETS(HPS_COUNT_),
               "iommu_counts carries the counts method's results");

const struct hps_method_info *hps_methods(unsigned *n)
{
    *n = (unsigned)(sizeof(methods) / sizeof(methods[0]));
    return methods;
}

const struct hps_method_info *hps_events(unsigned *n)
{
    *n = (unsigned)(sizeof(events) / sizeof(events[0]));
    return events;
}

static const struct hps_method_info *find(const struct hps_method_info *t, size_t n, uint64_t label)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].label == label) {
            return &t[i];
        }
    }
    return NULL;
}

const struct hps_method_info *hps_method_find(uint64_t label)
{
    return find(methods, sizeof(methods) / sizeof(methods[0]), label);
}

unsigned hps_caller_of(uint64_t badge, unsigned *task)
{
    unsigned id = (badge & ~0xffffull) == HPS_BADGE_DRIVER_BASE ? (unsigned)(badge & 0xffffu) : 0;
    if (task != NULL) {
        *task = id;
    }
    if (id != 0) {
        return HPS_CALLER_DRIVER;
    }
    return badge == HPS_BADGE_CONTROL ? HPS_CALLER_CONTROL : HPS_CALLER_NONE;
}

/* The argument checks beyond the shape: every source-id fits 16 bits, a request is known. */
static uint64_t check_args(const struct hps_request *req)
{
    switch (req->label) {
    case HPS_SLOT_REQUEST:
        return req->a.slot_request.port <= 0xffff && req->a.slot_request.request <= HP_REQ_POWER_ON
                   ? HP_OK
                   : HP_ERR_INVALID;
    case HPS_SLOT_STATUS:
        return req->a.slot_status.port <= 0xffff ? HP_OK : HP_ERR_INVALID;
    case HPS_SLOT_FIND:
        return req->a.slot_find.device <= 0xffff ? HP_OK : HP_ERR_INVALID;
    case HPS_IOMMU_COUNTS:
        return req->a.iommu_counts.sid <= 0xffff ? HP_OK : HP_ERR_INVALID;
    default:
        return HP_OK; /* next_event, server_stats: no arguments */
    }
}

uint64_t hps_decode(const struct hps_msg *m, struct hps_request *req)
{
    unsigned task = 0;
    unsigned caller = hps_caller_of(m->badge, &task);
    uint64_t bad_label = caller == HPS_CALLER_DRIVER ? HP_GONE_ERR_LABEL : HP_ERR_INVALID;
    if (caller == HPS_CALLER_NONE) {
        return HP_ERR_INVALID;
    }
    struct hps_request r = {.label = m->label, .caller = caller, .task = task};
    const struct hp_gone_method_info *gi = hp_gone_method_find(m->label);
    if (caller == HPS_CALLER_DRIVER && gi != NULL && gi->dir == HP_GONE_TO_SERVER) {
        /* detached: the device-gone protocol's own decoder (it checks the length before it
         * reads a word, so a sender's len beyond HPS_MSG_WORDS is refused unread). */
        struct hp_gone_msg g;
        int e = hp_gone_decode(m->label, m->w, m->len, 1u << gi->label, &g);
        if (e != HP_GONE_OK) {
            return (uint64_t)e;
        }
        r.a.detached_handle = g.handle;
        *req = r;
        return HP_GONE_OK;
    }
    const struct hps_method_info *mi = hps_method_find(m->label);
    if (mi == NULL || mi->caller != caller) {
        return bad_label;
    }
    if (m->len != mi->nargs) {
        return caller == HPS_CALLER_DRIVER ? HP_GONE_ERR_LENGTH : HP_ERR_INVALID;
    }
    /* The words in the table's order into the method's argument struct. */
    const uint64_t *w_ = m->w;
    switch (m->label) {
#define ARG_COPY_(n, d) a_->n = *w_++;
#define COPY_CASE_(U, l, v, A, R, c, E, d)                                                         \
    case v: {                                                                                      \
        struct hps_##l##_args *a_ = &r.a.l;                                                        \
        (void)a_;                                                                                  \
        A(ARG_COPY_)                                                                               \
        break;                                                                                     \
    }
        HPS_METHODS(COPY_CASE_)
#undef COPY_CASE_
#undef ARG_COPY_
    default:
        break;
    }
    (void)w_;
    uint64_t e = check_args(&r);
    if (e != 0) {
        return e;
    }
    *req = r;
    return 0;
}

int hps_event_decode(uint64_t label, const uint64_t *w, unsigned len, struct hps_event *out)
{
    const struct hp_gone_method_info *gi = hp_gone_method_find(label);
    if (gi != NULL) {
        if (gi->dir != HP_GONE_TO_DRIVER) {
            return HP_GONE_ERR_LABEL;
        }
        struct hp_gone_msg g;
        int e = hp_gone_decode(label, w, len, 1u << gi->label, &g);
        if (e == HP_GONE_OK) {
            out->label = label;
            out->handle = g.handle;
        }
        return e;
    }
    const struct hps_method_info *ei = find(events, sizeof(events) / sizeof(events[0]), label);
    if (ei == NULL) {
        return HP_GONE_ERR_LABEL;
    }
    if (len != ei->nargs || (len > 0 && w == NULL)) {
        return HP_GONE_ERR_LENGTH;
    }
    /* The only argument an event carries is a handle. */
    if (len == 1 && (w[0] > HP_HANDLE_MAX || HP_HANDLE_GEN(w[0]) == 0)) {
        return HP_GONE_ERR_HANDLE;
    }
    out->label = label;
    out->handle = len == 1 ? w[0] : 0;
    return HP_GONE_OK;
}
