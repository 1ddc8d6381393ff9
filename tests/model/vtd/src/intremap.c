/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt remapping in the model (VT-d chapter 5, 9.10): the interrupt request path from a
 * DWORD write to 0xFEEx_xxxx through the interrupt remapping table latched by SIRTP, source-id
 * validation, the interrupt entry cache (IEC) that keeps a used IRTE until an IEC invalidation,
 * and interrupt-remapping fault recording (FRCD.FI bits 63:48 = interrupt index). The IEC is
 * real, so software that edits an IRTE and forgets the invalidation keeps getting the old
 * vector.
 */
#include <string.h>

#include "model_internal.h"

/* Interrupt request address (VT-d 5.1.2): bits 31:20 = 0xFEE, bit 4 = interrupt format. */
#define IRQ_ADDR_FEE(a) (((a) >> 20) == 0xfee)
#define IRQ_ADDR_REMAPPABLE (1ull << 4)
#define IRQ_ADDR_SHV (1ull << 3)
#define IRQ_ADDR_HANDLE_15 (1ull << 2)
#define IRQ_ADDR_HANDLE_LO(a) (((a) >> 5) & 0x7fff)
/* Compatibility format (xAPIC MSI): address bits 19:12 destination, bit 2 destination mode;
   data bits 7:0 vector, 10:8 delivery mode, 15 trigger mode. */
#define COMPAT_DEST(a) ((uint32_t)(((a) >> 12) & 0xff))
#define COMPAT_DM (1ull << 2)
#define COMPAT_VECTOR(d) ((uint8_t)((d)&0xff))
#define COMPAT_DLM(d) (((d) >> 8) & 7)
#define COMPAT_TM (1u << 15)

#define NO_INDEX 0xffffffffu

void vtdm_irt_latch(struct vtd_model *m)
{
    uint64_t irta = (uint64_t)m->regs[VTDM_IRTA_REG / 4] | (uint64_t)m->regs[VTDM_IRTA_REG / 4 + 1]
                                                               << 32;
    m->irt_pa = irta & VTDM_IRTA_ADDR;
    m->irt_entries = 2u << VTDM_IRTA_S(irta);
    /* EIME is reserved (treated as 0) without ECAP.EIM. */
    m->irt_eime = (irta & VTDM_IRTA_EIME) && (m->ecap & VTDM_ECAP_EIM);
    /* The model drops every cached IRTE when a new table is set. */
    vtdm_iec_invalidate(m, true, 0, 0);
}

void vtdm_iec_invalidate(struct vtd_model *m, bool global, uint32_t index, unsigned im)
{
    uint32_t count = 1u << im;
    uint32_t base = index & ~(count - 1);
    m->st.iec_invalidations++;
    for (unsigned i = 0; i < VTDM_IEC_ENTRIES; i++) {
        struct vtdm_iec_entry *e = &m->iec[i];
        if (e->valid && (global || (e->index >= base && e->index - base < count))) {
            e->valid = false;
        }
    }
}

bool vtdm_iec_page_cached(const struct vtd_model *m, uint64_t pa)
{
    for (unsigned i = 0; i < VTDM_IEC_ENTRIES; i++) {
        const struct vtdm_iec_entry *e = &m->iec[i];
        if (e->valid && ((m->irt_pa + (uint64_t)e->index * 16) & ~(VTDM_PAGE - 1)) == pa) {
            return true;
        }
    }
    return false;
}

bool vtd_model_ir_enabled(const struct vtd_model *m)
{
    return m->gsts & VTDM_GCMD_IRE;
}

static void deliver_compat(uint64_t addr, uint32_t data, struct vtd_model_irq *out)
{
    out->vector = COMPAT_VECTOR(data);
    out->dest = COMPAT_DEST(addr);
    out->level = data & COMPAT_TM;
    out->logical = addr & COMPAT_DM;
    out->delivery = COMPAT_DLM(data);
    out->remapped = false;
    out->index = 0;
}

/* VT-d 9.10: SVT 1 compares under the SQ mask, SVT 2 checks the bus range. */
static bool sid_ok(uint64_t hi, uint16_t sid)
{
    static const uint16_t sq_mask[4] = {0xffff, 0xfffb, 0xfff9, 0xfff8};
    uint16_t want = VTDM_IRTE_SID(hi);
    switch (VTDM_IRTE_SVT(hi)) {
    case 0:
        return true;
    case 1: {
        uint16_t mask = sq_mask[VTDM_IRTE_SQ(hi)];
        return (sid & mask) == (want & mask);
    }
    case 2: {
        unsigned bus = sid >> 8, start = want >> 8, end = want & 0xff;
        return bus >= start && bus <= end;
    }
    default:
        return false; /* reserved: caught as an IRTE reserved-field fault before this */
    }
}

static bool irte_reserved(const struct vtd_model *m, uint64_t lo, uint64_t hi)
{
    if ((lo & VTDM_IRTE_LO_RSVD) || (lo & VTDM_IRTE_IM) || (hi & VTDM_IRTE_HI_RSVD)) {
        return true;
    }
    if (!m->irt_eime && (lo & VTDM_IRTE_XAPIC_RSVD)) {
        return true;
    }
    return VTDM_IRTE_SVT(hi) == 3;
}

