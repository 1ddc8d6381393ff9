/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Address translation in the model: the root/context walk (legacy and scalable mode), PASID
 * directory and table, the second-level page walk (3 or 4 levels, 2 MiB / 1 GiB pages), the
 * caches that hold their results, the devices' ATCs, and primary fault recording (VT-d 7.2.1).
 * The caches are real: a translation stays cached until an invalidation covering it runs, so
 * software that forgets or misorders one sees a DMA succeed that must fault.
 */
#include <string.h>

#include "model_internal.h"

enum req_kind {
    REQ_UNTRANSLATED,   /* ordinary DMA */
    REQ_TRANSLATION,    /* ATS translation request */
    REQ_TRANSLATED,     /* ATS translated request (address from the device's ATC) */
};

struct xlate {
    uint64_t pa_base;   /* aligned to 1 << shift */
    unsigned shift;
    bool r, w;
    uint16_t did;
    uint32_t pasid_tag;
    bool cacheable;     /* pass-through results are not cached */
    uint64_t path[4];
};

/* ---------------------------------------------------------------- fault reasons */

static const struct {
    unsigned code;
    const char *name;
} reason_names[] = {
    {0x01, "root entry not present"},
    {0x02, "context entry not present"},
    {0x03, "invalid context entry programming"},
    {0x04, "address beyond MGAW/AGAW"},
    {0x05, "write to read-only page"},
    {0x06, "read from page without read permission"},
    {0x07, "error accessing paging entry"},
    {0x08, "error accessing root entry"},
    {0x09, "error accessing context entry"},
    {0x0a, "reserved field set in root entry"},
    {0x0b, "reserved field set in context entry"},
    {0x0c, "reserved field set in paging entry"},
    {0x0d, "translation request or translated request blocked by context entry"},
    {0x20, "reserved field set in interrupt request"},
    {0x21, "interrupt index beyond interrupt remapping table size"},
    {0x22, "interrupt remapping table entry not present"},
    {0x23, "error accessing interrupt remapping table entry"},
    {0x24, "reserved field set in interrupt remapping table entry"},
    {0x25, "compatibility format interrupt blocked"},
    {0x26, "interrupt request failed source-id validation"},
    {0x30, "RTA.1: invalid translation table mode"},
    {0x38, "SRT.1: error accessing scalable root entry"},
    {0x39, "SRT.2: scalable root entry not present"},
    {0x3a, "SRT.3: reserved field set in scalable root entry"},
    {0x40, "SCT.1: error accessing scalable context entry"},
    {0x41, "SCT.2: scalable context entry not present"},
    {0x42, "SCT.3: reserved field set in scalable context entry"},
    {0x43, "SCT.4: invalid scalable context entry programming"},
    {0x50, "SPD.1: error accessing PASID directory entry"},
    {0x51, "SPD.2: PASID directory entry not present"},
    {0x52, "SPD.3: reserved field set in PASID directory entry"},
    {0x58, "SPT.1: error accessing PASID table entry"},
    {0x59, "SPT.2: PASID table entry not present"},
    {0x5a, "SPT.3: reserved field set in PASID table entry"},
    {0x5b, "SPT.4: invalid PASID table entry programming"},
    {0x78, "SSS.1: error accessing second-level paging entry"},
    {0x79, "SSS.2: second-level paging entry not present"},
    {0x7a, "SSS.3: reserved field set in second-level paging entry"},
    {0x84, "SGN.5: address beyond MGAW/AGAW"},
    {0x85, "SGN.6: write to read-only page"},
    {0x86, "SGN.7: read from page without read permission"},
};

const char *vtd_model_fault_reason_name(unsigned reason)
{
    for (size_t i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++) {
        if (reason_names[i].code == reason) {
            return reason_names[i].name;
        }
    }
    return "unknown";
}

/* ---------------------------------------------------------------- fault recording */

/*
 * VT-d 7.2.1: the unit writes the record at its internal index if that record's F is clear,
 * then advances the index (wrapping at NFR). If F is still set there, the fault is dropped and
 * PFO is set. FSTS.FRI names the first record when PPF went from 0 to 1.
 */
