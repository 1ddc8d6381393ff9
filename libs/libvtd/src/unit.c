/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit bring-up and the global command/status handshakes (VT-d 10.4.4, 10.4.5): probe, root
 * table pointer, queued invalidation, fault and invalidation event interrupts, translation
 * enable, write-buffer flush and register-based invalidation. GCMD is write-only, so the unit
 * keeps its own copy of the persistent enable bits and writes every one-shot command together
 * with them. Every handshake polls GSTS against a deadline.
 */
#include "internal.h"

#include <string.h>

#define VTD_DEFAULT_TIMEOUT_NS 1000000000ull /* 1 s, as Xen's invalidation timeout */
#define VTD_GCMD_PERSISTENT                                                                        \
    (VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI | VTD_GCMD_EAFL)

void *vtd_alloc_table(struct vtd_unit *u, uint64_t *pa)
{
    void *va = u->hw->alloc_page(u->hw->ctx, pa);
    if (va && (*pa & (VTD_PAGE_SIZE - 1))) {
        /* An accessor that breaks its contract must not corrupt tables. */
        u->hw->free_page(u->hw->ctx, va, *pa);
        return NULL;
    }
    return va;
}

enum vtd_err vtd_alloc_contiguous(struct vtd_unit *u, unsigned pages, void **va_out,
                                  uint64_t *pa_out)
{
    /* The accessor hands out single pages: allocate one by one and insist that each follows the
       previous one both physically and in the CPU's view (queues are one contiguous region). */
    uint64_t pa0 = 0;
    void *va0 = NULL;
    for (unsigned i = 0; i < pages; i++) {
        uint64_t pa;
        void *va = vtd_alloc_table(u, &pa);
        bool contiguous = va && (i == 0 || (pa == pa0 + i * VTD_PAGE_SIZE &&
                                            (char *)va == (char *)va0 + i * VTD_PAGE_SIZE));
        if (!contiguous) {
            if (va) {
                u->hw->free_page(u->hw->ctx, va, pa);
            }
            vtd_free_contiguous(u, i, va0, pa0);
            return va ? VTD_ERR_UNSUPPORTED : VTD_ERR_NOMEM;
        }
        if (i == 0) {
            pa0 = pa;
            va0 = va;
        }
    }
    *va_out = va0;
    *pa_out = pa0;
    return VTD_OK;
}

void vtd_free_contiguous(struct vtd_unit *u, unsigned pages, void *va, uint64_t pa)
{
    for (unsigned j = 0; j < pages; j++) {
        u->hw->free_page(u->hw->ctx, (char *)va + j * VTD_PAGE_SIZE, pa + j * VTD_PAGE_SIZE);
    }
}

/* Issue a GCMD command and wait for GSTS to reflect it: `want` set (or clear) in GSTS. */
static enum vtd_err gcmd_handshake(struct vtd_unit *u, uint32_t cmd_bits, uint32_t sts_bit,
                                   bool want_set)
{
    wr32(u, VTD_GCMD_REG, (u->gcmd & VTD_GCMD_PERSISTENT) | cmd_bits);
    uint64_t deadline = deadline_after(u, 0);
    for (;;) {
        uint32_t sts = rd32(u, VTD_GSTS_REG);
        if (((sts & sts_bit) != 0) == want_set) {
            return VTD_OK;
        }
        if (deadline_passed(u, deadline)) {
            u->stats.timeouts++;
            return VTD_ERR_TIMEOUT;
        }
        relax(u);
    }
}

/* Set or clear a persistent GCMD bit and wait for its status twin (same bit position). */
static enum vtd_err gcmd_set(struct vtd_unit *u, uint32_t bit, bool on)
{
    uint32_t old = u->gcmd;
    u->gcmd = on ? (u->gcmd | bit) : (u->gcmd & ~bit);
    enum vtd_err e = gcmd_handshake(u, 0, bit, on);
    if (e != VTD_OK) {
        u->gcmd = old;
    }
    return e;
}

