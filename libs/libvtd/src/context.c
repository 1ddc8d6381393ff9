/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Root, context and PASID tables (VT-d 3.4-3.6, 9.1-9.6): which domain a source-id (and, in
 * scalable mode, a PASID of it) translates through, pass-through, or blocked.
 *
 * Changing an entry that hardware may have cached follows VT-d 6.5.3: clear the present bit,
 * invalidate (context or PASID cache, IOTLB of the old domain, the device's TLB unless it is
 * fenced), and only then write the new entry, its present bit last. Blocking a device always
 * clears the entry first, so it holds even when the invalidation that follows fails.
 */
#include "ir.h"
#include "mem.h"

#define PASID_DIR_ENTRIES 512u /* one directory page: PDTS = 2, PASIDs 0 .. 32767 */
#define PASID_DIR_PDTS 2u
#define CE_HI_QDEP(q) ((uint64_t)((q) == 0 || (q) > 15 ? 15 : (q)) << 3) /* AVAIL 6:3 */
#define CE_HI_QDEP_GET(v) ((unsigned)VTD_GET(v, 6, 3))

static inline uint8_t sid_bus(uint16_t sid)
{
    return (uint8_t)(sid >> 8);
}
static inline uint8_t sid_devfn(uint16_t sid)
{
    return (uint8_t)sid;
}

static void *virt(const struct vtd_unit *u, uint64_t pa)
{
    return u->hw->phys_to_virt(u->hw->ctx, pa & VTD_ADDR_MASK);
}

/*
 * Invalidate what the batch describes, if hardware can have cached anything (translation on).
 * Before translation is enabled the global invalidation in vtd_unit_enable_translation covers
 * it. With QI off, register-based global invalidation (device-TLBs need QI and are skipped).
 */
static enum vtd_err invalidate(struct vtd_unit *u, struct vtd_batch *b)
{
    if (!u->te_on || b->n == 0) {
        return VTD_OK;
    }
    if (u->qi_on) {
        return vtd_batch_submit(b, 0);
    }
    return vtd_unit_reg_invalidate_global(u);
}

/* ---- Legacy mode ------------------------------------------------------------------------ */

static struct vtd_context_entry *legacy_entry(struct vtd_unit *u, uint16_t sid, bool alloc,
                                              enum vtd_err *err)
{
    struct vtd_root_entry *re = (struct vtd_root_entry *)u->root_va + sid_bus(sid);
    uint64_t lo = load64(&re->lo);
    if (!(lo & VTD_RE_P)) {
        if (!alloc) {
            return NULL;
        }
        uint64_t pa;
        void *ct = vtd_alloc_table(u, &pa);
        if (!ct) {
            *err = VTD_ERR_NOMEM;
            return NULL;
        }
        flush(u, ct, VTD_PAGE_SIZE);
        store64(&re->hi, 0);
        store64(&re->lo, VTD_RE_CTP(pa) | VTD_RE_P);
        flush(u, re, sizeof(*re));
        lo = re->lo;
    }
    return (struct vtd_context_entry *)virt(u, lo) + sid_devfn(sid);
}

/* Clear a present legacy entry and invalidate everything derived from it. */
/*
 * A block is complete only once its invalidation completed: until then the unit may still hold
 * the entry in its caches. A failed one leaves the source-id marked; blocking it again repeats the
 * invalidation (the entry, already non-present, still holds what the invalidation needs).
 */
static bool unflushed(const struct vtd_unit *u, uint16_t sid)
{
    return (u->unflushed[sid / 64] >> (sid % 64)) & 1u;
}

static enum vtd_err note_flush(struct vtd_unit *u, uint16_t sid, enum vtd_err err)
{
    if (err == VTD_OK || err == VTD_ERR_ITE || err == VTD_ERR_ICE) {
        u->unflushed[sid / 64] &= ~(1ull << (sid % 64));
    } else {
        u->unflushed[sid / 64] |= 1ull << (sid % 64);
    }
    return err;
}