void vtdm_record_fault_raw(struct vtd_model *m, uint64_t lo, uint64_t hi)
{
    unsigned nfr = VTDM_CAP_NFR(m->cap);
    unsigned fro = VTDM_CAP_FRO(m->cap);
    unsigned idx = m->fault_next % nfr;
    uint32_t *rec = &m->regs[(fro + idx * 16) / 4];
    if (rec[3] & (1u << 31)) {
        m->st.faults_dropped++;
        vtdm_fault_event(m, VTDM_FSTS_PFO);
        return;
    }
    bool had_ppf = false;
    for (unsigned i = 0; i < nfr; i++) {
        if (m->regs[(fro + i * 16 + 12) / 4] & (1u << 31)) {
            had_ppf = true;
        }
    }
    rec[0] = (uint32_t)lo;
    rec[1] = (uint32_t)(lo >> 32);
    rec[2] = (uint32_t)hi;
    rec[3] = (uint32_t)(hi >> 32) & ~(1u << 31);
    m->fault_next = (idx + 1) % nfr;
    m->st.faults_recorded++;
    if (!had_ppf) {
        m->fri = idx;
        /* vtdm_fault_event decides from the state before F is set. */
        vtdm_fault_event(m, VTDM_FSTS_PPF);
    }
    rec[3] |= 1u << 31;
}

void vtdm_record_fault(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t addr,
                       unsigned reason, bool write)
{
    uint64_t hi = sid | ((uint64_t)(reason & 0xff) << VTDM_FRCD_FR_SHIFT);
    if (pasid != VTD_MODEL_NO_PASID) {
        hi |= VTDM_FRCD_PP | ((uint64_t)(pasid & 0xfffff) << VTDM_FRCD_PV_SHIFT);
    }
    if (!write) {
        hi |= VTDM_FRCD_T1;
    }
    vtdm_record_fault_raw(m, addr & ~0xfffull, hi);
}

/* ---------------------------------------------------------------- context walk */

static unsigned nd_domains_bits(const struct vtd_model *m)
{
    return 4 + 2 * VTDM_CAP_ND(m->cap);
}

