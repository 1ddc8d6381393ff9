/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Synchronous IPC through endpoints, notifications, faults, and the thread state changes that
 * go with them (suspend, resume, cancel). Messages are copied register to register for MR0..3
 * and IPC buffer to IPC buffer beyond; the kernel reaches IPC buffers only through the frame the
 * TCB was configured with, never through a user pointer.
 */
#include <arch/machine.h>
#include <kernel/string.h>

void k_set_mr(k_tcb_t *t, pc_ipc_buffer_t *buf, unsigned i, uint64_t v)
{
    switch (i) {
    case 0:
        t->ctx.r10 = v;
        break;
    case 1:
        t->ctx.r8 = v;
        break;
    case 2:
        t->ctx.r9 = v;
        break;
    case 3:
        t->ctx.r15 = v;
        break;
    default:
        if (buf && i < PC_MSG_MAX_LENGTH) {
            buf->mr[i] = v;
        }
        break;
    }
}

/* --- wait queues --- */

void k_ipc_cancel(k_tcb_t *t)
{
    switch (t->state) {
    case K_TS_BLOCKED_SEND:
    case K_TS_BLOCKED_RECV: {
        k_endpoint_t *ep = t->blocked_on;
        k_q_remove(&ep->head, &ep->tail, t);
        if (!ep->head) {
            ep->state = K_EP_IDLE;
        }
        break;
    }
    case K_TS_BLOCKED_NTFN: {
        k_notification_t *n = t->blocked_on;
        k_q_remove(&n->head, &n->tail, t);
        break;
    }
    case K_TS_BLOCKED_REPLY:
        if (t->reply_from) {
            t->reply_from->reply_to = NULL;
            t->reply_from = NULL;
        }
        if (t->reply_slot) { /* the saved Reply cap turns stale */
            t->reply_slot->cap.obj = 0;
            t->reply_slot = NULL;
        }
        break;
    default:
        break;
    }
    t->blocked_on = NULL;
    t->ipc_flags = 0;
    k_timeout_remove(t);
    if (t->state != K_TS_INACTIVE && t->state != K_TS_RUNNING) {
        t->state = K_TS_INACTIVE;
    }
}

/* Nobody will reply to c: a caller gets PC_ERR_CANCELLED, a faulted thread stays stopped. */
static void cancel_caller(k_tcb_t *c)
{
    if (c->ipc_flags & K_IPC_FAULT) {
        c->state = K_TS_INACTIVE; /* nobody will handle its fault any more */
        c->ipc_flags = 0;
    } else {
        c->ctx.rax = PC_ERR_CANCELLED;
        c->ipc_flags = 0;
        k_sched_wake(c);
    }
}

/* Abandon the reply this thread owes (it is about to receive again, or dies). */
static void drop_reply(k_tcb_t *r)
{
    k_tcb_t *c = r->reply_to;
    if (c) {
        r->reply_to = NULL;
        c->reply_from = NULL;
        cancel_caller(c);
    }
}

void k_thread_suspend(k_tcb_t *t)
{
    k_ipc_cancel(t);
    drop_reply(t);
    if (t->queued) {
        k_sched_dequeue(t);
    }
    t->state = K_TS_INACTIVE;
}

void k_thread_resume(k_tcb_t *t)
{
    if (t->state == K_TS_INACTIVE) {
        t->ipc_flags = 0;
        k_sched_wake(t);
    }
}

/* --- message transfer --- */

