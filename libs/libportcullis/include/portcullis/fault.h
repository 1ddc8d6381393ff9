/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fault messages. When a user thread takes an exception (page fault, #GP, #DE, #UD, ...), it stops
 * and the kernel sends, on the thread's behalf, a call with label PC_LABEL_FAULT to the thread's
 * fault endpoint (TCB_SetFaultEP), badge = the badge of that endpoint capability. Replying to the
 * message restarts the thread at its (possibly rewritten) rip. A thread without a fault endpoint
 * is suspended and the kernel prints one line on the console.
 */
#ifndef PORTCULLIS_FAULT_H
#define PORTCULLIS_FAULT_H

enum pc_fault_type {
    PC_FAULT_VM = 1,        /* page fault (#PF): address and error code valid */
    PC_FAULT_EXCEPTION = 2, /* any other CPU exception: vector and error code valid */
};

/* Message register positions in a fault message (length PC_FAULT_LENGTH). */
enum pc_fault_mr {
    PC_FAULT_MR_TYPE = 0, /* enum pc_fault_type */
    PC_FAULT_MR_RIP = 1,  /* faulting instruction */
    PC_FAULT_MR_RSP = 2,
    PC_FAULT_MR_ADDR = 3,   /* #PF: cr2; otherwise 0 */
    PC_FAULT_MR_ERROR = 4,  /* CPU error code (0 if the vector has none) */
    PC_FAULT_MR_VECTOR = 5, /* exception vector (14 for #PF, 13 #GP, 0 #DE, 6 #UD, ...) */
    PC_FAULT_MR_RFLAGS = 6,
    PC_FAULT_LENGTH = 7,
};

/* #PF error code bits (PC_FAULT_MR_ERROR for PC_FAULT_VM). */
#define PC_PF_PRESENT (1u << 0)
#define PC_PF_WRITE (1u << 1)
#define PC_PF_USER (1u << 2)
#define PC_PF_FETCH (1u << 4)

#endif /* PORTCULLIS_FAULT_H */
