/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel objects (TCB, endpoint, notification), the per-CPU state, and the kernel-internal
 * interfaces between scheduler, IPC, capability space and invocations.
 */
#ifndef KERNEL_OBJECT_H
#define KERNEL_OBJECT_H

#include <arch/cpu.h>
#include <kernel/cdt.h>
#include <portcullis/errors.h>
#include <portcullis/fault.h>
#include <portcullis/types.h>
#include <stdbool.h>
#include <stddef.h>

enum k_thread_state {
    K_TS_INACTIVE = 0,
    K_TS_RUNNING,       /* runnable: current or in a ready queue */
    K_TS_BLOCKED_SEND,  /* queued on an endpoint with a message */
    K_TS_BLOCKED_RECV,  /* queued on an endpoint waiting for a message */
    K_TS_BLOCKED_REPLY, /* made a call; waits for reply_from to reply */
    K_TS_BLOCKED_NTFN,  /* waiting on a notification */
    K_TS_IDLE,
};

/* Internal capability slots of a TCB. */
/* Switches after a #NM on which a thread's FPU state is loaded eagerly (k_fpu_claim). */
#define K_FPU_EAGER_SWITCHES 64u

enum k_tcb_slot { K_TCB_CSPACE = 0, K_TCB_VSPACE, K_TCB_IPC_BUFFER, K_TCB_FAULT_EP, K_TCB_SLOTS };

/* k_tcb.ipc_flags: what the pending send is. */
#define K_IPC_CALL 0x1u
#define K_IPC_GRANT 0x2u
#define K_IPC_GRANT_REPLY 0x4u
#define K_IPC_FAULT 0x8u

struct k_notification;
struct k_cpu;

typedef struct k_tcb {
    k_context_t ctx; /* must be first: entry.S saves into it */
    uint8_t state;
    uint8_t prio;
    uint8_t mcp;
    uint8_t queued; /* in a ready queue */
    uint32_t timeslice;
    uint32_t ipc_flags;
    uint32_t reply_can_grant;
    struct k_tcb *sched_next, *sched_prev;
    struct k_tcb *q_next, *q_prev; /* endpoint / notification wait queue */
    void *blocked_on;
    uint64_t ipc_badge;
    struct k_tcb *reply_to;   /* the caller I owe a reply */
    struct k_tcb *reply_from; /* the thread that owes me a reply */
    uint64_t deadline;        /* TSC; 0 = none */
    struct k_tcb *to_next, *to_prev;
    struct k_notification *bound_ntfn;
    uint64_t ipc_buffer_vaddr;
    uint64_t fault[PC_FAULT_LENGTH];
    struct k_cpu *cpu;
    uint64_t id;
    uint64_t vspace_pa; /* cr3 of the configured VSpace (kernel PML4 if none) */
    uint8_t fpu[512] __attribute__((aligned(16))); /* fxsave area */
    k_slot_t slot[K_TCB_SLOTS];
    k_slot_t *reply_slot; /* the saved Reply cap that owes me a reply (reply_from NULL) */
    uint32_t fpu_eager;   /* switches left on which its FPU state is loaded without a #NM */
} k_tcb_t;
_Static_assert(offsetof(k_tcb_t, fpu) % 16 == 0, "fxsave area 16-byte aligned");
_Static_assert(sizeof(k_tcb_t) <= (1u << PC_TCB_BITS), "TCB fits its object size");

enum k_ep_state { K_EP_IDLE = 0, K_EP_SEND, K_EP_RECV };

typedef struct k_endpoint {
    k_tcb_t *head, *tail;
    uint64_t state;
    uint64_t pad;
} k_endpoint_t;
_Static_assert(sizeof(k_endpoint_t) <= (1u << PC_ENDPOINT_BITS), "endpoint size");

typedef struct k_notification {
    uint64_t word;
    uint64_t active;
    k_tcb_t *head, *tail; /* waiters */
    k_tcb_t *bound;
    uint64_t pad[3];
} k_notification_t;
_Static_assert(sizeof(k_notification_t) <= (1u << PC_NOTIFICATION_BITS), "notification size");

#define K_NUM_PRIOS 256

typedef uint64_t k_u64_unaligned_t __attribute__((aligned(4)));