static void transfer_caps(k_tcb_t *s, k_tcb_t *r, pc_ipc_buffer_t *sbuf, pc_ipc_buffer_t *rbuf,
                          k_endpoint_t *ep, unsigned n, unsigned *extra, unsigned *unwrapped)
{
    bool slot_used = false;
    *extra = 0;
    *unwrapped = 0;
    if (!sbuf || !rbuf) {
        return;
    }
    for (unsigned i = 0; i < n && i < PC_MSG_MAX_EXTRA_CAPS; i++) {
        k_slot_t *src = k_lookup_slot(s, sbuf->caps_or_badges[i]);
        if (!src || k_slot_empty(src)) {
            break;
        }
        if (ep && src->cap.type == PC_OBJ_ENDPOINT && (k_endpoint_t *)src->cap.obj == ep) {
            rbuf->caps_or_badges[i] = src->cap.w2;
            *unwrapped |= 1u << i;
        } else {
            k_slot_t *dst = slot_used ? NULL : k_lookup_slot(r, rbuf->receive_index);
            if (!dst || !k_slot_empty(dst) || src->cap.type == PC_OBJ_UNTYPED ||
                src->cap.type == PC_CAP_REPLY) {
                break;
            }
            k_cap_t c = src->cap;
            if (c.type == PC_OBJ_FRAME_4K || c.type == PC_OBJ_FRAME_2M || c.type == PC_OBJ_PDPT ||
                c.type == PC_OBJ_PD || c.type == PC_OBJ_PT) {
                c.aux = 0; /* the mapping stays with the sender's cap */
                c.w2 = 0;
            }
            k_cap_derive(src, dst, c);
            slot_used = true;
        }
        (*extra)++;
    }
}

/* Copy the message s is sending (or its pending fault) to r. */
static void transfer(k_tcb_t *s, k_tcb_t *r, uint64_t badge, k_endpoint_t *ep, bool can_grant)
{
    pc_ipc_buffer_t *rbuf = k_tcb_ipc_buffer(r);
    if (s->ipc_flags & K_IPC_FAULT) {
        for (unsigned i = 0; i < PC_FAULT_LENGTH; i++) {
            k_set_mr(r, rbuf, i, s->fault[i]);
        }
        r->ctx.rsi = pc_msginfo(PC_LABEL_FAULT, 0, 0, rbuf ? PC_FAULT_LENGTH : PC_MSG_REG_COUNT);
        r->ctx.rdi = badge;
        r->ctx.rax = PC_OK;
        return;
    }
    pc_msginfo_t info = s->ctx.rsi;
    unsigned len = pc_msginfo_length(info);
    if (len > PC_MSG_MAX_LENGTH) {
        len = PC_MSG_MAX_LENGTH;
    }
    r->ctx.r10 = s->ctx.r10;
    r->ctx.r8 = s->ctx.r8;
    r->ctx.r9 = s->ctx.r9;
    r->ctx.r15 = s->ctx.r15;
    pc_ipc_buffer_t *sbuf = NULL;
    if (len > PC_MSG_REG_COUNT || pc_msginfo_extra_caps(info)) {
        sbuf = k_tcb_ipc_buffer(s);
    }
    if (len > PC_MSG_REG_COUNT) {
        if (sbuf && rbuf) {
            memcpy(&rbuf->mr[PC_MSG_REG_COUNT], &sbuf->mr[PC_MSG_REG_COUNT],
                   (len - PC_MSG_REG_COUNT) * 8);
        } else {
            len = PC_MSG_REG_COUNT;
        }
    }
    unsigned extra = 0, unwrapped = 0;
    if (can_grant && pc_msginfo_extra_caps(info)) {
        transfer_caps(s, r, sbuf, rbuf, ep, pc_msginfo_extra_caps(info), &extra, &unwrapped);
    }
    r->ctx.rsi = pc_msginfo(pc_msginfo_label(info), unwrapped, extra, len);
    r->ctx.rdi = badge;
    r->ctx.rax = PC_OK;
}

/* After a call was delivered to r: s waits for r's reply. */
static void setup_reply(k_tcb_t *s, k_tcb_t *r, bool grant)
{
    drop_reply(r);
    s->state = K_TS_BLOCKED_REPLY;
    s->reply_from = r;
    s->reply_can_grant = grant;
    r->reply_to = s;
}

/* r received: make it run, directly if nothing more important is ready. */
static void deliver_to(k_tcb_t *r)
{
    k_cpu_t *cpu = k_cpu();
    k_tcb_t *cur = cpu->current;
    if (cur->state != K_TS_RUNNING && !cur->queued && r->prio >= cur->prio &&
        k_sched_can_switch_direct(r)) {
        r->state = K_TS_RUNNING;
        cpu->current = r; /* fastpath: the sender blocked, the receiver runs next */
        return;
    }
    k_sched_wake(r);
}

