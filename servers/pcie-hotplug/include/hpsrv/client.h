/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A call on the hotplug server's endpoint (<hpsrv/protocol.h>) from a task holding a control or
 * driver copy: a message built by an hps_encode_<m> (or by hand, for tests of hostile input)
 * goes out, the reply comes back as a struct hps_reply for the generated hps_reply_<m>.
 */
#ifndef HPSRV_CLIENT_H
#define HPSRV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hpsrv/protocol.h>
#include <portcullis/portcullis.h>

/*
 * Returns MR0 of the reply (the server's error, below PC_CALL_IPC_FAILED), or
 * pc_call_ipc_failed(pc_error) when the call failed, the reply carried no word, or a success
 * reply to a control method lacks results (PC_ERR_TRUNCATED_MESSAGE); *out (may be NULL) gets
 * the reply. m->len > HPS_MSG_WORDS is refused (PC_ERR_INVALID_ARGUMENT) without a call.
 */
static inline uint64_t hps_call(pc_cptr_t ep, const struct hps_msg *m, struct hps_reply *out)
{
    struct hps_reply local;
    struct hps_reply *r = out != NULL ? out : &local;
    memset(r, 0, sizeof(*r));
    if (m->len > HPS_MSG_WORDS) {
        return pc_call_ipc_failed(PC_ERR_INVALID_ARGUMENT);
    }
    pc_msginfo_t info;
    pc_word_t err = pc_call_words(ep, m->label, 0, m->w, m->len, r->w, HPS_REPLY_WORDS, &info);
    if (err != PC_OK) {
        return pc_call_ipc_failed(err);
    }
    r->label = pc_msginfo_label(info);
    r->len = pc_msginfo_length(info);
    if (r->len == 0 || !hps_reply_complete(m->label, r)) {
        return pc_call_ipc_failed(PC_ERR_TRUNCATED_MESSAGE);
    }
    return r->w[0];
}

/* A slot_status reply; state, dev, handle, added and removed are valid when err is 0 (HP_OK). */
struct hps_slot_status {
    uint64_t err, state, dev, handle, added, removed;
};

/* slot_status of the slot behind `port`: err is the server's enum hp_err or an IPC-failure
 * result (see hps_call). */
static inline struct hps_slot_status hps_slot_status(pc_cptr_t ep, uint64_t port)
{
    struct hps_msg m;
    struct hps_reply r;
    struct hps_slot_status_rets rets;
    struct hps_slot_status s = {0};
    hps_encode_slot_status(&m, port);
    s.err = hps_call(ep, &m, &r);
    if (s.err == 0) {
        (void)hps_reply_slot_status(&r, &rets);
        s.state = rets.state;
        s.dev = rets.device;
        s.handle = rets.handle;
        s.added = rets.added;
        s.removed = rets.removed;
    }
    return s;
}

/* slot_request: returns the server's enum hp_err or an IPC-failure result. */
static inline uint64_t hps_slot_request(pc_cptr_t ep, uint64_t port, uint64_t request)
{
    struct hps_msg m;
    hps_encode_slot_request(&m, port, request);
    return hps_call(ep, &m, NULL);
}

/* server_stats: returns HP_OK with *out filled, or an IPC-failure result (*out zero). */
static inline uint64_t hps_server_stats(pc_cptr_t ep, struct hps_server_stats_rets *out)
{
    struct hps_msg m;
    struct hps_reply r;
    memset(out, 0, sizeof(*out));
    hps_encode_server_stats(&m);
    uint64_t err = hps_call(ep, &m, &r);
    return err == 0 ? hps_reply_server_stats(&r, out) : err;
}

/* iommu_counts of `sid`: returns 0 with *out filled, the IOMMU server's error, or an
 * IPC-failure result (*out zero unless 0). */
static inline uint64_t hps_iommu_counts(pc_cptr_t ep, uint64_t sid,
                                        struct hps_iommu_counts_rets *out)
{
    struct hps_msg m;
    struct hps_reply r;
    memset(out, 0, sizeof(*out));
    hps_encode_iommu_counts(&m, sid);
    uint64_t err = hps_call(ep, &m, &r);
    return err == 0 ? hps_reply_iommu_counts(&r, out) : err;
}

/* The same leak accounting in two iommu_counts results, the generation aside. */
static inline bool hps_counts_same(const struct hps_iommu_counts_rets *a,
                                   const struct hps_iommu_counts_rets *b)
{
    return a->domains == b->domains && a->mappings == b->mappings &&
           a->table_pages == b->table_pages && a->pins == b->pins && a->stuck == b->stuck &&
           a->present == b->present && a->fenced == b->fenced && a->quarantined == b->quarantined &&
           a->irtes == b->irtes;
}

#endif /* HPSRV_CLIENT_H */
