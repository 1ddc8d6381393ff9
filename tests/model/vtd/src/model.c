/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VT-d model's register file, simulated memory, virtual clock and the struct vtd_hw that
 * libvtd drives it through. Registers follow the spec's access types: read-only fields ignore
 * writes, status bits are write-1-to-clear, GCMD is write-only and its effects appear in GSTS
 * only after a (virtual) delay, so software has to poll, with a deadline.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "model_internal.h"

#define DEFAULT_CAP 0x00d2008c22260206ull
/* QI, DT, IR, EIM, PT, IRO = 0xf0, MHMV = 15; no page-walk coherency (C = 0), like QEMU. */
#define DEFAULT_ECAP 0x0000000000f00f5eull

/* ---------------------------------------------------------------- memory */

/*
 * Simulated memory (and the hardware's view of it) comes straight from mmap, zero-filled, with an
 * inaccessible page on each side so that a stray access past either end faults. Through the
 * sanitizers' allocator a multi-megabyte calloc/free costs milliseconds (shadow poisoning of the
 * whole range), which made a fresh model per fuzz input the dominant cost; mmap touches only the
 * pages that are used.
 */
static uint8_t *sim_mem_alloc(uint64_t bytes)
{
    size_t total = (size_t)bytes + 2 * VTDM_PAGE;
    uint8_t *p = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    if (mprotect(p + VTDM_PAGE, (size_t)bytes, PROT_READ | PROT_WRITE) != 0) {
        munmap(p, total);
        return NULL;
    }
    return p + VTDM_PAGE;
}

static void sim_mem_free(uint8_t *p, uint64_t bytes)
{
    if (p) {
        munmap(p - VTDM_PAGE, (size_t)bytes + 2 * VTDM_PAGE);
    }
}

static bool range_ok(const struct vtd_model *m, uint64_t pa, size_t len)
{
    return pa <= m->mem_bytes && len <= m->mem_bytes - pa;
}

/* [pa, pa + len) may be written from now on (by software or the unit); pa is in range. */
static void mark_dirty(struct vtd_model *m, uint64_t pa, size_t len)
{
    uint64_t last = (pa + (len ? len - 1 : 0)) / VTDM_PAGE;
    for (uint64_t p = pa / VTDM_PAGE; p <= last && p < m->mem_bytes / VTDM_PAGE; p++) {
        if (!m->dirty[p]) {
            m->dirty[p] = 1;
            m->dirty_list[m->n_dirty++] = (uint32_t)p;
        }
    }
}

bool vtdm_mem_read(struct vtd_model *m, uint64_t pa, void *out, size_t len)
{
    if (!range_ok(m, pa, len)) {
        return false;
    }
    memcpy(out, m->mem + pa, len);
    return true;
}

/* Remapping-structure reads: through the hardware's view when walks are not coherent. */
bool vtdm_hw_read(struct vtd_model *m, uint64_t pa, void *out, size_t len)
{
    if (!range_ok(m, pa, len)) {
        return false;
    }
    memcpy(out, (m->hwview ? m->hwview : m->mem) + pa, len);
    return true;
}

/* Writes by the unit are snooped: both views see them. */
bool vtdm_mem_write(struct vtd_model *m, uint64_t pa, const void *in, size_t len)
{
    if (!range_ok(m, pa, len)) {
        return false;
    }
    mark_dirty(m, pa, len);
    memcpy(m->mem + pa, in, len);
    if (m->hwview) {
        memcpy(m->hwview + pa, in, len);
    }
    return true;
}

void *vtd_model_phys(struct vtd_model *m, uint64_t pa, size_t len)
{
    if (!range_ok(m, pa, len)) {
        return NULL;
    }
    mark_dirty(m, pa, len);
    return m->mem + pa;
}

static void *hw_alloc_page(void *ctx, uint64_t *pa)
{
    struct vtd_model *m = ctx;
    for (size_t i = 0; i < m->alloc_pages; i++) {
        size_t idx = (m->alloc_next + i) % m->alloc_pages;
        if (!m->page_used[idx]) {
            m->page_used[idx] = 1;
            m->alloc_next = idx + 1;
            m->pages_in_use++;
            uint64_t p = m->alloc_base + idx * VTDM_PAGE;
            mark_dirty(m, p, VTDM_PAGE);
            memset(m->mem + p, 0, VTDM_PAGE);
            *pa = p;
            return m->mem + p;
        }
    }
    return NULL;
}

