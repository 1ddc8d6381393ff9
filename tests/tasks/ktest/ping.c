/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IPC client side of the ping-pong test: calls pong through a badged endpoint (the badge comes
 * from the root task's policy and is read from the start info), sends its own notification
 * capability along with a call, and checks that pong really used it (the notification fires).
 * Then many plain round trips with changing payloads.
 */
#include <stdio.h>

#include <ktest/ktest.h>
#include "pingpong.h"

int main(void)
{
    const task_start_info_t *si = kt_start();
    pc_cptr_t ep = kt_cap("ep", TASK_CAP_ENDPOINT);
    pc_cptr_t ntfn = kt_cap("reply_ntfn", TASK_CAP_NOTIFICATION);
    const task_cap_t *epc = task_cap_find(si, "ep");
    if (ep == 0 || ntfn == 0) {
        kt_finish();
    }

    /* 1. The server sees our badge (not a value we chose). */
    pc_msg_t m = {0};
    m.info = pc_msginfo(PP_HELLO, 0, 0, 2);
    m.mr[0] = epc->badge;
    m.mr[1] = 0x1234;
    pc_word_t err = pc_call(ep, &m);
    kt_result("ipc_call_reaches_server_with_badge",
              err == PC_OK && m.mr[0] == 0x1235 && m.mr[1] == epc->badge,
              "(err %s, reply %#llx, server saw badge %#llx, ours %#llx)", kt_err(err),
              (unsigned long long)m.mr[0], (unsigned long long)m.mr[1],
              (unsigned long long)epc->badge);

    /* 2. Capability transfer: pong receives our notification and signals it. */
    pc_word_t word = 0;
    (void)pc_poll(ntfn, &word); /* start from a clear word */
    pc_ipc_buffer()->caps_or_badges[0] = ntfn;
    m.info = pc_msginfo(PP_TAKE_CAP, 0, 1, 1);
    m.mr[0] = PP_SIGNAL_BITS;
    err = pc_call(ep, &m);
    bool got_type = err == PC_OK && m.mr[0] == PC_OBJ_NOTIFICATION;
    word = 0;
    pc_word_t werr = pc_wait(ntfn, 2000000, &word);
    kt_result("ipc_cap_transfer_receiver_uses_cap",
              got_type && werr == PC_OK && (word & PP_SIGNAL_BITS) == PP_SIGNAL_BITS,
              "(call %s, server saw type %llu, wait %s, word %#llx)", kt_err(err),
              (unsigned long long)m.mr[0], kt_err(werr), (unsigned long long)word);

    /* 3. Many round trips, each with fresh payload in all four register MRs. */
    unsigned bad = 0, rounds = 2000;
    for (unsigned i = 0; i < rounds; i++) {
        m.info = pc_msginfo(PP_ADD, 0, 0, 4);
        m.mr[0] = i;
        m.mr[1] = i * 3;
        m.mr[2] = ~(uint64_t)i;
        m.mr[3] = (uint64_t)i << 32;
        err = pc_call(ep, &m);
        if (err != PC_OK || m.mr[0] != i + i * 3 + (~(uint64_t)i) + ((uint64_t)i << 32)) {
            bad++;
        }
    }
    kt_result("ipc_round_trips_carry_payload", bad == 0, "(%u of %u rounds wrong)", bad, rounds);

    /* 4. A message longer than the registers goes through the IPC buffer. */
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    for (unsigned i = 4; i < 16; i++) {
        buf->mr[i] = 1000 + i;
    }
    m.info = pc_msginfo(PP_SUM_LONG, 0, 0, 16);
    m.mr[0] = 0;
    m.mr[1] = 1;
    m.mr[2] = 2;
    m.mr[3] = 3;
    err = pc_call(ep, &m);
    uint64_t want = 0 + 1 + 2 + 3;
    for (unsigned i = 4; i < 16; i++) {
        want += 1000 + i;
    }
    kt_result("ipc_long_message_through_ipc_buffer", err == PC_OK && m.mr[0] == want,
              "(err %s, sum %llu, expected %llu)", kt_err(err), (unsigned long long)m.mr[0],
              (unsigned long long)want);

    m.info = pc_msginfo(PP_BYE, 0, 0, 0);
    (void)pc_call(ep, &m);
    kt_finish();
}