static int walk_context(struct vtd_model *m, uint16_t sid, struct vtdm_ctx_entry *ce)
{
    unsigned bus = sid >> 8, devfn = sid & 0xff;
    uint64_t root[2];
    memset(ce, 0, sizeof(*ce));
    ce->sid = sid;
    if (m->ttm == VTDM_TTM_LEGACY) {
        if (!vtdm_hw_read(m, m->root_pa + bus * 16, root, 16)) {
            return VTD_MODEL_FR_ROOT_ACCESS;
        }
        if (!(root[0] & 1)) {
            return VTD_MODEL_FR_ROOT_NOT_PRESENT;
        }
        if ((root[0] & 0xfff0000000000ffeull) || root[1]) {
            return VTD_MODEL_FR_ROOT_RSVD;
        }
        uint64_t ctp = root[0] & VTDM_PTE_ADDR;
        uint64_t c[2];
        if (!vtdm_hw_read(m, ctp + devfn * 16, c, 16)) {
            return VTD_MODEL_FR_CTX_ACCESS;
        }
        if (!(c[0] & 1)) {
            return VTD_MODEL_FR_CTX_NOT_PRESENT;
        }
        if ((c[0] & 0xfff0000000000ff0ull) || (c[1] & 0xffffffffff000080ull)) {
            return VTD_MODEL_FR_CTX_RSVD;
        }
        ce->did = (c[1] >> 8) & 0xffff;
        if (nd_domains_bits(m) < 16 && (ce->did >> nd_domains_bits(m))) {
            return VTD_MODEL_FR_CTX_RSVD;
        }
        ce->fpd = c[0] & 2;
        ce->tt = (c[0] >> 2) & 3;
        ce->aw = c[1] & 7;
        ce->slptptr = c[0] & VTDM_PTE_ADDR;
        if (ce->tt == 3 || (ce->tt == 1 && !(m->ecap & VTDM_ECAP_DT)) ||
            (ce->tt == 2 && !(m->ecap & VTDM_ECAP_PT))) {
            return VTD_MODEL_FR_CTX_INVALID;
        }
        if (ce->tt != 2 && (ce->aw < 1 || ce->aw > 2 || !(VTDM_CAP_SAGAW(m->cap) & (1u << ce->aw)))) {
            return VTD_MODEL_FR_CTX_INVALID;
        }
        ce->table_pa = ctp;
        ce->valid = true;
        return 0;
    }
    /* Scalable mode (VT-d 9.2, 9.4): each root entry has a lower and an upper half. */
    if (!vtdm_hw_read(m, m->root_pa + bus * 16, root, 16)) {
        return VTD_MODEL_FR_SRT_ACCESS;
    }
    uint64_t half = devfn < 128 ? root[0] : root[1];
    if (!(half & 1)) {
        return VTD_MODEL_FR_SRT_NOT_PRESENT;
    }
    if (half & 0xfff0000000000ffeull) {
        return VTD_MODEL_FR_SRT_RSVD;
    }
    uint64_t ctp = half & VTDM_PTE_ADDR;
    uint64_t c[4];
    if (!vtdm_hw_read(m, ctp + (devfn & 0x7f) * 32, c, 32)) {
        return VTD_MODEL_FR_SCT_ACCESS;
    }
    if (!(c[0] & 1)) {
        return VTD_MODEL_FR_SCT_NOT_PRESENT;
    }
    if ((c[0] & 0xfff00000000001e0ull) || (c[1] & ~0x1fffffull) || c[2] || c[3]) {
        return VTD_MODEL_FR_SCT_RSVD;
    }
    ce->scalable = true;
    ce->fpd = c[0] & 2;
    ce->dte = c[0] & 4;
    ce->paside = c[0] & 8;
    ce->pre = c[0] & 16;
    ce->pdts = (c[0] >> 9) & 7;
    ce->pasid_dir = c[0] & VTDM_PTE_ADDR;
    ce->rid_pasid = c[1] & 0xfffff;
    if (ce->dte && !(m->ecap & VTDM_ECAP_DT)) {
        return VTD_MODEL_FR_SCT_INVALID;
    }
    ce->table_pa = ctp;
    ce->valid = true;
    return 0;
}

static int ctx_lookup(struct vtd_model *m, uint16_t sid, struct vtdm_ctx_entry **out)
{
    for (unsigned i = 0; i < VTDM_CTX_CACHE; i++) {
        if (m->ctx[i].valid && m->ctx[i].sid == sid) {
            m->st.ctx_hits++;
            *out = &m->ctx[i];
            return 0;
        }
    }
    m->st.ctx_misses++;
    if (m->ttm == VTDM_TTM_ABORT || m->ttm == 2 ||
        (m->ttm == VTDM_TTM_SCALABLE && !(m->ecap & VTDM_ECAP_SMTS))) {
        return VTD_MODEL_FR_RTA_INVALID_TTM;
    }
    struct vtdm_ctx_entry ce;
    int r = walk_context(m, sid, &ce);
    if (r) {
        return r; /* faulting walks are not cached */
    }
    struct vtdm_ctx_entry *slot = &m->ctx[m->ctx_next];
    m->ctx_next = (m->ctx_next + 1) % VTDM_CTX_CACHE;
    *slot = ce;
    *out = slot;
    return 0;
}

/* Page requests are accepted only in scalable mode from a context entry with PRE set. */
bool vtdm_prq_allowed(struct vtd_model *m, uint16_t sid)
{
    struct vtdm_ctx_entry *ce;
    int r = ctx_lookup(m, sid, &ce);
    if (r) {
        vtdm_record_fault(m, sid, VTD_MODEL_NO_PASID, 0, (unsigned)r, false);
        return false;
    }
    return ce->scalable && ce->pre;
}

/* ---------------------------------------------------------------- PASID walk */

