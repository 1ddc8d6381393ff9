// SPDX-License-Identifier: BSD-2-Clause
//
// The user runtime checked on the real kernel, booted as the root task: crt0 hands over the boot
// information pointer, constructors run, printf/snprintf format integers and doubles (SSE state
// is live in ring 3), malloc serves from the fixed arena and fails cleanly with ENOMEM when it is
// exhausted, and the system-call layer reports errors through errno. Reports with the guest
// result protocol and ends the run with pc_debug_halt.

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elf/loader.h>
#include <pc_libc/runtime.h>
#include <portcullis/bootinfo.h>
#include <portcullis/syscall.h>

static int passed;
static int failed;
static int ctor_ran;

__attribute__((constructor)) static void mark_ctor(void)
{
    ctor_ran = 1;
}

static void report(const char *name, int ok, const char *why)
{
    if (ok) {
        printf("TEST %s: PASS\n", name);
        passed++;
    } else {
        printf("TEST %s: FAIL %s\n", name, why);
        failed++;
    }
}

static void test_start_arg_is_the_boot_info(void)
{
    const pc_bootinfo_t *bi = pc_start_arg();
    report("libc_start_arg_is_boot_info", bi != NULL && bi->magic == PC_BOOTINFO_MAGIC,
           "rdi at _start is not the boot-info pointer");
}

static void test_constructors_ran(void)
{
    report("libc_constructors_run_before_main", ctor_ran == 1, "constructor did not run");
}

static void test_formats(void)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%lu %#lx %d %lld %s", 18446744073709551615ul, 0xfeedul, -42,
             -9000000000ll, "s");
    report("libc_snprintf_integers",
           strcmp(buf, "18446744073709551615 0xfeed -42 -9000000000 s") == 0, buf);
    volatile double x = 3.14159;
    volatile double y = 12345.678;
    snprintf(buf, sizeof(buf), "%.3f %g %e %5.2f", x, 0.5, y, x * 2);
    report("libc_snprintf_doubles", strcmp(buf, "3.142 0.5 1.234568e+04  6.28") == 0, buf);
    int n = snprintf(buf, 8, "%s", "truncated-string");
    report("libc_snprintf_truncates", n == 16 && strcmp(buf, "truncat") == 0, buf);
}

static void test_heap(void)
{
    size_t arena = pc_heap_size();
    char *p = malloc(1000);
    if (p != NULL) {
        memset(p, 0xab, 1000);
    }
    errno = 0;
    void *huge = malloc(arena + 4096);
    report("libc_malloc_beyond_arena_fails_with_enomem",
           p != NULL && huge == NULL && errno == ENOMEM, "oversized malloc did not fail cleanly");
    void *last = NULL;
    size_t got = 0;
    for (;;) {
        void *q = malloc(64 * 1024);
        if (q == NULL) {
            break;
        }
        *(void **)q = last;
        last = q;
        got += 64 * 1024;
    }
    int exhausted_ok = got >= arena / 2 && pc_heap_used() <= arena;
    while (last != NULL) {
        void *next = *(void **)last;
        free(last);
        last = next;
    }
    void *again = malloc(64 * 1024);
    report("libc_heap_exhaustion_is_recoverable",
           exhausted_ok && again != NULL && (unsigned char)p[999] == 0xab,
           "arena accounting or reuse after free is wrong");
    free(again);
    free(p);
}

static void test_errno(void)
{
    errno = 0;
    int a = open("/x", O_RDONLY) == -1 && errno == ENOSYS;
    errno = 0;
    int b = write(7, "x", 1) == -1 && errno == EBADF;
    errno = 0;
    int c = lseek(1, 0, SEEK_SET) == -1 && errno == ESPIPE;
    report("libc_syscall_errors_set_errno", a && b && c, "wrong errno from the glue");
}

// Module 1 (another task ELF) as the root task's loader will see it: validated in place by the
// target build of libelf, with a truncated view refused.
static void test_boot_module_elf_validates(void)
{
    const pc_bootinfo_t *bi = pc_start_arg();
    if (bi == NULL || bi->module_count < 2) {
        report("libelf_validates_boot_module", 0, "image has no second module");
        return;
    }
    const pc_bootinfo_module_t *m = &bi->module[1];
    elf_limits_t lim;
    elf_limits_default(&lim);
    elf_image_t img;
    elf_error_t err = elf_parse(&img, (const void *)(uintptr_t)m->vaddr, m->size, &lim);
    int ok = err == ELF_OK && elf_segment_count(&img) >= 2 && img.entry >= ELF_USER_MIN_DEFAULT;
    elf_error_t cut = elf_parse(&img, (const void *)(uintptr_t)m->vaddr, m->size / 2, &lim);
    report("libelf_validates_boot_module", ok && cut != ELF_OK, elf_strerror(err));
}

int main(void)
{
    test_start_arg_is_the_boot_info();
    test_constructors_ran();
    test_formats();
    test_heap();
    test_errno();
    test_boot_module_elf_validates();
    printf("SUMMARY: %d passed, %d failed\n", passed, failed);
    fflush(stdout);
    pc_debug_halt(failed == 0 ? 0 : 1);
}