static void hw_free_page(void *ctx, void *va, uint64_t pa)
{
    struct vtd_model *m = ctx;
    if (pa < m->alloc_base || pa >= m->mem_bytes || (pa & (VTDM_PAGE - 1)) ||
        va != m->mem + pa) {
        m->st.bad_reg_access++;
        return;
    }
    size_t idx = (pa - m->alloc_base) / VTDM_PAGE;
    if (!m->page_used[idx]) {
        m->st.bad_reg_access++; /* double free */
        return;
    }
    /* "Free only after invalidation": a cache still holding this table is a bug in software. */
    if (vtdm_page_cached(m, pa)) {
        m->st.freed_while_cached++;
    }
    m->page_used[idx] = 0;
    m->pages_in_use--;
    mark_dirty(m, pa, VTDM_PAGE);
    /* Poison, so that a walk through a stale link finds reserved bits set. */
    memset(m->mem + pa, 0xff, VTDM_PAGE);
    if (m->hwview) {
        memset(m->hwview + pa, 0xff, VTDM_PAGE);
    }
}

static void *hw_phys_to_virt(void *ctx, uint64_t pa)
{
    struct vtd_model *m = ctx;
    if (!range_ok(m, pa, 1)) {
        return NULL;
    }
    mark_dirty(m, pa, 1);
    return m->mem + pa;
}

static void hw_flush_cache(void *ctx, const void *va, size_t len)
{
    struct vtd_model *m = ctx;
    m->st.cache_flushes++;
    const uint8_t *p = va;
    if (!m->hwview || p < m->mem || p >= m->mem + m->mem_bytes) {
        return;
    }
    uint64_t pa = (uint64_t)(p - m->mem);
    /* Whole cache lines reach memory. */
    uint64_t start = pa & ~63ull;
    uint64_t end = pa + len;
    if (end > m->mem_bytes) {
        end = m->mem_bytes;
    }
    end = (end + 63) & ~63ull;
    if (end > m->mem_bytes) {
        end = m->mem_bytes;
    }
    if (end > start) {
        mark_dirty(m, start, end - start);
    }
    memcpy(m->hwview + start, m->mem + start, end - start);
}

/* ---------------------------------------------------------------- time */

static uint64_t hw_now_ns(void *ctx)
{
    struct vtd_model *m = ctx;
    m->now += 100;
    vtdm_progress(m);
    return m->now;
}

static void hw_relax(void *ctx)
{
    struct vtd_model *m = ctx;
    m->now += 1000;
    vtdm_progress(m);
}

void vtd_model_advance(struct vtd_model *m, uint64_t ns)
{
    /* Step in 1 us increments so that events fire in order. */
    while (ns > 0) {
        uint64_t step = ns < 1000 ? ns : 1000;
        m->now += step;
        ns -= step;
        vtdm_progress(m);
    }
}

uint64_t vtd_model_now(const struct vtd_model *m)
{
    return m->now;
}

/* ---------------------------------------------------------------- interrupts */

static void event(uint32_t *ectl, uint64_t *counter)
{
    if (*ectl & VTDM_XECTL_IM) {
        *ectl |= VTDM_XECTL_IP;
    } else {
        (*counter)++;
    }
}

static bool any_fault_pending(const struct vtd_model *m)
{
    unsigned n = VTDM_CAP_NFR(m->cap);
    unsigned fro = VTDM_CAP_FRO(m->cap);
    for (unsigned i = 0; i < n; i++) {
        if (m->regs[(fro + i * 16 + 12) / 4] & (1u << 31)) {
            return true;
        }
    }
    return false;
}

static uint32_t fsts_value(const struct vtd_model *m)
{
    uint32_t v = m->fsts_sticky;
    if (any_fault_pending(m)) {
        v |= VTDM_FSTS_PPF | (uint32_t)(m->fri << VTDM_FSTS_FRI_SHIFT);
    }
    return v;
}

/*
 * VT-d 7.3: a fault event is signalled when hardware sets one of PPF, PFO, IQE, ICE, ITE and
 * none of them was already pending (software has not serviced the previous event).
 */
void vtdm_fault_event(struct vtd_model *m, uint32_t new_bits)
{
    const uint32_t mask = VTDM_FSTS_PFO | VTDM_FSTS_PPF | VTDM_FSTS_IQE | VTDM_FSTS_ICE |
                          VTDM_FSTS_ITE | VTDM_FSTS_APF | VTDM_FSTS_AFO;
    uint32_t before = fsts_value(m) & mask;
    m->fsts_sticky |= new_bits & ~VTDM_FSTS_PPF;
    if (before == 0) {
        event(&m->fectl, &m->st.fault_interrupts);
    }
}

void vtdm_prq_event(struct vtd_model *m, uint32_t new_bits)
{
    uint32_t before = m->prs;
    m->prs |= new_bits;
    if (before == 0) {
        event(&m->pectl, &m->st.prq_interrupts);
    }
}

