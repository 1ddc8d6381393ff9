// SPDX-License-Identifier: BSD-2-Clause
//
// Stand-ins for the three libportcullis primitives the runtime uses, implemented with raw Linux
// system calls, so a task ELF built against the real runtime can execute on the build machine
// and a host test can check what it printed and its exit status. Never linked into real tasks.

#include <stddef.h>

#define LINUX_SYS_WRITE 1
#define LINUX_SYS_EXIT_GROUP 231

static long linux_syscall3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

void pc_debug_write(const char *s, size_t n)
{
    while (n > 0) {
        long w = linux_syscall3(LINUX_SYS_WRITE, 1, (long)s, (long)n);
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

__attribute__((noreturn)) void pc_task_exit(int code)
{
    for (;;) {
        linux_syscall3(LINUX_SYS_EXIT_GROUP, code, 0, 0);
    }
}

__attribute__((noreturn)) void pc_debug_halt(int code)
{
    pc_task_exit(code);
}
