/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Trap dispatch: user exceptions become fault messages, interrupts go to the timer or to the
 * IRQ table. An exception in kernel mode is a kernel bug: print the frame and halt.
 */
#include <arch/machine.h>

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31"};

static void handle_interrupt(unsigned v)
{
    if (v == K_VECTOR_TIMER) {
        k_lapic_eoi();
        k_sched_tick();
    } else if (v == K_VECTOR_SPURIOUS || (v >= 0x20 && v < 0x30)) {
        /* APIC spurious (no EOI) or a spurious vector from the masked 8259 */
    } else {
        k_irq_deliver(v);
    }
}

k_context_t *k_trap_handler(void)
{
    k_cpu_t *cpu = k_cpu();
    k_tcb_t *t = cpu->current;
    unsigned v = (unsigned)t->ctx.vector;
    if (v == 7) {
        k_fpu_claim(t); /* #NM: first FPU use since the switch (CR0.TS) */
    } else if (v < 32) {
        if (v == 14) {
            k_fault_raise(t, PC_FAULT_VM, k_read_cr2(), t->ctx.error, v);
        } else {
            k_fault_raise(t, PC_FAULT_EXCEPTION, 0, t->ctx.error, v);
        }
    } else {
        handle_interrupt(v);
    }
    return k_sched_exit();
}

k_context_t *k_kernel_trap_handler(k_context_t *f)
{
    if (f->vector >= 32) {
        handle_interrupt((unsigned)f->vector);
        return k_sched_exit();
    }
    k_panic("kernel exception %s err=%lx rip=%lx rsp=%lx cr2=%lx", exc_names[f->vector & 31], f->error, f->rip,
            f->rsp, k_read_cr2());
}

void k_fatal_trap_handler(k_context_t *f)
{
    k_panic("fatal exception (vector %lu) rip=%lx", f->vector, f->rip);
}
