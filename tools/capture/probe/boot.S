/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Multiboot (v1) entry of the capture probe. QEMU's -kernel loader jumps here in 32-bit
 * protected mode with paging off, so the probe can read any physical address below 4 GiB
 * directly. We only need a stack before calling into C.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000000

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text
    .globl probe_entry
probe_entry:
    cli
    movl $probe_stack_top, %esp
    call probe_main
1:  hlt
    jmp 1b

    .section .bss
    .align 16
probe_stack:
    .skip 16384
probe_stack_top:
    .section .note.GNU-stack, "", @progbits
