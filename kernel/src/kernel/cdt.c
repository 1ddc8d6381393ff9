/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The capability derivation tree as a depth-annotated pre-order list (see kernel/cdt.h). Pure
 * logic: the object-specific work of deleting a capability lives in cspace.c.
 */
#include <kernel/cdt.h>
#include <portcullis/types.h>

static k_slot_t cdt_head; /* sentinel; never holds a cap */

k_slot_t *k_cdt_head(void)
{
    return &cdt_head;
}

void k_cdt_reset(void)
{
    cdt_head.next = NULL;
    cdt_head.prev = NULL;
}

static void link_after(k_slot_t *pos, k_slot_t *s)
{
    s->prev = pos;
    s->next = pos->next;
    if (pos->next) {
        pos->next->prev = s;
    }
    pos->next = s;
}

void k_cdt_insert_child(k_slot_t *parent, k_slot_t *child)
{
    child->depth = parent->depth + 1;
    link_after(parent, child);
}

void k_cdt_insert_root(k_slot_t *slot)
{
    slot->depth = 0;
    link_after(&cdt_head, slot);
}

bool k_cdt_has_children(const k_slot_t *slot)
{
    return slot->next != NULL && slot->next->depth > slot->depth;
}

k_slot_t *k_cdt_first_child(const k_slot_t *slot)
{
    return k_cdt_has_children(slot) ? slot->next : NULL;
}

void k_cdt_remove(k_slot_t *slot)
{
    for (k_slot_t *d = slot->next; d != NULL && d->depth > slot->depth; d = d->next) {
        d->depth--;
    }
    if (slot->prev) {
        slot->prev->next = slot->next;
    }
    if (slot->next) {
        slot->next->prev = slot->prev;
    }
    slot->prev = NULL;
    slot->next = NULL;
    slot->depth = 0;
    slot->cap = (k_cap_t){0};
}

void k_cdt_move(k_slot_t *src, k_slot_t *dst)
{
    dst->cap = src->cap;
    dst->depth = src->depth;
    dst->prev = src->prev;
    dst->next = src->next;
    if (dst->prev) {
        dst->prev->next = dst;
    }
    if (dst->next) {
        dst->next->prev = dst;
    }
    src->prev = NULL;
    src->next = NULL;
    src->depth = 0;
    src->cap = (k_cap_t){0};
}

bool k_cap_same_object(const k_cap_t *a, const k_cap_t *b)
{
    if (a->type != b->type) {
        return false;
    }
    switch (a->type) {
    case PC_OBJ_NULL:
    case PC_OBJ_UNTYPED: /* untyped caps are never copied: each is its own region */
    case PC_CAP_IRQ_CONTROL:
    case PC_CAP_IOPORT:
    case PC_CAP_REPLY: /* unique: never copied */
        return false;
    case PC_CAP_IRQ_HANDLER:
        return a->aux == b->aux;
    default:
        return a->obj == b->obj;
    }
}

bool k_cdt_is_final(const k_slot_t *slot)
{
    if (slot->prev && slot->prev != &cdt_head && k_cap_same_object(&slot->prev->cap, &slot->cap)) {
        return false;
    }
    if (slot->next && k_cap_same_object(&slot->next->cap, &slot->cap)) {
        return false;
    }
    return true;
}