static int walk_pasid(struct vtd_model *m, const struct vtdm_ctx_entry *ce, uint32_t pasid,
                      struct vtdm_pasid_entry *pe, bool *fpd)
{
    memset(pe, 0, sizeof(*pe));
    uint64_t dir_idx = pasid >> 6;
    if (dir_idx >= (1ull << (ce->pdts + 7))) {
        return VTD_MODEL_FR_SCT_INVALID;
    }
    uint64_t pde;
    if (!vtdm_hw_read(m, ce->pasid_dir + dir_idx * 8, &pde, 8)) {
        return VTD_MODEL_FR_SPD_ACCESS;
    }
    if (!(pde & 1)) {
        return VTD_MODEL_FR_SPD_NOT_PRESENT;
    }
    *fpd = *fpd || (pde & 2);
    if (pde & 0xfff0000000000ffcull) {
        return VTD_MODEL_FR_SPD_RSVD;
    }
    uint64_t table = pde & VTDM_PTE_ADDR;
    uint64_t e[8];
    if (!vtdm_hw_read(m, table + (pasid & 63) * 64, e, 64)) {
        return VTD_MODEL_FR_SPT_ACCESS;
    }
    if (!(e[0] & 1)) {
        return VTD_MODEL_FR_SPT_NOT_PRESENT;
    }
    *fpd = *fpd || (e[0] & 2);
    if (e[0] & 0xfff0000000000c00ull) {
        return VTD_MODEL_FR_SPT_RSVD;
    }
    pe->sid = ce->sid;
    pe->pasid = pasid;
    pe->fpd = e[0] & 2;
    pe->aw = (e[0] >> 2) & 7;
    pe->pgtt = (e[0] >> 6) & 7;
    pe->slptptr = e[0] & VTDM_PTE_ADDR;
    pe->did = e[1] & 0xffff;
    pe->table_pa = table;
    if (nd_domains_bits(m) < 16 && (pe->did >> nd_domains_bits(m))) {
        return VTD_MODEL_FR_SPT_INVALID;
    }
    switch (pe->pgtt) {
    case 2: /* second-level only */
        if (!(m->ecap & VTDM_ECAP_SLTS) || pe->aw < 1 || pe->aw > 2 ||
            !(VTDM_CAP_SAGAW(m->cap) & (1u << pe->aw))) {
            return VTD_MODEL_FR_SPT_INVALID;
        }
        break;
    case 4: /* pass-through */
        if (!(m->ecap & VTDM_ECAP_PT)) {
            return VTD_MODEL_FR_SPT_INVALID;
        }
        break;
    default:
        /* First-level (1) and nested (3) translation are not modelled: the model never
           reports FLTS/NEST, so these are invalid programming. */
        return VTD_MODEL_FR_SPT_INVALID;
    }
    pe->valid = true;
    return 0;
}

static int pasid_lookup(struct vtd_model *m, const struct vtdm_ctx_entry *ce, uint32_t pasid,
                        struct vtdm_pasid_entry **out, bool *fpd)
{
    for (unsigned i = 0; i < VTDM_PASID_CACHE; i++) {
        if (m->pc[i].valid && m->pc[i].sid == ce->sid && m->pc[i].pasid == pasid) {
            m->st.pasid_hits++;
            *out = &m->pc[i];
            *fpd = m->pc[i].fpd;
            return 0;
        }
    }
    m->st.pasid_misses++;
    struct vtdm_pasid_entry pe;
    int r = walk_pasid(m, ce, pasid, &pe, fpd);
    if (r) {
        return r;
    }
    struct vtdm_pasid_entry *slot = &m->pc[m->pc_next];
    m->pc_next = (m->pc_next + 1) % VTDM_PASID_CACHE;
    *slot = pe;
    *out = slot;
    return 0;
}

/* ---------------------------------------------------------------- second-level walk */

