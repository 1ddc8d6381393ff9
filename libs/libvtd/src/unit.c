/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit bring-up: probe, root table pointer, fault and invalidation event interrupts,
 * write-buffer flush, register-based invalidation and translation enable. The top of the
 * invalidation stack: enabling translation submits a batch (batch.c, qi.c); nothing below calls
 * back into this file. The handshakes themselves are in gcmd.c, the queue's enable in qi.c.
 */
#include "gcmd.h"
#include "mem.h"

#include <string.h>

#define VTD_DEFAULT_TIMEOUT_NS 1000000000ull /* 1 s, as Xen's invalidation timeout */

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
    enum vtd_err e = vtd_gcmd_one_shot(u, VTD_GCMD_SRTP, VTD_GSTS_RTPS);
    if (e == VTD_OK) {
        u->tables_set = true;
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
    return vtd_gcmd_handshake(u, VTD_GCMD_WBF, VTD_GSTS_WBFS, false);
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
    e = vtd_gcmd_set(u, VTD_GCMD_TE, true);
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
    enum vtd_err e = vtd_gcmd_set(u, VTD_GCMD_TE, false);
    if (e == VTD_OK) {
        u->te_on = false;
    }
    return e;
}
