/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt delivery to notifications. IRQControl hands out one IRQHandler capability per
 * interrupt source: an I/O APIC line (GSI, with trigger/polarity, ISA IRQs translated through
 * the MADT overrides) or an MSI vector (the invocation returns the address/data to program into
 * the device). An I/O APIC line is masked when it fires and unmasked by IRQHandler_Ack. Its
 * redirection entry can be in the VT-d remappable format (PC_IRQ_REMAP, IRQHandler_SetRemap): the
 * kernel only writes the IRTE index a user-level IOMMU server chose; it keeps no VT-d state.
 */
#include <arch/machine.h>
#include <kernel/string.h>
#include <portcullis/invocation.h>

enum { IRQ_FREE = 0, IRQ_IOAPIC, IRQ_MSI };

typedef struct k_irq {
    uint8_t kind;
    uint8_t level;
    uint8_t active_low;
    uint32_t gsi;
    k_notification_t *ntfn;
    uint64_t badge;
} k_irq_t;

static k_irq_t irq_table[256];

void k_irq_init(void)
{
    memset(irq_table, 0, sizeof(irq_table));
}

void k_irq_deliver(unsigned v)
{
    k_irq_t *irq = &irq_table[v & 0xFF];
    if (irq->kind == IRQ_IOAPIC) {
        k_ioapic_mask(irq->gsi, true);
    }
    k_lapic_eoi();
    if (irq->kind != IRQ_FREE && irq->ntfn != NULL) {
        k_ntfn_signal(irq->ntfn, irq->badge);
    }
}

void k_irq_handler_final(uint32_t vector)
{
    k_irq_t *irq = &irq_table[vector & 0xFF];
    if (irq->kind == IRQ_IOAPIC) {
        k_ioapic_mask(irq->gsi, true);
    }
    *irq = (k_irq_t){0};
}

void k_irq_ntfn_gone(k_notification_t *n)
{
    for (unsigned v = 0; v < 256; v++) {
        if (irq_table[v].ntfn == n) {
            irq_table[v].ntfn = NULL;
            if (irq_table[v].kind == IRQ_IOAPIC) {
                k_ioapic_mask(irq_table[v].gsi, true);
            }
        }
    }
}

static int dest_slot(k_tcb_t *t, uint64_t index, k_slot_t **out)
{
    k_slot_t *root = &t->slot[K_TCB_CSPACE];
    if (root->cap.type != PC_OBJ_CNODE) {
        return PC_ERR_FAILED_LOOKUP;
    }
    if (index == 0 || index >= (1ull << root->cap.size_bits)) {
        return PC_ERR_RANGE;
    }
    *out = k_cnode_slot(&root->cap, index);
    return k_slot_empty(*out) ? PC_OK : PC_ERR_DELETE_FIRST;
}

