/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel micro-benchmarks, measured in the guest with rdtsc (under QEMU -icount shift=0 the TSC
 * counts guest instructions; without it, TCG time): the null system call, an IPC round trip
 * (call + reply-recv) to a second thread in the same address space and to another task, and a
 * notification signal -> wait wake-up across threads. Each runs `iters=` (default 10000) times
 * after 1000 warm-up rounds and prints `BENCH <name> median=... min=... iters=...`, then the
 * ratios the design targets (round trip / null syscall). Last, the revoke of a capability with
 * REVOKE_CAPS copies (a preemptible kernel operation), REVOKE_ROUNDS times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ktest/ktest.h>

#define WARMUP 1000u
#define MAX_ITERS 20000u
#define SERVER_STACK 16384u
#define REVOKE_CNODE_BITS 8u /* fits the 64 KiB untyped the policy grants */
#define REVOKE_CAPS ((1u << REVOKE_CNODE_BITS) - 1)
#define REVOKE_ROUNDS 20u

static uint64_t g_samples[MAX_ITERS];
static uint8_t g_server_stack[SERVER_STACK] __attribute__((aligned(16)));

static pc_cptr_t g_ep, g_ntfn;
static volatile uint64_t g_t0;         /* written by the client just before it signals */
static volatile uint64_t g_wake_delta; /* written by the server thread when it wakes */
static volatile int g_wake_seen;

enum { LABEL_ADD = 1, LABEL_TO_NTFN = 2 };