/* For the other sources (interrupt remapping): the same two handshakes. */
enum vtd_err vtd_gcmd_one_shot(struct vtd_unit *u, uint32_t cmd_bit, uint32_t sts_bit)
{
    return gcmd_handshake(u, cmd_bit, sts_bit, true);
}

enum vtd_err vtd_gcmd_set(struct vtd_unit *u, uint32_t bit, bool on)
{
    return gcmd_set(u, bit, on);
}

static bool hw_complete(const struct vtd_hw *hw)
{
    return hw && hw->read32 && hw->read64 && hw->write32 && hw->write64 && hw->alloc_page &&
           hw->free_page && hw->phys_to_virt && hw->flush_cache && hw->now_ns && hw->relax;
}

enum vtd_err vtd_unit_probe(struct vtd_unit *u, const struct vtd_hw *hw,
                            const struct vtd_unit_config *cfg)
{
    if (!u || !hw_complete(hw)) {
        return VTD_ERR_INVAL;
    }
    struct vtd_unit_config c = cfg ? *cfg : (struct vtd_unit_config){0};
    if (c.qi_order > 7 || c.prq_order > 7 ||
        (c.mode != VTD_MODE_LEGACY && c.mode != VTD_MODE_SCALABLE)) {
        return VTD_ERR_INVAL;
    }
    if (!c.timeout_ns) {
        c.timeout_ns = VTD_DEFAULT_TIMEOUT_NS;
    }
    memset(u, 0, sizeof(*u));
    u->hw = hw;
    uint64_t cap = hw->read64(hw->ctx, VTD_CAP_REG);
    uint64_t ecap = hw->read64(hw->ctx, VTD_ECAP_REG);
    enum vtd_err e = vtd_features_decode(cap, ecap, &u->f);
    u->f.version = hw->read32(hw->ctx, VTD_VER_REG) & 0xff;
    if (e != VTD_OK) {
        return e;
    }
    if (c.mode == VTD_MODE_SCALABLE) {
        if (!u->f.smts || !u->f.slts) {
            return VTD_ERR_UNSUPPORTED;
        }
        c.qi_256 = true; /* PASID-granular descriptors need the 256-bit format */
        /* Scalable-mode page walks snoop only with SMPWC; treat the walker as non-coherent. */
        u->f.coherent = u->f.smpwc;
    }
    if (c.qi_256 && !u->f.smts) {
        return VTD_ERR_UNSUPPORTED;
    }
    u->cfg = c;
    /* Firmware may have left translation or QI on: adopt its enable bits so we never drop them
     * by accident when writing GCMD. */
    uint32_t gsts = hw->read32(hw->ctx, VTD_GSTS_REG);
    u->gcmd = gsts & VTD_GCMD_PERSISTENT;
    u->probed = true;
    return VTD_OK;
}

enum vtd_err vtd_unit_set_root_table(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (u->te_on) {
        return VTD_ERR_STATE;
    }
    if (!u->root_va) {
        u->root_va = vtd_alloc_table(u, &u->root_pa);
        if (!u->root_va) {
            return VTD_ERR_NOMEM;
        }
        flush(u, u->root_va, VTD_PAGE_SIZE);
    }
    uint64_t ttm =
        u->cfg.mode == VTD_MODE_SCALABLE ? VTD_RTADDR_TTM_SCALABLE : VTD_RTADDR_TTM_LEGACY;
    wr64(u, VTD_RTADDR_REG, u->root_pa | ttm);
    enum vtd_err e = gcmd_handshake(u, VTD_GCMD_SRTP, VTD_GSTS_RTPS, true);
    if (e == VTD_OK) {
        u->tables_set = true;
    }
    return e;
}