static int sl_walk(struct vtd_model *m, uint64_t slptptr, unsigned aw, uint64_t iova,
                   bool scalable, struct xlate *x)
{
    unsigned levels = aw + 2;
    unsigned agaw = 30 + 9 * aw;
    unsigned mgaw = VTDM_CAP_MGAW(m->cap);
    unsigned limit = agaw < mgaw ? agaw : mgaw;
    if (limit < 64 && (iova >> limit)) {
        return scalable ? VTD_MODEL_FR_SGN_ADDR_BEYOND_AGAW : VTD_MODEL_FR_ADDR_BEYOND_AGAW;
    }
    unsigned sllps = VTDM_CAP_SLLPS(m->cap);
    uint64_t table = slptptr & VTDM_PTE_ADDR;
    bool r = true, w = true;
    memset(x->path, 0, sizeof(x->path));
    for (unsigned level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        uint64_t idx = (iova >> shift) & 511;
        uint64_t pte;
        x->path[levels - level] = table;
        if (!vtdm_hw_read(m, table + idx * 8, &pte, 8)) {
            return scalable ? VTD_MODEL_FR_SSL_ACCESS : VTD_MODEL_FR_PTE_ACCESS;
        }
        if (!(pte & (VTDM_PTE_R | VTDM_PTE_W))) {
            /* Not present: reported as a permission fault of the access (legacy), SSS.2
               (scalable). */
            return scalable ? VTD_MODEL_FR_SSL_NOT_PRESENT : 0x100; /* resolved by caller */
        }
        if (pte & VTDM_PTE_RSVD) {
            return scalable ? VTD_MODEL_FR_SSL_RSVD : VTD_MODEL_FR_PTE_RSVD;
        }
        r = r && (pte & VTDM_PTE_R);
        w = w && (pte & VTDM_PTE_W);
        bool leaf = level == 1;
        if (level > 1 && (pte & VTDM_PTE_PS)) {
            /* 2 MiB at level 2 (SLLPS bit 0), 1 GiB at level 3 (bit 1); else reserved. */
            if (level > 3 || !(sllps & (1u << (level - 2)))) {
                return scalable ? VTD_MODEL_FR_SSL_RSVD : VTD_MODEL_FR_PTE_RSVD;
            }
            if ((pte & VTDM_PTE_ADDR) & ((1ull << shift) - 1)) {
                return scalable ? VTD_MODEL_FR_SSL_RSVD : VTD_MODEL_FR_PTE_RSVD;
            }
            leaf = true;
        }
        if (leaf) {
            x->pa_base = pte & VTDM_PTE_ADDR & ~((1ull << shift) - 1);
            x->shift = shift;
            x->r = r;
            x->w = w;
            x->cacheable = true;
            return 0;
        }
        table = pte & VTDM_PTE_ADDR;
    }
    return scalable ? VTD_MODEL_FR_SSL_RSVD : VTD_MODEL_FR_PTE_RSVD; /* not reached */
}

/* ---------------------------------------------------------------- IOTLB */

static struct vtdm_tlb_entry *iotlb_find(struct vtd_model *m, uint16_t did, uint32_t pasid,
                                         uint64_t iova)
{
    for (unsigned i = 0; i < m->iotlb_n; i++) {
        struct vtdm_tlb_entry *e = &m->iotlb[i];
        if (e->valid && e->did == did && e->pasid == pasid &&
            (e->iova >> e->shift) == (iova >> e->shift)) {
            return e;
        }
    }
    return NULL;
}

static void iotlb_fill(struct vtd_model *m, const struct xlate *x, uint64_t iova)
{
    struct vtdm_tlb_entry *e = &m->iotlb[m->iotlb_next];
    m->iotlb_next = (m->iotlb_next + 1) % m->iotlb_n;
    e->valid = true;
    e->did = x->did;
    e->pasid = x->pasid_tag;
    e->shift = x->shift;
    e->iova = iova & ~((1ull << x->shift) - 1);
    e->pa = x->pa_base;
    e->r = x->r;
    e->w = x->w;
    memcpy(e->path, x->path, sizeof(e->path));
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    /* Sizes may be 2^64 - represented as 0 meaning "everything". */
    uint64_t a_end = alen ? a + alen - 1 : UINT64_MAX;
    uint64_t b_end = blen ? b + blen - 1 : UINT64_MAX;
    return a <= b_end && b <= a_end;
}

