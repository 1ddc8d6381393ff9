/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry point of every user task. Whoever starts the task (the root task's loader, or the kernel
 * for the root task itself) sets rip = the ELF entry and rdi = one start argument (for the root
 * task: its boot-info pointer); the loader has already zero-filled .bss, so nothing is cleared
 * here. The task runs on its own stack at the end of .bss (size: __pc_stack_size from the link
 * line), so the starter need not provide one. argc/argv are 0/NULL: the start argument is the
 * only parameter, readable as __pc_start_arg.
 */
    .section .bss
    .balign 8
    .globl __pc_start_arg
__pc_start_arg:
    .quad 0

    .section .text.pc_start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    movq    %rdi, __pc_start_arg(%rip)
    leaq    __pc_stack_top(%rip), %rsp
    andq    $-16, %rsp
    xorl    %ebp, %ebp                  /* end of the frame-pointer chain */
    /* Reset x87/SSE control words to their defined defaults so printf of doubles behaves. */
    fninit
    subq    $8, %rsp
    movl    $0x1f80, (%rsp)
    ldmxcsr (%rsp)
    addq    $8, %rsp
    /* Destructors run at exit(), in reverse registration order. */
    leaq    __libc_fini_array(%rip), %rdi
    call    atexit
    call    __libc_init_array
    xorl    %edi, %edi                  /* argc = 0 */
    xorl    %esi, %esi                  /* argv = NULL */
    call    main
    movl    %eax, %edi
    call    exit
1:  hlt                                 /* exit() does not return; a fault here is a libc bug */
    jmp     1b
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