static void write_ectl(uint32_t *ectl, uint32_t val, uint64_t *counter)
{
    bool was_masked = *ectl & VTDM_XECTL_IM;
    *ectl = (*ectl & VTDM_XECTL_IP) | (val & VTDM_XECTL_IM);
    if (was_masked && !(val & VTDM_XECTL_IM) && (*ectl & VTDM_XECTL_IP)) {
        *ectl &= ~VTDM_XECTL_IP;
        (*counter)++;
    }
}

/* ---------------------------------------------------------------- global command */

static void gcmd_complete(struct vtd_model *m)
{
    uint32_t v = m->gcmd_val, ch = m->gcmd_changed;
    m->gcmd_busy = false;
    if (ch & VTDM_GCMD_SRTP) {
        uint64_t rt = (uint64_t)m->regs[VTDM_RTADDR_REG / 4] |
                      (uint64_t)m->regs[VTDM_RTADDR_REG / 4 + 1] << 32;
        m->root_pa = rt & ~0xfffull;
        m->ttm = VTDM_RTADDR_TTM(rt);
        m->gsts |= VTDM_GCMD_SRTP;
    }
    if (ch & VTDM_GCMD_SIRTP) {
        vtdm_irt_latch(m);
        m->gsts |= VTDM_GCMD_SIRTP;
    }
    if (ch & VTDM_GCMD_WBF) {
        m->gsts &= ~VTDM_GCMD_WBF;
    }
    if (ch & VTDM_GCMD_TE) {
        m->gsts = (m->gsts & ~VTDM_GCMD_TE) | (v & VTDM_GCMD_TE);
    }
    if (ch & VTDM_GCMD_IRE) {
        m->gsts = (m->gsts & ~VTDM_GCMD_IRE) | (v & VTDM_GCMD_IRE);
    }
    if (ch & VTDM_GCMD_CFI) {
        m->gsts = (m->gsts & ~VTDM_GCMD_CFI) | (v & VTDM_GCMD_CFI);
    }
    if (ch & VTDM_GCMD_QIE) {
        if (v & VTDM_GCMD_QIE) {
            m->iq_head = 0; /* VT-d 6.5.2: the queue starts at its base */
            m->gsts |= VTDM_GCMD_QIE;
            vtdm_iq_run(m);
        } else if (vtdm_iq_idle(m)) {
            vtdm_iq_disable(m);
            m->gsts &= ~VTDM_GCMD_QIE;
        } else {
            m->st.qi_disable_refused++; /* QIES stays set: software's poll must time out */
        }
    }
}

static void gcmd_write(struct vtd_model *m, uint32_t val)
{
    m->st.gcmd_writes++;
    if (m->gcmd_busy) {
        gcmd_complete(m); /* the previous command finishes first */
    }
    const uint32_t level = VTDM_GCMD_TE | VTDM_GCMD_QIE | VTDM_GCMD_IRE | VTDM_GCMD_CFI;
    const uint32_t oneshot = VTDM_GCMD_SRTP | VTDM_GCMD_SIRTP | VTDM_GCMD_WBF;
    uint32_t changed = ((val ^ m->gsts) & level) | (val & oneshot);
    if ((val & VTDM_GCMD_WBF) && !(m->cap & VTDM_CAP_RWBF)) {
        changed &= ~VTDM_GCMD_WBF; /* no write buffer to flush; WBFS never sets */
    }
    if ((val & VTDM_GCMD_QIE) && !(m->ecap & VTDM_ECAP_QI)) {
        changed &= ~VTDM_GCMD_QIE;
    }
    if (!(m->ecap & VTDM_ECAP_IR)) {
        changed &= ~(VTDM_GCMD_IRE | VTDM_GCMD_SIRTP | VTDM_GCMD_CFI); /* reserved */
    }
    if (changed == 0) {
        return;
    }
    if (__builtin_popcount(changed) > 1) {
        m->st.gcmd_multi_change++; /* VT-d 11.4.4: one field per write */
    }
    if (changed & VTDM_GCMD_SRTP) {
        m->gsts &= ~VTDM_GCMD_SRTP;
    }
    if (changed & VTDM_GCMD_SIRTP) {
        m->gsts &= ~VTDM_GCMD_SIRTP;
    }
    if (changed & VTDM_GCMD_WBF) {
        m->gsts |= VTDM_GCMD_WBF;
    }
    m->gcmd_busy = true;
    m->gcmd_val = val;
    m->gcmd_changed = changed;
    m->gcmd_done_at = m->now + m->cfg.cmd_delay_ns;
}

/* ---------------------------------------------------------------- register invalidation */

static uint64_t reg64(const struct vtd_model *m, uint32_t off)
{
    return (uint64_t)m->regs[off / 4] | (uint64_t)m->regs[off / 4 + 1] << 32;
}

