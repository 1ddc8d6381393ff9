/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * System call dispatch. The caller's registers are already saved in its TCB; every path writes
 * its results there and returns through the scheduler. The null syscall and the common IPC
 * cases are decided in a few comparisons before anything else.
 */
#include <arch/machine.h>
#include <portcullis/syscall.h>

/* Fastpaths (seL4's idea): call and reply-recv with register-only messages, no caps, to a
 * partner that can run at once. Anything unusual returns NULL and takes the general path. */

static bool fast_msg_ok(pc_msginfo_t info)
{
    return pc_msginfo_length(info) <= PC_MSG_REG_COUNT && pc_msginfo_extra_caps(info) == 0 &&
           pc_msginfo_label(info) < PC_LABEL_NOTIFICATION;
}

/* Out of line so that the common (unbounded) path keeps its register allocation. */
static __attribute__((noinline, cold)) void fast_timeout(k_tcb_t *t)
{
    k_timeout_add(t, t->ctx.rdx);
}

static inline k_context_t *fast_switch(k_cpu_t *cpu, k_tcb_t *next)
{
    next->state = K_TS_RUNNING;
    cpu->current = next;
    k_sched_load_inline(cpu, next);
    return &next->ctx;
}

/* Nothing ready has a higher priority than p (the ready queues hold neither partner). */
static inline bool fast_prio_ok(const k_cpu_t *cpu, unsigned p)
{
    return (int)p >= cpu->ready_max;
}

static inline __attribute__((always_inline)) k_context_t *fastpath_call(k_tcb_t *s)
{
    k_cpu_t *cpu = k_cpu();
    pc_msginfo_t info = s->ctx.rsi;
    if (!fast_msg_ok(info) || cpu->resched) {
        return NULL;
    }
    k_slot_t *slot = k_lookup_slot(s, s->ctx.rdi);
    if (!slot || slot->cap.type != PC_OBJ_ENDPOINT || !(slot->cap.rights & PC_RIGHT_WRITE)) {
        return NULL;
    }
    k_endpoint_t *ep = (k_endpoint_t *)slot->cap.obj;
    k_tcb_t *r = ep->head;
    if (ep->state != K_EP_RECV || r->reply_to != NULL || r->prio < s->prio ||
        !fast_prio_ok(cpu, r->prio)) {
        return NULL;
    }
    k_q_remove(&ep->head, &ep->tail, r);
    if (!ep->head) {
        ep->state = K_EP_IDLE;
    }
    if (r->deadline) {
        k_timeout_remove(r);
    }
    r->blocked_on = NULL;
    r->ctx.r10 = s->ctx.r10;
    r->ctx.r8 = s->ctx.r8;
    r->ctx.r9 = s->ctx.r9;
    r->ctx.r15 = s->ctx.r15;
    r->ctx.rsi = info & ~(pc_msginfo_t)((7u << PC_MSGINFO_UNWRAPPED_SHIFT));
    r->ctx.rdi = slot->cap.w2;
    r->ctx.rax = PC_OK;
    s->state = K_TS_BLOCKED_REPLY;
    s->reply_from = r;
    s->reply_can_grant = (slot->cap.rights & (PC_RIGHT_GRANT | PC_RIGHT_GRANT_REPLY)) != 0;
    r->reply_to = s;
    return fast_switch(cpu, r);
}

static inline __attribute__((always_inline)) k_context_t *fastpath_reply_recv(k_tcb_t *t)
{
    k_cpu_t *cpu = k_cpu();
    k_tcb_t *c = t->reply_to;
    pc_msginfo_t info = t->ctx.rsi;
    if (!c || (c->ipc_flags & K_IPC_FAULT) || !fast_msg_ok(info) || cpu->resched ||
        t->ctx.rdx == PC_TIMEOUT_POLL || (t->bound_ntfn && t->bound_ntfn->active)) {
        return NULL;
    }
    k_slot_t *slot = k_lookup_slot(t, t->ctx.rdi);
    if (!slot || slot->cap.type != PC_OBJ_ENDPOINT || !(slot->cap.rights & PC_RIGHT_READ)) {
        return NULL;
    }
    k_endpoint_t *ep = (k_endpoint_t *)slot->cap.obj;
    if (ep->state == K_EP_SEND || !fast_prio_ok(cpu, c->prio)) {
        return NULL;
    }
    t->reply_to = NULL;
    c->reply_from = NULL;
    c->ctx.r10 = t->ctx.r10;
    c->ctx.r8 = t->ctx.r8;
    c->ctx.r9 = t->ctx.r9;
    c->ctx.r15 = t->ctx.r15;
    c->ctx.rsi = info & ~(pc_msginfo_t)((7u << PC_MSGINFO_UNWRAPPED_SHIFT));
    c->ctx.rdi = 0;
    c->ctx.rax = PC_OK;
    t->state = K_TS_BLOCKED_RECV;
    t->blocked_on = ep;
    ep->state = K_EP_RECV;
    k_q_append(&ep->head, &ep->tail, t);
    if (__builtin_expect(t->ctx.rdx != PC_TIMEOUT_FOREVER, 0)) {
        fast_timeout(t); /* servers bound every wait */
    }
    return fast_switch(cpu, c);
}

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
    case PC_CAP_REPLY:
        t->ctx.rax = call ? PC_ERR_ILLEGAL_OPERATION : (uint64_t)k_ipc_reply_cap(t, s);
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
        k_context_t *next = sys == PC_SYS_CALL ? fastpath_call(t) : fastpath_reply_recv(t);
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
    case PC_SYS_IDENTIFY:
        k_identify(t);
        break;
    case PC_SYS_DEBUG_PREEMPTIONS:
#ifdef KERNEL_DEBUG
        t->ctx.rax = PC_OK;
        t->ctx.r10 = k_preemptions;
        t->ctx.rsi = pc_msginfo(0, 0, 0, 1);
#else
        t->ctx.rax = PC_ERR_INVALID_SYSCALL;
#endif
        break;
    case PC_SYS_THREAD_EXIT:
        k_thread_suspend(t);
        break;
    default:
        t->ctx.rax = PC_ERR_INVALID_SYSCALL;
        break;
    }
    return k_sched_exit();
}
