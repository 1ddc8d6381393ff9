/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Physical memory range sets (pure, host-tested): built from the multiboot memory map, with
 * ranges removed for the kernel, boot allocations and modules, and cut into naturally aligned
 * power-of-two blocks for untyped capabilities.
 */
#ifndef KERNEL_MEMMAP_H
#define KERNEL_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

#define K_MEMMAP_MAX 64

typedef struct k_range {
    uint64_t start;
    uint64_t end; /* exclusive */
} k_range_t;

typedef struct k_memmap {
    k_range_t r[K_MEMMAP_MAX];
    unsigned n;
} k_memmap_t;

void k_memmap_init(k_memmap_t *m);
/* Add [start, end), merging with overlapping or adjacent ranges; keeps ranges sorted. Returns
 * false (and changes nothing) if the set is full or the range is empty/inverted. */
bool k_memmap_add(k_memmap_t *m, uint64_t start, uint64_t end);
/* Remove [start, end) from the set. Returns false if a split would overflow the set. */
bool k_memmap_remove(k_memmap_t *m, uint64_t start, uint64_t end);
/* Shrink every range inward to `align` (a power of two) boundaries, dropping empty ones. */
void k_memmap_align_inward(k_memmap_t *m, uint64_t align);
/* The complement of `m` within [lo, hi) into `out`. */
bool k_memmap_complement(const k_memmap_t *m, uint64_t lo, uint64_t hi, k_memmap_t *out);
/* Cut [start, end) into naturally aligned power-of-two blocks of at least 2^min_bits and at most
 * 2^max_bits bytes (start/end must be 2^min_bits aligned); calls fn for each block in address
 * order. Returns the number of blocks. */
unsigned k_memmap_blocks(uint64_t start, uint64_t end, unsigned min_bits, unsigned max_bits,
                         void (*fn)(void *ctx, uint64_t base, unsigned bits), void *ctx);

#endif