static void set_reg64(struct vtd_model *m, uint32_t off, uint64_t v)
{
    m->regs[off / 4] = (uint32_t)v;
    m->regs[off / 4 + 1] = (uint32_t)(v >> 32);
}

static void ccmd_start(struct vtd_model *m)
{
    uint64_t v = reg64(m, VTDM_CCMD_REG);
    if (m->gsts & VTDM_GCMD_QIE) {
        m->st.reg_inv_while_qi++; /* ignored: ICC stays set (as QEMU does) */
        return;
    }
    unsigned g = VTDM_CCMD_CIRG(v);
    if (g == 0) {
        g = 1; /* reserved granularity: the model performs a global invalidation */
    }
    vtdm_cc_invalidate(m, g, VTDM_CCMD_DID(v), VTDM_CCMD_SID(v), VTDM_CCMD_FM(v));
    v = (v & ~(3ull << VTDM_CCMD_CAIG_SHIFT)) | ((uint64_t)g << VTDM_CCMD_CAIG_SHIFT);
    set_reg64(m, VTDM_CCMD_REG, v);
    m->ccmd_busy = true;
    m->ccmd_done_at = m->now + m->cfg.cmd_delay_ns;
}

static void iotlbreg_start(struct vtd_model *m)
{
    uint32_t iro = VTDM_ECAP_IRO(m->ecap);
    uint64_t v = reg64(m, iro + VTDM_IOTLB_OFF);
    uint64_t iva = reg64(m, iro + VTDM_IVA_OFF);
    if (m->gsts & VTDM_GCMD_QIE) {
        m->st.reg_inv_while_qi++;
        return;
    }
    unsigned g = VTDM_IOTLB_IIRG(v);
    unsigned am = iva & 0x3f;
    if (g == 0) {
        g = 1;
    }
    if (g == 3 && (!(m->cap & VTDM_CAP_PSI) || am > VTDM_CAP_MAMV(m->cap))) {
        g = 2; /* hardware may fall back to domain-selective; IAIG says so */
    }
    vtdm_iotlb_invalidate(m, g, VTDM_IOTLB_DID(v), VTD_MODEL_NO_PASID, iva & ~0xfffull, am);
    v = (v & ~(3ull << VTDM_IOTLB_IAIG_SHIFT)) | ((uint64_t)g << VTDM_IOTLB_IAIG_SHIFT);
    set_reg64(m, iro + VTDM_IOTLB_OFF, v);
    m->iotlbreg_busy = true;
    m->iotlbreg_done_at = m->now + m->cfg.cmd_delay_ns;
}

/* ---------------------------------------------------------------- progress */

void vtdm_progress(struct vtd_model *m)
{
    if (m->cmd_stuck) {
        goto queue;
    }
    if (m->gcmd_busy && m->now >= m->gcmd_done_at) {
        gcmd_complete(m);
    }
    if (m->ccmd_busy && m->now >= m->ccmd_done_at) {
        m->ccmd_busy = false;
        m->regs[VTDM_CCMD_REG / 4 + 1] &= ~(1u << 31);
    }
    if (m->iotlbreg_busy && m->now >= m->iotlbreg_done_at) {
        m->iotlbreg_busy = false;
        m->regs[(VTDM_ECAP_IRO(m->ecap) + VTDM_IOTLB_OFF) / 4 + 1] &= ~(1u << 31);
    }
queue:
    vtdm_iq_run(m);
}

/* ---------------------------------------------------------------- register access */

static bool in_frcd(const struct vtd_model *m, uint32_t off)
{
    uint32_t fro = VTDM_CAP_FRO(m->cap);
    return off >= fro && off < fro + VTDM_CAP_NFR(m->cap) * 16;
}

static uint32_t reg_read32(void *ctx, uint32_t off)
{
    struct vtd_model *m = ctx;
    if ((off & 3) || off >= VTDM_REG_SPACE) {
        m->st.bad_reg_access++;
        return 0;
    }
    switch (off) {
    case VTDM_GCMD_REG:
        return 0; /* write-only */
    case VTDM_GSTS_REG:
        return m->gsts;
    case VTDM_FSTS_REG:
        return fsts_value(m);
    case VTDM_FECTL_REG:
        return m->fectl;
    case VTDM_IECTL_REG:
        return m->iectl;
    case VTDM_PECTL_REG:
        return m->pectl;
    case VTDM_ICS_REG:
        return m->ics;
    case VTDM_PRS_REG:
        return m->prs;
    case VTDM_IQH_REG:
        return m->iq_head;
    case VTDM_IQH_REG + 4:
        return 0;
    case VTDM_PQT_REG:
        return m->pq_tail;
    case VTDM_PQT_REG + 4:
        return 0;
    case VTDM_IQERCD_REG:
        return (uint32_t)m->iqercd;
    case VTDM_IQERCD_REG + 4:
        return (uint32_t)(m->iqercd >> 32);
    default:
        return m->regs[off / 4];
    }
}

