/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * System call numbers, the register calling convention, and the inline stubs that issue them.
 *
 * Calling convention (x86_64 `syscall` instruction):
 *   in:  rax = PC_SYS_* number
 *        rdi = capability pointer (endpoint, notification or object; the receive endpoint for
 *              REPLY_RECV; unused for REPLY, YIELD, NULL)
 *        rsi = message info (pc_msginfo_t)
 *        rdx = timeout in microseconds for RECV / REPLY_RECV (0 = poll, ~0 = forever)
 *        r10, r8, r9, r15 = message registers MR0..MR3 (MR4.. in the IPC buffer)
 *   out: rax = pc_error code (PC_OK = 0)
 *        rdi = badge of the capability the received message came through
 *        rsi = message info of the received message / invocation result
 *        r10, r8, r9, r15 = MR0..MR3
 *   rcx and r11 are clobbered (by the instruction); every other register is preserved.
 *
 * Signal a notification = SEND/NB_SEND on its cap (badge bits are OR-ed into its word).
 * Wait on a notification = RECV with a timeout; poll = NB_RECV (or RECV with timeout 0);
 * the notification word comes back in the badge register.
 */
#ifndef PORTCULLIS_SYSCALL_H
#define PORTCULLIS_SYSCALL_H

#include <portcullis/errors.h>
#include <portcullis/types.h>

#define PC_SYSCALLS(X)                                                                             \
    X(PC_SYS_CALL, 1, "send a message and wait for the reply (also: invoke a kernel object)")      \
    X(PC_SYS_REPLY_RECV, 2, "reply to the caller, then receive on rdi with timeout rdx")           \
    X(PC_SYS_SEND, 3, "blocking send (endpoint) or signal (notification)")                         \
    X(PC_SYS_NB_SEND, 4, "send only if a receiver waits, else drop; signal (notification)")        \
    X(PC_SYS_RECV, 5, "receive from an endpoint / wait on a notification, timeout rdx")            \
    X(PC_SYS_NB_RECV, 6, "receive/poll without blocking (PC_ERR_TIMEOUT when nothing is there)")   \
    X(PC_SYS_REPLY, 7, "reply to the caller of the last received call")                            \
    X(PC_SYS_YIELD, 8, "give up the rest of the time slice")                                       \
    X(PC_SYS_NULL, 9, "does nothing; the cheapest kernel entry (benchmark baseline)")              \
    X(PC_SYS_DEBUG_WRITE, 10, "console output: rdi = n (<= 40), bytes in rsi,rdx,r10,r8,r9")       \
    X(PC_SYS_DEBUG_HALT, 11, "KernelDebug only: write rdi to the isa-debug-exit port, halt")       \
    X(PC_SYS_THREAD_EXIT, 12, "suspend the calling thread (task exit), prints nothing")            \
    X(PC_SYS_IDENTIFY, 13,                                                                         \
      "describe cap rdi: MR0 type (pc_object_type), MR1 rights, MR2 "                              \
      "badge (endpoint, notification) or physical base (frame), else 0")                           \
    X(PC_SYS_DEBUG_PREEMPTIONS, 14,                                                                \
      "KernelDebug only: MR0 = preemption points taken by revoke "                                 \
      "and retype since boot")

enum pc_syscall {
#define PC_SYSCALL_ENUM_(name, value, doc) name = value,
    PC_SYSCALLS(PC_SYSCALL_ENUM_)
#undef PC_SYSCALL_ENUM_
};

/* A message as seen by the caller: info, badge (receive side) and the register MRs. */
typedef struct pc_msg {
    pc_msginfo_t info;
    pc_badge_t badge;
    pc_word_t mr[PC_MSG_REG_COUNT];
} pc_msg_t;

/* The one inline syscall: every register argument in, every register result out. */
static inline pc_word_t pc_syscall(pc_word_t sys, pc_word_t cptr, pc_word_t timeout_us, pc_msg_t *m)
{
    register pc_word_t rax __asm__("rax") = sys;
    register pc_word_t rdi __asm__("rdi") = cptr;
    register pc_word_t rsi __asm__("rsi") = m->info;
    register pc_word_t rdx __asm__("rdx") = timeout_us;
    register pc_word_t r10 __asm__("r10") = m->mr[0];
    register pc_word_t r8 __asm__("r8") = m->mr[1];
    register pc_word_t r9 __asm__("r9") = m->mr[2];
    register pc_word_t r15 __asm__("r15") = m->mr[3];
    __asm__ volatile("syscall"
                     : "+r"(rax), "+r"(rdi), "+r"(rsi), "+r"(r10), "+r"(r8), "+r"(r9), "+r"(r15)
                     : "r"(rdx)
                     : "rcx", "r11", "memory");
    m->badge = rdi;
    m->info = rsi;
    m->mr[0] = r10;
    m->mr[1] = r8;
    m->mr[2] = r9;
    m->mr[3] = r15;
    return rax;
}

