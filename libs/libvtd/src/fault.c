/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Primary fault recording (VT-d 7.2): decode the 128-bit fault records, name the reason codes,
 * and read-and-clear the records a unit holds. The reader visits at most NFR + 1 records per
 * call, so a device that keeps faulting cannot keep the server in this loop.
 */
#include "internal.h"

bool vtd_fault_decode(uint64_t lo, uint64_t hi, struct vtd_fault *out)
{
    if (!(hi & VTD_FRCD_HI_F)) {
        return false;
    }
    out->sid = (uint16_t)VTD_FRCD_HI_SID(hi);
    out->pasid_present = (hi & VTD_FRCD_HI_PP) != 0;
    out->pasid = out->pasid_present ? (uint32_t)VTD_FRCD_HI_PV(hi) : VTD_NO_PASID;
    out->addr = VTD_FRCD_LO_FI(lo);
    out->write = !(hi & VTD_FRCD_HI_T1);
    out->exec = (hi & VTD_FRCD_HI_EXE) != 0;
    out->priv = (hi & VTD_FRCD_HI_PRIV) != 0;
    out->type = ((hi & VTD_FRCD_HI_T2) ? 2u : 0u) | ((hi & VTD_FRCD_HI_T1) ? 1u : 0u);
    out->at = (unsigned)VTD_FRCD_HI_AT(hi);
    out->reason = (unsigned)VTD_FRCD_HI_FR(hi);
    /* VT-d 10.4.14: for interrupt-remapping faults FI carries the interrupt index in 63:48 and
     * bits 47:12 are clear; there is no page address. */
    out->ir = vtd_fault_is_ir(out->reason);
    out->ir_index = out->ir ? (uint16_t)VTD_FRCD_LO_IR_INDEX(lo) : 0;
    if (out->ir) {
        out->addr = 0;
    }
    return true;
}

/* VT-d 7.1.3 (legacy) and 7.1.4 (scalable mode) fault reason encodings. */
static const struct {
    uint8_t code;
    const char *name;
} reasons[] = {
    {0x01, "root entry not present"},
    {0x02, "context entry not present"},
    {0x03, "invalid context entry (translation type)"},
    {0x04, "address beyond the guest address width"},
    {0x05, "write to a page without write permission"},
    {0x06, "read from a page without read permission"},
    {0x07, "error accessing a second-level paging entry"},
    {0x08, "error accessing the root table"},
    {0x09, "error accessing a context table"},
    {0x0a, "reserved bits set in root entry"},
    {0x0b, "reserved bits set in context entry"},
    {0x0c, "reserved bits set in a paging entry"},
    {0x0d, "translation request blocked by the context entry"},
    {0x0e, "pass-through not allowed by the context entry"},
    {0x20, "interrupt: reserved bits in the request"},
    {0x21, "interrupt: index beyond the table size"},
    {0x22, "interrupt: entry not present"},
    {0x23, "interrupt: error accessing the remapping table"},
    {0x24, "interrupt: reserved bits in the remapping entry"},
    {0x25, "interrupt: compatibility format blocked"},
    {0x26, "interrupt: source-id verification failed"},
    {0x30, "SM: invalid root table address"},
    {0x31, "SM: legacy TTM for a request with PASID"},
    {0x32, "SM: legacy TTM for a page request"},
    {0x38, "SM: error accessing a root entry"},
    {0x39, "SM: root entry not present"},
    {0x3a, "SM: reserved bits set in root entry"},
    {0x40, "SM: error accessing a context entry"},
    {0x41, "SM: context entry not present"},
    {0x42, "SM: reserved bits set in context entry"},
    {0x43, "SM: invalid context entry"},
    {0x44, "SM: translation request with DTE clear"},
    {0x45, "SM: request with PASID while PASIDE is clear"},
    {0x46, "SM: PASID beyond the PASID directory size"},
    {0x47, "SM: page request with PRE clear"},
    {0x48, "SM: RID_PASID error"},
    {0x50, "SM: error accessing a PASID directory entry"},
    {0x51, "SM: PASID directory entry not present"},
    {0x52, "SM: reserved bits set in PASID directory entry"},
    {0x58, "SM: error accessing a PASID table entry"},
    {0x59, "SM: PASID table entry not present"},
    {0x5a, "SM: reserved bits set in PASID table entry"},
    {0x5b, "SM: invalid PASID table entry (PGTT)"},
    {0x5c, "SM: execute request with ERE clear"},
    {0x5d, "SM: supervisor request with SRE clear"},
    {0x60, "SM: error accessing a first-level paging entry"},
    {0x61, "SM: first-level paging entry not present"},
    {0x62, "SM: reserved bits set in a first-level paging entry"},
    {0x70, "SM: error accessing a second-level paging entry"},
    {0x71, "SM: second-level paging entry not present"},
    {0x72, "SM: reserved bits set in a second-level paging entry"},
    {0x73, "SM: invalid second-level page table pointer"},
    {0x78, "SM: non-canonical first-level address"},
    {0x79, "SM: user request to a supervisor first-level page"},
    {0x7a, "SM: execute request without execute permission"},
    {0x7b, "SM: address beyond the hardware maximum"},
    {0x7c, "SM: second-level entry address beyond the maximum"},
    {0x7d, "SM: write without write permission"},
    {0x7e, "SM: read without read permission"},
    {0x80, "SM: address translation request blocked"},
    {0x90, "SM: pass-through not allowed"},
};

