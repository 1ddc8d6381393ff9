/* SPDX-License-Identifier: BSD-2-Clause */
/* Untyped placement arithmetic and object sizes (see kernel/untyped_calc.h). */
#include <kernel/untyped_calc.h>
#include <portcullis/errors.h>
#include <portcullis/types.h>

int k_object_bits(unsigned type, unsigned user_bits)
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

int k_untyped_place(uint64_t base, unsigned size_bits, uint64_t free_offset, unsigned obj_bits,
                    uint64_t count, uint64_t *first, uint64_t *new_free_offset)
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
