/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One batch operation to one invalidation descriptor (VT-d 6.5.2): a (possibly merged) range
 * becomes the smallest aligned block that covers it, or the next broader granularity where the
 * unit's MAMV/MHMV or the descriptor format cannot express that block. Pure: no unit state is
 * changed and no other libvtd file is called. Inline: the submission path (qi.c) encodes every
 * descriptor it writes with it.
 */
#ifndef VTD_QI_DESC_H
#define VTD_QI_DESC_H

#include "batch.h"

/* The descriptor for op on unit u (128- or 256-bit layout is the ring's business). */
static inline struct vtd_desc vtd_op_encode(const struct vtd_unit *u, const struct vtd_op *op)
{
    uint64_t size = op->end - op->start;
    switch (op->kind) {
    case VTD_OP_IOTLB_GLOBAL:
        return vtd_desc_iotlb(VTD_G_GLOBAL, 0, 0, 0, false);
    case VTD_OP_IOTLB_DOMAIN:
        return vtd_desc_iotlb(VTD_G_DOMAIN, op->did, 0, 0, false);
    case VTD_OP_IOTLB_RANGE: {
        unsigned am = vtd_cover_order(op->start, size);
        if (!u->f.psi || am > u->f.mamv) {
            return vtd_desc_iotlb(VTD_G_DOMAIN, op->did, 0, 0, false);
        }
        uint64_t base = op->start & ~((VTD_PAGE_SIZE << am) - 1);
        return vtd_desc_iotlb(VTD_G_PAGE, op->did, base, am, op->flags & VTD_OPF_IH);
    }
    case VTD_OP_CC_GLOBAL:
        return vtd_desc_cc(VTD_G_GLOBAL, 0, 0, 0);
    case VTD_OP_CC_DOMAIN:
        return vtd_desc_cc(VTD_G_DOMAIN, op->did, 0, 0);
    case VTD_OP_CC_DEVICE:
        return vtd_desc_cc(VTD_G_PAGE, op->did, op->sid, 0);
    case VTD_OP_DEVTLB: {
        unsigned order = op->end == VTD_ALL_END ? 64 : vtd_cover_order(op->start, size);
        return vtd_desc_devtlb(op->sid, op->qdep_or_code, op->start, order);
    }
    case VTD_OP_PIOTLB_PASID:
        return vtd_desc_piotlb(VTD_G_PASID_ALL, op->did, op->pasid, 0, 0, false);
    case VTD_OP_PIOTLB_RANGE: {
        unsigned am = vtd_cover_order(op->start, size);
        if (am > u->f.mamv) {
            return vtd_desc_piotlb(VTD_G_PASID_ALL, op->did, op->pasid, 0, 0, false);
        }
        uint64_t base = op->start & ~((VTD_PAGE_SIZE << am) - 1);
        return vtd_desc_piotlb(VTD_G_PASID_PAGE, op->did, op->pasid, base, am, false);
    }
    case VTD_OP_PC_PASID:
        return vtd_desc_pc(VTD_G_PC_PASID, op->did, op->pasid);
    case VTD_OP_PC_DOMAIN:
        return vtd_desc_pc(VTD_G_PC_DOMAIN, op->did, 0);
    case VTD_OP_PC_GLOBAL:
        return vtd_desc_pc(VTD_G_PC_GLOBAL, 0, 0);
    case VTD_OP_PDEVTLB: {
        unsigned order = op->end == VTD_ALL_END ? 64 : vtd_cover_order(op->start, size);
        return vtd_desc_pdevtlb(op->sid, op->pasid, op->qdep_or_code, op->start, order);
    }
    case VTD_OP_IEC_GLOBAL:
        return vtd_desc_iec(true, 0, 0);
    case VTD_OP_IEC_INDEX: {
        /* Smallest aligned block of indices covering the (possibly merged) range. */
        uint64_t diff = op->start ^ (op->end - 1);
        unsigned im = diff ? 64u - (unsigned)__builtin_clzll(diff) : 0u;
        if (im > u->f.mhmv || im > 16) {
            return vtd_desc_iec(true, 0, 0);
        }
        return vtd_desc_iec(false, (uint16_t)(op->start & ~((1ull << im) - 1)), im);
    }
    case VTD_OP_PGRP_RESP:
    default:
        return vtd_desc_pgrp_resp(op->sid, op->flags & VTD_OPF_PP, op->pasid, op->prgi,
                                  op->qdep_or_code);
    }
}

#endif /* VTD_QI_DESC_H */