static enum vtd_err legacy_clear(struct vtd_unit *u, uint16_t sid, struct vtd_context_entry *ce)
{
    uint64_t lo = load64(&ce->lo), hi = load64(&ce->hi);
    if (!(lo & VTD_CE_LO_P) && !unflushed(u, sid)) {
        return VTD_OK;
    }
    if (lo & VTD_CE_LO_P) {
        store64(&ce->lo, lo & ~VTD_CE_LO_P);
        flush(u, ce, sizeof(*ce));
    }
    uint16_t did = (uint16_t)VTD_CE_HI_DID_GET(hi);
    struct vtd_batch b;
    vtd_batch_init(&b, u);
    if (u->qi_on) {
        vtd_batch_add_cc_device(&b, did, sid);
        vtd_batch_add_iotlb_domain(&b, did);
        if (VTD_CE_LO_TT_GET(lo) == VTD_CE_TT_SL_DT && u->f.dt) {
            vtd_batch_add_devtlb(&b, sid, CE_HI_QDEP_GET(hi), 0, 0);
        }
    } else {
        b.n = 1; /* non-empty: take the register-based path */
    }
    return note_flush(u, sid, invalidate(u, &b));
}

static enum vtd_err legacy_set(struct vtd_unit *u, uint16_t sid, uint64_t lo, uint64_t hi)
{
    enum vtd_err err = VTD_OK;
    struct vtd_context_entry *ce = legacy_entry(u, sid, true, &err);
    if (!ce) {
        return err;
    }
    err = legacy_clear(u, sid, ce);
    if (err != VTD_OK && err != VTD_ERR_ITE && err != VTD_ERR_ICE) {
        return err; /* the entry stays blocked */
    }
    store64(&ce->hi, hi);
    store64(&ce->lo, lo | VTD_CE_LO_P); /* present last */
    flush(u, ce, sizeof(*ce));
    enum vtd_err e2 = VTD_OK;
    if (u->f.caching_mode) {
        /* CM: not-present entries may have been cached. */
        struct vtd_batch b;
        vtd_batch_init(&b, u);
        if (u->qi_on) {
            vtd_batch_add_cc_device(&b, (uint16_t)VTD_CE_HI_DID_GET(hi), sid);
            vtd_batch_add_iotlb_domain(&b, (uint16_t)VTD_CE_HI_DID_GET(hi));
        } else {
            b.n = 1;
        }
        e2 = invalidate(u, &b);
    } else if (u->te_on) {
        e2 = vtd_unit_flush_write_buffer(u);
    }
    return err != VTD_OK ? err : e2;
}

/* ---- Scalable mode ------------------------------------------------------------------------- */

static struct vtd_sm_context_entry *sm_entry(struct vtd_unit *u, uint16_t sid, bool alloc,
                                             enum vtd_err *err)
{
    struct vtd_root_entry *re = (struct vtd_root_entry *)u->root_va + sid_bus(sid);
    bool upper = sid_devfn(sid) >= 128;
    volatile uint64_t *half = upper ? &re->hi : &re->lo;
    uint64_t v = load64(half);
    if (!(v & VTD_RE_P)) {
        if (!alloc) {
            return NULL;
        }
        uint64_t pa;
        void *ct = vtd_alloc_table(u, &pa);
        if (!ct) {
            *err = VTD_ERR_NOMEM;
            return NULL;
        }
        flush(u, ct, VTD_PAGE_SIZE);
        store64(half, VTD_RE_CTP(pa) | VTD_RE_P);
        flush(u, re, sizeof(*re));
        v = load64(half);
    }
    return (struct vtd_sm_context_entry *)virt(u, v) + (sid_devfn(sid) & 127);
}

