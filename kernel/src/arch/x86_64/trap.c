/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Trap dispatch: user exceptions become fault messages, interrupts go to the timer or to the
 * IRQ table. An exception in kernel mode is a kernel bug: print the frame and halt.
 */
#include <arch/machine.h>

static const char *const exc_names[32] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                          "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
                                          "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "22",  "23",
                                          "24",  "25",  "26",  "27",  "28",  "29",  "30",  "31"};

static void handle_interrupt(unsigned v)
{
    if (v == K_VECTOR_TIMER) {
        k_lapic_eoi();
        k_sched_tick();
    } else if (v == K_VECTOR_SPURIOUS || (v >= 0x20 && v < 0x30)) {
        /* APIC spurious, a stray 8259 vector, or a device that was told to use one of these:
         * acknowledge only what the local APIC really has in service. */
        if (k_lapic_in_service(v)) {
            k_lapic_eoi();
        }
    } else {
        k_irq_deliver(v);
    }
}

/*
 * A device can be programmed (MSI data) to send any vector, including 16..31 which the CPU uses
 * for exceptions (entry.S keeps the frame right even for error-code vectors). Such an interrupt
 * is recognised by its in-service bit, which exceptions never set: acknowledge and ignore it.
 */
static bool injected_exception_vector(k_context_t *c, unsigned v)
{
    (void)c;
    if (v < 16 || !k_lapic_in_service(v)) {
        return false;
    }
    k_lapic_eoi();
    return true;
}

k_context_t *k_trap_handler(void)
{
    k_cpu_t *cpu = k_cpu();
    k_tcb_t *t = cpu->current;
    unsigned v = (unsigned)t->ctx.vector;
    if (v < 32 && injected_exception_vector(&t->ctx, v)) {
        /* not an exception of this thread */
    } else if (v == 7) {
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
    k_cpu_t *cpu = k_cpu();
    bool was_idle = cpu->in_idle;
    cpu->in_idle = 0;
    if (f->vector >= 32) {
        handle_interrupt((unsigned)f->vector);
        return k_sched_exit();
    }
    /* In the idle loop only interrupts can arrive; the frame is discarded by k_restore. */
    if (was_idle && f->vector >= 16 && k_lapic_in_service((unsigned)f->vector)) {
        k_lapic_eoi();
        return k_sched_exit();
    }
    k_panic("kernel exception %s err=%lx rip=%lx rsp=%lx cr2=%lx", exc_names[f->vector & 31],
            f->error, f->rip, f->rsp, k_read_cr2());
}

void k_fatal_trap_handler(k_context_t *f)
{
    k_panic("fatal exception (vector %lu) rip=%lx", f->vector, f->rip);
}