typedef struct k_cpu {
    struct k_cpu *self;   /* 0: entry.S offsets */
    uint64_t kstack_top;  /* 8 */
    uint64_t cur_ctx_top; /* 16 */
    uint64_t user_rsp;    /* 24 */
    uint64_t in_idle;     /* 32: set by the idle loop while interrupts are open */
    k_tcb_t *current;     /* thread chosen to run */
    k_tcb_t *loaded;      /* thread whose cr3/FPU/TSS are loaded */
    k_tcb_t idle;
    uint32_t id;
    uint32_t resched; /* choose again at exit (higher priority woke, slice ended) */
    uint64_t ticks;
    k_tcb_t *to_head;  /* timeout list, sorted by deadline */
    int32_t ready_max; /* highest priority with a ready thread, -1 if none */
    uint32_t pad0;
    uint64_t ready_bitmap[4];
    k_tcb_t *ready_head[K_NUM_PRIOS];
    k_tcb_t *ready_tail[K_NUM_PRIOS];
    uint64_t loaded_cr3;
    k_tcb_t *fpu_owner;          /* thread whose FPU state is in the registers */
    uint64_t fpu_ts;             /* CR0.TS is set */
    k_u64_unaligned_t *tss_rsp0; /* this CPU's TSS.rsp0 (4-byte aligned in the TSS) */
    k_tcb_t *to_tail;            /* last of the timeout list (insertion walks from here) */
    uint64_t to_last_us;         /* the last timeout converted to TSC ticks, and the result: */
    uint64_t to_last_ticks;      /* a server re-arming the same timeout pays no conversion */
} k_cpu_t;

static inline k_cpu_t *k_cpu(void)
{
    k_cpu_t *c;
    __asm__("movq %%gs:0, %0" : "=r"(c));
    return c;
}

/* Make `next` the thread whose context the CPU holds: kernel entry stack, address space, and
 * CR0.TS for lazy FPU switching (eager for a thread that used the FPU within its last
 * K_FPU_EAGER_SWITCHES switches). Inline because every IPC does it. */
static inline void k_sched_load_inline(k_cpu_t *cpu, k_tcb_t *next)
{
    uint64_t top = (uint64_t)(&next->ctx + 1);
    cpu->cur_ctx_top = top;
    *cpu->tss_rsp0 = top;
    if (next->vspace_pa != cpu->loaded_cr3) {
        __asm__ volatile("mov %0, %%cr3" : : "r"(next->vspace_pa) : "memory");
        cpu->loaded_cr3 = next->vspace_pa;
    }
    if (next != cpu->fpu_owner && next->fpu_eager != 0) {
        /* A thread that took the FPU recently gets it at once: its next #NM would cost ~100
         * instructions, the save and restore here two (IPC partners that both touch SSE). */
        next->fpu_eager--;
        if (cpu->fpu_ts) {
            __asm__ volatile("clts");
            cpu->fpu_ts = 0;
        }
        if (cpu->fpu_owner != NULL) {
            __asm__ volatile("fxsave64 (%0)" : : "r"(cpu->fpu_owner->fpu) : "memory");
        }
        __asm__ volatile("fxrstor64 (%0)" : : "r"(next->fpu) : "memory");
        cpu->fpu_owner = next;
    }
    uint64_t want_ts = next != cpu->fpu_owner;
    if (want_ts != cpu->fpu_ts) {
        uint64_t cr0;
        __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
        cr0 = want_ts ? (cr0 | 8) : (cr0 & ~(uint64_t)8);
        __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
        cpu->fpu_ts = want_ts;
    }
    cpu->loaded = next;
}

/* Endpoint / notification wait queues (doubly linked through q_next/q_prev). */
static inline void k_q_append(k_tcb_t **head, k_tcb_t **tail, k_tcb_t *t)
{
    t->q_next = NULL;
    t->q_prev = *tail;
    if (*tail) {
        (*tail)->q_next = t;
    } else {
        *head = t;
    }
    *tail = t;
}

static inline void k_q_remove(k_tcb_t **head, k_tcb_t **tail, k_tcb_t *t)
{
    if (t->q_prev) {
        t->q_prev->q_next = t->q_next;
    } else {
        *head = t->q_next;
    }
    if (t->q_next) {
        t->q_next->q_prev = t->q_prev;
    } else {
        *tail = t->q_prev;
    }
    t->q_next = t->q_prev = NULL;
}