static struct vtd_pasid_entry *pasid_entry(struct vtd_unit *u, uint64_t dir_pa, uint32_t pasid,
                                           bool alloc, enum vtd_err *err)
{
    uint64_t *dir = virt(u, dir_pa);
    uint32_t di = pasid / VTD_PASID_PER_TABLE;
    uint64_t de = load64(&dir[di]);
    if (!(de & VTD_PASID_DIR_P)) {
        if (!alloc) {
            return NULL;
        }
        uint64_t pa;
        void *t = vtd_alloc_table(u, &pa);
        if (!t) {
            *err = VTD_ERR_NOMEM;
            return NULL;
        }
        flush(u, t, VTD_PAGE_SIZE);
        store64(&dir[di], (pa & VTD_ADDR_MASK) | VTD_PASID_DIR_P);
        flush(u, &dir[di], sizeof(uint64_t));
        de = load64(&dir[di]);
    }
    return (struct vtd_pasid_entry *)virt(u, de) + pasid % VTD_PASID_PER_TABLE;
}

static void free_pasid_dir(struct vtd_unit *u, uint64_t dir_pa)
{
    uint64_t *dir = virt(u, dir_pa);
    for (unsigned i = 0; i < PASID_DIR_ENTRIES; i++) {
        if (dir[i] & VTD_PASID_DIR_P) {
            u->hw->free_page(u->hw->ctx, virt(u, dir[i]), dir[i] & VTD_ADDR_MASK);
        }
    }
    u->hw->free_page(u->hw->ctx, dir, dir_pa & VTD_ADDR_MASK);
}

/* Clear one present PASID entry and invalidate what hardware and the device derived from it. */
static enum vtd_err pasid_clear(struct vtd_unit *u, uint16_t sid, uint32_t pasid, bool dte,
                                struct vtd_pasid_entry *pe, uint32_t rid_pasid)
{
    uint64_t q0 = load64(&pe->qw[0]);
    if (!(q0 & VTD_PE0_P)) {
        return VTD_OK;
    }
    uint16_t did = (uint16_t)(pe->qw[1] & 0xffff);
    store64(&pe->qw[0], q0 & ~VTD_PE0_P);
    flush(u, pe, sizeof(*pe));
    struct vtd_batch b;
    vtd_batch_init(&b, u);
    vtd_batch_add_pasid_cache(&b, did, pasid);
    vtd_batch_add_piotlb(&b, did, pasid, 0, 0);
    if (pasid == rid_pasid) {
        vtd_batch_add_iotlb_domain(&b, did);
    }
    if (dte && u->f.dt) {
        if (pasid == rid_pasid || !u->f.pasid) {
            vtd_batch_add_devtlb(&b, sid, 1, 0, 0); /* requests without PASID */
        } else {
            vtd_batch_add_pdevtlb(&b, sid, pasid, 1, 0, 0);
        }
    }
    return invalidate(u, &b);
}

static void pasid_write(struct vtd_unit *u, struct vtd_pasid_entry *pe, const uint64_t qw[8])
{
    for (unsigned i = 7; i >= 1; i--) {
        store64(&pe->qw[i], qw[i]);
    }
    store64(&pe->qw[0], qw[0]); /* present last */
    flush(u, pe, sizeof(*pe));
}

static enum vtd_err pasid_check(const struct vtd_unit *u, uint32_t pasid)
{
    if (pasid >= PASID_DIR_ENTRIES * VTD_PASID_PER_TABLE) {
        return VTD_ERR_INVAL;
    }
    if (pasid != 0 && (!u->f.pasid || pasid >> u->f.pasid_bits)) {
        return VTD_ERR_UNSUPPORTED;
    }
    return VTD_OK;
}

