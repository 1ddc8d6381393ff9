/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the user runtime (newlib + Portcullis glue) tells a task about itself: the argument its
 * starter passed in rdi, and the state of the fixed heap arena that backs malloc(). The arena is a
 * static region at the end of .bss sized at link time (pc_add_task(... HEAP_SIZE n)); when it is
 * exhausted malloc() returns NULL with errno = ENOMEM, nothing else is touched.
 */
#ifndef PC_LIBC_RUNTIME_H
#define PC_LIBC_RUNTIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The value of rdi at _start (for the root task: the kernel's boot-info pointer). */
extern void *__pc_start_arg;

/* The start argument; same as __pc_start_arg. */
void *pc_start_arg(void);

/* Size in bytes of the heap arena, fixed at link time. */
size_t pc_heap_size(void);

/* Bytes of the arena handed out to malloc so far (the current break minus the arena start). */
size_t pc_heap_used(void);

#ifdef __cplusplus
}
#endif

#endif /* PC_LIBC_RUNTIME_H */
