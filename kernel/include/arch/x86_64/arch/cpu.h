/* SPDX-License-Identifier: BSD-2-Clause */
/* x86_64 instructions, MSRs, descriptor-table selectors and the saved user register frame. */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdint.h>

#define K_KERNEL_VMA 0xFFFFFFFF80000000ull
#define K_PHYS_MAP 0xFFFF800000000000ull /* direct map of physical memory */
#define K_PHYS_MAP_SIZE (16ull << 30)    /* the direct map covers 0..16 GiB */

#define K_SEL_KCODE 0x08
#define K_SEL_KDATA 0x10
#define K_SEL_UDATA (0x20 | 3)
#define K_SEL_UCODE (0x28 | 3)
#define K_SEL_TSS 0x30

#define MSR_EFER 0xC0000080
#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_SFMASK 0xC0000084
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102
#define MSR_APIC_BASE 0x1B

#define RFLAGS_IF (1ull << 9)
#define RFLAGS_USER_MASK 0xCD5ull /* CF PF AF ZF SF TF? no: CF PF AF ZF SF DF OF */

/* Saved user registers. Layout fixed by entry.S: pushes fill it from the top down, the last five
 * words are the iret frame. */
typedef struct k_context {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
} k_context_t;
_Static_assert(sizeof(k_context_t) == 22 * 8, "k_context_t matches entry.S");

static inline void k_outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void k_outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void k_outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t k_inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t k_inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t k_inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t k_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void k_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t k_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t k_read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline uint64_t k_read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void k_write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline void k_invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}
static inline void k_halt_forever(void)
{
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

static inline void *k_phys_to_virt(uint64_t pa)
{
    return (void *)(pa + K_PHYS_MAP);
}
static inline uint64_t k_virt_to_phys(const void *va)
{
    uint64_t v = (uint64_t)va;
    return v >= K_KERNEL_VMA ? v - K_KERNEL_VMA : v - K_PHYS_MAP;
}

/* Canonical lower-half user address? */
static inline int k_user_addr_ok(uint64_t va)
{
    return va < 0x0000800000000000ull;
}

#endif