/* Set one PASID entry of a device whose scalable context entry is present. */
static enum vtd_err pasid_set(struct vtd_unit *u, uint16_t sid, uint32_t pasid,
                              const uint64_t qw[8])
{
    enum vtd_err err = VTD_OK;
    struct vtd_sm_context_entry *sce = sm_entry(u, sid, false, &err);
    if (!sce || !(load64(&sce->qw[0]) & VTD_SCE_P)) {
        return VTD_ERR_STATE;
    }
    uint64_t c0 = load64(&sce->qw[0]);
    if (pasid != 0 && !(c0 & VTD_SCE_PASIDE)) {
        return VTD_ERR_STATE;
    }
    struct vtd_pasid_entry *pe = pasid_entry(u, c0, pasid, qw != NULL, &err);
    if (!pe) {
        return qw ? err : VTD_OK; /* blocking an entry that never existed */
    }
    err = pasid_clear(u, sid, pasid, (c0 & VTD_SCE_DTE) != 0, pe,
                      (uint32_t)VTD_SCE_RID_PASID(sce->qw[1]));
    if (!qw || (err != VTD_OK && err != VTD_ERR_ITE && err != VTD_ERR_ICE)) {
        return err;
    }
    pasid_write(u, pe, qw);
    if (u->f.caching_mode && u->te_on && u->qi_on) {
        struct vtd_batch b;
        vtd_batch_init(&b, u);
        vtd_batch_add_pasid_cache(&b, (uint16_t)qw[1], pasid);
        enum vtd_err e2 = vtd_batch_submit(&b, 0);
        if (err == VTD_OK) {
            err = e2;
        }
    }
    return err;
}

static void pasid_sl_entry(uint64_t qw[8], const struct vtd_domain *d)
{
    for (unsigned i = 0; i < 8; i++) {
        qw[i] = 0;
    }
    qw[0] = (d->top_pa & VTD_ADDR_MASK) | VTD_PE0_AW(d->aw) | VTD_PE0_PGTT(VTD_PGTT_SL) | VTD_PE0_P;
    qw[1] = VTD_PE1_DID(d->did);
}

static void pasid_pt_entry(uint64_t qw[8], const struct vtd_unit *u, uint16_t did)
{
    for (unsigned i = 0; i < 8; i++) {
        qw[i] = 0;
    }
    qw[0] = VTD_PE0_AW(u->f.max_levels - 2) | VTD_PE0_PGTT(VTD_PGTT_PT) | VTD_PE0_P;
    qw[1] = VTD_PE1_DID(did);
}

/* Clear a scalable context entry, invalidate, and free its PASID tables once that worked. */
static enum vtd_err sm_clear(struct vtd_unit *u, uint16_t sid, struct vtd_sm_context_entry *sce)
{
    uint64_t c0 = load64(&sce->qw[0]);
    if (!(c0 & VTD_SCE_P) && !(unflushed(u, sid) && c0 != 0)) {
        return VTD_OK;
    }
    uint32_t rid_pasid = (uint32_t)VTD_SCE_RID_PASID(sce->qw[1]);
    enum vtd_err err = VTD_OK;
    struct vtd_pasid_entry *pe = pasid_entry(u, c0 | VTD_SCE_P, rid_pasid, false, &err);
    uint16_t did = pe ? (uint16_t)(pe->qw[1] & 0xffff) : 0;
    if (c0 & VTD_SCE_P) {
        store64(&sce->qw[0], c0 & ~VTD_SCE_P);
        flush(u, sce, sizeof(*sce));
    }
    struct vtd_batch b;
    vtd_batch_init(&b, u);
    if (u->qi_on) {
        vtd_batch_add_cc_device(&b, did, sid);
        vtd_batch_add_pasid_cache(&b, did, VTD_NO_PASID);
        vtd_batch_add_iotlb_domain(&b, did);
        if ((c0 & VTD_SCE_DTE) && u->f.dt) {
            vtd_batch_add_devtlb(&b, sid, 1, 0, 0);
        }
    } else {
        b.n = 1;
    }
    err = note_flush(u, sid, invalidate(u, &b));
    if (err == VTD_OK || err == VTD_ERR_ITE || err == VTD_ERR_ICE) {
        /* The unit no longer holds pointers into these tables (the ATC caches translations,
         * not tables). */
        store64(&sce->qw[0], 0);
        free_pasid_dir(u, c0 | VTD_SCE_P);
    }
    return err;
}