/* The slot a cptr names in t's root CNode, or NULL. */
static inline k_slot_t *k_lookup_slot(k_tcb_t *t, uint64_t cptr)
{
    const k_cap_t *root = &t->slot[K_TCB_CSPACE].cap;
    if (root->type != PC_OBJ_CNODE || cptr == 0 || cptr >= (1ull << root->size_bits)) {
        return NULL;
    }
    return (k_slot_t *)root->obj + cptr;
}

/* --- boot / platform --- */
extern uint64_t k_tsc_hz;
extern uint64_t k_timer_hz;
extern uint64_t k_kernel_pml4_pa;
void k_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void k_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void k_serial_init(void);
void k_serial_putc(char c);

/* --- scheduler (sched.c) --- */
void k_sched_init(k_cpu_t *cpu);
void k_sched_enqueue(k_tcb_t *t);
void k_sched_dequeue(k_tcb_t *t);
void k_sched_wake(k_tcb_t *t);              /* make runnable; may request a reschedule */
bool k_sched_can_switch_direct(k_tcb_t *t); /* t would be chosen over everything ready */
k_context_t *k_sched_exit(void);            /* choose, load, return the context to restore */
void k_sched_tick(void);
void k_sched_yield(void);
void k_sched_load(k_cpu_t *cpu, k_tcb_t *next);

void k_timeout_add(k_tcb_t *t, uint64_t timeout_us);
void k_timeout_remove(k_tcb_t *t);
void k_sched_set_prio(k_tcb_t *t, unsigned prio);

/* --- threads and IPC (ipc.c) --- */
void k_ipc_cancel(k_tcb_t *t); /* abort whatever t is blocked in; t stays not runnable */
void k_thread_suspend(k_tcb_t *t);
void k_thread_resume(k_tcb_t *t);
void k_ipc_send(k_tcb_t *s, k_cap_t *epcap, bool blocking, bool call);
void k_ipc_recv(k_tcb_t *r, k_cap_t *epcap, uint64_t timeout_us);
int k_ipc_reply(k_tcb_t *r);
int k_ipc_save_caller(k_tcb_t *r, k_slot_t *dst); /* dst empty */
int k_ipc_reply_cap(k_tcb_t *r, k_slot_t *slot);  /* SEND on a Reply cap */
void k_reply_cap_deleted(k_slot_t *slot);         /* a Reply cap is about to be deleted */
void k_reply_cap_moved(k_slot_t *dst);            /* a Reply cap moved to dst */
void k_ntfn_signal(k_notification_t *n, uint64_t badge);
void k_ntfn_wait(k_tcb_t *t, k_cap_t *ncap, uint64_t timeout_us);
void k_ntfn_unbind(k_notification_t *n);
void k_endpoint_cancel_all(k_endpoint_t *ep);
void k_ntfn_cancel_all(k_notification_t *n);
void k_fault_raise(k_tcb_t *t, uint64_t type, uint64_t addr, uint64_t error, uint64_t vector);
/* The thread's IPC buffer in the kernel's view, NULL if its buffer slot holds no frame. Inline:
 * every invocation and every long message asks. */
static inline pc_ipc_buffer_t *k_tcb_ipc_buffer(k_tcb_t *t)
{
    const k_cap_t *c = &t->slot[K_TCB_IPC_BUFFER].cap;
    if (c->type != PC_OBJ_FRAME_4K && c->type != PC_OBJ_FRAME_2M) {
        return NULL;
    }
    uint64_t off = t->ipc_buffer_vaddr & ((1ull << c->size_bits) - 1);
    return k_phys_to_virt(c->obj + off);
}
/* Message register i: MR0..3 travel in registers, the rest in the IPC buffer (0 without one).
 * Inline: with a constant i it is one load. */
static inline uint64_t k_get_mr(const k_tcb_t *t, const pc_ipc_buffer_t *buf, unsigned i)
{
    switch (i) {
    case 0:
        return t->ctx.r10;
    case 1:
        return t->ctx.r8;
    case 2:
        return t->ctx.r9;
    case 3:
        return t->ctx.r15;
    default:
        return (buf && i < PC_MSG_MAX_LENGTH) ? buf->mr[i] : 0;
    }
}
void k_set_mr(k_tcb_t *t, pc_ipc_buffer_t *buf, unsigned i, uint64_t v);
void k_tcb_init(k_tcb_t *t);