static uint64_t reg_read64(void *ctx, uint32_t off)
{
    struct vtd_model *m = ctx;
    if (off & 7) {
        m->st.bad_reg_access++;
        return 0;
    }
    return (uint64_t)reg_read32(ctx, off) | (uint64_t)reg_read32(ctx, off + 4) << 32;
}

static void reg_write32(void *ctx, uint32_t off, uint32_t val)
{
    struct vtd_model *m = ctx;
    if ((off & 3) || off >= VTDM_REG_SPACE) {
        m->st.bad_reg_access++;
        return;
    }
    uint32_t iro = VTDM_ECAP_IRO(m->ecap);
    if (in_frcd(m, off)) {
        uint32_t fro = VTDM_CAP_FRO(m->cap);
        if (((off - fro) & 15) == 12 && (val & (1u << 31))) {
            m->regs[off / 4] &= ~(1u << 31); /* F is RW1C; the rest is read-only */
            if (!fsts_value(m)) {
                m->fectl &= ~VTDM_XECTL_IP;
            }
        }
        return;
    }
    if (off == iro + VTDM_IOTLB_OFF + 4) {
        m->regs[off / 4] = val;
        if (val & (1u << 31)) {
            iotlbreg_start(m);
        }
        return;
    }
    if (off >= iro && off < iro + 16) {
        m->regs[off / 4] = val;
        return;
    }
    switch (off) {
    case VTDM_VER_REG:
    case VTDM_CAP_REG:
    case VTDM_CAP_REG + 4:
    case VTDM_ECAP_REG:
    case VTDM_ECAP_REG + 4:
    case VTDM_GSTS_REG:
    case VTDM_IQH_REG:
    case VTDM_IQH_REG + 4:
    case VTDM_PQT_REG + 4:
    case VTDM_IQERCD_REG:
    case VTDM_IQERCD_REG + 4:
        return; /* read-only */
    case VTDM_GCMD_REG:
        gcmd_write(m, val);
        return;
    case VTDM_CCMD_REG + 4:
        m->regs[off / 4] = val;
        if (val & (1u << 31)) {
            ccmd_start(m);
        }
        return;
    case VTDM_FSTS_REG: {
        uint32_t w1c = VTDM_FSTS_PFO | VTDM_FSTS_AFO | VTDM_FSTS_APF | VTDM_FSTS_IQE |
                       VTDM_FSTS_ICE | VTDM_FSTS_ITE;
        uint32_t clr = val & w1c & m->fsts_sticky;
        m->fsts_sticky &= ~clr;
        if (clr & VTDM_FSTS_IQE) {
            m->iqercd &= ~0xfull;
        }
        if (!fsts_value(m)) {
            m->fectl &= ~VTDM_XECTL_IP; /* nothing left to signal */
        }
        if (clr & (VTDM_FSTS_IQE | VTDM_FSTS_ITE)) {
            vtdm_iq_run(m); /* the queue resumes */
        }
        return;
    }
    case VTDM_FECTL_REG:
        write_ectl(&m->fectl, val, &m->st.fault_interrupts);
        return;
    case VTDM_IECTL_REG:
        write_ectl(&m->iectl, val, &m->st.completion_interrupts);
        return;
    case VTDM_PECTL_REG:
        write_ectl(&m->pectl, val, &m->st.prq_interrupts);
        return;
    case VTDM_ICS_REG:
        if (val & VTDM_ICS_IWC) {
            m->ics &= ~VTDM_ICS_IWC;
            m->iectl &= ~VTDM_XECTL_IP;
        }
        return;
    case VTDM_PRS_REG:
        m->prs &= ~(val & (VTDM_PRS_PPR | VTDM_PRS_PRO));
        if (!m->prs) {
            m->pectl &= ~VTDM_XECTL_IP;
        }
        return;
    case VTDM_IQT_REG:
        m->regs[off / 4] = val;
        m->st.tail_writes++;
        vtdm_iq_run(m);
        return;
    case VTDM_IQT_REG + 4:
        return; /* reserved */
    case VTDM_PQT_REG:
        m->pq_tail = val & VTDM_PQ_OFF_MASK; /* software initialises it with the queue */
        return;
    default:
        m->regs[off / 4] = val;
        return;
    }
}

