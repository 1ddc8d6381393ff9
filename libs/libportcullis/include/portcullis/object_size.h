/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Object sizes and untyped placement, the arithmetic of Untyped_Retype. The kernel decides with
 * it where retyped objects go; the root task mirrors the same rule with the same code to choose
 * an untyped that will fit before it asks and to place device frames at exact addresses. Pure
 * and overflow-checked (sizes come from the boot information and from callers); host-tested by
 * kernel/tests (kernel_host_tests) and init/tests.
 */
#ifndef PORTCULLIS_OBJECT_SIZE_H
#define PORTCULLIS_OBJECT_SIZE_H

#include <stdint.h>

#include <portcullis/errors.h>
#include <portcullis/types.h>

/* Log2 of the bytes an object of `type` (enum pc_object_type) with the retype size argument
 * `user_bits` occupies; -1 for a type that cannot be retyped or a size out of its range. */
static inline int pc_object_bits(unsigned type, unsigned user_bits)
{
    switch (type) {
    case PC_OBJ_UNTYPED:
        return (user_bits >= PC_UNTYPED_MIN_BITS && user_bits <= PC_UNTYPED_MAX_BITS)
                   ? (int)user_bits
                   : -1;
    case PC_OBJ_TCB:
        return PC_TCB_BITS;
    case PC_OBJ_ENDPOINT:
        return PC_ENDPOINT_BITS;
    case PC_OBJ_NOTIFICATION:
        return PC_NOTIFICATION_BITS;
    case PC_OBJ_CNODE:
        return (user_bits >= 1 && user_bits <= PC_CNODE_MAX_BITS) ? (int)(user_bits + PC_SLOT_BITS)
                                                                  : -1;
    case PC_OBJ_VSPACE:
    case PC_OBJ_PDPT:
    case PC_OBJ_PD:
    case PC_OBJ_PT:
    case PC_OBJ_FRAME_4K:
        return PC_PAGE_BITS;
    case PC_OBJ_FRAME_2M:
        return PC_LARGE_PAGE_BITS;
    default:
        return -1;
    }
}

/*
 * Where `count` objects of 2^obj_bits bytes go in the untyped [base, base + 2^size_bits) whose
 * watermark is `free_offset`: each object at the watermark rounded up to its own size. Returns
 * PC_OK with the first object's address and the new watermark; PC_ERR_NOT_ENOUGH_MEMORY when
 * they do not fit; PC_ERR_INVALID_ARGUMENT for impossible inputs (a misaligned base, a watermark
 * beyond the end, count 0). Changes nothing on error.
 */
static inline int pc_untyped_place(uint64_t base, unsigned size_bits, uint64_t free_offset,
                                   unsigned obj_bits, uint64_t count, uint64_t *first,
                                   uint64_t *new_free_offset)
{
    if (size_bits > 63 || obj_bits > 63 || count == 0) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    if (obj_bits > size_bits) {
        return PC_ERR_NOT_ENOUGH_MEMORY;
    }
    uint64_t size = 1ull << size_bits;
    if (free_offset > size || (base & (size - 1)) != 0) {
        return PC_ERR_INVALID_ARGUMENT;
    }
    uint64_t obj_size = 1ull << obj_bits;
    /* Offsets are relative to a base aligned to the untyped size >= obj_size, so aligning the
     * offset aligns the address. */
    uint64_t start = (free_offset + obj_size - 1) & ~(obj_size - 1);
    if (start < free_offset || start > size) {
        return PC_ERR_NOT_ENOUGH_MEMORY;
    }
    uint64_t room = (size - start) >> obj_bits;
    if (count > room) {
        return PC_ERR_NOT_ENOUGH_MEMORY;
    }
    *first = base + start;
    *new_free_offset = start + (count << obj_bits);
    return PC_OK;
}

#endif /* PORTCULLIS_OBJECT_SIZE_H */