/* The second thread: an IPC server until told to switch, then a notification waiter. */
static void server_main(uint64_t arg)
{
    (void)arg;
    pc_msg_t m = {0};
    pc_word_t err = pc_recv(g_ep, &m, PC_TIMEOUT_FOREVER);
    while (err == PC_OK && pc_msginfo_label(m.info) == LABEL_ADD) {
        m.info = pc_msginfo(0, 0, 0, 1);
        m.mr[0] = m.mr[0] + 1;
        err = pc_reply_recv(g_ep, &m, PC_TIMEOUT_FOREVER);
    }
    m.info = pc_msginfo(0, 0, 0, 0);
    (void)pc_reply(&m);
    for (;;) {
        pc_word_t word;
        if (pc_wait(g_ntfn, PC_TIMEOUT_FOREVER, &word) == PC_OK) {
            uint64_t t1 = task_rdtsc();
            g_wake_delta = t1 - g_t0;
            g_wake_seen = 1;
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct stats {
    uint64_t median, min;
} stats_t;

static stats_t report(const char *name, unsigned n)
{
    qsort(g_samples, n, sizeof(g_samples[0]), cmp_u64);
    stats_t s = {g_samples[n / 2], g_samples[0]};
    char line[160];
    snprintf(line, sizeof(line), "BENCH %s median=%llu min=%llu p90=%llu iters=%u", name,
             (unsigned long long)s.median, (unsigned long long)s.min,
             (unsigned long long)g_samples[(n * 9) / 10], n);
    task_log(line);
    return s;
}

static unsigned g_bad_replies;

/* Revoke of an endpoint cap with REVOKE_CAPS copies in a CNode of their own, from the
 * PC_SYS_CALL to its return (preemption points included, interrupts taken between chunks
 * included). Returns the first error. */
static pc_word_t bench_revoke(pc_cptr_t ut, pc_cptr_t cnode, uint32_t *next)
{
    pc_cptr_t cn = (*next)++;
    pc_word_t err = pc_untyped_retype(ut, PC_OBJ_CNODE, REVOKE_CNODE_BITS, PC_NULL_CPTR, cn, 1);
    for (unsigned r = 0; err == PC_OK && r < REVOKE_ROUNDS; r++) {
        for (unsigned i = 1; err == PC_OK && i <= REVOKE_CAPS; i++) {
            err = pc_cnode_copy(cn, i, cnode, g_ep, PC_RIGHTS_ALL);
        }
        uint64_t t0 = task_rdtsc();
        pc_word_t rerr = pc_cnode_revoke(cnode, g_ep);
        g_samples[r] = task_rdtsc() - t0;
        err = err ? err : rerr;
    }
    if (err == PC_OK) {
        stats_t s = report("revoke_255_copies", REVOKE_ROUNDS);
        char line[120];
        snprintf(line, sizeof(line), "BENCH revoke_per_cap median=%llu",
                 (unsigned long long)(s.median / REVOKE_CAPS));
        task_log(line);
    }
    return err;
}

static void ipc_round(pc_cptr_t ep, unsigned i, bool record)
{
    pc_msg_t m = {0};
    m.info = pc_msginfo(LABEL_ADD, 0, 0, 1);
    m.mr[0] = i;
    uint64_t t0 = task_rdtsc();
    pc_word_t err = pc_call(ep, &m);
    uint64_t t1 = task_rdtsc();
    if (err != PC_OK || m.mr[0] != (uint64_t)i + 1) {
        g_bad_replies++;
    }
    if (record) {
        g_samples[i] = t1 - t0;
    }
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    pc_cptr_t ut = kt_cap("untyped", TASK_CAP_UNTYPED);
    pc_cptr_t cnode = kt_cap("cnode", TASK_CAP_OWN_CNODE);
    pc_cptr_t vspace = kt_cap("vspace", TASK_CAP_OWN_VSPACE);
    pc_cptr_t tcb = kt_cap("tcb", TASK_CAP_OWN_TCB);
    pc_cptr_t peer = kt_cap("peer", TASK_CAP_ENDPOINT);
    if (!ut || !cnode || !vspace || !tcb || !peer) {
        kt_finish();
    }
    uint64_t iters = 10000;
    (void)task_cmdline_get_u64(si->cmdline, "iters", &iters);
    if (iters == 0 || iters > MAX_ITERS) {
        iters = 10000;
    }
    unsigned n = (unsigned)iters;
    uint32_t next = si->first_free_slot;
    g_ep = next++;
    g_ntfn = next++;
    pc_word_t err = pc_untyped_retype(ut, PC_OBJ_ENDPOINT, 0, PC_NULL_CPTR, g_ep, 1);
    if (err == PC_OK) {
        err = pc_untyped_retype(ut, PC_OBJ_NOTIFICATION, 0, PC_NULL_CPTR, g_ntfn, 1);
    }
    pc_cptr_t server_tcb = 0;
    if (err == PC_OK) {
        task_thread_spec_t spec = {
            .untyped = ut,
            .cnode = cnode,
            .vspace = vspace,
            .authority = tcb,
            .ipc_buffer_vaddr = TASK_SELF_MIN,
            .entry = server_main,
            .stack_top = (uint64_t)(uintptr_t)(g_server_stack + SERVER_STACK),
            .arg = 0,
            .priority = si->priority + 1, /* wakes at once when signalled */
        };
        err = task_thread_create(&spec, &next, si->end_free_slot, &server_tcb);
    }
    if (!kt_result("bench_second_thread_started", err == PC_OK, "(%s)", kt_err(err))) {
        kt_finish();
    }

    /* rdtsc back to back: the floor under every figure below. */
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = task_rdtsc();
        uint64_t t1 = task_rdtsc();
        g_samples[i] = t1 - t0;
    }
    report("rdtsc_overhead", n);

    for (unsigned i = 0; i < WARMUP; i++) {
        pc_null_syscall();
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = task_rdtsc();
        pc_null_syscall();
        uint64_t t1 = task_rdtsc();
        g_samples[i] = t1 - t0;
    }
    stats_t null = report("null_syscall", n);

    for (unsigned i = 0; i < WARMUP; i++) {
        ipc_round(g_ep, i, false);
    }
    for (unsigned i = 0; i < n; i++) {
        ipc_round(g_ep, i, true);
    }
    stats_t same = report("ipc_roundtrip_same_as", n);

    for (unsigned i = 0; i < WARMUP; i++) {
        ipc_round(peer, i, false);
    }
    for (unsigned i = 0; i < n; i++) {
        ipc_round(peer, i, true);
    }
    stats_t cross = report("ipc_roundtrip_cross_as", n);
    kt_result("bench_ipc_replies_correct", g_bad_replies == 0, "(%u wrong replies)", g_bad_replies);

    /* Switch the server thread to waiting on the notification. */
    pc_msg_t m = {0};
    m.info = pc_msginfo(LABEL_TO_NTFN, 0, 0, 0);
    (void)pc_call(g_ep, &m);
    unsigned missed = 0;
    for (unsigned i = 0; i < WARMUP + n; i++) {
        g_wake_seen = 0;
        g_t0 = task_rdtsc();
        pc_signal(g_ntfn);
        /* the waiter runs at a higher priority: it has already woken and measured */
        if (!g_wake_seen) {
            missed++;
            pc_yield();
        }
        if (i >= WARMUP) {
            g_samples[i - WARMUP] = g_wake_delta;
        }
    }
    stats_t ntfn = report("notification_signal_to_wait", n);
    kt_result("bench_notification_wakes_waiter_at_once", missed == 0, "(%u signals not yet seen)",
              missed);
    (void)ntfn;

    char line[200];
    uint64_t base = null.median ? null.median : 1;
    snprintf(line, sizeof(line),
             "BENCH ipc_ratio same_as_over_null=%llu.%02llu cross_as_over_null=%llu.%02llu",
             (unsigned long long)(same.median / base),
             (unsigned long long)((same.median * 100 / base) % 100),
             (unsigned long long)(cross.median / base),
             (unsigned long long)((cross.median * 100 / base) % 100));
    task_log(line);
    err = bench_revoke(ut, cnode, &next);
    kt_result("bench_revoke_completes", err == PC_OK, "(%s)", kt_err(err));
    (void)pc_tcb_suspend(server_tcb);
    kt_finish();
}