static void reg_write64(void *ctx, uint32_t off, uint64_t val)
{
    struct vtd_model *m = ctx;
    if (off & 7) {
        m->st.bad_reg_access++;
        return;
    }
    /* Upper half first for the tail so that a single run sees the full value; otherwise the
       lower half first, so command bits in the upper half act on a complete register. */
    if (off == VTDM_IQT_REG) {
        reg_write32(ctx, off + 4, (uint32_t)(val >> 32));
        reg_write32(ctx, off, (uint32_t)val);
    } else {
        reg_write32(ctx, off, (uint32_t)val);
        reg_write32(ctx, off + 4, (uint32_t)(val >> 32));
    }
}

/* ---------------------------------------------------------------- creation */

static bool config_ok(uint64_t cap, uint64_t ecap)
{
    uint32_t fro = VTDM_CAP_FRO(cap), iro = VTDM_ECAP_IRO(ecap);
    uint32_t nfr = VTDM_CAP_NFR(cap);
    if (fro < 0x100 || fro + nfr * 16 > VTDM_REG_SPACE) {
        return false;
    }
    if (iro < 0xf0 || iro + 16 > VTDM_REG_SPACE) {
        return false;
    }
    if (iro + 16 > fro && fro + nfr * 16 > iro) {
        return false;
    }
    if ((VTDM_CAP_SAGAW(cap) & 0x6) == 0) {
        return false; /* the model walks 3- and 4-level tables */
    }
    return true;
}

struct vtd_model *vtd_model_create(const struct vtd_model_config *cfg)
{
    struct vtd_model_config c = {0};
    if (cfg) {
        c = *cfg;
    }
    if (!c.cap) {
        c.cap = DEFAULT_CAP;
    }
    if (!c.ecap) {
        c.ecap = DEFAULT_ECAP;
    }
    if (c.no_ir) {
        c.ecap &= ~(VTDM_ECAP_IR | VTDM_ECAP_EIM);
    }
    if (!c.mem_bytes) {
        c.mem_bytes = 64u << 20;
    }
    if (!c.ite_timeout_ns) {
        c.ite_timeout_ns = 1000000;
    }
    if (!c.iotlb_entries) {
        c.iotlb_entries = 64;
    }
    if (!c.cmd_delay_ns) {
        c.cmd_delay_ns = 1000;
    }
    if (!c.devtlb_latency_ns) {
        c.devtlb_latency_ns = 2000;
    }
    if (c.mem_bytes < 16 * VTDM_PAGE || (c.mem_bytes & (VTDM_PAGE - 1)) ||
        c.mem_bytes > (1ull << 36) || c.iotlb_entries > 1u << 16 || !config_ok(c.cap, c.ecap)) {
        return NULL;
    }
    struct vtd_model *m = calloc(1, sizeof(*m));
    if (!m) {
        return NULL;
    }
    m->cfg = c;
    m->cap = c.cap;
    m->ecap = c.ecap;
    m->mem_bytes = c.mem_bytes;
    m->mem = sim_mem_alloc(c.mem_bytes);
    if (!(c.ecap & VTDM_ECAP_C)) {
        m->hwview = sim_mem_alloc(c.mem_bytes);
    }
    m->alloc_base = (c.mem_bytes / 2) & ~(VTDM_PAGE - 1);
    m->alloc_pages = (c.mem_bytes - m->alloc_base) / VTDM_PAGE;
    m->page_used = calloc(m->alloc_pages, 1);
    m->dirty = calloc(c.mem_bytes / VTDM_PAGE, 1);
    m->dirty_list = calloc(c.mem_bytes / VTDM_PAGE, sizeof(*m->dirty_list));
    m->iotlb_n = c.iotlb_entries;
    m->iotlb = calloc(c.iotlb_entries, sizeof(*m->iotlb));
    if (!m->mem || (!(c.ecap & VTDM_ECAP_C) && !m->hwview) || !m->page_used || !m->dirty ||
        !m->dirty_list || !m->iotlb) {
        vtd_model_destroy(m);
        return NULL;
    }
    m->regs[VTDM_VER_REG / 4] = (c.ecap & VTDM_ECAP_SMTS) ? 0x30 : 0x10;
    set_reg64(m, VTDM_CAP_REG, c.cap);
    set_reg64(m, VTDM_ECAP_REG, c.ecap);
    m->fectl = VTDM_XECTL_IM; /* interrupts start masked */
    m->iectl = VTDM_XECTL_IM;
    m->pectl = VTDM_XECTL_IM;

    m->hw.ctx = m;
    m->hw.read32 = reg_read32;
    m->hw.read64 = reg_read64;
    m->hw.write32 = reg_write32;
    m->hw.write64 = reg_write64;
    m->hw.alloc_page = hw_alloc_page;
    m->hw.free_page = hw_free_page;
    m->hw.phys_to_virt = hw_phys_to_virt;
    m->hw.flush_cache = hw_flush_cache;
    m->hw.now_ns = hw_now_ns;
    m->hw.relax = hw_relax;
    return m;
}