void vtdm_iotlb_invalidate(struct vtd_model *m, unsigned gran, uint16_t did, uint32_t pasid,
                           uint64_t addr, unsigned am)
{
    uint64_t size = am >= 52 ? 0 : 1ull << (12 + am);
    uint64_t base = size ? addr & ~(size - 1) : 0;
    m->st.iotlb_invalidations++;
    for (unsigned i = 0; i < m->iotlb_n; i++) {
        struct vtdm_tlb_entry *e = &m->iotlb[i];
        if (!e->valid) {
            continue;
        }
        if (gran >= 2 && e->did != did) {
            continue;
        }
        if (gran >= 2 && pasid != VTD_MODEL_NO_PASID && e->pasid != pasid) {
            continue;
        }
        if (gran == 3 && !overlaps(e->iova, 1ull << e->shift, base, size)) {
            continue;
        }
        e->valid = false;
    }
}

void vtdm_cc_invalidate(struct vtd_model *m, unsigned gran, uint16_t did, uint16_t sid,
                        unsigned fm)
{
    static const uint16_t fmask[4] = {0, 4, 6, 7};
    m->st.cc_invalidations++;
    for (unsigned i = 0; i < VTDM_CTX_CACHE; i++) {
        struct vtdm_ctx_entry *e = &m->ctx[i];
        if (!e->valid) {
            continue;
        }
        /* Scalable context entries carry no domain-id: domain-selective acts globally. */
        if (gran == 2 && !e->scalable && e->did != did) {
            continue;
        }
        if (gran == 3 && (e->sid & ~fmask[fm & 3]) != (sid & ~fmask[fm & 3])) {
            continue;
        }
        e->valid = false;
    }
}

void vtdm_pc_invalidate(struct vtd_model *m, unsigned gran, uint16_t did, uint32_t pasid)
{
    m->st.pc_invalidations++;
    for (unsigned i = 0; i < VTDM_PASID_CACHE; i++) {
        struct vtdm_pasid_entry *e = &m->pc[i];
        if (!e->valid) {
            continue;
        }
        if (gran != 3 && e->did != did) {
            continue;
        }
        if (gran == 1 && e->pasid != pasid) {
            continue;
        }
        e->valid = false;
    }
}

void vtdm_atc_invalidate(struct vtdm_device *d, uint32_t pasid, bool global, uint64_t base,
                         uint64_t size)
{
    for (unsigned i = 0; i < VTDM_ATC_ENTRIES; i++) {
        struct vtdm_tlb_entry *e = &d->atc[i];
        if (e->valid && (global || e->pasid == pasid) &&
            overlaps(e->iova, 1ull << e->shift, base, size)) {
            e->valid = false;
        }
    }
}

bool vtdm_page_cached(const struct vtd_model *m, uint64_t pa)
{
    if ((m->gsts & VTDM_GCMD_TE) && m->root_pa == pa) {
        return true;
    }
    if (vtdm_iec_page_cached(m, pa)) {
        return true;
    }
    for (unsigned i = 0; i < VTDM_CTX_CACHE; i++) {
        const struct vtdm_ctx_entry *e = &m->ctx[i];
        if (e->valid && (e->table_pa == pa || (!e->scalable && e->tt != 2 && e->slptptr == pa) ||
                         (e->scalable && e->pasid_dir == pa))) {
            return true;
        }
    }
    for (unsigned i = 0; i < VTDM_PASID_CACHE; i++) {
        const struct vtdm_pasid_entry *e = &m->pc[i];
        if (e->valid && (e->table_pa == pa || (e->pgtt == 2 && e->slptptr == pa))) {
            return true;
        }
    }
    for (unsigned i = 0; i < m->iotlb_n; i++) {
        const struct vtdm_tlb_entry *e = &m->iotlb[i];
        for (unsigned l = 0; e->valid && l < 4; l++) {
            if (e->path[l] == pa) {
                return true;
            }
        }
    }
    return false;
}

/* ---------------------------------------------------------------- the unit */

