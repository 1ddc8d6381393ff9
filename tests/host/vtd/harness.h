/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared set-up for the model-backed libvtd tests: a model unit brought up the way the IOMMU
 * server does it (probe, root table, QI, fault event, translation on), plus helpers to DMA and
 * to inspect the descriptors the model executed.
 */
#ifndef VTD_HARNESS_H
#define VTD_HARNESS_H

#include <string.h>

#include <vtd/vtd.h>
#include <vtd_model.h>

#include "vt.h"

/* Built twice: with table counts in ignored entry bits (the default) and without. */
#ifndef RIG_NO_SW_BITS
#define RIG_NO_SW_BITS false
#endif

#define SM_ECAP                                                                                    \
    (0x0000000000f00f5eull | VTD_ECAP_SMTS | VTD_ECAP_SLTS | VTD_ECAP_PASID | (19ull << 35) |      \
     VTD_ECAP_PRS)

struct rig {
    struct vtd_model *m;
    const struct vtd_hw *hw;
    struct vtd_unit u;
    struct vtd_domain d;
};

/* Bring a unit up; returns false (with a CHECK failure) if any step failed. */
static inline bool rig_up(struct rig *r, const struct vtd_model_config *mc,
                          const struct vtd_unit_config *uc)
{
    r->m = vtd_model_create(mc);
    CHECK(r->m != NULL);
    if (!r->m) {
        return false;
    }
    r->hw = vtd_model_hw(r->m);
    struct vtd_unit_config c = uc ? *uc : (struct vtd_unit_config){0};
    c.no_sw_bits = RIG_NO_SW_BITS;
    enum vtd_err e = vtd_unit_probe(&r->u, r->hw, &c);
    CHECK_ERR(e, VTD_OK);
    if (e != VTD_OK) {
        return false;
    }
    CHECK_ERR(e = vtd_unit_set_root_table(&r->u), VTD_OK);
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_unit_enable_qi(&r->u), VTD_OK);
    }
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_unit_fault_event_setup(&r->u, 0xfee00000, 0x41), VTD_OK);
    }
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_unit_qi_event_setup(&r->u, 0xfee00000, 0x42), VTD_OK);
    }
    if (e == VTD_OK) {
        CHECK_ERR(e = vtd_unit_enable_translation(&r->u), VTD_OK);
    }
    return e == VTD_OK;
}

static inline void rig_down(struct rig *r)
{
    if (r->m) {
        vtd_model_destroy(r->m);
        r->m = NULL;
    }
}

/* Buffers for DMA live in the lower half of simulated memory (the model allocates the upper). */
#define BUF_PA(n) (0x100000ull + (uint64_t)(n)*0x1000ull)

static inline int dma_read(struct rig *r, uint16_t sid, uint32_t pasid, uint64_t iova,
                           uint32_t *val)
{
    return vtd_model_dma(r->m, sid, pasid, iova, val, sizeof(*val), false);
}

static inline void poke(struct rig *r, uint64_t pa, uint32_t v)
{
    uint32_t *p = vtd_model_phys(r->m, pa, 4);
    if (p) {
        *p = v;
    }
}

/* How many executed descriptors of `type` (and, for device-TLB types, of sid) the log has. */
static inline unsigned log_count(struct rig *r, unsigned type, int sid)
{
    static struct vtd_model_desc_log log[4096];
    size_t n = vtd_model_desc_log(r->m, log, 4096);
    unsigned c = 0;
    for (size_t i = 0; i < n; i++) {
        if (VTD_DESC_TYPE_GET(log[i].qw[0]) != type) {
            continue;
        }
        if (sid >= 0 && type == VTD_DESC_DEVTLB &&
            VTD_DESC_DEVTLB_SID_GET(log[i].qw[0]) != (uint16_t)sid) {
            continue;
        }
        if (sid >= 0 && type == VTD_DESC_PDEVTLB &&
            VTD_DESC_PDEVTLB_SID_GET(log[i].qw[0]) != (uint16_t)sid) {
            continue;
        }
        c++;
    }
    return c;
}

#endif /* VTD_HARNESS_H */
