/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A message's words as user code sees them, and the result of a call to another task.
 *
 * Words: a message of n words carries MR0..MR3 in pc_msg_t (CPU registers across the system
 * call) and MR4..MR(n-1) in the calling thread's IPC buffer at the same index. pc_msg_set_words
 * and pc_msg_get_words are the one place outside the kernel that knows this split. The register
 * words are written as straight-line moves (no loop; constant moves when n is a constant), so a
 * message costs what a hand-written copy costs.
 *
 * Results: a protocol between tasks (the IOMMU server's, the hotplug server's) answers with its
 * own error enum, whose values stay below PC_CALL_IPC_FAILED. When the IPC itself fails (no
 * server behind the endpoint, a capability without rights, a cancelled call) the caller's result
 * is PC_CALL_IPC_FAILED + the kernel's pc_error, so "the server said no" and "the server was not
 * reached" never collide. The encoding also travels on the wire where a server forwards another
 * server's result (the hotplug server's iommu_counts), so its value is part of the ABI.
 */
#ifndef PORTCULLIS_MSG_H
#define PORTCULLIS_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include <portcullis/errors.h>
#include <portcullis/invoke.h>
#include <portcullis/syscall.h>
#include <portcullis/types.h>

_Static_assert(PC_MSG_REG_COUNT == 4, "pc_msg_set_words/pc_msg_get_words move MR0..MR3 by name");

/* ---- IPC failure as a protocol result ---- */

#define PC_CALL_IPC_FAILED 0x1000u
_Static_assert(PC_ERR_COUNT_ <= 0x1000, "every pc_error fits below the next result range");

/* The result a protocol call reports when the kernel refused the IPC with `err` (a pc_error
 * other than PC_OK). */
static inline uint64_t pc_call_ipc_failed(pc_word_t err)
{
    return PC_CALL_IPC_FAILED + err;
}

/* Whether a protocol call's result says the IPC itself failed (the server was not reached or
 * its reply did not arrive), as opposed to the server's own answer. */
static inline bool pc_call_is_ipc_failure(uint64_t result)
{
    return result >= PC_CALL_IPC_FAILED && result - PC_CALL_IPC_FAILED < PC_ERR_COUNT_;
}

/* The kernel's pc_error inside an IPC-failure result; PC_OK for any other result. */
static inline pc_word_t pc_call_ipc_error(uint64_t result)
{
    return pc_call_is_ipc_failure(result) ? result - PC_CALL_IPC_FAILED : PC_OK;
}

/* ---- words of a message ---- */

/*
 * Puts w[0..n) into the message to send: MR0..MR3 into m, the rest into the thread's IPC buffer.
 * m's info (label, length, caps) is the caller's to set; registers at and beyond n are left as
 * they are. Returns PC_OK, or PC_ERR_INVALID_ARGUMENT, writing nothing, when n exceeds
 * PC_MSG_MAX_LENGTH or needs an IPC buffer the thread does not have.
 */
static inline pc_word_t pc_msg_set_words(pc_msg_t *m, const pc_word_t *w, unsigned n)
{
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    if (n > PC_MSG_MAX_LENGTH || (n > PC_MSG_REG_COUNT && buf == NULL)) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    switch (n) {
    default:
        for (unsigned i = PC_MSG_REG_COUNT; i < n; i++) {
            buf->mr[i] = w[i];
        }
        /* fallthrough */
    case 4:
        m->mr[3] = w[3];
        /* fallthrough */
    case 3:
        m->mr[2] = w[2];
        /* fallthrough */
    case 2:
        m->mr[1] = w[1];
        /* fallthrough */
    case 1:
        m->mr[0] = w[0];
        /* fallthrough */
    case 0:
        break;
    }
    return PC_OK;
}

/*
 * Copies the words of the received message m into w: as many as m's info says it carries, at
 * most max (and at most PC_MSG_MAX_LENGTH; only the register words when the thread has no IPC
 * buffer). w[n..max) is left as it is. Returns n, the number of words copied.
 */
static inline unsigned pc_msg_get_words(const pc_msg_t *m, pc_word_t *w, unsigned max)
{
    const pc_ipc_buffer_t *buf = pc_ipc_buffer();
    unsigned n = pc_msginfo_length(m->info);
    if (n > max) {
        n = max;
    }
    if (n > PC_MSG_MAX_LENGTH) {
        n = PC_MSG_MAX_LENGTH;
    }
    if (n > PC_MSG_REG_COUNT && buf == NULL) {
        n = PC_MSG_REG_COUNT;
    }
    switch (n) {
    default:
        for (unsigned i = PC_MSG_REG_COUNT; i < n; i++) {
            w[i] = buf->mr[i];
        }
        /* fallthrough */
    case 4:
        w[3] = m->mr[3];
        /* fallthrough */
    case 3:
        w[2] = m->mr[2];
        /* fallthrough */
    case 2:
        w[1] = m->mr[1];
        /* fallthrough */
    case 1:
        w[0] = m->mr[0];
        /* fallthrough */
    case 0:
        break;
    }
    return n;
}

/*
 * One call on ep: `label`, `ncaps` extra capabilities the caller has put in the IPC buffer's
 * caps_or_badges, and the words in[0..nin). The reply's info goes to *reply (its label and its
 * full length) and its first min(length, nout_max) words to out. Registers the message does not
 * use travel as zero. Returns the pc_error of the call; on any error *reply is 0 and out is
 * untouched, and a message too long for the IPC buffer (see pc_msg_set_words) fails with
 * PC_ERR_INVALID_ARGUMENT without entering the kernel.
 */
static inline pc_word_t pc_call_words(pc_cptr_t ep, uint64_t label, unsigned ncaps,
                                      const pc_word_t *in, unsigned nin, pc_word_t *out,
                                      unsigned nout_max, pc_msginfo_t *reply)
{
    pc_msg_t m = {.info = pc_msginfo(label, 0, ncaps, nin), .badge = 0, .mr = {0, 0, 0, 0}};
    *reply = 0;
    pc_word_t err = pc_msg_set_words(&m, in, nin);
    if (err != PC_OK) {
        return err;
    }
    err = pc_call(ep, &m);
    if (err != PC_OK) {
        return err;
    }
    *reply = m.info;
    (void)pc_msg_get_words(&m, out, nout_max);
    return PC_OK;
}

#endif /* PORTCULLIS_MSG_H */
