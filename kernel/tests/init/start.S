/* SPDX-License-Identifier: BSD-2-Clause */
/* Entry of the freestanding kernel test root task: rdi = boot info, rsp 16-byte aligned. */
    .text
    .globl _start
_start:
    xorl %ebp, %ebp
    call ktest_main
1:  jmp 1b
    .section .note.GNU-stack, "", @progbits
