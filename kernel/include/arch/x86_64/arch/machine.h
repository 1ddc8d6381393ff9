/* SPDX-License-Identifier: BSD-2-Clause */
/* CPU setup (descriptor tables, syscall MSRs, FPU) and the trap entry points used by entry.S. */
#ifndef ARCH_MACHINE_H
#define ARCH_MACHINE_H

#include <kernel/object.h>

#define K_VECTOR_IRQ_BASE 0x30 /* IOAPIC GSI g -> vector 0x30 + g */
#define K_MAX_GSI 48
#define K_VECTOR_MSI_FIRST 0x60
#define K_VECTOR_MSI_LAST 0xEF
#define K_VECTOR_TIMER 0xF0
#define K_VECTOR_SPURIOUS 0xFF

k_cpu_t *k_cpu_init(void);
void k_fpu_claim(k_tcb_t *t);
void k_fpu_forget(k_tcb_t *t);
k_context_t *k_trap_handler(void);
k_context_t *k_kernel_trap_handler(k_context_t *frame);
void k_fatal_trap_handler(k_context_t *frame);
void k_restore(k_context_t *ctx) __attribute__((noreturn));

/* Make t execute its system call again when it next runs: every system call enters through the
 * 2-byte SYSCALL instruction, whose address is the saved rip minus 2, and the argument
 * registers (rax included) are still the ones it entered with. */
static inline void k_syscall_restart(k_tcb_t *t)
{
    t->ctx.rip -= 2;
}

/* plat/pc99 */
void k_pic_disable(void);
void k_lapic_init(uint64_t lapic_pa);
void k_lapic_eoi(void);
uint32_t k_lapic_id(void);
bool k_lapic_in_service(unsigned v);
bool k_lapic_irq_pending(void);
void k_timer_calibrate_and_start(void);
void k_ioapic_init(void);
void k_irq_init(void);
void k_acpi_init(void);
uint64_t k_acpi_rsdp(void);

/* plat/pc99 internals shared with the IRQ code */
uint64_t k_ioapic_pa(void);
uint64_t k_lapic_pa(void);
bool k_ioapic_gsi_valid(uint32_t gsi);
void k_ioapic_route(uint32_t gsi, unsigned vector, bool level, bool active_low, bool masked,
                    bool remap, uint32_t index);
void k_ioapic_set_remap(uint32_t gsi, unsigned vector, bool level, bool active_low, uint32_t index);
void k_ioapic_mask(uint32_t gsi, bool masked);
uint32_t k_madt_isa_gsi(unsigned irq, bool *level, bool *active_low);
#endif