/* --- preemption points of long operations (sched.c) --- */
/* Returned inside the kernel by an operation that stopped at a preemption point, never seen by
 * user level: the caller's system call is made again when it next runs (k_syscall_restart) and
 * the operation continues from the state it left, which is consistent at every preemption point.
 */
#define K_RESTART (-1)
/* Work units (one capability deleted, one page of memory zeroed) between two looks at the
 * interrupt controller: the least work a preemptible operation does before it can stop. */
#define K_PREEMPT_UNITS 32u
extern unsigned k_preempt_units; /* work done since the operation started or last stopped */
/* a preemptible operation starts: no work done yet */
static inline void k_preempt_begin(void)
{
    k_preempt_units = 0;
}
/* n units of work done */
static inline void k_preempt_work(unsigned n)
{
    k_preempt_units += n;
}
bool k_preemption_point(void); /* true: stop now (an interrupt waits); counts k_preemptions */
extern uint64_t k_preemptions; /* preemption points taken since boot (KernelDebug reads it) */

/* --- capability space (cspace.c) --- */
k_slot_t *k_cnode_slot(const k_cap_t *cnode, uint64_t index);
void k_cap_delete(k_slot_t *slot);
int k_cap_revoke(k_slot_t *slot); /* PC_OK, or K_RESTART at a preemption point */
void k_cap_derive(k_slot_t *parent, k_slot_t *dst, k_cap_t cap); /* dst empty */

/* --- invocations (invoke.c and arch) --- */
void k_invoke(k_tcb_t *t, k_slot_t *slot, bool want_reply);
void k_identify(k_tcb_t *t); /* PC_SYS_IDENTIFY */
/* A checked Untyped_Retype: what k_perform_untyped needs, nothing of it left to validate. */
typedef struct k_retype_op {
    k_slot_t *ut;  /* the untyped's slot */
    k_cap_t *dcn;  /* destination CNode */
    unsigned type; /* pc_object_type */
    unsigned user_bits, obj_bits;
    uint64_t dest, count; /* slots dest .. dest + count - 1 of dcn, all empty */
    bool reset;           /* the untyped has no children: placement started over at offset 0 */
    uint64_t first;       /* physical address of the first object */
    uint64_t new_free;    /* the watermark after the retype */
} k_retype_op_t;

/* A checked CNode invocation. */
typedef struct k_cnode_op {
    uint64_t label; /* PC_CNODE_* */
    k_slot_t *slot; /* Delete, Revoke, SaveCaller: the slot named; Copy, Mint, Move: destination */
    k_slot_t *src;  /* Copy, Mint, Move */
    k_cap_t cap;    /* Copy, Mint: the capability to derive */
} k_cnode_op_t;

/*
 * Untyped and CNode: k_decode_* validates every argument and capability and changes nothing (an
 * error leaves every slot and object as it was); k_perform_* cannot fail, but a preemptible one
 * may stop with K_RESTART. The CNode pair (every capability delete a server makes goes through
 * it) is local to invoke.c, where the dispatch inlines it. The other decoders check everything
 * before their first change and then act in place. Those with results set *nres to the number of
 * result MRs. All return a pc_error.
 */
int k_decode_untyped(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf,
                     k_retype_op_t *op);
int k_perform_untyped(const k_retype_op_t *op); /* PC_OK or K_RESTART */
int k_decode_tcb(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf, unsigned *nres);
int k_decode_vspace(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf,
                    unsigned *nres);
int k_decode_irq(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf, unsigned *nres);
int k_decode_ioport(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf,
                    unsigned *nres);
k_slot_t *k_extra_cap(k_tcb_t *t, pc_ipc_buffer_t *buf, unsigned i);

/* --- vspace (arch) --- */
int k_asid_alloc(uint64_t pml4_kva, uint32_t *asid);
bool k_asid_available(unsigned n);
void k_asid_free(uint32_t asid);
void k_vspace_init_pml4(uint64_t *pml4);
void k_unmap_cap(k_cap_t *cap); /* remove the mapping a frame / table cap holds, if any */
void k_vspace_destroyed(k_cap_t *cap);

/* --- interrupts (plat) --- */
void k_irq_handler_final(uint32_t vector);
void k_irq_ntfn_gone(k_notification_t *n);
void k_irq_deliver(unsigned vector);

/* --- FPU --- */
void k_fpu_init_state(uint8_t *area);

#endif