static int perm_fault(bool scalable, bool write, const struct xlate *x)
{
    if (write && !x->w) {
        return scalable ? VTD_MODEL_FR_SGN_WRITE : VTD_MODEL_FR_WRITE;
    }
    if (!write && !x->r) {
        return scalable ? VTD_MODEL_FR_SGN_READ : VTD_MODEL_FR_READ;
    }
    return 0;
}

/* Translate one request; records the fault unless fault processing is disabled. */
static int unit_translate(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t iova,
                          bool write, enum req_kind kind, struct xlate *x)
{
    struct vtdm_ctx_entry *ce = NULL;
    bool fpd = false;
    bool scalable = false;
    int r = ctx_lookup(m, sid, &ce);
    if (r) {
        goto fault;
    }
    fpd = ce->fpd;
    scalable = ce->scalable;
    memset(x, 0, sizeof(*x));
    uint64_t slptptr;
    unsigned aw;
    if (!scalable) {
        if (kind != REQ_UNTRANSLATED && ce->tt != 1) {
            r = VTD_MODEL_FR_TT_BLOCKED;
            goto fault;
        }
        if (kind == REQ_TRANSLATED || ce->tt == 2) {
            goto passthrough;
        }
        x->did = ce->did;
        x->pasid_tag = VTD_MODEL_NO_PASID;
        slptptr = ce->slptptr;
        aw = ce->aw;
    } else {
        if (kind != REQ_UNTRANSLATED && !ce->dte) {
            r = VTD_MODEL_FR_TT_BLOCKED;
            goto fault;
        }
        if (kind == REQ_TRANSLATED) {
            goto passthrough;
        }
        if (pasid != VTD_MODEL_NO_PASID && !ce->paside) {
            r = VTD_MODEL_FR_SCT_INVALID;
            goto fault;
        }
        uint32_t eff = pasid != VTD_MODEL_NO_PASID ? pasid : ce->rid_pasid;
        struct vtdm_pasid_entry *pe;
        r = pasid_lookup(m, ce, eff, &pe, &fpd);
        if (r) {
            goto fault;
        }
        if (pe->pgtt == 4) {
            goto passthrough;
        }
        x->did = pe->did;
        x->pasid_tag = eff;
        slptptr = pe->slptptr;
        aw = pe->aw;
    }
    struct vtdm_tlb_entry *e = iotlb_find(m, x->did, x->pasid_tag, iova);
    if (e) {
        x->pa_base = e->pa;
        x->shift = e->shift;
        x->r = e->r;
        x->w = e->w;
        x->cacheable = true;
        memcpy(x->path, e->path, sizeof(x->path));
        if (!perm_fault(scalable, write, x)) {
            m->st.iotlb_hits++;
            return 0;
        }
        e->valid = false; /* a permission failure re-walks, as a CPU does */
    }
    m->st.iotlb_misses++;
    m->st.walks++;
    r = sl_walk(m, slptptr, aw, iova, scalable, x);
    if (r == 0x100) {
        r = write ? VTD_MODEL_FR_WRITE : VTD_MODEL_FR_READ;
    }
    if (r) {
        goto fault;
    }
    r = perm_fault(scalable, write, x);
    if (r) {
        goto fault; /* faulting translations are not cached */
    }
    iotlb_fill(m, x, iova);
    return 0;

passthrough:
    x->pa_base = iova & ~0xfffull;
    x->shift = 12;
    x->r = x->w = true;
    x->cacheable = false;
    return 0;

fault:
    if (fpd) {
        m->st.faults_suppressed++;
    } else {
        vtdm_record_fault(m, sid, pasid, iova, (unsigned)r, write);
    }
    return r;
}

static struct vtdm_tlb_entry *atc_find(struct vtdm_device *d, uint32_t pasid, uint64_t iova)
{
    for (unsigned i = 0; i < VTDM_ATC_ENTRIES; i++) {
        struct vtdm_tlb_entry *e = &d->atc[i];
        if (e->valid && e->pasid == pasid && (e->iova >> e->shift) == (iova >> e->shift)) {
            return e;
        }
    }
    return NULL;
}