static enum vtd_err sm_attach(struct vtd_unit *u, uint16_t sid, unsigned flags,
                              const uint64_t pe_qw[8])
{
    enum vtd_err err = VTD_OK;
    struct vtd_sm_context_entry *sce = sm_entry(u, sid, true, &err);
    if (!sce) {
        return err;
    }
    uint64_t want =
        VTD_SCE_P | VTD_SCE_PDTS(PASID_DIR_PDTS) | ((flags & VTD_DEV_ATS) ? VTD_SCE_DTE : 0) |
        ((flags & VTD_DEV_PASID) ? VTD_SCE_PASIDE : 0) | ((flags & VTD_DEV_PRI) ? VTD_SCE_PRE : 0);
    uint64_t c0 = load64(&sce->qw[0]);
    if ((c0 & VTD_SCE_P) && (c0 & ~VTD_ADDR_MASK) == want) {
        return pasid_set(u, sid, 0, pe_qw); /* same device setup: only RID_PASID changes */
    }
    err = sm_clear(u, sid, sce);
    if (err != VTD_OK && err != VTD_ERR_ITE && err != VTD_ERR_ICE) {
        return err;
    }
    uint64_t dir_pa;
    uint64_t *dir = vtd_alloc_table(u, &dir_pa);
    if (!dir) {
        return VTD_ERR_NOMEM;
    }
    enum vtd_err e2 = VTD_OK;
    struct vtd_pasid_entry *pe = pasid_entry(u, dir_pa, 0, true, &e2);
    if (!pe) {
        u->hw->free_page(u->hw->ctx, dir, dir_pa);
        return e2;
    }
    pasid_write(u, pe, pe_qw);
    flush(u, dir, VTD_PAGE_SIZE);
    store64(&sce->qw[3], 0);
    store64(&sce->qw[2], 0);
    store64(&sce->qw[1], VTD_SCE_RID_PASID(0));
    store64(&sce->qw[0], (dir_pa & VTD_ADDR_MASK) | want); /* present last */
    flush(u, sce, sizeof(*sce));
    if (u->f.caching_mode) {
        struct vtd_batch b;
        vtd_batch_init(&b, u);
        if (u->qi_on) {
            vtd_batch_add_cc_device(&b, (uint16_t)pe_qw[1], sid);
        } else {
            b.n = 1;
        }
        e2 = invalidate(u, &b);
    }
    return err != VTD_OK ? err : e2;
}

/* ---- Public entry points ----------------------------------------------------------------- */

static enum vtd_err dev_common_check(const struct vtd_unit *u, unsigned flags, unsigned qdep)
{
    if (!u || !u->probed || (flags & ~(VTD_DEV_ATS | VTD_DEV_PASID | VTD_DEV_PRI)) || qdep > 32) {
        return VTD_ERR_INVAL;
    }
    if (!u->root_va) {
        return VTD_ERR_STATE;
    }
    if ((flags & VTD_DEV_ATS) && !u->f.dt) {
        return VTD_ERR_UNSUPPORTED;
    }
    if ((flags & (VTD_DEV_PASID | VTD_DEV_PRI)) && u->cfg.mode != VTD_MODE_SCALABLE) {
        return VTD_ERR_UNSUPPORTED;
    }
    if ((flags & VTD_DEV_PASID) && !u->f.pasid) {
        return VTD_ERR_UNSUPPORTED;
    }
    if ((flags & VTD_DEV_PRI) && !u->f.prs) {
        return VTD_ERR_UNSUPPORTED;
    }
    return VTD_OK;
}

enum vtd_err vtd_dev_attach(struct vtd_unit *u, uint16_t sid, struct vtd_domain *d, unsigned flags,
                            unsigned ats_qdep)
{
    enum vtd_err e = dev_common_check(u, flags, ats_qdep);
    if (e != VTD_OK) {
        return e;
    }
    if (!d || d->unit != u || !d->top_va) {
        return VTD_ERR_INVAL;
    }
    if (u->cfg.mode == VTD_MODE_SCALABLE) {
        uint64_t qw[8];
        pasid_sl_entry(qw, d);
        return sm_attach(u, sid, flags, qw);
    }
    uint64_t lo = (d->top_pa & VTD_ADDR_MASK) |
                  VTD_CE_LO_TT((flags & VTD_DEV_ATS) ? VTD_CE_TT_SL_DT : VTD_CE_TT_SL);
    uint64_t hi = VTD_CE_HI_AW(d->aw) | VTD_CE_HI_DID(d->did) | CE_HI_QDEP(ats_qdep);
    return legacy_set(u, sid, lo, hi);
}

