/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A call on the hotplug server's endpoint (<hpsrv/protocol.h>) from a task holding a control or
 * driver copy: label, up to two argument words; the reply's MR0 is the server's error.
 */
#ifndef HPSRV_CLIENT_H
#define HPSRV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <portcullis/portcullis.h>

#define HPS_CALL_IPC_FAILED 0x1000u /* | pc_error: the call itself failed */

/* Returns MR0 of the reply (the server's error), or HPS_CALL_IPC_FAILED | pc_error; *out (may
 * be NULL) gets the whole reply. */
static inline uint64_t hps_call(pc_cptr_t ep, uint64_t label, unsigned len, uint64_t a0,
                                uint64_t a1, pc_msg_t *out)
{
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    m.info = pc_msginfo(label, 0, 0, len);
    m.mr[0] = a0;
    m.mr[1] = a1;
    pc_word_t err = pc_call(ep, &m);
    if (out != NULL) {
        *out = m;
    }
    return err != PC_OK ? HPS_CALL_IPC_FAILED | err : m.mr[0];
}

#endif /* HPSRV_CLIENT_H */