int vtd_model_translate(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t iova,
                        bool write, uint64_t *pa)
{
    if (pasid != VTD_MODEL_NO_PASID && pasid > 0xfffff) {
        return VTD_MODEL_ERR_BUS; /* not representable in a TLP prefix */
    }
    struct vtdm_device *d = vtdm_find_device(m, sid);
    if (d && !d->present) {
        return VTD_MODEL_ERR_BUS; /* an absent device issues no requests */
    }
    if (!(m->gsts & VTDM_GCMD_TE)) {
        *pa = iova; /* remapping disabled */
        return 0;
    }
    struct xlate x;
    int r;
    if (d && (d->flags & VTD_MODEL_DEV_ATS) && d->ats_enabled) {
        struct vtdm_tlb_entry *e = atc_find(d, pasid, iova);
        if (e && (write ? e->w : e->r)) {
            /* A translated request: the unit only checks that the device may send it. */
            r = unit_translate(m, sid, pasid, iova, write, REQ_TRANSLATED, &x);
            if (r) {
                return r;
            }
            m->st.atc_hits++;
            *pa = e->pa + (iova & ((1ull << e->shift) - 1));
            return 0;
        }
        m->st.atc_misses++;
        r = unit_translate(m, sid, pasid, iova, write, REQ_TRANSLATION, &x);
        if (r) {
            return r;
        }
        if (!e) {
            e = &d->atc[d->atc_next];
            d->atc_next = (d->atc_next + 1) % VTDM_ATC_ENTRIES;
        }
        e->valid = true;
        e->pasid = pasid;
        e->shift = x.shift;
        e->iova = iova & ~((1ull << x.shift) - 1);
        e->pa = x.pa_base;
        e->r = x.r;
        e->w = x.w;
        *pa = x.pa_base + (iova & ((1ull << x.shift) - 1));
        return 0;
    }
    r = unit_translate(m, sid, pasid, iova, write, REQ_UNTRANSLATED, &x);
    if (r) {
        return r;
    }
    *pa = x.pa_base + (iova & ((1ull << x.shift) - 1));
    return 0;
}

#define VTDM_INTR_FIRST 0xFEE00000ull /* VT-d 3.14: the interrupt address range */
#define VTDM_INTR_LAST 0xFEEFFFFFull

/* A write into the interrupt address range: one interrupt request per DWORD. A partial DWORD
 * is a malformed request (reserved-field fault, as the spec treats non-DWORD interrupt writes). */
static int interrupt_writes(struct vtd_model *m, uint16_t sid, uint64_t addr, const uint8_t *p,
                            size_t len)
{
    int first = 0;
    for (size_t off = 0; off < len; off += 4) {
        int r;
        if ((addr + off) & 3 || len - off < 4) {
            r = vtd_model_interrupt(m, sid, (addr + off) | 1ull << 32, 0, NULL);
        } else {
            uint32_t data = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
                            (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
            r = vtd_model_interrupt(m, sid, addr + off, data, NULL);
        }
        if (r != 0 && first == 0) {
            first = r;
        }
    }
    return first;
}

int vtd_model_dma(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t iova, void *buf,
                  size_t len, bool write)
{
    uint8_t *p = buf;
    if (len && iova + (len - 1) < iova) {
        return VTD_MODEL_ERR_BUS;
    }
    if (write && pasid == VTD_MODEL_NO_PASID && len && iova >= VTDM_INTR_FIRST &&
        iova + (len - 1) <= VTDM_INTR_LAST) {
        return interrupt_writes(m, sid, iova, p, len);
    }
    while (len > 0) {
        size_t chunk = VTDM_PAGE - (iova & (VTDM_PAGE - 1));
        if (chunk > len) {
            chunk = len;
        }
        uint64_t pa;
        int r = vtd_model_translate(m, sid, pasid, iova, write, &pa);
        if (r) {
            return r;
        }
        /* Device DMA is snooped: it sees and updates the CPU's view. */
        if (write ? !vtdm_mem_write(m, pa, p, chunk) : !vtdm_mem_read(m, pa, p, chunk)) {
            return VTD_MODEL_ERR_BUS;
        }
        p += chunk;
        iova += chunk;
        len -= chunk;
    }
    return 0;
}