void k_ipc_send(k_tcb_t *s, k_cap_t *epcap, bool blocking, bool call)
{
    k_endpoint_t *ep = (k_endpoint_t *)epcap->obj;
    if (!(epcap->rights & PC_RIGHT_WRITE)) {
        s->ctx.rax = PC_ERR_INVALID_CAPABILITY;
        return;
    }
    if (!(s->ipc_flags & K_IPC_FAULT) && pc_msginfo_label(s->ctx.rsi) >= PC_LABEL_NOTIFICATION) {
        s->ctx.rax = PC_ERR_INVALID_ARGUMENT;
        return;
    }
    bool grant = epcap->rights & PC_RIGHT_GRANT;
    bool grant_reply = epcap->rights & (PC_RIGHT_GRANT | PC_RIGHT_GRANT_REPLY);
    if (ep->state == K_EP_RECV) {
        k_tcb_t *r = ep->head;
        k_q_remove(&ep->head, &ep->tail, r);
        if (!ep->head) {
            ep->state = K_EP_IDLE;
        }
        k_timeout_remove(r);
        r->blocked_on = NULL;
        transfer(s, r, epcap->w2, ep, grant);
        if (call) {
            setup_reply(s, r, grant_reply);
        } else {
            s->ctx.rax = PC_OK;
        }
        deliver_to(r);
        return;
    }
    if (!blocking) {
        s->ctx.rax = PC_OK; /* nobody listening: the message is dropped */
        return;
    }
    s->state = K_TS_BLOCKED_SEND;
    s->blocked_on = ep;
    s->ipc_badge = epcap->w2;
    s->ipc_flags = (s->ipc_flags & K_IPC_FAULT) | (call ? K_IPC_CALL : 0) |
                   (grant ? K_IPC_GRANT : 0) | (grant_reply ? K_IPC_GRANT_REPLY : 0);
    ep->state = K_EP_SEND;
    k_q_append(&ep->head, &ep->tail, s);
}

static bool take_bound_signal(k_tcb_t *r)
{
    k_notification_t *n = r->bound_ntfn;
    if (n && n->active) {
        r->ctx.rdi = n->word;
        r->ctx.rsi = pc_msginfo(PC_LABEL_NOTIFICATION, 0, 0, 0);
        r->ctx.rax = PC_OK;
        n->word = 0;
        n->active = 0;
        return true;
    }
    return false;
}

void k_ipc_recv(k_tcb_t *r, k_cap_t *epcap, uint64_t timeout_us)
{
    k_endpoint_t *ep = (k_endpoint_t *)epcap->obj;
    if (!(epcap->rights & PC_RIGHT_READ)) {
        r->ctx.rax = PC_ERR_INVALID_CAPABILITY;
        return;
    }
    drop_reply(r);
    if (take_bound_signal(r)) {
        return;
    }
    if (ep->state == K_EP_SEND) {
        k_tcb_t *s = ep->head;
        k_q_remove(&ep->head, &ep->tail, s);
        if (!ep->head) {
            ep->state = K_EP_IDLE;
        }
        s->blocked_on = NULL;
        uint32_t f = s->ipc_flags;
        transfer(s, r, s->ipc_badge, ep, f & K_IPC_GRANT);
        if (f & (K_IPC_CALL | K_IPC_FAULT)) {
            setup_reply(s, r, f & K_IPC_GRANT_REPLY);
            s->ipc_flags = f & K_IPC_FAULT;
        } else {
            s->ipc_flags = 0;
            s->ctx.rax = PC_OK;
            k_sched_wake(s);
        }
        return;
    }
    if (timeout_us == PC_TIMEOUT_POLL) {
        r->ctx.rax = PC_ERR_TIMEOUT;
        r->ctx.rdi = 0;
        r->ctx.rsi = 0;
        return;
    }
    r->state = K_TS_BLOCKED_RECV;
    r->blocked_on = ep;
    ep->state = K_EP_RECV;
    k_q_append(&ep->head, &ep->tail, r);
    if (timeout_us != PC_TIMEOUT_FOREVER) {
        k_timeout_add(r, timeout_us);
    }
}

int k_ipc_reply(k_tcb_t *r)
{
    k_tcb_t *c = r->reply_to;
    if (!c) {
        return PC_ERR_NO_REPLY;
    }
    if (pc_msginfo_label(r->ctx.rsi) >= PC_LABEL_NOTIFICATION) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    r->reply_to = NULL;
    c->reply_from = NULL;
    if (c->ipc_flags & K_IPC_FAULT) {
        /* Replying to a fault restarts the thread with its registers as they are. */
        c->ipc_flags = 0;
    } else {
        transfer(r, c, 0, NULL, c->reply_can_grant);
    }
    k_sched_wake(c);
    return PC_OK;
}

