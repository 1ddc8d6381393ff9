/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The out-of-line part of the user ABI: console output, ending the QEMU run and task exit, which
 * the C runtime calls, and the per-task IPC buffer pointer. Console output is passed in registers
 * (at most 40 bytes per call), so the kernel never reads a user pointer.
 */
#include <portcullis/invoke.h>
#include <portcullis/syscall.h>

pc_ipc_buffer_t *__pc_ipc_buffer;

#define PC_DEBUG_CHUNK 40

void pc_debug_write(const char *s, size_t n)
{
    while (n > 0) {
        pc_word_t w[5] = {0, 0, 0, 0, 0};
        size_t k = n < PC_DEBUG_CHUNK ? n : PC_DEBUG_CHUNK;
        for (size_t i = 0; i < k; i++) {
            w[i / 8] |= (pc_word_t)(unsigned char)s[i] << (8 * (i % 8));
        }
        register pc_word_t rax __asm__("rax") = PC_SYS_DEBUG_WRITE;
        register pc_word_t rdi __asm__("rdi") = k;
        register pc_word_t rsi __asm__("rsi") = w[0];
        register pc_word_t rdx __asm__("rdx") = w[1];
        register pc_word_t r10 __asm__("r10") = w[2];
        register pc_word_t r8 __asm__("r8") = w[3];
        register pc_word_t r9 __asm__("r9") = w[4];
        __asm__ volatile("syscall"
                         : "+r"(rax)
                         : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
        s += k;
        n -= k;
    }
}

void pc_debug_halt(int code)
{
    for (;;) {
        register pc_word_t rax __asm__("rax") = PC_SYS_DEBUG_HALT;
        register pc_word_t rdi __asm__("rdi") = (pc_word_t)(unsigned)code;
        __asm__ volatile("syscall" : "+r"(rax) : "r"(rdi) : "rcx", "r11", "memory");
        /* Not a debug kernel: fall back to exiting the thread. */
        register pc_word_t rax2 __asm__("rax") = PC_SYS_THREAD_EXIT;
        __asm__ volatile("syscall" : "+r"(rax2) : : "rcx", "r11", "memory");
    }
}

void pc_task_exit(int code)
{
    (void)code;
    for (;;) {
        register pc_word_t rax __asm__("rax") = PC_SYS_THREAD_EXIT;
        __asm__ volatile("syscall" : "+r"(rax) : : "rcx", "r11", "memory");
    }
}
