/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-CPU setup: GDT with user segments and the TSS, the IDT, the syscall MSRs, the FPU, and the
 * per-CPU structure reached through GS. TSS.rsp0 always points at the top of the current
 * thread's saved-register area so that interrupts from user mode save straight into the TCB.
 */
#include <arch/machine.h>
#include <kernel/string.h>

struct k_tss {
    uint32_t reserved0;
    uint64_t rsp0, rsp1, rsp2;
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct k_tss) == 104, "TSS layout (SDM Vol. 3 8.7)");

struct k_idt_gate {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct k_idt_gate) == 16, "IDT gate layout");

struct k_desc_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern const uint64_t k_isr_table[256];
extern char k_syscall_entry[];

static uint64_t gdt[8] __attribute__((aligned(16)));
static struct k_tss tss __attribute__((aligned(16)));
static struct k_idt_gate idt[256] __attribute__((aligned(16)));
static k_cpu_t cpu0 __attribute__((aligned(64)));
static uint8_t kstack[16384] __attribute__((aligned(16)));
static uint8_t ist_stack[4096] __attribute__((aligned(16)));
static uint8_t fpu_template[512] __attribute__((aligned(16)));

static void set_gate(unsigned v, uint64_t handler, unsigned ist)
{
    idt[v].off_lo = (uint16_t)handler;
    idt[v].sel = K_SEL_KCODE;
    idt[v].ist = (uint8_t)ist;
    idt[v].type_attr = 0x8E; /* present, DPL 0, 64-bit interrupt gate */
    idt[v].off_mid = (uint16_t)(handler >> 16);
    idt[v].off_hi = (uint32_t)(handler >> 32);
    idt[v].reserved = 0;
}

void k_fpu_init_state(uint8_t *area)
{
    memcpy(area, fpu_template, 512);
}

/*
 * Lazy FPU switching: entering a thread that does not own the FPU registers sets CR0.TS
 * (k_sched_load_inline), and its first FPU/SSE instruction traps (#NM) to k_fpu_claim. Threads
 * that never touch the FPU (most IPC-heavy servers) never pay for saving and restoring its state.
 * A thread that traps is switched eagerly for its next K_FPU_EAGER_SWITCHES switches (compiled
 * user code uses SSE registers for plain copies, so IPC partners would trap on every message);
 * then lazily again, so a thread that stopped using the FPU stops paying for it.
 */
void k_fpu_claim(k_tcb_t *t)
{
    k_cpu_t *cpu = k_cpu();
    t->fpu_eager = K_FPU_EAGER_SWITCHES;
    __asm__ volatile("clts");
    cpu->fpu_ts = 0;
    if (cpu->fpu_owner == t) {
        return;
    }
    if (cpu->fpu_owner != NULL) {
        __asm__ volatile("fxsave64 (%0)" : : "r"(cpu->fpu_owner->fpu) : "memory");
    }
    __asm__ volatile("fxrstor64 (%0)" : : "r"(t->fpu) : "memory");
    cpu->fpu_owner = t;
}

void k_fpu_forget(k_tcb_t *t)
{
    k_cpu_t *cpu = k_cpu();
    if (cpu->fpu_owner == t) {
        cpu->fpu_owner = NULL;
    }
}

k_cpu_t *k_cpu_init(void)
{
    /* GDT: null, kernel code, kernel data, (unused 32-bit user code), user data, user code, TSS */
    gdt[0] = 0;
    gdt[1] = 0x00209A0000000000ull; /* L, P, DPL0, code */
    gdt[2] = 0x0000920000000000ull; /* P, DPL0, data */
    gdt[3] = 0;
    gdt[4] = 0x0000F20000000000ull; /* P, DPL3, data */
    gdt[5] = 0x0020FA0000000000ull; /* L, P, DPL3, code */
    uint64_t tb = (uint64_t)&tss;
    tss.iomap_base = sizeof(tss); /* no I/O bitmap: ring 3 has no port access */
    tss.ist[0] = (uint64_t)(ist_stack + sizeof(ist_stack));
    tss.rsp0 = (uint64_t)(kstack + sizeof(kstack));
    gdt[6] =
        (sizeof(tss) - 1) | ((tb & 0xFFFFFF) << 16) | (0x89ull << 40) | (((tb >> 24) & 0xFF) << 56);
    gdt[7] = tb >> 32;
    struct k_desc_ptr gp = {sizeof(gdt) - 1, (uint64_t)gdt};
    __asm__ volatile("lgdt %0\n"
                     "pushq $0x08\n"
                     "leaq 1f(%%rip), %%rax\n"
                     "pushq %%rax\n"
                     "lretq\n"
                     "1: movw $0x10, %%ax\n"
                     "movw %%ax, %%ds\n movw %%ax, %%es\n movw %%ax, %%ss\n"
                     "xorw %%ax, %%ax\n movw %%ax, %%fs\n movw %%ax, %%gs\n"
                     :
                     : "m"(gp)
                     : "rax", "memory");
    __asm__ volatile("ltr %w0" : : "r"(K_SEL_TSS));

    for (unsigned v = 0; v < 256; v++) {
        unsigned ist = (v == 2 || v == 8) ? 1 : 0;
        set_gate(v, k_isr_table[v], ist);
    }
    struct k_desc_ptr ip = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(ip));

    /* Per-CPU structure in GS (the user's GS base is swapped in at user entry). */
    cpu0.self = &cpu0;
    cpu0.kstack_top = (uint64_t)(kstack + sizeof(kstack));
    cpu0.id = 0;
    cpu0.tss_rsp0 = (k_u64_unaligned_t *)((uint8_t *)&tss + offsetof(struct k_tss, rsp0));
    k_wrmsr(MSR_GS_BASE, (uint64_t)&cpu0);
    k_wrmsr(MSR_KERNEL_GS_BASE, 0);

    /* syscall: CS/SS from STAR[47:32]; flags masked: TF, IF, DF, IOPL, NT, AC. */
    k_wrmsr(MSR_EFER, k_rdmsr(MSR_EFER) | 1 | (1u << 11));
    k_wrmsr(MSR_STAR, ((uint64_t)0x18 << 48) | ((uint64_t)K_SEL_KCODE << 32));
    k_wrmsr(MSR_LSTAR, (uint64_t)k_syscall_entry);
    k_wrmsr(MSR_SFMASK, 0x47700);

    /* FPU/SSE for user threads: CR0.MP=1, EM=0, TS=0; CR4.OSFXSR, OSXMMEXCPT. */
    uint64_t cr0, cr4;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 = (cr0 | 2) & ~(uint64_t)0xC;
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= (1u << 9) | (1u << 10);
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
    __asm__ volatile("fninit");
    memset(fpu_template, 0, sizeof(fpu_template));
    fpu_template[0] = 0x7f; /* FCW = 0x037f */
    fpu_template[1] = 0x03;
    fpu_template[24] = 0x80; /* MXCSR = 0x1f80 */
    fpu_template[25] = 0x1f;
    return &cpu0;
}