/* --- saved reply capabilities (types.h: PC_CAP_REPLY) --- */

/* The caller a Reply cap still answers, or NULL if the cap is stale. */
static k_tcb_t *reply_cap_caller(const k_slot_t *slot)
{
    k_tcb_t *c = (k_tcb_t *)slot->cap.obj;
    if (!c || c->reply_slot != slot || c->state != K_TS_BLOCKED_REPLY) {
        return NULL;
    }
    return c;
}

int k_ipc_save_caller(k_tcb_t *r, k_slot_t *dst)
{
    k_tcb_t *c = r->reply_to;
    if (!c) {
        return PC_ERR_NO_REPLY;
    }
    r->reply_to = NULL;
    c->reply_from = NULL;
    c->reply_slot = dst;
    dst->cap = (k_cap_t){.type = PC_CAP_REPLY, .rights = PC_RIGHT_WRITE, .obj = (uint64_t)c};
    k_cdt_insert_root(dst); /* derived from nothing: it is the only cap to this reply */
    return PC_OK;
}

/* Empty a Reply cap's slot without waking anybody (the reply was delivered or is stale). */
static void consume_reply_cap(k_slot_t *slot)
{
    slot->cap.obj = 0;
    k_cap_delete(slot); /* stale: its finalisation does nothing */
}

int k_ipc_reply_cap(k_tcb_t *r, k_slot_t *slot)
{
    if (pc_msginfo_label(r->ctx.rsi) >= PC_LABEL_NOTIFICATION) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    k_tcb_t *c = reply_cap_caller(slot);
    if (!c) {
        consume_reply_cap(slot);
        return PC_ERR_NO_REPLY;
    }
    c->reply_slot = NULL;
    consume_reply_cap(slot);
    if (c->ipc_flags & K_IPC_FAULT) {
        c->ipc_flags = 0; /* restart the faulted thread with its registers as they are */
    } else {
        transfer(r, c, 0, NULL, c->reply_can_grant);
    }
    k_sched_wake(c);
    return PC_OK;
}

void k_reply_cap_deleted(k_slot_t *slot)
{
    k_tcb_t *c = reply_cap_caller(slot);
    if (c) {
        c->reply_slot = NULL;
        cancel_caller(c); /* a client never waits forever for a server that gave up */
    }
}

void k_reply_cap_moved(k_slot_t *dst)
{
    k_tcb_t *c = (k_tcb_t *)dst->cap.obj;
    if (c) {
        c->reply_slot = dst;
    }
}

/* --- notifications --- */

void k_ntfn_signal(k_notification_t *n, uint64_t badge)
{
    k_tcb_t *b = n->bound;
    if (b && b->state == K_TS_BLOCKED_RECV) {
        k_ipc_cancel(b);
        b->ctx.rdi = n->word | badge;
        b->ctx.rsi = pc_msginfo(PC_LABEL_NOTIFICATION, 0, 0, 0);
        b->ctx.rax = PC_OK;
        n->word = 0;
        n->active = 0;
        k_sched_wake(b);
        return;
    }
    if (n->head) {
        k_tcb_t *w = n->head;
        k_ipc_cancel(w);
        w->ctx.rdi = n->word | badge;
        w->ctx.rsi = 0;
        w->ctx.rax = PC_OK;
        n->word = 0;
        n->active = 0;
        k_sched_wake(w);
        return;
    }
    n->word |= badge;
    n->active = 1;
}

void k_ntfn_wait(k_tcb_t *t, k_cap_t *ncap, uint64_t timeout_us)
{
    k_notification_t *n = (k_notification_t *)ncap->obj;
    if (!(ncap->rights & PC_RIGHT_READ)) {
        t->ctx.rax = PC_ERR_INVALID_CAPABILITY;
        return;
    }
    t->ctx.rsi = 0;
    if (n->active) {
        t->ctx.rdi = n->word;
        t->ctx.rax = PC_OK;
        n->word = 0;
        n->active = 0;
        return;
    }
    if (timeout_us == PC_TIMEOUT_POLL) {
        t->ctx.rdi = 0;
        t->ctx.rax = PC_ERR_TIMEOUT;
        return;
    }
    t->state = K_TS_BLOCKED_NTFN;
    t->blocked_on = n;
    k_q_append(&n->head, &n->tail, t);
    if (timeout_us != PC_TIMEOUT_FOREVER) {
        k_timeout_add(t, timeout_us);
    }
}

