/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The freestanding memory functions of the kernel. The compiler may emit calls to them for plain
 * structure copies and initialisations, so they keep their C library names.
 */
#ifndef KERNEL_STRING_H
#define KERNEL_STRING_H

#include <stddef.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif /* KERNEL_STRING_H */
