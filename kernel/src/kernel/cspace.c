/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Capability spaces: slot lookup, derivation, deletion with object finalisation, and revoke.
 *
 * Deleting the last capability to an object destroys it. Destroying a CNode means deleting every
 * capability inside it, which can destroy further CNodes: instead of recursing (unbounded kernel
 * stack), dying CNodes are put on a list threaded through their reserved slot 0 and emptied one
 * by one by the outermost delete. One delete is not preemptible (a dying CNode has no cap left to
 * keep its memory from being retyped, so it must be empty before the delete returns); a revoke is
 * preemptible between the descendants it deletes.
 */
#include <arch/machine.h>

static k_slot_t *dying_cnodes;
static bool draining;

k_slot_t *k_cnode_slot(const k_cap_t *cnode, uint64_t index)
{
    return (k_slot_t *)cnode->obj + index;
}

void k_cap_derive(k_slot_t *parent, k_slot_t *dst, k_cap_t cap)
{
    dst->cap = cap;
    k_cdt_insert_child(parent, dst);
}

static void finalise(k_cap_t cap)
{
    switch (cap.type) {
    case PC_OBJ_ENDPOINT:
        k_endpoint_cancel_all((k_endpoint_t *)cap.obj);
        break;
    case PC_OBJ_NOTIFICATION:
        k_ntfn_cancel_all((k_notification_t *)cap.obj);
        break;
    case PC_OBJ_TCB: {
        k_tcb_t *t = (k_tcb_t *)cap.obj;
        k_cpu_t *cpu = k_cpu();
        k_thread_suspend(t);
        if (t->bound_ntfn) {
            t->bound_ntfn->bound = NULL;
            t->bound_ntfn = NULL;
        }
        for (unsigned i = 0; i < K_TCB_SLOTS; i++) {
            if (!k_slot_empty(&t->slot[i])) {
                k_cap_delete(&t->slot[i]);
            }
        }
        if (cpu->loaded == t) {
            cpu->loaded = &cpu->idle;
        }
        k_fpu_forget(t); /* its FPU registers belong to nobody now */
        break;
    }
    case PC_OBJ_CNODE: {
        k_slot_t *hdr = (k_slot_t *)cap.obj; /* slot 0: never holds a cap */
        hdr->cap.obj = (uint64_t)dying_cnodes;
        hdr->cap.size_bits = cap.size_bits;
        dying_cnodes = hdr;
        break;
    }
    case PC_OBJ_VSPACE:
        k_vspace_destroyed(&cap);
        break;
    case PC_CAP_IRQ_HANDLER:
        k_irq_handler_final(cap.aux);
        break;
    default:
        break;
    }
}

/* A cap left a TCB's internal slot: the thread may no longer be able to run. */
static void tcb_slot_emptied(k_slot_t *slot)
{
    k_tcb_t *t = slot->owner;
    if (slot->owner_index == K_TCB_VSPACE) {
        t->vspace_pa = k_kernel_pml4_pa;
    }
    if (slot->owner_index == K_TCB_VSPACE || slot->owner_index == K_TCB_CSPACE) {
        if (t->state != K_TS_INACTIVE) {
            k_thread_suspend(t);
        }
    }
}

static void delete_one(k_slot_t *slot)
{
    if (k_slot_empty(slot)) {
        return;
    }
    k_preempt_work(1);
    k_cap_t cap = slot->cap;
    if (cap.type == PC_CAP_REPLY) {
        k_reply_cap_deleted(slot);
    }
    bool final = k_cdt_is_final(slot);
    k_unmap_cap(&slot->cap);
    k_cdt_remove(slot);
    if (slot->owner) {
        tcb_slot_emptied(slot);
    }
    if (final) {
        finalise(cap);
    }
}

void k_cap_delete(k_slot_t *slot)
{
    if (draining) {
        delete_one(slot);
        return;
    }
    draining = true;
    delete_one(slot);
    while (dying_cnodes) {
        k_slot_t *hdr = dying_cnodes;
        dying_cnodes = (k_slot_t *)hdr->cap.obj;
        uint64_t n = 1ull << hdr->cap.size_bits;
        hdr->cap = (k_cap_t){0};
        for (uint64_t i = 1; i < n; i++) {
            delete_one(&hdr[i]);
        }
    }
    draining = false;
}

/*
 * Preemptible between two descendants: each k_cap_delete leaves the CDT and every object
 * consistent, and the revoke started again deletes the descendants that are left (or were added
 * meanwhile by a thread holding the parent): it is done when the parent has no children.
 */
int k_cap_revoke(k_slot_t *slot)
{
    while (!k_slot_empty(slot) && k_cdt_has_children(slot)) {
        k_cap_delete(slot->next);
        if (k_preemption_point()) {
            return K_RESTART;
        }
    }
    return PC_OK;
}