void vtd_model_destroy(struct vtd_model *m)
{
    if (!m) {
        return;
    }
    sim_mem_free(m->mem, m->mem_bytes);
    sim_mem_free(m->hwview, m->mem_bytes);
    free(m->page_used);
    free(m->dirty);
    free(m->dirty_list);
    free(m->iotlb);
    free(m);
}

/* ---------------------------------------------------------------- snapshots */

struct vtd_model_snapshot {
    const struct vtd_model *of;
    struct vtd_model m;   /* the whole object, its pointers included (same buffers) */
    uint8_t *page_used;
    uint8_t *dirty;
    uint32_t *dirty_list;
    struct vtdm_tlb_entry *iotlb;
    uint8_t *pages;       /* n_dirty pages of mem, then n_dirty pages of hwview */
    uint8_t *full_mem, *full_hw; /* everything, when asked for */
};

void vtd_model_snapshot_free(struct vtd_model_snapshot *s)
{
    if (!s) {
        return;
    }
    free(s->page_used);
    free(s->dirty);
    free(s->dirty_list);
    free(s->iotlb);
    free(s->pages);
    free(s->full_mem);
    free(s->full_hw);
    free(s);
}

struct vtd_model_snapshot *vtd_model_snapshot(const struct vtd_model *m, bool full)
{
    size_t npages = m->mem_bytes / VTDM_PAGE;
    struct vtd_model_snapshot *s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    s->of = m;
    s->m = *m;
    s->page_used = malloc(m->alloc_pages);
    s->dirty = malloc(npages);
    s->dirty_list = malloc(npages * sizeof(*s->dirty_list));
    s->iotlb = malloc(m->iotlb_n * sizeof(*s->iotlb));
    s->pages = malloc((m->n_dirty ? m->n_dirty : 1) * 2 * VTDM_PAGE);
    if (full) {
        s->full_mem = malloc(m->mem_bytes);
        s->full_hw = m->hwview ? malloc(m->mem_bytes) : NULL;
    }
    if (!s->page_used || !s->dirty || !s->dirty_list || !s->iotlb || !s->pages ||
        (full && (!s->full_mem || (m->hwview && !s->full_hw)))) {
        vtd_model_snapshot_free(s);
        return NULL;
    }
    memcpy(s->page_used, m->page_used, m->alloc_pages);
    memcpy(s->dirty, m->dirty, npages);
    memcpy(s->dirty_list, m->dirty_list, m->n_dirty * sizeof(*s->dirty_list));
    memcpy(s->iotlb, m->iotlb, m->iotlb_n * sizeof(*s->iotlb));
    for (size_t i = 0; i < m->n_dirty; i++) {
        uint64_t pa = (uint64_t)m->dirty_list[i] * VTDM_PAGE;
        memcpy(s->pages + i * VTDM_PAGE, m->mem + pa, VTDM_PAGE);
        if (m->hwview) {
            memcpy(s->pages + (m->n_dirty + i) * VTDM_PAGE, m->hwview + pa, VTDM_PAGE);
        }
    }
    if (full) {
        memcpy(s->full_mem, m->mem, m->mem_bytes);
        if (m->hwview) {
            memcpy(s->full_hw, m->hwview, m->mem_bytes);
        }
    }
    return s;
}

void vtd_model_restore(struct vtd_model *m, const struct vtd_model_snapshot *s)
{
    if (s->of != m) {
        abort(); /* a snapshot only restores the model it was taken of */
    }
    size_t npages = m->mem_bytes / VTDM_PAGE;
    /* Pages first touched after the snapshot are back to what a fresh model has: zeroes. */
    for (size_t i = 0; i < m->n_dirty; i++) {
        uint32_t p = m->dirty_list[i];
        if (!s->dirty[p]) {
            memset(m->mem + (uint64_t)p * VTDM_PAGE, 0, VTDM_PAGE);
            if (m->hwview) {
                memset(m->hwview + (uint64_t)p * VTDM_PAGE, 0, VTDM_PAGE);
            }
        }
    }
    size_t n = s->m.n_dirty;
    for (size_t i = 0; i < n; i++) {
        uint64_t pa = (uint64_t)s->dirty_list[i] * VTDM_PAGE;
        memcpy(m->mem + pa, s->pages + i * VTDM_PAGE, VTDM_PAGE);
        if (m->hwview) {
            memcpy(m->hwview + pa, s->pages + (n + i) * VTDM_PAGE, VTDM_PAGE);
        }
    }
    *m = s->m;
    memcpy(m->page_used, s->page_used, m->alloc_pages);
    memcpy(m->dirty, s->dirty, npages);
    memcpy(m->dirty_list, s->dirty_list, n * sizeof(*m->dirty_list));
    memcpy(m->iotlb, s->iotlb, m->iotlb_n * sizeof(*m->iotlb));
}