bool vtd_fault_is_ir(unsigned reason)
{
    return reason >= 0x20 && reason <= 0x26;
}

const char *vtd_fault_reason_name(unsigned reason)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (reasons[i].code == reason) {
            return reasons[i].name;
        }
    }
    return "unknown fault reason";
}

enum vtd_err vtd_fault_read(struct vtd_unit *u, struct vtd_fault *out, size_t max, size_t *n,
                            bool *overflow)
{
    if (!u || !u->probed || !n || !overflow || (max && !out)) {
        return VTD_ERR_INVAL;
    }
    *n = 0;
    uint32_t fsts = rd32(u, VTD_FSTS_REG);
    *overflow = (fsts & VTD_FSTS_PFO) != 0;
    /*
     * VT-d 7.2.1: the unit fills the records circularly and software reads them in the same
     * order. FSTS.FRI names the first one only when PPF went from 0 to 1, so a read that stopped
     * at `max` with records left goes on where it stopped (fault_next), not at FRI (a record it
     * already cleared); FRI is taken when there is no such position, or the record there is empty
     * while faults are pending (the unit's own position moved, e.g. after translation was off).
     */
    unsigned idx = u->fault_cursor ? u->fault_next : (unsigned)VTD_FSTS_FRI(fsts);
    if (idx >= u->f.nfr) {
        idx = 0;
    }
    if (u->fault_cursor && (fsts & VTD_FSTS_PPF) &&
        !(rd64(u, u->f.fro + idx * VTD_FRCD_SIZE + 8) & VTD_FRCD_HI_F)) {
        idx = (unsigned)VTD_FSTS_FRI(fsts) < u->f.nfr ? (unsigned)VTD_FSTS_FRI(fsts) : 0;
    }
    /* Stop at the first record with F clear. */
    for (unsigned visited = 0; visited < u->f.nfr && *n < max; visited++) {
        uint32_t off = u->f.fro + idx * VTD_FRCD_SIZE;
        uint64_t hi = rd64(u, off + 8);
        if (!(hi & VTD_FRCD_HI_F)) {
            break;
        }
        uint64_t lo = rd64(u, off);
        vtd_fault_decode(lo, hi, &out[*n]);
        (*n)++;
        /* F is write-1-to-clear, in the top dword. */
        wr32(u, off + 12, (uint32_t)(VTD_FRCD_HI_F >> 32));
        idx = (idx + 1) % u->f.nfr;
    }
    u->fault_next = idx;
    u->fault_cursor = true;
    if (*overflow) {
        wr32(u, VTD_FSTS_REG, VTD_FSTS_PFO);
        u->stats.fault_overflows++;
    }
    u->stats.faults_read += *n;
    return VTD_OK;
}
