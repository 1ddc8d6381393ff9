/* SPDX-License-Identifier: BSD-2-Clause */
/* The other address space of the cross-address-space IPC benchmark: replies MR0 + 1, forever. */
#include <ktest/ktest.h>

int main(void)
{
    pc_cptr_t ep = kt_cap("ep", TASK_CAP_ENDPOINT);
    pc_msg_t m = {0};
    pc_word_t err = pc_recv(ep, &m, PC_TIMEOUT_FOREVER);
    for (;;) {
        if (err == PC_OK) {
            m.info = pc_msginfo(0, 0, 0, 1);
            m.mr[0] = m.mr[0] + 1;
            err = pc_reply_recv(ep, &m, PC_TIMEOUT_FOREVER);
        } else {
            err = pc_recv(ep, &m, PC_TIMEOUT_FOREVER);
        }
    }
}
