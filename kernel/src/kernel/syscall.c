/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * System call dispatch. The caller's registers are already saved in its TCB; every path writes
 * its results there and returns through the scheduler. The null syscall and the common IPC
 * cases are decided in a few comparisons before anything else.
 */
#include <arch/machine.h>
#include <portcullis/syscall.h>

static void debug_write(k_tcb_t *t)
{
    uint64_t n = t->ctx.rdi;
    uint64_t w[5] = {t->ctx.rsi, t->ctx.rdx, t->ctx.r10, t->ctx.r8, t->ctx.r9};
    if (n > 40) {
        t->ctx.rax = PC_ERR_RANGE;
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        char c = (char)(w[i / 8] >> (8 * (i % 8)));
        if (c == '\n') {
            k_serial_putc('\r');
        }
        k_serial_putc(c);
    }
    t->ctx.rax = PC_OK;
}

static void do_send(k_tcb_t *t, bool blocking, bool call)
{
    k_slot_t *s = k_lookup_slot(t, t->ctx.rdi);
    if (!s || k_slot_empty(s)) {
        t->ctx.rax = PC_ERR_FAILED_LOOKUP;
        return;
    }
    switch (s->cap.type) {
    case PC_OBJ_ENDPOINT:
        k_ipc_send(t, &s->cap, blocking, call);
        break;
    case PC_OBJ_NOTIFICATION:
        if (!(s->cap.rights & PC_RIGHT_WRITE)) {
            t->ctx.rax = PC_ERR_INVALID_CAPABILITY;
            break;
        }
        k_ntfn_signal((k_notification_t *)s->cap.obj, s->cap.w2);
        t->ctx.rax = PC_OK;
        break;
    default:
        k_invoke(t, s, call);
        break;
    }
}

static void do_recv(k_tcb_t *t, uint64_t timeout)
{
    k_slot_t *s = k_lookup_slot(t, t->ctx.rdi);
    if (!s || k_slot_empty(s)) {
        t->ctx.rax = PC_ERR_FAILED_LOOKUP;
        return;
    }
    if (s->cap.type == PC_OBJ_ENDPOINT) {
        k_ipc_recv(t, &s->cap, timeout);
    } else if (s->cap.type == PC_OBJ_NOTIFICATION) {
        k_ntfn_wait(t, &s->cap, timeout);
    } else {
        t->ctx.rax = PC_ERR_INVALID_CAPABILITY;
    }
}

k_context_t *k_syscall_handler(void)
{
    k_cpu_t *cpu = k_cpu();
    k_tcb_t *t = cpu->current;
    uint64_t sys = t->ctx.rax;
    if (sys == PC_SYS_NULL) {
        t->ctx.rax = PC_OK;
        return &t->ctx;
    }
    if (sys == PC_SYS_CALL || sys == PC_SYS_REPLY_RECV) {
        k_context_t *next = sys == PC_SYS_CALL ? k_fastpath_call(t) : k_fastpath_reply_recv(t);
        if (next) {
            return next;
        }
    }
    switch (sys) {
    case PC_SYS_CALL:
        do_send(t, true, true);
        break;
    case PC_SYS_REPLY_RECV: {
        if (t->reply_to) {
            int err = k_ipc_reply(t);
            if (err) {
                t->ctx.rax = (uint64_t)err;
                break;
            }
        }
        do_recv(t, t->ctx.rdx);
        break;
    }
    case PC_SYS_SEND:
        do_send(t, true, false);
        break;
    case PC_SYS_NB_SEND:
        do_send(t, false, false);
        break;
    case PC_SYS_RECV:
        do_recv(t, t->ctx.rdx);
        break;
    case PC_SYS_NB_RECV:
        do_recv(t, PC_TIMEOUT_POLL);
        break;
    case PC_SYS_REPLY:
        t->ctx.rax = (uint64_t)k_ipc_reply(t);
        break;
    case PC_SYS_YIELD:
        t->ctx.rax = PC_OK;
        k_sched_yield();
        break;
    case PC_SYS_DEBUG_WRITE:
        debug_write(t);
        break;
    case PC_SYS_DEBUG_HALT:
#ifdef KERNEL_DEBUG
        k_log("debug halt requested, code %lu\n", t->ctx.rdi);
        k_outl(0xF4, (uint32_t)t->ctx.rdi); /* isa-debug-exit: QEMU exits with (code << 1) | 1 */
        k_halt_forever();
#else
        t->ctx.rax = PC_ERR_INVALID_SYSCALL;
#endif
        break;
    case PC_SYS_IDENTIFY: {
        k_slot_t *s = k_lookup_slot(t, t->ctx.rdi);
        if (!s || k_slot_empty(s)) {
            t->ctx.rax = PC_ERR_FAILED_LOOKUP;
            t->ctx.r10 = t->ctx.r8 = t->ctx.r9 = 0;
            break;
        }
        t->ctx.rax = PC_OK;
        t->ctx.r10 = s->cap.type;
        t->ctx.r8 = s->cap.rights;
        t->ctx.r9 = (s->cap.type == PC_OBJ_ENDPOINT || s->cap.type == PC_OBJ_NOTIFICATION) ? s->cap.w2 : 0;
        t->ctx.rsi = pc_msginfo(0, 0, 0, 3);
        break;
    }
    case PC_SYS_THREAD_EXIT:
        k_thread_suspend(t);
        break;
    default:
        t->ctx.rax = PC_ERR_INVALID_SYSCALL;
        break;
    }
    return k_sched_exit();
}