enum vtd_err vtd_dev_passthrough(struct vtd_unit *u, uint16_t sid, uint16_t did, unsigned flags,
                                 unsigned ats_qdep)
{
    enum vtd_err e = dev_common_check(u, flags, ats_qdep);
    if (e != VTD_OK) {
        return e;
    }
    if ((uint32_t)did >> u->f.nd_bits) {
        return VTD_ERR_INVAL;
    }
    if (!u->f.pt) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (u->cfg.mode == VTD_MODE_SCALABLE) {
        uint64_t qw[8];
        pasid_pt_entry(qw, u, did);
        return sm_attach(u, sid, flags, qw);
    }
    uint64_t lo = VTD_CE_LO_TT(VTD_CE_TT_PT);
    uint64_t hi = VTD_CE_HI_AW(u->f.max_levels - 2) | VTD_CE_HI_DID(did) | CE_HI_QDEP(ats_qdep);
    return legacy_set(u, sid, lo, hi);
}

enum vtd_err vtd_dev_block(struct vtd_unit *u, uint16_t sid)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->root_va) {
        return VTD_OK; /* no root table: nothing can translate */
    }
    enum vtd_err err = VTD_OK;
    if (u->cfg.mode == VTD_MODE_SCALABLE) {
        struct vtd_sm_context_entry *sce = sm_entry(u, sid, false, &err);
        return sce ? sm_clear(u, sid, sce) : VTD_OK;
    }
    struct vtd_context_entry *ce = legacy_entry(u, sid, false, &err);
    return ce ? legacy_clear(u, sid, ce) : VTD_OK;
}

enum vtd_err vtd_dev_query(const struct vtd_unit *u, uint16_t sid, enum vtd_dev_state *st,
                           uint16_t *did)
{
    if (!u || !st || !did) {
        return VTD_ERR_INVAL;
    }
    *st = VTD_DEV_BLOCKED;
    *did = 0;
    if (!u->root_va) {
        return VTD_OK;
    }
    struct vtd_unit *mu = (struct vtd_unit *)u; /* lookups without allocation do not modify */
    enum vtd_err err = VTD_OK;
    if (u->cfg.mode == VTD_MODE_SCALABLE) {
        struct vtd_sm_context_entry *sce = sm_entry(mu, sid, false, &err);
        if (!sce || !(sce->qw[0] & VTD_SCE_P)) {
            return VTD_OK;
        }
        struct vtd_pasid_entry *pe =
            pasid_entry(mu, sce->qw[0], (uint32_t)VTD_SCE_RID_PASID(sce->qw[1]), false, &err);
        if (!pe || !(pe->qw[0] & VTD_PE0_P)) {
            return VTD_OK;
        }
        *did = (uint16_t)(pe->qw[1] & 0xffff);
        *st = VTD_PE0_PGTT_GET(pe->qw[0]) == VTD_PGTT_PT ? VTD_DEV_PASSTHROUGH : VTD_DEV_TRANSLATED;
        return VTD_OK;
    }
    struct vtd_context_entry *ce = legacy_entry(mu, sid, false, &err);
    if (!ce || !(ce->lo & VTD_CE_LO_P)) {
        return VTD_OK;
    }
    *did = (uint16_t)VTD_CE_HI_DID_GET(ce->hi);
    *st = VTD_CE_LO_TT_GET(ce->lo) == VTD_CE_TT_PT ? VTD_DEV_PASSTHROUGH : VTD_DEV_TRANSLATED;
    return VTD_OK;
}

