/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Multiboot entry. QEMU enters here in 32-bit protected mode with paging off (eax = multiboot
 * magic, ebx = multiboot info). We build a temporary page table that maps the first 1 GiB both
 * at 0 and at the kernel's link address, enter long mode and jump to the higher half, where
 * k_boot_main builds the real kernel address space.
 */
#define KERNEL_VMA 0xFFFFFFFF80000000
#define MB_MAGIC 0x1BADB002
/* bit 0: page-aligned modules, bit 1: memory map, bit 16: address fields (a.out kludge) */
#define MB_FLAGS 0x00010003

    .section .boot.header, "a"
    .align 8
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long multiboot_header     /* header_addr */
    .long _load_start          /* load_addr */
    .long _load_end_phys       /* load_end_addr */
    .long _bss_end_phys        /* bss_end_addr */
    .long _start32             /* entry_addr */

    .section .boot.text, "ax"
    .code32
    .globl _start32
_start32:
    cli
    movl %eax, boot_magic32
    movl %ebx, boot_mbi32
    movl $boot_stack32_top, %esp

    /* PD: 512 x 2 MiB pages covering 0..1 GiB (present, writable, large). */
    movl $(boot_pd - KERNEL_VMA), %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jne 1b

    movl $(boot_pd - KERNEL_VMA + 3), %eax
    movl %eax, (boot_pdpt_low - KERNEL_VMA)
    movl %eax, (boot_pdpt_high - KERNEL_VMA + 510 * 8)
    movl $(boot_pdpt_low - KERNEL_VMA + 3), %eax
    movl %eax, (boot_pml4 - KERNEL_VMA)
    movl $(boot_pdpt_high - KERNEL_VMA + 3), %eax
    movl %eax, (boot_pml4 - KERNEL_VMA + 511 * 8)

    movl %cr4, %eax
    orl $(1 << 5), %eax            /* PAE */
    movl %eax, %cr4
    movl $(boot_pml4 - KERNEL_VMA), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx         /* IA32_EFER */
    rdmsr
    orl $((1 << 8) | (1 << 11) | (1 << 0)), %eax  /* LME, NXE, SCE */
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | 1), %eax        /* PG, WP, PE */
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $start64_low

    .code64
start64_low:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $start64_high, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .align 16
boot_gdt:
    .quad 0
    .quad 0x00209A0000000000      /* 64-bit code */
    .quad 0x0000920000000000      /* data */
boot_gdt_ptr:
    .word 3 * 8 - 1
    .long boot_gdt
    .globl boot_magic32, boot_mbi32
boot_magic32:
    .long 0
boot_mbi32:
    .long 0
    .align 16
boot_stack32:
    .space 256
boot_stack32_top:

    .text
start64_high:
    movabsq $k_boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_magic32, %edi
    movl boot_mbi32, %esi
    call k_boot_main
2:  cli
    hlt
    jmp 2b

    .bss
    .align 4096
    .globl boot_pml4, boot_pdpt_high, boot_pd
boot_pml4:
    .space 4096
boot_pdpt_low:
    .space 4096
boot_pdpt_high:
    .space 4096
boot_pd:
    .space 4096
    .align 16
    .globl k_boot_stack_top
k_boot_stack:
    .space 16384
k_boot_stack_top:
    .section .note.GNU-stack, "", @progbits
