/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Throws random system calls at the kernel: random syscall numbers, capability pointers, labels,
 * message registers, extra-cap cptrs, receive slots and timeouts, for `iters=` iterations (default
 * 200000) from a seeded PRNG (`seed=`, default 1). Its sandbox is what the policy gives it: an
 * untyped region, its own CNode and VSpace, a spare TCB, an endpoint, a notification and one
 * harmless I/O port, so the calls reach real objects of every kind. Only calls that would
 * legitimately never return are left out:
 *   - THREAD_EXIT and DEBUG_HALT (they end the thread / the run);
 *   - blocking SEND/CALL on an endpoint (nobody receives: they would wait forever), which become
 *     NB_SEND; receives always carry a finite timeout (at most 200 us);
 *   - CNode operations that would delete or move the "init" endpoint cap, the way the result is
 *     reported (the run needs it afterwards; everything else in the CNode is fair game);
 *   - DEBUG_WRITE of 1..40 random bytes (it would write noise into the result protocol's console);
 *     it is still called with lengths the kernel must refuse.
 * Afterwards the kernel must still be alive and IPC must still work: an echo call to the root task
 * comes back with the words reversed.
 */
#include <stdio.h>

#include <ktest/ktest.h>

static uint64_t g_rng;

static uint64_t rnd(void)
{
    /* xorshift64* */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545f4914f6cdd1dull;
}

static const uint16_t k_labels[] = {1,  2,  3,  4,  5,  6,  7,  10, 11, 12, 13, 14,
                                    15, 16, 17, 18, 19, 30, 31, 32, 33, 34, 40, 41,
                                    42, 43, 44, 50, 51, 52, 53, 54, 55, 56, 60};

static uint32_t g_slots;

/* A message register value: small numbers, slot numbers, object types, addresses or noise. */
static pc_word_t rnd_arg(void)
{
    switch (rnd() % 8) {
    case 0:
        return rnd() % 16;
    case 1:
        return rnd() % (g_slots + 4);
    case 2:
        return PC_OBJ_UNTYPED + rnd() % 12;
    case 3:
        return TASK_SELF_MIN + (rnd() % 64) * 4096;
    case 4:
        return (rnd() & 1) ? 0xffff800000000000ull + (rnd() % 4096) * 4096 : 0x0000800000000000ull;
    case 5:
        return rnd() % 0x10000;
    case 6:
        return rnd() % 64;
    default:
        return rnd();
    }
}

static pc_cptr_t rnd_cptr(void)
{
    return (rnd() % 16) == 0 ? rnd() : rnd() % (g_slots + 2);
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    pc_cptr_t init_ep = kt_cap("init", TASK_CAP_ENDPOINT);
    if (init_ep == 0 || kt_cap("cnode", TASK_CAP_OWN_CNODE) == 0) {
        kt_finish();
    }
    uint64_t iters = 200000, seed = 1;
    (void)task_cmdline_get_u64(si->cmdline, "iters", &iters);
    (void)task_cmdline_get_u64(si->cmdline, "seed", &seed);
    g_rng = seed ? seed : 1;
    g_slots = 1u << si->cnode_size_bits;
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    uint64_t by_err[PC_ERR_COUNT_ + 1] = {0};
    uint64_t done = 0, skipped = 0;

    for (; done < iters; done++) {
        pc_word_t nr = 1 + rnd() % 12;
        pc_cptr_t cptr = rnd_cptr();
        pc_msg_t m = {0};
        uint64_t label = (rnd() % 5) ? k_labels[rnd() % (sizeof(k_labels) / sizeof(k_labels[0]))]
                                     : rnd() % 0x10000;
        unsigned len = (unsigned)(rnd() % 12);
        unsigned ncaps = (unsigned)(rnd() % 4);
        m.info = pc_msginfo(label, 0, ncaps, len);
        for (unsigned i = 0; i < PC_MSG_REG_COUNT; i++) {
            m.mr[i] = rnd_arg();
        }
        for (unsigned i = PC_MSG_REG_COUNT; i < 12; i++) {
            buf->mr[i] = rnd_arg();
        }
        for (unsigned i = 0; i < PC_MSG_MAX_EXTRA_CAPS; i++) {
            buf->caps_or_badges[i] = rnd_cptr();
        }
        buf->receive_index = (rnd() % 4) ? 0 : rnd() % (g_slots + 2);
        pc_word_t timeout = rnd() % 200;

        if (nr == PC_SYS_THREAD_EXIT || nr == PC_SYS_DEBUG_HALT) {
            nr = PC_SYS_YIELD;
        }
        if (nr == PC_SYS_DEBUG_WRITE) {
            cptr = (rnd() & 1) ? 0 : 41 + rnd() % 1000; /* length: nothing, or more than allowed */
        }
        if (nr == PC_SYS_CALL || nr == PC_SYS_SEND) {
            pc_word_t id[3] = {0, 0, 0};
            if (pc_cap_identify(cptr, id) == PC_OK && id[0] == PC_OBJ_ENDPOINT) {
                nr = PC_SYS_NB_SEND; /* nobody receives there: a blocking send would wait forever */
            }
        }
        if ((nr == PC_SYS_CALL || nr == PC_SYS_SEND || nr == PC_SYS_NB_SEND) &&
            label >= PC_CNODE_MOVE && label <= PC_CNODE_REVOKE &&
            (m.mr[0] == init_ep || m.mr[1] == init_ep)) {
            skipped++;
            continue; /* keep the way to report */
        }
        if (nr == PC_SYS_CALL && label == PC_CNODE_MINT && m.mr[0] == init_ep) {
            skipped++;
            continue;
        }
        pc_word_t err = pc_syscall(nr, cptr, timeout, &m);
        by_err[err <= PC_ERR_COUNT_ ? err : PC_ERR_COUNT_]++;
        if ((done + 1) % 50000 == 0) {
            char line[96];
            snprintf(line, sizeof(line), "fuzz: %llu calls", (unsigned long long)(done + 1));
            task_log(line);
        }
    }
    kt_result("fuzz_random_syscalls_all_returned", done == iters,
              "(%llu calls, seed %llu; %llu ok, %llu lookup, %llu invalid cap, %llu range, %llu "
              "timeout, %llu other;"
              " %llu CNode ops on the report cap skipped)",
              (unsigned long long)done, (unsigned long long)seed, (unsigned long long)by_err[PC_OK],
              (unsigned long long)by_err[PC_ERR_FAILED_LOOKUP],
              (unsigned long long)by_err[PC_ERR_INVALID_CAPABILITY],
              (unsigned long long)by_err[PC_ERR_RANGE], (unsigned long long)by_err[PC_ERR_TIMEOUT],
              (unsigned long long)(done - by_err[PC_OK] - by_err[PC_ERR_FAILED_LOOKUP] -
                                   by_err[PC_ERR_INVALID_CAPABILITY] - by_err[PC_ERR_RANGE] -
                                   by_err[PC_ERR_TIMEOUT]),
              (unsigned long long)skipped);

    /* Sanity: IPC still works, end to end. */
    buf->receive_index = 0;
    pc_msg_t m = {0};
    m.info = pc_msginfo(TASK_LABEL_ECHO, 0, 0, 4);
    m.mr[0] = 11;
    m.mr[1] = 22;
    m.mr[2] = 33;
    m.mr[3] = 44;
    pc_word_t err = pc_call(init_ep, &m);
    kt_result("fuzz_sanity_ipc_after_random_syscalls",
              err == PC_OK && m.mr[0] == 44 && m.mr[1] == 33 && m.mr[2] == 22 && m.mr[3] == 11,
              "(call %s, reply %llu %llu %llu %llu)", kt_err(err), (unsigned long long)m.mr[0],
              (unsigned long long)m.mr[1], (unsigned long long)m.mr[2],
              (unsigned long long)m.mr[3]);
    kt_finish();
}