static enum vtd_err pasid_common(const struct vtd_unit *u, uint32_t pasid)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (u->cfg.mode != VTD_MODE_SCALABLE || !u->root_va) {
        return VTD_ERR_STATE;
    }
    return pasid_check(u, pasid);
}

enum vtd_err vtd_pasid_set_sl(struct vtd_unit *u, uint16_t sid, uint32_t pasid,
                              struct vtd_domain *d)
{
    enum vtd_err e = pasid_common(u, pasid);
    if (e != VTD_OK) {
        return e;
    }
    if (!d || d->unit != u || !d->top_va) {
        return VTD_ERR_INVAL;
    }
    uint64_t qw[8];
    pasid_sl_entry(qw, d);
    return pasid_set(u, sid, pasid, qw);
}

enum vtd_err vtd_pasid_set_pt(struct vtd_unit *u, uint16_t sid, uint32_t pasid, uint16_t did)
{
    enum vtd_err e = pasid_common(u, pasid);
    if (e != VTD_OK) {
        return e;
    }
    if ((uint32_t)did >> u->f.nd_bits) {
        return VTD_ERR_INVAL;
    }
    if (!u->f.pt) {
        return VTD_ERR_UNSUPPORTED;
    }
    uint64_t qw[8];
    pasid_pt_entry(qw, u, did);
    return pasid_set(u, sid, pasid, qw);
}

enum vtd_err vtd_pasid_block(struct vtd_unit *u, uint16_t sid, uint32_t pasid)
{
    enum vtd_err e = pasid_common(u, pasid);
    if (e != VTD_OK) {
        return e;
    }
    return pasid_set(u, sid, pasid, NULL);
}

enum vtd_err vtd_unit_destroy(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (u->te_on || u->qi_on || u->prq_on || u->ir_on) {
        return VTD_ERR_STATE;
    }
    const struct vtd_hw *hw = u->hw;
    if (u->irt_va) {
        /* left by a failed vtd_ir_enable whose IRE could not be seen off */
        vtd_free_contiguous(u, vtd_irt_pages(u->irt_order), u->irt_va, u->irt_pa);
        u->irt_va = NULL;
    }
    if (u->root_va) {
        struct vtd_root_entry *re = u->root_va;
        for (unsigned bus = 0; bus < 256; bus++) {
            uint64_t halves[2] = {re[bus].lo, re[bus].hi};
            for (unsigned h = 0; h < 2; h++) {
                if (!(halves[h] & VTD_RE_P) || (h == 1 && u->cfg.mode != VTD_MODE_SCALABLE)) {
                    continue;
                }
                void *ct = virt(u, halves[h]);
                if (u->cfg.mode == VTD_MODE_SCALABLE) {
                    struct vtd_sm_context_entry *sce = ct;
                    for (unsigned i = 0; i < 128; i++) {
                        if (sce[i].qw[0] & VTD_ADDR_MASK) {
                            free_pasid_dir(u, sce[i].qw[0]);
                        }
                    }
                }
                hw->free_page(hw->ctx, ct, halves[h] & VTD_ADDR_MASK);
            }
        }
        hw->free_page(hw->ctx, u->root_va, u->root_pa);
        u->root_va = NULL;
    }
    if (u->iq_va) {
        for (unsigned i = 0; i < (1u << u->cfg.qi_order); i++) {
            hw->free_page(hw->ctx, (char *)u->iq_va + i * VTD_PAGE_SIZE,
                          u->iq_pa + i * VTD_PAGE_SIZE);
        }
        u->iq_va = NULL;
        hw->free_page(hw->ctx, u->status_va, u->status_pa);
        u->status_va = NULL;
    }
    if (u->prq_va) {
        for (unsigned i = 0; i < (1u << u->cfg.prq_order); i++) {
            hw->free_page(hw->ctx, (char *)u->prq_va + i * VTD_PAGE_SIZE,
                          u->prq_pa + i * VTD_PAGE_SIZE);
        }
        u->prq_va = NULL;
    }
    u->probed = false;
    return VTD_OK;
}
