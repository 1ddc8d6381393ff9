/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Capabilities, slots and the capability derivation tree (CDT). This part is pure data-structure
 * logic (no hardware, no objects), so it also builds for the host tests.
 *
 * The CDT is one doubly-linked list of all occupied slots in pre-order, each node carrying its
 * depth: the descendants of a node are exactly the nodes that follow it with a greater depth.
 * A new child goes right after its parent; deleting a node lifts its descendants one level.
 * Every capability to one object descends from the capability retype produced, so they form one
 * contiguous run of the list: a capability is the object's last one ("final") when neither list
 * neighbour refers to the same object.
 */
#ifndef KERNEL_CDT_H
#define KERNEL_CDT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct k_cap {
    uint8_t type;      /* enum pc_object_type; PC_OBJ_NULL = empty */
    uint8_t rights;    /* PC_RIGHT_* */
    uint8_t size_bits; /* untyped: log2 bytes; CNode: log2 slots; frame: 12 or 21 */
    uint8_t flags;     /* K_CAP_DEVICE */
    uint32_t aux;      /* VSpace: asid; mapped frames/tables: asid of the mapping; IRQ: vector */
    uint64_t obj;      /* kernel pointer of the object, or physical address (untyped, frame) */
    uint64_t w2; /* badge (endpoint, notification), untyped watermark, mapped vaddr, port first */
    uint64_t w3; /* port last */
} k_cap_t;
_Static_assert(sizeof(k_cap_t) == 32, "k_cap_t layout");

#define K_CAP_DEVICE 0x1u

typedef struct k_slot {
    k_cap_t cap;
    struct k_slot *prev;
    struct k_slot *next;
    uint32_t depth;
    uint32_t owner_index; /* slots inside a TCB: which one (K_TCB_SLOT_*) */
    void *owner;          /* slots inside a TCB: the TCB; otherwise NULL */
} k_slot_t;
_Static_assert(sizeof(k_slot_t) == 64, "k_slot_t is 2^PC_SLOT_BITS bytes");

static inline bool k_slot_empty(const k_slot_t *s)
{
    return s->cap.type == 0;
}

/* Insert `child` (holding a cap) as the newest child of `parent`. */
void k_cdt_insert_child(k_slot_t *parent, k_slot_t *child);
/* Insert `slot` as a root (depth 0) at the head of the list. */
void k_cdt_insert_root(k_slot_t *slot);
/* Does the slot have CDT descendants? */
bool k_cdt_has_children(const k_slot_t *slot);
/* The next descendant of `slot` in pre-order, or NULL. */
k_slot_t *k_cdt_first_child(const k_slot_t *slot);
/* Remove `slot` from the list; its descendants move up one level. Clears the cap. */
void k_cdt_remove(k_slot_t *slot);
/* Move the cap and its CDT position from `src` to the empty `dst`. */
void k_cdt_move(k_slot_t *src, k_slot_t *dst);
/* Do two caps refer to the same object (so that deleting one is not final)? */
bool k_cap_same_object(const k_cap_t *a, const k_cap_t *b);
/* Is this the last capability to its object? */
bool k_cdt_is_final(const k_slot_t *slot);
/* The list head (for debugging / tests). */
k_slot_t *k_cdt_head(void);
void k_cdt_reset(void);

#endif /* KERNEL_CDT_H */