bool vtd_model_matches_snapshot(const struct vtd_model *m, const struct vtd_model_snapshot *s)
{
    if (s->of != m || memcmp(m, &s->m, sizeof(*m)) != 0 ||
        memcmp(m->page_used, s->page_used, m->alloc_pages) != 0 ||
        memcmp(m->iotlb, s->iotlb, m->iotlb_n * sizeof(*m->iotlb)) != 0) {
        return false;
    }
    if (s->full_mem && memcmp(m->mem, s->full_mem, m->mem_bytes) != 0) {
        return false;
    }
    return !s->full_hw || memcmp(m->hwview, s->full_hw, m->mem_bytes) == 0;
}

const struct vtd_hw *vtd_model_hw(struct vtd_model *m)
{
    return &m->hw;
}

size_t vtd_model_pages_in_use(const struct vtd_model *m)
{
    return m->pages_in_use;
}

uint64_t vtd_model_alloc_base(const struct vtd_model *m)
{
    return m->alloc_base;
}

/* ---------------------------------------------------------------- devices */

struct vtdm_device *vtdm_find_device(struct vtd_model *m, uint16_t sid)
{
    for (unsigned i = 0; i < VTDM_MAX_DEVICES; i++) {
        if (m->dev[i].used && m->dev[i].sid == sid) {
            return &m->dev[i];
        }
    }
    return NULL;
}

int vtd_model_add_device(struct vtd_model *m, uint16_t sid, unsigned flags)
{
    if (vtdm_find_device(m, sid) ||
        (flags & ~(VTD_MODEL_DEV_ATS | VTD_MODEL_DEV_PASID | VTD_MODEL_DEV_PRI))) {
        return -1;
    }
    for (unsigned i = 0; i < VTDM_MAX_DEVICES; i++) {
        if (!m->dev[i].used) {
            memset(&m->dev[i], 0, sizeof(m->dev[i]));
            m->dev[i].used = true;
            m->dev[i].sid = sid;
            m->dev[i].flags = flags;
            m->dev[i].present = true;
            return 0;
        }
    }
    return -1;
}

void vtd_model_set_device_present(struct vtd_model *m, uint16_t sid, bool present)
{
    struct vtdm_device *d = vtdm_find_device(m, sid);
    if (d) {
        d->present = present;
    }
}

void vtd_model_set_ats_enabled(struct vtd_model *m, uint16_t sid, bool enabled)
{
    struct vtdm_device *d = vtdm_find_device(m, sid);
    if (!d || !(d->flags & VTD_MODEL_DEV_ATS)) {
        return;
    }
    if (d->ats_enabled && !enabled) {
        /* A function with ATS disabled may not use cached translations. */
        memset(d->atc, 0, sizeof(d->atc));
    }
    d->ats_enabled = enabled;
}

void vtd_model_inject_ice(struct vtd_model *m, uint16_t sid)
{
    struct vtdm_device *d = vtdm_find_device(m, sid);
    if (d) {
        d->ice_pending = true;
    }
}

void vtd_model_set_commands_stuck(struct vtd_model *m, bool stuck)
{
    m->cmd_stuck = stuck;
}

void vtd_model_set_queue_stalled(struct vtd_model *m, bool stalled)
{
    m->queue_stalled = stalled;
}

bool vtd_model_last_ite(const struct vtd_model *m, uint16_t *sid, uint32_t *desc_off)
{
    if (!m->ite_valid) {
        return false;
    }
    if (sid) {
        *sid = m->ite_sid;
    }
    if (desc_off) {
        *desc_off = m->ite_desc_off;
    }
    return true;
}

/* ---------------------------------------------------------------- observation */

void vtd_model_get_stats(const struct vtd_model *m, struct vtd_model_stats *st)
{
    *st = m->st;
}

size_t vtd_model_desc_log(const struct vtd_model *m, struct vtd_model_desc_log *out, size_t max)
{
    size_t n = m->log_count < max ? m->log_count : max;
    for (size_t i = 0; i < n; i++) {
        out[i] = m->log[(m->log_start + i) % VTDM_LOG_ENTRIES];
    }
    return n;
}

void vtd_model_clear_log(struct vtd_model *m)
{
    m->log_start = 0;
    m->log_count = 0;
}

size_t vtd_model_page_responses(const struct vtd_model *m, struct vtd_model_page_response *out,
                                size_t max)
{
    size_t n = m->n_responses < max ? m->n_responses : max;
    memcpy(out, m->responses, n * sizeof(*out));
    return n;
}
