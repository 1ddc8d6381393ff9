/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Priority scheduler: 256 FIFO ready queues with a bitmap, round robin within a priority on
 * time slices of the LAPIC tick, and a sorted timeout list for receives/waits with a timeout.
 * The current thread is not in a ready queue. Every kernel exit goes through k_sched_exit,
 * which picks the next thread if needed and loads its address space, FPU state and entry stack.
 */
#include <arch/machine.h>
#include <kernel/string.h>

#define K_TIMESLICE_TICKS 5

void k_sched_init(k_cpu_t *cpu)
{
    memset(cpu->ready_bitmap, 0, sizeof(cpu->ready_bitmap));
    cpu->ready_max = -1;
    memset(cpu->ready_head, 0, sizeof(cpu->ready_head));
    memset(cpu->ready_tail, 0, sizeof(cpu->ready_tail));
    memset(&cpu->idle, 0, sizeof(cpu->idle));
    cpu->idle.state = K_TS_IDLE;
    cpu->idle.cpu = cpu;
    cpu->current = &cpu->idle;
    cpu->loaded = &cpu->idle;
    cpu->loaded_cr3 = k_kernel_pml4_pa;
    cpu->to_head = NULL;
}

static int highest_ready(k_cpu_t *cpu)
{
    for (int w = 3; w >= 0; w--) {
        if (cpu->ready_bitmap[w]) {
            return w * 64 + 63 - __builtin_clzll(cpu->ready_bitmap[w]);
        }
    }
    return -1;
}

void k_sched_enqueue(k_tcb_t *t)
{
    k_cpu_t *cpu = k_cpu();
    if (t->queued) {
        return;
    }
    unsigned p = t->prio;
    t->sched_next = NULL;
    t->sched_prev = cpu->ready_tail[p];
    if (cpu->ready_tail[p]) {
        cpu->ready_tail[p]->sched_next = t;
    } else {
        cpu->ready_head[p] = t;
    }
    cpu->ready_tail[p] = t;
    cpu->ready_bitmap[p >> 6] |= 1ull << (p & 63);
    if ((int)p > cpu->ready_max) {
        cpu->ready_max = (int)p;
    }
    t->queued = 1;
}

static void enqueue_head(k_tcb_t *t)
{
    k_cpu_t *cpu = k_cpu();
    unsigned p = t->prio;
    t->sched_prev = NULL;
    t->sched_next = cpu->ready_head[p];
    if (cpu->ready_head[p]) {
        cpu->ready_head[p]->sched_prev = t;
    } else {
        cpu->ready_tail[p] = t;
    }
    cpu->ready_head[p] = t;
    cpu->ready_bitmap[p >> 6] |= 1ull << (p & 63);
    if ((int)p > cpu->ready_max) {
        cpu->ready_max = (int)p;
    }
    t->queued = 1;
}

void k_sched_dequeue(k_tcb_t *t)
{
    k_cpu_t *cpu = k_cpu();
    if (!t->queued) {
        return;
    }
    unsigned p = t->prio;
    if (t->sched_prev) {
        t->sched_prev->sched_next = t->sched_next;
    } else {
        cpu->ready_head[p] = t->sched_next;
    }
    if (t->sched_next) {
        t->sched_next->sched_prev = t->sched_prev;
    } else {
        cpu->ready_tail[p] = t->sched_prev;
    }
    if (!cpu->ready_head[p]) {
        cpu->ready_bitmap[p >> 6] &= ~(1ull << (p & 63));
        if ((int)p == cpu->ready_max) {
            cpu->ready_max = highest_ready(cpu);
        }
    }
    t->sched_next = t->sched_prev = NULL;
    t->queued = 0;
}

bool k_sched_can_switch_direct(k_tcb_t *t)
{
    return (int)t->prio >= highest_ready(k_cpu());
}

void k_sched_wake(k_tcb_t *t)
{
    k_cpu_t *cpu = k_cpu();
    t->state = K_TS_RUNNING;
    if (t == cpu->current) {
        return;
    }
    k_sched_enqueue(t);
    if (cpu->current->state != K_TS_RUNNING || t->prio > cpu->current->prio) {
        cpu->resched = 1;
    }
}

void k_sched_set_prio(k_tcb_t *t, unsigned prio)
{
    k_cpu_t *cpu = k_cpu();
    if (t->queued) {
        k_sched_dequeue(t);
        t->prio = (uint8_t)prio;
        k_sched_enqueue(t);
    } else {
        t->prio = (uint8_t)prio;
    }
    cpu->resched = 1;
}

void k_sched_load(k_cpu_t *cpu, k_tcb_t *next)
{
    if (next == cpu->loaded) {
        return;
    }
    if (next->state == K_TS_IDLE) {
        cpu->loaded = next; /* idle runs in the kernel: nothing to load */
        return;
    }
    k_sched_load_inline(cpu, next);
}

