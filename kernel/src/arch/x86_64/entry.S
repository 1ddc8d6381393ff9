/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every way into and out of the kernel. There is one kernel stack per CPU and no kernel thread
 * state: on entry from user mode the user registers are saved straight into the current
 * thread's TCB (the syscall path pushes them there, interrupts get there because TSS.rsp0 points
 * at the top of the current TCB's register area); the C handler returns the register area of the
 * thread to run next (NULL: idle), and k_restore loads it and irets.
 */
#define CPU_KSTACK_TOP 8
#define CPU_CUR_CTX_TOP 16
#define CPU_USER_RSP 24
#define CPU_IN_IDLE 32
#define USER_CS (0x28 | 3)
#define USER_DS (0x20 | 3)

.macro SAVE_GPRS
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

    .text
    .globl k_syscall_entry
    .align 16
k_syscall_entry:
    swapgs
    movq %rsp, %gs:CPU_USER_RSP
    movq %gs:CPU_CUR_CTX_TOP, %rsp
    pushq $USER_DS
    pushq %gs:CPU_USER_RSP
    pushq %r11
    pushq $USER_CS
    pushq %rcx
    pushq $0
    pushq $-1
    SAVE_GPRS
    movq %gs:CPU_KSTACK_TOP, %rsp
    call k_syscall_handler
    /* fall through */
    .globl k_restore
k_restore:
    testq %rax, %rax
    jz k_idle_loop
    movq %rax, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    swapgs
    iretq

    .globl k_idle_loop
k_idle_loop:
    movq %gs:CPU_KSTACK_TOP, %rsp
    movq $1, %gs:CPU_IN_IDLE
1:  sti
    hlt
    cli
    jmp 1b

/* Interrupt and exception stubs: push a zero error code where the CPU does not, then the vector. */
.macro ISR_NOERR n
    .align 16
k_isr_\n:
    pushq $0
    pushq $\n
    jmp k_isr_common
.endm
/* In 64-bit mode the CPU aligns RSP to 16 before pushing the 5-word frame, so RSP is 16-byte
 * aligned here exactly when it also pushed an error code. An interrupt sent (by a misprogrammed
 * or hostile device) on an error-code vector pushes none: supply a zero so the frame is right. */
.macro ISR_ERR n
    .align 16
k_isr_\n:
    testq $8, %rsp
    jz 1f
    pushq $0
1:  pushq $\n
    jmp k_isr_common
.endm

k_isr_common:
    testb $3, 24(%rsp)          /* saved cs: from user mode? */
    jz 1f
    swapgs
    SAVE_GPRS                   /* continues filling the TCB register area */
    movq %gs:CPU_KSTACK_TOP, %rsp
    call k_trap_handler
    jmp k_restore
1:  SAVE_GPRS                   /* kernel mode (idle loop, or a kernel bug): on this stack */
    movq %rsp, %rdi
    call k_kernel_trap_handler
    jmp k_restore

/* NMI, #DF, #MC run on their own IST stack and never touch the TCB. */
    .align 16
k_isr_nmi:
    iretq
    .align 16
k_isr_fatal:
    SAVE_GPRS
    movq %rsp, %rdi
    call k_fatal_trap_handler
2:  cli
    hlt
    jmp 2b

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_NOERR 9
ISR_ERR 10
ISR_ERR 11
ISR_ERR 12
ISR_ERR 13
ISR_ERR 14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR 17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR 21
.irp n, 22,23,24,25,26,27,28,29,30,31
ISR_NOERR \n
.endr
.altmacro
.macro ISR_IRQ n
ISR_NOERR %n
.endm
.set i, 32
.rept 224
ISR_IRQ %i
.set i, i + 1
.endr

/* Table of stub addresses for the IDT (vectors 2, 8, 18 use the IST stubs). */
.macro VEC_ENTRY n
    .quad k_isr_\n
.endm
    .section .rodata
    .align 8
    .globl k_isr_table
k_isr_table:
    .quad k_isr_0, k_isr_1, k_isr_nmi, k_isr_3, k_isr_4, k_isr_5, k_isr_6, k_isr_7
    .quad k_isr_fatal, k_isr_9, k_isr_10, k_isr_11, k_isr_12, k_isr_13, k_isr_14, k_isr_15
    .quad k_isr_16, k_isr_17, k_isr_18, k_isr_19, k_isr_20, k_isr_21, k_isr_22, k_isr_23
    .quad k_isr_24, k_isr_25, k_isr_26, k_isr_27, k_isr_28, k_isr_29, k_isr_30, k_isr_31
.set i, 32
.rept 224
VEC_ENTRY %i
.set i, i + 1
.endr
    .section .note.GNU-stack, "", @progbits
