/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Untyped retype arithmetic (pure, host-tested): where `count` objects of 2^obj_bits bytes go in
 * an untyped region [base, base + 2^size_bits) whose watermark is `free_offset`, with overflow
 * checks on every step.
 */
#ifndef KERNEL_UNTYPED_CALC_H
#define KERNEL_UNTYPED_CALC_H

#include <stdint.h>

/* Returns PC_OK and the first object's address and the new watermark, or
 * PC_ERR_NOT_ENOUGH_MEMORY / PC_ERR_INVALID_ARGUMENT. Changes nothing on error. */
int k_untyped_place(uint64_t base, unsigned size_bits, uint64_t free_offset, unsigned obj_bits,
                    uint64_t count, uint64_t *first, uint64_t *new_free_offset);

/* log2 size in bytes of an object of `type` with user size argument `user_bits`, or -1. */
int k_object_bits(unsigned type, unsigned user_bits);

#endif
