/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * I/O APIC redirection table entry layout, as a pure function (host-tested). Two formats:
 *  - compatibility (82093AA datasheet 3.2.4): destination APIC ID in bits 63:56;
 *  - remappable (Intel VT-d spec 5.1.5.1): bit 48 Interrupt Format = 1, interrupt_index[14:0]
 *    in bits 63:49, interrupt_index[15] in bit 11, delivery mode 10:8 = 000b. The vector field
 *    must still carry the IRTE's vector: the I/O APIC matches EOIs of level-triggered lines on it.
 * Trigger mode, polarity and mask are the same bits in both formats. An I/O APIC turns bits
 * 63:48 into MSI address bits 19:4 and bit 11 into address bit 2, i.e. the remappable MSI
 * address (handle 19:5, format bit 4, SHV bit 3 = 0, handle[15] bit 2).
 */
#ifndef PLAT_IOAPIC_H
#define PLAT_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define K_IOAPIC_RTE_VECTOR_MASK 0xFFull       /* 7:0 Interrupt Vector */
#define K_IOAPIC_RTE_INDEX15 (1ull << 11)      /* remappable: interrupt_index[15] */
#define K_IOAPIC_RTE_ACTIVE_LOW (1ull << 13)   /* Interrupt Input Pin Polarity: low */
#define K_IOAPIC_RTE_LEVEL (1ull << 15)        /* Trigger Mode: level */
#define K_IOAPIC_RTE_MASKED (1ull << 16)       /* Interrupt Mask */
#define K_IOAPIC_RTE_FORMAT_REMAP (1ull << 48) /* VT-d Interrupt Format: remappable */
#define K_IOAPIC_RTE_INDEX_SHIFT 49            /* remappable: interrupt_index[14:0] */
#define K_IOAPIC_RTE_INDEX_LOW_MASK 0x7FFFu    /* interrupt_index[14:0] */
#define K_IOAPIC_INDEX_BIT15 0x8000u           /* interrupt_index[15] (-> RTE bit 11) */
#define K_IOAPIC_RTE_DEST_SHIFT 56             /* compatibility: Destination Field */
#define K_IOAPIC_RTE_DEST_MASK 0xFFull         /* physical APIC ID, 8 bits */

/*
 * The redirection table entry for `vector` (fixed delivery, physical destination). remap: the
 * remappable format with IRTE `index` (16 bits, PC_IRQ_REMAP_INDEX_MAX; `dest` ignored); otherwise
 * the compatibility format to local APIC `dest` (`index` ignored). Low word = bits 31:0.
 */
static inline uint64_t k_ioapic_rte_encode(unsigned vector, bool level, bool active_low,
                                           bool masked, bool remap, uint32_t index, uint32_t dest)
{
    uint64_t rte = (vector & K_IOAPIC_RTE_VECTOR_MASK) | (level ? K_IOAPIC_RTE_LEVEL : 0) |
                   (active_low ? K_IOAPIC_RTE_ACTIVE_LOW : 0) | (masked ? K_IOAPIC_RTE_MASKED : 0);
    if (remap) {
        rte |= K_IOAPIC_RTE_FORMAT_REMAP;
        rte |= (uint64_t)(index & K_IOAPIC_RTE_INDEX_LOW_MASK) << K_IOAPIC_RTE_INDEX_SHIFT;
        rte |= (index & K_IOAPIC_INDEX_BIT15) ? K_IOAPIC_RTE_INDEX15 : 0;
    } else {
        rte |= (dest & K_IOAPIC_RTE_DEST_MASK) << K_IOAPIC_RTE_DEST_SHIFT;
    }
    return rte;
}

#endif /* PLAT_IOAPIC_H */