enum vtd_err vtd_unit_enable_qi(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->f.qi) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (u->qi_on) {
        return VTD_OK;
    }
    if (rd32(u, VTD_GSTS_REG) & VTD_GSTS_QIES) {
        /* Left on by firmware with a queue we do not own: turn it off first (bounded). */
        enum vtd_err e = gcmd_set(u, VTD_GCMD_QIE, false);
        if (e != VTD_OK) {
            return e;
        }
    }
    unsigned pages = 1u << u->cfg.qi_order;
    if (!u->iq_va) {
        void *va0;
        uint64_t pa0;
        enum vtd_err e = vtd_alloc_contiguous(u, pages, &va0, &pa0);
        if (e != VTD_OK) {
            return e;
        }
        u->status_va = vtd_alloc_table(u, &u->status_pa);
        if (!u->status_va) {
            vtd_free_contiguous(u, pages, va0, pa0);
            return VTD_ERR_NOMEM;
        }
        u->iq_va = va0;
        u->iq_pa = pa0;
    }
    u->iq_shift = u->cfg.qi_256 ? 5 : 4;
    u->iq_entries = (uint32_t)(pages * VTD_PAGE_SIZE) >> u->iq_shift;
    u->iq_tail = 0;
    u->iq_head_seen = 0;
    u->n_inflight = 0;
    wr64(u, VTD_IQT_REG, 0);
    wr64(u, VTD_IQA_REG, u->iq_pa | (u->cfg.qi_256 ? VTD_IQA_DW : 0) | VTD_IQA_QS(u->cfg.qi_order));
    enum vtd_err e = gcmd_set(u, VTD_GCMD_QIE, true);
    if (e == VTD_OK) {
        u->qi_on = true;
    }
    return e;
}

enum vtd_err vtd_unit_disable_qi(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->qi_on) {
        return VTD_OK;
    }
    if (u->ir_on) {
        return VTD_ERR_STATE; /* the interrupt entry cache can only be invalidated by the queue */
    }
    /* VT-d 6.5.2: let the hardware consume what is queued before turning the queue off. */
    uint64_t deadline = deadline_after(u, 0);
    while ((rd64(u, VTD_IQH_REG) & VTD_IQ_QH_MASK) != (rd64(u, VTD_IQT_REG) & VTD_IQ_QH_MASK)) {
        if (rd32(u, VTD_FSTS_REG) & (VTD_FSTS_IQE | VTD_FSTS_ITE)) {
            break; /* the queue is stopped on an error; disabling is how we recover */
        }
        if (deadline_passed(u, deadline)) {
            u->stats.timeouts++;
            return VTD_ERR_TIMEOUT;
        }
        relax(u);
    }
    enum vtd_err e = gcmd_set(u, VTD_GCMD_QIE, false);
    if (e == VTD_OK) {
        u->qi_on = false;
        u->n_inflight = 0;
    }
    return e;
}

static enum vtd_err event_setup(struct vtd_unit *u, uint32_t ctl, uint32_t data_reg,
                                uint32_t addr_reg, uint32_t uaddr_reg, uint64_t addr, uint32_t data)
{
    if (!u || !u->probed || (addr & 3)) {
        return VTD_ERR_INVAL;
    }
    wr32(u, ctl, VTD_FECTL_IM); /* masked while reprogramming */
    wr32(u, data_reg, data);
    wr32(u, addr_reg, (uint32_t)addr);
    wr32(u, uaddr_reg, (uint32_t)(addr >> 32));
    wr32(u, ctl, 0);
    return VTD_OK;
}

enum vtd_err vtd_unit_fault_event_setup(struct vtd_unit *u, uint64_t msi_addr, uint32_t msi_data)
{
    return event_setup(u, VTD_FECTL_REG, VTD_FEDATA_REG, VTD_FEADDR_REG, VTD_FEUADDR_REG, msi_addr,
                       msi_data);
}

enum vtd_err vtd_unit_qi_event_setup(struct vtd_unit *u, uint64_t msi_addr, uint32_t msi_data)
{
    return event_setup(u, VTD_IECTL_REG, VTD_IEDATA_REG, VTD_IEADDR_REG, VTD_IEUADDR_REG, msi_addr,
                       msi_data);
}