static struct vtdm_iec_entry *iec_lookup(struct vtd_model *m, uint32_t index)
{
    for (unsigned i = 0; i < VTDM_IEC_ENTRIES; i++) {
        if (m->iec[i].valid && m->iec[i].index == index) {
            return &m->iec[i];
        }
    }
    return NULL;
}

static void iec_fill(struct vtd_model *m, uint32_t index, uint64_t lo, uint64_t hi)
{
    struct vtdm_iec_entry *e = &m->iec[m->iec_next];
    m->iec_next = (m->iec_next + 1) % VTDM_IEC_ENTRIES;
    e->valid = true;
    e->index = index;
    e->lo = lo;
    e->hi = hi;
}

/* Blocks the request: records the fault (FI bits 63:48 = index; T1 = T2 = 0, a write). */
static int ir_fault(struct vtd_model *m, uint16_t sid, uint32_t index, unsigned reason, bool fpd)
{
    m->st.irq_blocked++;
    if (fpd) {
        m->st.faults_suppressed++;
        return (int)reason;
    }
    uint64_t lo = index == NO_INDEX ? 0 : (uint64_t)(index & 0xffff) << 48;
    uint64_t hi = sid | ((uint64_t)reason << VTDM_FRCD_FR_SHIFT);
    vtdm_record_fault_raw(m, lo, hi);
    return (int)reason;
}

int vtd_model_interrupt(struct vtd_model *m, uint16_t sid, uint64_t addr, uint32_t data,
                        struct vtd_model_irq *out)
{
    struct vtd_model_irq dummy;
    if (!out) {
        out = &dummy;
    }
    memset(out, 0, sizeof(*out));
    vtdm_progress(m);
    if (!(m->gsts & VTDM_GCMD_IRE)) {
        deliver_compat(addr, data, out);
        m->st.irq_delivered++;
        return 0;
    }
    if (!IRQ_ADDR_FEE(addr)) {
        return ir_fault(m, sid, NO_INDEX, VTD_MODEL_FR_IR_REQ_RSVD, false);
    }
    if (!(addr & IRQ_ADDR_REMAPPABLE)) {
        /* CFI only has meaning in xAPIC mode; with EIME set compatibility format is blocked. */
        if ((m->gsts & VTDM_GCMD_CFI) && !m->irt_eime) {
            deliver_compat(addr, data, out);
            m->st.irq_delivered++;
            return 0;
        }
        return ir_fault(m, sid, NO_INDEX, VTD_MODEL_FR_IR_COMPAT_BLOCKED, false);
    }
    uint32_t index =
        (uint32_t)IRQ_ADDR_HANDLE_LO(addr) | ((addr & IRQ_ADDR_HANDLE_15) ? 1u << 15 : 0);
    if (addr & IRQ_ADDR_SHV) {
        if (data >> 16) {
            return ir_fault(m, sid, index, VTD_MODEL_FR_IR_REQ_RSVD, false);
        }
        index += data & 0xffff;
    }
    if (index >= m->irt_entries) {
        return ir_fault(m, sid, index, VTD_MODEL_FR_IR_INDEX_OVER, false);
    }
    uint64_t lo, hi;
    struct vtdm_iec_entry *e = iec_lookup(m, index);
    if (e) {
        m->st.iec_hits++;
        lo = e->lo;
        hi = e->hi;
    } else {
        uint64_t irte[2];
        m->st.iec_misses++;
        if (!vtdm_hw_read(m, m->irt_pa + (uint64_t)index * 16, irte, 16)) {
            return ir_fault(m, sid, index, VTD_MODEL_FR_IR_ROOT_INVAL, false);
        }
        lo = irte[0];
        hi = irte[1];
        /* FPD is honoured whenever the entry could be read, as for context entries. */
        if (!(lo & VTDM_IRTE_P)) {
            return ir_fault(m, sid, index, VTD_MODEL_FR_IR_NOT_PRESENT, lo & VTDM_IRTE_FPD);
        }
        if (irte_reserved(m, lo, hi)) {
            return ir_fault(m, sid, index, VTD_MODEL_FR_IR_IRTE_RSVD, lo & VTDM_IRTE_FPD);
        }
        iec_fill(m, index, lo, hi);
    }
    if (!sid_ok(hi, sid)) {
        return ir_fault(m, sid, index, VTD_MODEL_FR_IR_SID_ERR, lo & VTDM_IRTE_FPD);
    }
    out->vector = (uint8_t)VTDM_IRTE_V(lo);
    out->dest = m->irt_eime ? VTDM_IRTE_DST(lo) : (VTDM_IRTE_DST(lo) >> 8) & 0xff;
    out->level = lo & VTDM_IRTE_TM;
    out->logical = lo & VTDM_IRTE_DM;
    out->delivery = VTDM_IRTE_DLM(lo);
    out->remapped = true;
    out->index = index;
    m->st.irq_delivered++;
    return 0;
}
