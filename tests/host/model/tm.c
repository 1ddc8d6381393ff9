/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Hand-written "software" for the model's self-tests: table building, the command handshakes
 * and queue submission, each bounded in virtual time.
 */
#include "tm.h"

int tm_failures;
const char *tm_current;

bool tm_init(struct tm *t, const struct vtd_model_config *cfg)
{
    memset(t, 0, sizeof(*t));
    t->m = vtd_model_create(cfg);
    if (!t->m) {
        return false;
    }
    t->hw = vtd_model_hw(t->m);
    t->next_struct = TM_STRUCT_BASE;
    return true;
}

void tm_fini(struct tm *t)
{
    vtd_model_destroy(t->m);
    t->m = NULL;
}

uint64_t tm_alloc(struct tm *t)
{
    uint64_t pa = t->next_struct;
    t->next_struct += 4096;
    void *p = vtd_model_phys(t->m, pa, 4096);
    memset(p, 0, 4096);
    t->hw->flush_cache(t->hw->ctx, p, 4096);
    return pa;
}

void tm_w64(struct tm *t, uint64_t pa, uint64_t val)
{
    void *p = vtd_model_phys(t->m, pa, 8);
    memcpy(p, &val, 8);
    t->hw->flush_cache(t->hw->ctx, p, 8);
}

uint64_t tm_r64(struct tm *t, uint64_t pa)
{
    uint64_t v;
    memcpy(&v, vtd_model_phys(t->m, pa, 8), 8);
    return v;
}

uint32_t tm_r32(struct tm *t, uint64_t pa)
{
    uint32_t v;
    memcpy(&v, vtd_model_phys(t->m, pa, 4), 4);
    return v;
}

bool tm_gcmd(struct tm *t, uint32_t bit, bool set)
{
    const uint32_t level = GCMD_TE | GCMD_QIE | (1u << 25) | (1u << 23);
    uint32_t v = t->gcmd;
    if (bit & level) {
        v = set ? (v | bit) : (v & ~bit);
    } else {
        v |= bit;
    }
    t->hw->write32(t->hw->ctx, R_GCMD, v);
    if (bit & level) {
        t->gcmd = v;
    }
    uint64_t deadline = t->hw->now_ns(t->hw->ctx) + 100000;
    while (t->hw->now_ns(t->hw->ctx) < deadline) {
        bool is = t->hw->read32(t->hw->ctx, R_GSTS) & bit;
        if (is == set) {
            return true;
        }
        t->hw->relax(t->hw->ctx);
    }
    return false;
}

bool tm_enable(struct tm *t, bool scalable)
{
    t->root_pa = tm_alloc(t);
    t->scalable = scalable;
    t->hw->write64(t->hw->ctx, R_RTADDR, t->root_pa | (scalable ? 1ull << 10 : 0));
    return tm_gcmd(t, GCMD_SRTP, true) && tm_gcmd(t, GCMD_TE, true);
}

static uint64_t ctx_table(struct tm *t, uint16_t sid)
{
    unsigned bus = sid >> 8;
    unsigned half = (t->scalable && (sid & 0xff) >= 128) ? 1 : 0;
    uint64_t re = tm_r64(t, t->root_pa + bus * 16 + half * 8);
    if (!(re & 1)) {
        uint64_t ct = tm_alloc(t);
        re = ct | 1;
        tm_w64(t, t->root_pa + bus * 16 + half * 8, re);
    }
    return re & ~0xfffull;
}

void tm_legacy_ctx_raw(struct tm *t, uint16_t sid, uint64_t lo, uint64_t hi)
{
    uint64_t ct = ctx_table(t, sid);
    tm_w64(t, ct + (sid & 0xff) * 16 + 8, hi);
    tm_w64(t, ct + (sid & 0xff) * 16, lo);
}

uint64_t tm_legacy_ctx(struct tm *t, uint16_t sid, uint16_t did, unsigned tt, unsigned aw)
{
    uint64_t pt = tm_alloc(t);
    tm_legacy_ctx_raw(t, sid, pt | ((uint64_t)tt << 2) | 1, aw | ((uint64_t)did << 8));
    return pt;
}