void k_ntfn_unbind(k_notification_t *n)
{
    if (n->bound) {
        n->bound->bound_ntfn = NULL;
        n->bound = NULL;
    }
}

void k_endpoint_cancel_all(k_endpoint_t *ep)
{
    while (ep->head) {
        k_tcb_t *t = ep->head;
        bool fault = t->ipc_flags & K_IPC_FAULT;
        k_ipc_cancel(t);
        if (fault) {
            t->state = K_TS_INACTIVE;
        } else {
            t->ctx.rax = PC_ERR_CANCELLED;
            k_sched_wake(t);
        }
    }
    ep->state = K_EP_IDLE;
}

void k_ntfn_cancel_all(k_notification_t *n)
{
    while (n->head) {
        k_tcb_t *t = n->head;
        k_ipc_cancel(t);
        t->ctx.rax = PC_ERR_CANCELLED;
        k_sched_wake(t);
    }
    k_ntfn_unbind(n);
    k_irq_ntfn_gone(n);
}

/* --- faults --- */

static const char *fault_name(uint64_t v)
{
    static const char *const names[] = {"divide error",
                                        "debug",
                                        "NMI",
                                        "breakpoint",
                                        "overflow",
                                        "bound range",
                                        "invalid opcode",
                                        "device not available",
                                        "double fault",
                                        "coprocessor",
                                        "invalid TSS",
                                        "segment not present",
                                        "stack fault",
                                        "general protection",
                                        "page fault",
                                        "reserved",
                                        "x87 FP",
                                        "alignment check",
                                        "machine check",
                                        "SIMD FP"};
    return v < sizeof(names) / sizeof(names[0]) ? names[v] : "exception";
}

void k_fault_raise(k_tcb_t *t, uint64_t type, uint64_t addr, uint64_t error, uint64_t vector)
{
    t->fault[PC_FAULT_MR_TYPE] = type;
    t->fault[PC_FAULT_MR_RIP] = t->ctx.rip;
    t->fault[PC_FAULT_MR_RSP] = t->ctx.rsp;
    t->fault[PC_FAULT_MR_ADDR] = addr;
    t->fault[PC_FAULT_MR_ERROR] = error;
    t->fault[PC_FAULT_MR_VECTOR] = vector;
    t->fault[PC_FAULT_MR_RFLAGS] = t->ctx.rflags;
    k_slot_t *fep = &t->slot[K_TCB_FAULT_EP];
    if (fep->cap.type != PC_OBJ_ENDPOINT) {
        k_log("thread %lu: unhandled %s at rip %lx (addr %lx, error %lx): suspended\n", t->id,
              fault_name(vector), t->ctx.rip, addr, error);
        k_thread_suspend(t);
        return;
    }
    t->ipc_flags = K_IPC_FAULT;
    k_ipc_send(t, &fep->cap, true, true);
    if (t->state == K_TS_RUNNING) { /* the fault could not be sent */
        k_log("thread %lu: %s at rip %lx: fault endpoint refused it: suspended\n", t->id,
              fault_name(vector), t->ctx.rip);
        k_thread_suspend(t);
    }
}

void k_tcb_init(k_tcb_t *t)
{
    static uint64_t next_id = 1;
    memset(t, 0, sizeof(*t));
    t->ctx.cs = K_SEL_UCODE;
    t->ctx.ss = K_SEL_UDATA;
    t->ctx.rflags = RFLAGS_IF | 2;
    t->state = K_TS_INACTIVE;
    t->timeslice = 5;
    t->cpu = k_cpu();
    t->id = next_id++;
    t->vspace_pa = k_kernel_pml4_pa;
    for (unsigned i = 0; i < K_TCB_SLOTS; i++) {
        t->slot[i].owner = t;
        t->slot[i].owner_index = i;
    }
    k_fpu_init_state(t->fpu);
}