/* Call: send m on ep, wait for the reply into m. Returns a pc_error. */
static inline pc_word_t pc_call(pc_cptr_t ep, pc_msg_t *m)
{
    return pc_syscall(PC_SYS_CALL, ep, 0, m);
}

static inline pc_word_t pc_send(pc_cptr_t ep, pc_msg_t *m)
{
    return pc_syscall(PC_SYS_SEND, ep, 0, m);
}

static inline pc_word_t pc_nb_send(pc_cptr_t ep, pc_msg_t *m)
{
    return pc_syscall(PC_SYS_NB_SEND, ep, 0, m);
}

/* Receive on ep (or wait on a notification) for at most timeout_us microseconds. */
static inline pc_word_t pc_recv(pc_cptr_t ep, pc_msg_t *m, uint64_t timeout_us)
{
    return pc_syscall(PC_SYS_RECV, ep, timeout_us, m);
}

static inline pc_word_t pc_nb_recv(pc_cptr_t ep, pc_msg_t *m)
{
    return pc_syscall(PC_SYS_NB_RECV, ep, 0, m);
}

static inline pc_word_t pc_reply(pc_msg_t *m)
{
    return pc_syscall(PC_SYS_REPLY, 0, 0, m);
}

/* Reply with m (if a caller waits), then receive the next message on ep into m. */
static inline pc_word_t pc_reply_recv(pc_cptr_t ep, pc_msg_t *m, uint64_t timeout_us)
{
    return pc_syscall(PC_SYS_REPLY_RECV, ep, timeout_us, m);
}

static inline void pc_signal(pc_cptr_t ntfn)
{
    pc_msg_t m = {0};
    (void)pc_syscall(PC_SYS_NB_SEND, ntfn, 0, &m);
}

/* Wait for a notification; *word receives the accumulated badge bits. */
static inline pc_word_t pc_wait(pc_cptr_t ntfn, uint64_t timeout_us, pc_word_t *word)
{
    pc_msg_t m = {0};
    pc_word_t err = pc_syscall(PC_SYS_RECV, ntfn, timeout_us, &m);
    if (word) {
        *word = m.badge;
    }
    return err;
}

static inline pc_word_t pc_poll(pc_cptr_t ntfn, pc_word_t *word)
{
    pc_msg_t m = {0};
    pc_word_t err = pc_syscall(PC_SYS_NB_RECV, ntfn, 0, &m);
    if (word) {
        *word = m.badge;
    }
    return err;
}

static inline void pc_yield(void)
{
    pc_msg_t m = {0};
    (void)pc_syscall(PC_SYS_YIELD, 0, 0, &m);
}

/* The cheapest possible kernel entry and exit (benchmark baseline). */
static inline void pc_null_syscall(void)
{
    register pc_word_t rax __asm__("rax") = PC_SYS_NULL;
    __asm__ volatile("syscall" : "+r"(rax) : : "rcx", "r11", "memory");
}

/* Console output (COM1). Always available. */
void pc_debug_write(const char *s, size_t n);
/* Ends the QEMU run with exit status (code << 1) | 1. KernelDebug builds only (otherwise the
 * thread is just suspended). */
void pc_debug_halt(int code) __attribute__((noreturn));
/* KernelDebug builds only: how often a revoke or retype stopped at a preemption point to let an
 * interrupt in (and was continued) since boot; ~0 elsewhere. */
static inline pc_word_t pc_debug_preemptions(void)
{
    pc_msg_t m = {0};
    pc_word_t err = pc_syscall(PC_SYS_DEBUG_PREEMPTIONS, 0, 0, &m);
    return err == PC_OK ? m.mr[0] : ~(pc_word_t)0;
}
/* Task exit: suspends the calling thread via PC_SYS_THREAD_EXIT. Prints nothing. */
void pc_task_exit(int code) __attribute__((noreturn));

#endif /* PORTCULLIS_SYSCALL_H */