uint64_t tm_pte_addr(struct tm *t, uint64_t pt, unsigned levels, uint64_t iova, unsigned shift)
{
    uint64_t table = pt;
    for (unsigned level = levels;; level--) {
        unsigned s = 12 + 9 * (level - 1);
        uint64_t a = table + ((iova >> s) & 511) * 8;
        if (s == shift) {
            return a;
        }
        uint64_t e = tm_r64(t, a);
        if (!(e & 3)) {
            uint64_t nt = tm_alloc(t);
            e = nt | 3;
            tm_w64(t, a, e);
        }
        table = e & 0x000ffffffffff000ull;
    }
}

void tm_map(struct tm *t, uint64_t pt, unsigned levels, uint64_t iova, uint64_t pa,
            unsigned shift, bool r, bool w)
{
    uint64_t a = tm_pte_addr(t, pt, levels, iova, shift);
    uint64_t e = pa | (r ? 1 : 0) | (w ? 2 : 0) | (shift > 12 ? 1ull << 7 : 0);
    tm_w64(t, a, e);
}

uint64_t tm_sm_ctx(struct tm *t, uint16_t sid, uint32_t rid_pasid, bool dte, bool paside)
{
    uint64_t ct = ctx_table(t, sid);
    uint64_t dir = tm_alloc(t);
    uint64_t e = ct + (sid & 0x7f) * 32;
    tm_w64(t, e + 8, rid_pasid);
    /* PDTS = 0: 128 directory entries, PASIDs 0..8191. */
    tm_w64(t, e, dir | (dte ? 4 : 0) | (paside ? 8 : 0) | 1);
    return dir;
}

uint64_t tm_sm_ctx_addr(struct tm *t, uint16_t sid)
{
    return ctx_table(t, sid) + (sid & 0x7f) * 32;
}

uint64_t tm_sm_pasid(struct tm *t, uint64_t dir, uint32_t pasid, uint16_t did, unsigned pgtt,
                     unsigned aw, uint64_t slptptr)
{
    uint64_t de = tm_r64(t, dir + (pasid >> 6) * 8);
    if (!(de & 1)) {
        de = tm_alloc(t) | 1;
        tm_w64(t, dir + (pasid >> 6) * 8, de);
    }
    uint64_t pe = (de & ~0xfffull) + (pasid & 63) * 64;
    tm_w64(t, pe + 8, did);
    tm_w64(t, pe, slptptr | ((uint64_t)pgtt << 6) | ((uint64_t)aw << 2) | 1);
    return pe;
}

bool tm_qi_enable(struct tm *t, bool dw)
{
    t->iq_pa = tm_alloc(t);
    t->iq_dw = dw;
    t->iq_tail = 0;
    t->iq_size = 4096;
    t->hw->write64(t->hw->ctx, R_IQT, 0);
    t->hw->write64(t->hw->ctx, R_IQA, t->iq_pa | (dw ? 1ull << 11 : 0));
    return tm_gcmd(t, GCMD_QIE, true);
}

void tm_submit(struct tm *t, const uint64_t (*descs)[4], unsigned n)
{
    unsigned dsize = t->iq_dw ? 32 : 16;
    for (unsigned i = 0; i < n; i++) {
        void *p = vtd_model_phys(t->m, t->iq_pa + t->iq_tail, dsize);
        memcpy(p, descs[i], dsize);
        t->iq_tail = (t->iq_tail + dsize) % t->iq_size;
    }
    t->hw->write64(t->hw->ctx, R_IQT, t->iq_tail);
}

bool tm_poll32(struct tm *t, uint64_t status_pa, uint32_t want, uint64_t limit_ns)
{
    uint64_t deadline = t->hw->now_ns(t->hw->ctx) + limit_ns;
    while (t->hw->now_ns(t->hw->ctx) < deadline) {
        if (tm_r32(t, status_pa) == want) {
            return true;
        }
        t->hw->relax(t->hw->ctx);
    }
    return tm_r32(t, status_pa) == want;
}
