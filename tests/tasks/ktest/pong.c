/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IPC server side of the ping-pong test: serves `clients=` (default 1) ping tasks on the shared
 * endpoint, checks that each call arrives with the badge the root task minted for the caller,
 * receives a capability into a free slot and uses it (signals the notification), and answers
 * payload and long-message calls. Reports when every client said goodbye.
 */
#include <stdio.h>

#include <ktest/ktest.h>
#include "pingpong.h"

int main(void)
{
    const task_start_info_t *si = kt_start();
    pc_cptr_t ep = kt_cap("ep", TASK_CAP_ENDPOINT);
    if (ep == 0) {
        kt_finish();
    }
    uint64_t clients = 1;
    (void)task_cmdline_get_u64(si->cmdline, "clients", &clients);
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    uint32_t recv_slot = si->first_free_slot;
    unsigned byes = 0, badge_ok = 0, badge_bad = 0, caps_used = 0, long_msgs = 0;

    pc_msg_t m = {0};
    buf->receive_index = recv_slot;
    pc_word_t err = pc_recv(ep, &m, 30000000);
    while (err == PC_OK) {
        uint64_t label = pc_msginfo_label(m.info);
        unsigned len = pc_msginfo_length(m.info);
        pc_badge_t badge = m.badge;
        if (label == PP_HELLO) {
            if (badge != 0 && badge == m.mr[0]) {
                badge_ok++;
            } else {
                badge_bad++;
            }
        }
        /* Build the reply. */
        pc_msg_t r = {0};
        switch (label) {
        case PP_HELLO:
            r.info = pc_msginfo(0, 0, 0, 2);
            r.mr[0] = m.mr[1] + 1;
            r.mr[1] = badge;
            break;
        case PP_TAKE_CAP: {
            pc_word_t type = 0;
            if (pc_msginfo_extra_caps(m.info) == 1 && (pc_msginfo_unwrapped(m.info) & 1u) == 0) {
                pc_word_t id[3] = {0, 0, 0};
                if (pc_cap_identify(recv_slot, id) == PC_OK) {
                    type = id[0];
                }
                pc_signal(recv_slot); /* signals the badge the root task minted into it */
                caps_used++;
                recv_slot++; /* the next capability goes into a fresh slot */
            }
            r.info = pc_msginfo(0, 0, 0, 1);
            r.mr[0] = type;
            break;
        }
        case PP_ADD:
            r.info = pc_msginfo(0, 0, 0, 1);
            r.mr[0] = m.mr[0] + m.mr[1] + m.mr[2] + m.mr[3];
            break;
        case PP_SUM_LONG: {
            uint64_t sum = 0;
            for (unsigned i = 0; i < len; i++) {
                sum += i < PC_MSG_REG_COUNT ? m.mr[i] : buf->mr[i];
            }
            long_msgs++;
            r.info = pc_msginfo(0, 0, 0, 1);
            r.mr[0] = sum;
            break;
        }
        case PP_BYE:
            byes++;
            r.info = pc_msginfo(0, 0, 0, 0);
            break;
        default:
            r.info = pc_msginfo(0, 0, 0, 1);
            r.mr[0] = PC_ERR_INVALID_ARGUMENT;
            break;
        }
        m = r;
        if (byes >= clients) {
            (void)pc_reply(&m);
            break;
        }
        buf->receive_index = recv_slot < si->end_free_slot ? recv_slot : 0;
        err = pc_reply_recv(ep, &m, 30000000);
    }
    kt_result("ipc_server_sees_minted_badges", badge_ok == clients && badge_bad == 0,
              "(%u calls with the right badge, %u wrong, %llu clients)", badge_ok, badge_bad,
              (unsigned long long)clients);
    kt_result("ipc_server_receives_and_uses_cap", caps_used == clients, "(%u caps received)",
              caps_used);
    kt_result("ipc_server_served_every_client", byes == clients && long_msgs == clients,
              "(%u goodbyes, last receive %s)", byes, kt_err(err));
    kt_finish();
}