int k_decode_irq(k_tcb_t *t, k_slot_t *slot, uint64_t label, pc_ipc_buffer_t *buf, unsigned *nres)
{
    k_cap_t *cap = &slot->cap;
    unsigned len = pc_msginfo_length(t->ctx.rsi);
    if (cap->type == PC_CAP_IRQ_CONTROL) {
        if (label == PC_IRQ_CONTROL_GET) {
            if (len < 3) {
                return PC_ERR_TRUNCATED_MESSAGE;
            }
            uint64_t num = k_get_mr(t, buf, 0), flags = k_get_mr(t, buf, 1);
            k_slot_t *dst;
            if (flags & ~(uint64_t)(PC_IRQ_LEVEL | PC_IRQ_ACTIVE_LOW | PC_IRQ_ISA | PC_IRQ_REMAP)) {
                return PC_ERR_INVALID_ARGUMENT;
            }
            bool remap = flags & PC_IRQ_REMAP;
            uint64_t index = 0;
            if (remap) {
                if (len < 4) {
                    return PC_ERR_TRUNCATED_MESSAGE;
                }
                index = k_get_mr(t, buf, 3);
                if (index > PC_IRQ_REMAP_INDEX_MAX) {
                    return PC_ERR_RANGE;
                }
            }
            bool level = flags & PC_IRQ_LEVEL, low = flags & PC_IRQ_ACTIVE_LOW;
            uint64_t gsi = num;
            if (flags & PC_IRQ_ISA) {
                if (num >= 16) {
                    return PC_ERR_RANGE;
                }
                gsi = k_madt_isa_gsi((unsigned)num, &level, &low);
            }
            if (gsi > 0xFFFFFFFFull || !k_ioapic_gsi_valid((uint32_t)gsi)) {
                return PC_ERR_RANGE;
            }
            unsigned vector = K_VECTOR_IRQ_BASE + (unsigned)gsi;
            if (irq_table[vector].kind != IRQ_FREE) {
                return PC_ERR_REVOKE_FIRST; /* already issued */
            }
            int err = dest_slot(t, k_get_mr(t, buf, 2), &dst);
            if (err) {
                return err;
            }
            irq_table[vector] = (k_irq_t){
                .kind = IRQ_IOAPIC, .level = level, .active_low = low, .gsi = (uint32_t)gsi};
            k_ioapic_route((uint32_t)gsi, vector, level, low, true, remap, (uint32_t)index);
            k_cap_derive(
                slot, dst,
                (k_cap_t){.type = PC_CAP_IRQ_HANDLER, .aux = vector, .rights = PC_RIGHTS_ALL});
            k_set_mr(t, buf, 0, vector);
            *nres = 1;
            return PC_OK;
        }
        if (label == PC_IRQ_CONTROL_GET_MSI) {
            if (len < 1) {
                return PC_ERR_TRUNCATED_MESSAGE;
            }
            k_slot_t *dst;
            int err = dest_slot(t, k_get_mr(t, buf, 0), &dst);
            if (err) {
                return err;
            }
            unsigned vector = 0;
            for (unsigned v = K_VECTOR_MSI_FIRST; v <= K_VECTOR_MSI_LAST; v++) {
                if (irq_table[v].kind == IRQ_FREE) {
                    vector = v;
                    break;
                }
            }
            if (vector == 0) {
                return PC_ERR_NOT_ENOUGH_MEMORY;
            }
            irq_table[vector] = (k_irq_t){.kind = IRQ_MSI};
            k_cap_derive(
                slot, dst,
                (k_cap_t){.type = PC_CAP_IRQ_HANDLER, .aux = vector, .rights = PC_RIGHTS_ALL});
            /* Intel SDM Vol. 3 11.11: address 0xFEEx_xxxx with the destination APIC ID in 19:12,
             * data = vector, fixed delivery, edge. */
            k_set_mr(t, buf, 0, vector);
            k_set_mr(t, buf, 1, 0xFEE00000ull | ((uint64_t)k_lapic_id() << 12));
            k_set_mr(t, buf, 2, vector);
            *nres = 3;
            return PC_OK;
        }
        return PC_ERR_ILLEGAL_OPERATION;
    }
    /* IRQHandler */
    k_irq_t *irq = &irq_table[cap->aux & 0xFF];
    if (irq->kind == IRQ_FREE) {
        return PC_ERR_INVALID_CAPABILITY;
    }
    switch (label) {
    case PC_IRQ_HANDLER_ACK:
        if (irq->kind == IRQ_IOAPIC && irq->ntfn) {
            k_ioapic_mask(irq->gsi, false);
        }
        return PC_OK;
    case PC_IRQ_HANDLER_SET_NOTIFICATION: {
        k_slot_t *n = k_extra_cap(t, buf, 0);
        if (!n) {
            return PC_ERR_FAILED_LOOKUP;
        }
        if (n->cap.type != PC_OBJ_NOTIFICATION || !(n->cap.rights & PC_RIGHT_WRITE)) {
            return PC_ERR_INVALID_CAPABILITY;
        }
        irq->ntfn = (k_notification_t *)n->cap.obj;
        irq->badge = n->cap.w2;
        if (irq->kind == IRQ_IOAPIC) {
            k_ioapic_mask(irq->gsi, false);
        }
        return PC_OK;
    }
    case PC_IRQ_HANDLER_CLEAR:
        irq->ntfn = NULL;
        if (irq->kind == IRQ_IOAPIC) {
            k_ioapic_mask(irq->gsi, true);
        }
        return PC_OK;
    case PC_IRQ_HANDLER_SET_REMAP: {
        if (pc_msginfo_length(t->ctx.rsi) < 1) {
            return PC_ERR_TRUNCATED_MESSAGE;
        }
        if (irq->kind != IRQ_IOAPIC) {
            return PC_ERR_ILLEGAL_OPERATION; /* an MSI has no redirection entry */
        }
        uint64_t index = k_get_mr(t, buf, 0);
        if (index > PC_IRQ_REMAP_INDEX_MAX) {
            return PC_ERR_RANGE;
        }
        k_ioapic_set_remap(irq->gsi, (unsigned)(cap->aux & 0xFF), irq->level, irq->active_low,
                           (uint32_t)index);
        return PC_OK;
    }
    default:
        return PC_ERR_ILLEGAL_OPERATION;
    }
}