enum vtd_err vtd_prq_event_setup(struct vtd_unit *u, uint64_t msi_addr, uint32_t msi_data)
{
    if (u && u->probed && !u->f.prs) {
        return VTD_ERR_UNSUPPORTED;
    }
    return event_setup(u, VTD_PECTL_REG, VTD_PEDATA_REG, VTD_PEADDR_REG, VTD_PEUADDR_REG, msi_addr,
                       msi_data);
}

enum vtd_err vtd_unit_flush_write_buffer(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->f.rwbf) {
        return VTD_OK;
    }
    return gcmd_handshake(u, VTD_GCMD_WBF, VTD_GSTS_WBFS, false);
}

static enum vtd_err reg_wait_clear(struct vtd_unit *u, uint32_t off, uint64_t bit)
{
    uint64_t deadline = deadline_after(u, 0);
    while (rd64(u, off) & bit) {
        if (deadline_passed(u, deadline)) {
            u->stats.timeouts++;
            return VTD_ERR_TIMEOUT;
        }
        relax(u);
    }
    return VTD_OK;
}

enum vtd_err vtd_unit_reg_invalidate_global(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    /* With QI on, hardware ignores CCMD/IOTLB writes and ICC/IVT never clear (QEMU.md). */
    if (u->qi_on || (rd32(u, VTD_GSTS_REG) & VTD_GSTS_QIES)) {
        return VTD_ERR_STATE;
    }
    enum vtd_err e = reg_wait_clear(u, VTD_CCMD_REG, VTD_CCMD_ICC);
    if (e != VTD_OK) {
        return e;
    }
    wr64(u, VTD_CCMD_REG, VTD_CCMD_ICC | VTD_CCMD_CIRG_GLOBAL);
    e = reg_wait_clear(u, VTD_CCMD_REG, VTD_CCMD_ICC);
    if (e != VTD_OK) {
        return e;
    }
    uint32_t iotlb = u->f.iro + VTD_IOTLB_OFF;
    wr64(u, iotlb,
         VTD_IOTLB_IVT | VTD_IOTLB_IIRG_GLOBAL | (u->f.cap & VTD_CAP_DRD ? VTD_IOTLB_DR : 0) |
             (u->f.cap & VTD_CAP_DWD ? VTD_IOTLB_DW : 0));
    return reg_wait_clear(u, iotlb, VTD_IOTLB_IVT);
}

enum vtd_err vtd_unit_enable_translation(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->tables_set) {
        return VTD_ERR_STATE;
    }
    enum vtd_err e;
    if (u->qi_on) {
        struct vtd_batch b;
        vtd_batch_init(&b, u);
        vtd_batch_add_cc_global(&b);
        if (u->cfg.mode == VTD_MODE_SCALABLE) {
            vtd_batch_add_pasid_cache_global(&b);
        }
        vtd_batch_add_iotlb_global(&b);
        e = vtd_batch_submit(&b, 0);
    } else {
        e = vtd_unit_reg_invalidate_global(u);
    }
    if (e != VTD_OK) {
        return e;
    }
    e = vtd_unit_flush_write_buffer(u);
    if (e != VTD_OK) {
        return e;
    }
    e = gcmd_set(u, VTD_GCMD_TE, true);
    if (e == VTD_OK) {
        u->te_on = true;
    }
    return e;
}

enum vtd_err vtd_unit_disable_translation(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    enum vtd_err e = gcmd_set(u, VTD_GCMD_TE, false);
    if (e == VTD_OK) {
        u->te_on = false;
    }
    return e;
}

void vtd_unit_fence(struct vtd_unit *u, uint16_t sid)
{
    u->fenced[sid / 64] |= 1ull << (sid % 64);
}

void vtd_unit_unfence(struct vtd_unit *u, uint16_t sid)
{
    u->fenced[sid / 64] &= ~(1ull << (sid % 64));
}

bool vtd_unit_is_fenced(const struct vtd_unit *u, uint16_t sid)
{
    if (u->fenced[sid / 64] & (1ull << (sid % 64))) {
        return true;
    }
    return u->cfg.fenced && u->cfg.fenced(u->cfg.fenced_ctx, sid);
}
