/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CAP_REG / ECAP_REG decoding into struct vtd_features (VT-d 11.4.2, 11.4.3). Kept separate
 * from probing so the decoder can be unit-tested and fuzzed on raw register values.
 */
#include <vtd/vtd.h>

enum vtd_err vtd_features_decode(uint64_t cap, uint64_t ecap, struct vtd_features *f)
{
    if (!f) {
        return VTD_ERR_INVAL;
    }
    *f = (struct vtd_features){0};
    f->cap = cap;
    f->ecap = ecap;
    f->nd_bits = 4 + 2 * (unsigned)VTD_CAP_ND(cap);
    if (f->nd_bits > 16) {
        f->nd_bits = 16;
    }
    f->sagaw = (unsigned)VTD_CAP_SAGAW(cap);
    f->mgaw = (unsigned)VTD_CAP_MGAW(cap) + 1;
    if (f->sagaw & VTD_SAGAW_39) {
        f->min_levels = 3;
        f->max_levels = 3;
    }
    if (f->sagaw & VTD_SAGAW_48) {
        if (!f->min_levels) {
            f->min_levels = 4;
        }
        f->max_levels = 4;
    }
    f->fro = (uint32_t)VTD_CAP_FRO(cap) * 16;
    f->nfr = (unsigned)VTD_CAP_NFR(cap) + 1;
    f->iro = (uint32_t)VTD_ECAP_IRO(ecap) * 16;
    f->psi = (cap & VTD_CAP_PSI) != 0;
    f->mamv = (unsigned)VTD_CAP_MAMV(cap);
    f->sp_2m = (VTD_CAP_SLLPS(cap) & VTD_SLLPS_2M) != 0;
    f->sp_1g = (VTD_CAP_SLLPS(cap) & VTD_SLLPS_1G) != 0;
    f->caching_mode = (cap & VTD_CAP_CM) != 0;
    f->rwbf = (cap & VTD_CAP_RWBF) != 0;
    f->coherent = (ecap & VTD_ECAP_C) != 0;
    f->qi = (ecap & VTD_ECAP_QI) != 0;
    f->dt = (ecap & VTD_ECAP_DT) != 0;
    f->ir = (ecap & VTD_ECAP_IR) != 0;
    f->eim = (ecap & VTD_ECAP_EIM) != 0;
    f->mhmv = (unsigned)VTD_ECAP_MHMV(ecap);
    f->pt = (ecap & VTD_ECAP_PT) != 0;
    f->sc = (ecap & VTD_ECAP_SC) != 0;
    f->pasid = (ecap & VTD_ECAP_PASID) != 0;
    f->pasid_bits = f->pasid ? (unsigned)VTD_ECAP_PSS(ecap) + 1 : 0;
    f->prs = (ecap & VTD_ECAP_PRS) != 0;
    f->pds = (ecap & VTD_ECAP_PDS) != 0;
    f->ers = (ecap & VTD_ECAP_ERS) != 0;
    f->srs = (ecap & VTD_ECAP_SRS) != 0;
    f->nest = (ecap & VTD_ECAP_NEST) != 0;
    f->smts = (ecap & VTD_ECAP_SMTS) != 0;
    f->slts = (ecap & VTD_ECAP_SLTS) != 0;
    f->flts = (ecap & VTD_ECAP_FLTS) != 0;
    f->smpwc = (ecap & VTD_ECAP_SMPWCS) != 0;
    f->dit = (ecap & VTD_ECAP_DIT) != 0;

    if (!f->max_levels || f->mgaw < 30) {
        return VTD_ERR_UNSUPPORTED;
    }
    /* Fault records and the IOTLB registers sit past the architectural registers (QEMU puts
     * IVA at 0xf0) and inside a 64 KiB register window. */
    if ((uint64_t)f->fro + (uint64_t)f->nfr * VTD_FRCD_SIZE > 0x10000 || f->fro < 0xf0 ||
        (uint64_t)f->iro + 16 > 0x10000 || f->iro < 0xf0) {
        return VTD_ERR_UNSUPPORTED;
    }
    return VTD_OK;
}
