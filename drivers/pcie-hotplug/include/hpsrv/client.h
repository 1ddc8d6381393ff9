/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A call on the hotplug server's endpoint (<hpsrv/protocol.h>) from a task holding a control or
 * driver copy: label, up to two argument words; the reply's MR0 is the server's error and the
 * words after it the method's results.
 */
#ifndef HPSRV_CLIENT_H
#define HPSRV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hpsrv/protocol.h>
#include <portcullis/portcullis.h>

/* The longest reply a client reads (iommu_counts). */
#define HPS_REPLY_WORDS HPS_COUNTS_WORDS
_Static_assert(HPS_STATUS_WORDS <= HPS_REPLY_WORDS && HPS_STATS_WORDS <= HPS_REPLY_WORDS,
               "every control reply fits struct hps_reply");

struct hps_reply {
    unsigned len;                /* words the reply carried (0 when the call failed) */
    uint64_t w[HPS_REPLY_WORDS]; /* its first min(len, HPS_REPLY_WORDS) words, zero after */
};

/*
 * Returns MR0 of the reply (the server's error, below PC_CALL_IPC_FAILED), or
 * pc_call_ipc_failed(pc_error) when the call failed or the reply carried no word
 * (PC_ERR_TRUNCATED_MESSAGE); *out (may be NULL) gets the reply's words. len > 2 is refused
 * (PC_ERR_INVALID_ARGUMENT) without a call.
 */
static inline uint64_t hps_call(pc_cptr_t ep, uint64_t label, unsigned len, uint64_t a0,
                                uint64_t a1, struct hps_reply *out)
{
    const uint64_t in[2] = {a0, a1};
    struct hps_reply local;
    struct hps_reply *r = out != NULL ? out : &local;
    memset(r, 0, sizeof(*r));
    if (len > 2) {
        return pc_call_ipc_failed(PC_ERR_INVALID_ARGUMENT);
    }
    pc_msginfo_t info;
    pc_word_t err = pc_call_words(ep, label, 0, in, len, r->w, HPS_REPLY_WORDS, &info);
    if (err != PC_OK) {
        return pc_call_ipc_failed(err);
    }
    r->len = pc_msginfo_length(info);
    return r->len >= 1 ? r->w[0] : pc_call_ipc_failed(PC_ERR_TRUNCATED_MESSAGE);
}

/* A slot_status reply; state, dev, handle, added and removed are valid when err is 0 (HP_OK). */
struct hps_slot_status {
    uint64_t err, state, dev, handle, added, removed;
};

/*
 * slot_status of the slot behind `port`: err is the server's enum hp_err, an IPC-failure result
 * (see hps_call), or pc_call_ipc_failed(PC_ERR_TRUNCATED_MESSAGE) for a success reply without
 * HPS_STATUS_WORDS words.
 */
static inline struct hps_slot_status hps_slot_status(pc_cptr_t ep, uint64_t port)
{
    struct hps_reply r;
    struct hps_slot_status s = {0};
    s.err = hps_call(ep, HPS_SLOT_STATUS, 1, port, 0, &r);
    if (s.err == 0 && r.len != HPS_STATUS_WORDS) {
        s.err = pc_call_ipc_failed(PC_ERR_TRUNCATED_MESSAGE);
    }
    if (s.err == 0) {
        s.state = r.w[1];
        s.dev = r.w[2];
        s.handle = r.w[3];
        s.added = r.w[4];
        s.removed = r.w[5];
    }
    return s;
}

#endif /* HPSRV_CLIENT_H */
