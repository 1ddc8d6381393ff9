// SPDX-License-Identifier: BSD-2-Clause
//
// A user task that exercises the runtime the way real tasks do: formatted output (integers,
// 64-bit values, doubles), malloc until the fixed arena is exhausted, the string functions,
// constructors/atexit, errno from the system-call layer, and exit status through main's return.
// The same source links as a Portcullis task and, with linux_standin.c providing the three
// libportcullis primitives, runs directly on the Linux build machine so its output can be checked.

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pc_libc/runtime.h>

static int ctor_ran;

__attribute__((constructor)) static void mark_ctor(void)
{
    ctor_ran = 1;
}

static void say_bye(void)
{
    printf("atexit: ran\n");
}

int main(void)
{
    int failures = 0;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

    printf("ctor: %d\n", ctor_ran);
    printf("start_arg_is_null: %d\n", pc_start_arg() == NULL);
    printf("lu: %lu\n", 18446744073709551615ul);
    printf("lx: %#lx\n", 0xfedcba9876543210ul);
    printf("f: %.3f %g %e\n", 3.14159, 0.5, 12345.678);
    printf("neg: %d %lld\n", -42, -9000000000ll);

    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%lu/%5.2f/%s", 123456789012ul, 2.5, "x");
    printf("snprintf: %d [%s]\n", n, buf);
    n = snprintf(buf, 8, "%s", "truncated-string");
    CHECK(n == 16 && strcmp(buf, "truncat") == 0, "snprintf truncation n=%d buf=%s", n, buf);

    // String functions.
    char a[32] = "hello";
    char b[32];
    memcpy(b, a, 6);
    CHECK(strcmp(a, b) == 0, "memcpy");
    memmove(a + 1, a, 5);
    CHECK(memcmp(a, "hhello", 6) == 0, "memmove overlap: %s", a);
    memset(b, 'z', 3);
    CHECK(strncmp(b, "zzzlo", 5) == 0, "memset");
    CHECK(strlen("abcdef") == 6 && strchr("abc", 'c') != NULL, "strlen/strchr");

    // malloc from the arena, then exhaust it: NULL + ENOMEM, and the heap stays usable.
    size_t arena = pc_heap_size();
    printf("heap_size: %zu\n", arena);
    char *p = malloc(1000);
    CHECK(p != NULL, "malloc(1000)");
    memset(p, 0xab, 1000);
    errno = 0;
    void *huge = malloc(arena + 4096);
    CHECK(huge == NULL && errno == ENOMEM, "oversized malloc gave %p errno %d", huge, errno);
    size_t got = 0;
    void *last = NULL;
    for (;;) {
        void *q = malloc(64 * 1024);
        if (q == NULL) {
            break;
        }
        got += 64 * 1024;
        *(void **)q = last; // chain them so they can be freed
        last = q;
    }
    printf("heap_exhausted_after_kib: %s\n", got >= arena / 2 && got <= arena ? "ok" : "bad");
    CHECK(pc_heap_used() <= arena, "break beyond arena: %zu", pc_heap_used());
    while (last != NULL) {
        void *next = *(void **)last;
        free(last);
        last = next;
    }
    void *again = malloc(64 * 1024);
    CHECK(again != NULL, "malloc after free");
    free(again);
    CHECK((unsigned char)p[999] == 0xab, "earlier allocation intact");
    free(p);

    // The system-call layer reports errors through errno.
    errno = 0;
    CHECK(open("/x", O_RDONLY) == -1 && errno == ENOSYS, "open errno %d", errno);
    errno = 0;
    CHECK(write(7, "x", 1) == -1 && errno == EBADF, "write(7) errno %d", errno);
    errno = 0;
    CHECK(read(0, buf, 1) == -1 && errno == ENOSYS, "read(0) errno %d", errno);
    errno = 0;
    CHECK(lseek(1, 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek errno %d", errno);
    CHECK(isatty(1) == 1 && isatty(9) == 0, "isatty");
    struct stat st;
    CHECK(fstat(2, &st) == 0 && S_ISCHR(st.st_mode), "fstat(2)");
    errno = 0;
    CHECK(fstat(5, &st) == -1 && errno == EBADF, "fstat(5) errno %d", errno);

    fprintf(stderr, "stderr: works\n");
    atexit(say_bye);
    printf("failures: %d\n", failures);
    return failures == 0 ? 7 : 1; // 7: proves main's return value reaches pc_task_exit
}
