// SPDX-License-Identifier: BSD-2-Clause
//
// The system-call layer newlib expects from its host ("libgloss"), implemented on Portcullis'
// two primitives: a debug console write and task exit. There are no files: stdin/stdout/stderr
// (fds 0-2) are character devices, output on 1 and 2 goes to the kernel console, input is not
// wired, and every other call fails with the errno a POSIX system would give for the situation
// (EBADF for an fd that is not open, ENOSYS for what the system does not have). The heap is a
// fixed arena placed by the linker script; _sbrk never moves the break outside it.

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <sys/time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pc_libc/runtime.h>

// Provided by libportcullis (the kernel's user ABI). Declared here, not included, so the runtime
// does not depend on that header's exact return types; both are called for their effect only.
extern void pc_debug_write(const char *s, size_t n);
extern void pc_task_exit(int code) __attribute__((noreturn));

// Bounds of the heap arena, defined by the linker script (task.ld).
extern char __pc_heap_start[];
extern char __pc_heap_end[];

// Largest piece handed to the console in one call; keeps each kernel call short.
#define PC_CONSOLE_CHUNK 256u

// Processes have exactly one identity here; kill() on it terminates the task.
#define PC_TASK_PID 1

static int fd_is_std(int fd)
{
    return fd >= 0 && fd <= 2;
}

_READ_WRITE_RETURN_TYPE _write(int fd, const void *buf, size_t len)
{
    if (fd != STDOUT_FILENO && fd != STDERR_FILENO) {
        errno = EBADF;
        return -1;
    }
    if (len > INT32_MAX) {
        len = INT32_MAX; // the return value must fit; newlib's __swrite loops on short writes
    }
    if (len != 0 && buf == NULL) {
        errno = EFAULT;
        return -1;
    }
    const char *p = buf;
    size_t left = len;
    while (left > 0) {
        size_t n = left < PC_CONSOLE_CHUNK ? left : PC_CONSOLE_CHUNK;
        pc_debug_write(p, n);
        p += n;
        left -= n;
    }
    return (_READ_WRITE_RETURN_TYPE)len;
}

_READ_WRITE_RETURN_TYPE _read(int fd, void *buf, size_t len)
{
    (void)buf;
    (void)len;
    errno = fd == STDIN_FILENO ? ENOSYS : EBADF; // no console input is wired
    return -1;
}

void *_sbrk(ptrdiff_t incr)
{
    static uintptr_t brk; // current break; 0 until first use
    const uintptr_t start = (uintptr_t)__pc_heap_start;
    const uintptr_t end = (uintptr_t)__pc_heap_end;
    if (brk == 0) {
        brk = start;
    }
    const uintptr_t old = brk;
    if (incr >= 0) {
        if ((uintptr_t)incr > end - old) {
            errno = ENOMEM;
            return (void *)-1;
        }
        brk = old + (uintptr_t)incr;
    } else {
        // -(incr + 1) + 1 avoids negating PTRDIFF_MIN.
        uintptr_t dec = (uintptr_t)(-(incr + 1)) + 1u;
        if (dec > old - start) {
            errno = EINVAL;
            return (void *)-1;
        }
        brk = old - dec;
    }
    return (void *)old;
}

size_t pc_heap_size(void)
{
    return (size_t)(__pc_heap_end - __pc_heap_start);
}

size_t pc_heap_used(void)
{
    // Asking for zero bytes returns the break without moving it.
    void *cur = _sbrk(0);
    return (size_t)((char *)cur - __pc_heap_start);
}

void *pc_start_arg(void)
{
    return __pc_start_arg;
}

void _exit(int code)
{
    pc_task_exit(code);
}

int _close(int fd)
{
    if (!fd_is_std(fd)) {
        errno = EBADF;
        return -1;
    }
    return 0; // the console stays available to anyone else holding the fd number
}

int _fstat(int fd, struct stat *st)
{
    if (!fd_is_std(fd)) {
        errno = EBADF;
        return -1;
    }
    if (st == NULL) {
        errno = EFAULT;
        return -1;
    }
    *st = (struct stat){0};
    st->st_mode = S_IFCHR | 0620;
    st->st_blksize = 0; // unbuffered-size hint: newlib then picks BUFSIZ and line-buffers ttys
    return 0;
}

int _isatty(int fd)
{
    if (!fd_is_std(fd)) {
        errno = EBADF;
        return 0;
    }
    return 1;
}

_off_t _lseek(int fd, _off_t off, int whence)
{
    (void)off;
    (void)whence;
    errno = fd_is_std(fd) ? ESPIPE : EBADF;
    return (_off_t)-1;
}

pid_t _getpid(void)
{
    return PC_TASK_PID;
}

int _kill(pid_t pid, int sig)
{
    if (pid != PC_TASK_PID) {
        errno = ESRCH;
        return -1;
    }
    if (sig < 0 || sig >= NSIG) {
        errno = EINVAL;
        return -1;
    }
    if (sig == 0) {
        return 0; // existence probe
    }
    _exit(128 + sig); // default action of every deliverable signal here: terminate
}

int _open(const char *path, int flags, ...)
{
    (void)path;
    (void)flags;
    errno = ENOSYS; // no file system
    return -1;
}

int _stat(const char *restrict path, struct stat *restrict st)
{
    (void)path;
    (void)st;
    errno = ENOSYS;
    return -1;
}

int _link(const char *old, const char *new)
{
    (void)old;
    (void)new;
    errno = ENOSYS;
    return -1;
}

int _unlink(const char *path)
{
    (void)path;
    errno = ENOSYS;
    return -1;
}

pid_t _fork(void)
{
    errno = ENOSYS;
    return -1;
}

int _execve(const char *path, char *const argv[], char *const envp[])
{
    (void)path;
    (void)argv;
    (void)envp;
    errno = ENOSYS;
    return -1;
}

pid_t _wait(int *status)
{
    (void)status;
    errno = ECHILD;
    return -1;
}

clock_t _times(struct tms *buf)
{
    (void)buf;
    errno = ENOSYS; // no clock service in the runtime; tasks use the kernel timer directly
    return (clock_t)-1;
}

int _gettimeofday(struct timeval *tv, void *tz)
{
    (void)tv;
    (void)tz;
    errno = ENOSYS;
    return -1;
}

// This newlib is configured for a bare target (MISSING_SYSCALL_NAMES): its reentrant wrappers
// call the POSIX names (write, sbrk, ...). Both spellings name the same implementation.
#define PC_ALIAS(posix, impl) extern __typeof__(impl) posix __attribute__((alias(#impl)))
PC_ALIAS(write, _write);
PC_ALIAS(read, _read);
PC_ALIAS(sbrk, _sbrk);
PC_ALIAS(close, _close);
PC_ALIAS(fstat, _fstat);
PC_ALIAS(isatty, _isatty);
PC_ALIAS(lseek, _lseek);
PC_ALIAS(getpid, _getpid);
PC_ALIAS(kill, _kill);
PC_ALIAS(open, _open);
PC_ALIAS(stat, _stat);
PC_ALIAS(link, _link);
PC_ALIAS(unlink, _unlink);
PC_ALIAS(fork, _fork);
PC_ALIAS(execve, _execve);
PC_ALIAS(wait, _wait);
PC_ALIAS(times, _times);
PC_ALIAS(gettimeofday, _gettimeofday);

// newlib's __libc_init_array/__libc_fini_array call these (HAVE_INIT_FINI); the .init/.fini
// sections are unused because constructors go through .init_array.
void _init(void)
{
}

void _fini(void)
{
}