k_context_t *k_sched_exit(void)
{
    k_cpu_t *cpu = k_cpu();
    k_tcb_t *cur = cpu->current;
    if (cpu->resched || cur->state != K_TS_RUNNING) {
        int hp = highest_ready(cpu);
        bool cur_ok = cur->state == K_TS_RUNNING;
        if (cur_ok && (hp < 0 || (int)cur->prio > hp ||
                       (cur->prio == hp && cur->timeslice > 0 && cpu->resched != 2))) {
            /* keep running the current thread */
            if (cur->timeslice == 0) {
                cur->timeslice = K_TIMESLICE_TICKS;
            }
        } else {
            if (cur_ok) {
                if (cur->timeslice == 0) {
                    cur->timeslice = K_TIMESLICE_TICKS;
                    k_sched_enqueue(cur);
                } else {
                    enqueue_head(cur);
                }
            }
            if (hp >= 0 || cur_ok) {
                hp = highest_ready(cpu);
                k_tcb_t *next = cpu->ready_head[hp];
                k_sched_dequeue(next);
                cpu->current = next;
            } else {
                cpu->current = &cpu->idle;
            }
        }
        cpu->resched = 0;
    }
    k_tcb_t *next = cpu->current;
    k_sched_load(cpu, next);
    return next->state == K_TS_IDLE ? NULL : &next->ctx;
}

/* Yield: go to the back of the own priority's queue. */
void k_sched_yield(void)
{
    k_cpu_t *cpu = k_cpu();
    cpu->current->timeslice = 0;
    cpu->resched = 2;
}

static void timeout_expire(k_cpu_t *cpu)
{
    uint64_t now = k_rdtsc();
    while (cpu->to_head && cpu->to_head->deadline <= now) {
        k_tcb_t *t = cpu->to_head;
        k_ipc_cancel(t); /* also takes it off the timeout list */
        t->ctx.rax = PC_ERR_TIMEOUT;
        t->ctx.rsi = 0;
        t->ctx.rdi = 0;
        k_sched_wake(t);
    }
}

void k_sched_tick(void)
{
    k_cpu_t *cpu = k_cpu();
    cpu->ticks++;
    timeout_expire(cpu);
    k_tcb_t *cur = cpu->current;
    if (cur->state == K_TS_RUNNING) {
        if (cur->timeslice > 0) {
            cur->timeslice--;
        }
        if (cur->timeslice == 0) {
            cpu->resched = 2;
        }
    }
}

/*
 * Arm t's deadline. Servers re-arm the same bounded receive on every message, so this is on
 * the IPC fastpath: the microsecond-to-TSC conversion of the last timeout is cached, and the
 * sorted list is walked from its tail (deadlines of one repeated timeout arrive in order: O(1)).
 */
void k_timeout_add(k_tcb_t *t, uint64_t timeout_us)
{
    k_cpu_t *cpu = k_cpu();
    uint64_t ticks;
    if (timeout_us == cpu->to_last_us && cpu->to_last_ticks != 0) {
        ticks = cpu->to_last_ticks;
    } else {
        /* deadline = now + us * tsc_hz / 1e6, saturating: an absurd timeout is "forever". */
        if (timeout_us > (~0ull) / (k_tsc_hz ? k_tsc_hz : 1)) {
            return;
        }
        ticks = timeout_us * k_tsc_hz / 1000000ull;
        cpu->to_last_us = timeout_us;
        cpu->to_last_ticks = ticks;
    }
    uint64_t now = k_rdtsc();
    if (now + ticks < now) {
        return;
    }
    t->deadline = now + ticks;
    /* After every entry with a deadline <= t's (equal deadlines expire in arrival order). */
    k_tcb_t *prev = cpu->to_tail;
    while (prev && prev->deadline > t->deadline) {
        prev = prev->to_prev;
    }
    k_tcb_t *next = prev ? prev->to_next : cpu->to_head;
    t->to_prev = prev;
    t->to_next = next;
    if (prev) {
        prev->to_next = t;
    } else {
        cpu->to_head = t;
    }
    if (next) {
        next->to_prev = t;
    } else {
        cpu->to_tail = t;
    }
}

void k_timeout_remove(k_tcb_t *t)
{
    k_cpu_t *cpu = k_cpu();
    if (t->deadline == 0) {
        return;
    }
    if (t->to_prev) {
        t->to_prev->to_next = t->to_next;
    } else if (cpu->to_head == t) {
        cpu->to_head = t->to_next;
    }
    if (t->to_next) {
        t->to_next->to_prev = t->to_prev;
    } else if (cpu->to_tail == t) {
        cpu->to_tail = t->to_prev;
    }
    t->to_next = t->to_prev = NULL;
    t->deadline = 0;
}

/*
 * Preemption points (seL4's model). Revoke and retype can take unbounded time; every
 * K_PREEMPT_UNITS units of work they look whether an interrupt is waiting and, if one is, stop
 * with K_RESTART. The caller's system call is then made again, so the interrupt is taken on the
 * way back to user level (IF is set there) and whatever it wakes is scheduled before the
 * operation continues. Each stop comes after at least K_PREEMPT_UNITS units of progress, so an
 * operation finishes even if an interrupt is always pending.
 */
unsigned k_preempt_units;
uint64_t k_preemptions;

bool k_preemption_point(void)
{
    if (k_preempt_units < K_PREEMPT_UNITS) {
        return false;
    }
    k_preempt_units = 0;
    if (!k_lapic_irq_pending()) {
        return false;
    }
    k_preemptions++;
    return true;
}
