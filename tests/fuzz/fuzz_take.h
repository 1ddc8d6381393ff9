/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fuzz targets' input reader: the next `bytes` bytes (little-endian, at most 8) of the input,
 * consumed; past the end the missing bytes read as zero, so every input is a valid sequence.
 */
#ifndef FUZZ_TAKE_H
#define FUZZ_TAKE_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && *n != 0; i++) {
        v |= (uint64_t)(*p)[0] << (8 * i);
        (*p)++;
        (*n)--;
    }
    return v;
}

#endif /* FUZZ_TAKE_H */
