/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The invalidation queue engine (VT-d 6.5.2) of the model. It fetches descriptors from IQH up
 * to IQT whenever the model gets control (a tail write, relax, now_ns, advance), executes cache
 * invalidations at once, and sends device-TLB invalidations to the devices, which answer after
 * a virtual delay - or never, if absent: those end in an invalidation time-out (ITE) that
 * aborts every pending wait descriptor and stops the queue until software clears FSTS.ITE.
 * Malformed descriptors stop the queue with IQE at the offending descriptor.
 */
#include <string.h>

#include "model_internal.h"

static uint64_t reg64(const struct vtd_model *m, uint32_t off)
{
    return (uint64_t)m->regs[off / 4] | (uint64_t)m->regs[off / 4 + 1] << 32;
}

static void iqe(struct vtd_model *m, unsigned code)
{
    m->iqercd = (m->iqercd & ~0xfull) | (code & 0xf);
    m->st.iqe++;
    vtdm_fault_event(m, VTDM_FSTS_IQE);
}

static void log_desc(struct vtd_model *m, const uint64_t qw[4])
{
    size_t slot;
    if (m->log_count < VTDM_LOG_ENTRIES) {
        slot = (m->log_start + m->log_count) % VTDM_LOG_ENTRIES;
        m->log_count++;
    } else {
        slot = m->log_start;
        m->log_start = (m->log_start + 1) % VTDM_LOG_ENTRIES;
    }
    memcpy(m->log[slot].qw, qw, sizeof(m->log[slot].qw));
    m->log[slot].time_ns = m->now;
}

bool vtdm_iq_idle(const struct vtd_model *m)
{
    return m->iq_head == (m->regs[VTDM_IQT_REG / 4] & VTDM_IQ_OFF_MASK) && m->n_inflight == 0 &&
           m->n_waits == 0;
}

void vtdm_iq_disable(struct vtd_model *m)
{
    m->iq_head = 0;
    m->n_inflight = 0;
    m->n_waits = 0;
    m->fence_blocked = false;
}

/* ---------------------------------------------------------------- completions */

static void complete_wait(struct vtd_model *m, const struct vtdm_wait *w)
{
    m->st.waits++;
    if (w->qw0 & (1u << 5)) { /* SW: status write, validated at fetch */
        uint32_t data = (uint32_t)(w->qw0 >> 32);
        vtdm_mem_write(m, w->qw1 & ~3ull, &data, 4);
    }
    if (w->qw0 & (1u << 4)) { /* IF: completion interrupt through ICS.IWC */
        if (!(m->ics & VTDM_ICS_IWC)) {
            m->ics |= VTDM_ICS_IWC;
            if (m->iectl & VTDM_XECTL_IM) {
                m->iectl |= VTDM_XECTL_IP;
            } else {
                m->st.completion_interrupts++;
            }
        }
    }
}

static void remove_inflight(struct vtd_model *m, unsigned i)
{
    m->inflight[i] = m->inflight[--m->n_inflight];
}

static void progress_inflight(struct vtd_model *m)
{
    vtdm_prq_progress(m);

    /* Answers from devices. */
    for (unsigned i = 0; i < m->n_inflight;) {
        struct vtdm_devtlb_inv *v = &m->inflight[i];
        if (!v->responsive || m->now < v->done_at) {
            i++;
            continue;
        }
        struct vtdm_device *d = vtdm_find_device(m, v->sid);
        if (!d || !d->present) {
            v->responsive = false; /* gone while the request was in flight */
            i++;
            continue;
        }
        if (d->ice_pending) {
            /* VT-d 6.5.2.10: a completion with a bad ITag is an ICE; it completes nothing,
               so the request is still outstanding and will time out. */
            d->ice_pending = false;
            v->responsive = false;
            m->iqercd = (m->iqercd & ~(0xffffull << VTDM_IQERCD_ICESID_SHIFT)) |
                        ((uint64_t)v->sid << VTDM_IQERCD_ICESID_SHIFT);
            m->st.ice++;
            vtdm_fault_event(m, VTDM_FSTS_ICE);
            i++;
            continue;
        }
        vtdm_atc_invalidate(d, v->pasid, v->global, v->base, v->size);
        remove_inflight(m, i);
    }

    /* Time-outs: one ITE at a time; the next waits until software clears FSTS.ITE. */
    if (!(m->fsts_sticky & VTDM_FSTS_ITE)) {
        int best = -1;
        for (unsigned i = 0; i < m->n_inflight; i++) {
            struct vtdm_devtlb_inv *v = &m->inflight[i];
            if (!v->responsive && m->now >= v->timeout_at &&
                (best < 0 || v->seq < m->inflight[best].seq)) {
                best = (int)i;
            }
        }
        if (best >= 0) {
            struct vtdm_devtlb_inv *v = &m->inflight[best];
            m->iqercd = (m->iqercd & ~(0xffffull << VTDM_IQERCD_ITESID_SHIFT)) |
                        ((uint64_t)v->sid << VTDM_IQERCD_ITESID_SHIFT);
            m->ite_valid = true;
            m->ite_sid = v->sid;
            m->ite_desc_off = v->desc_off;
            m->st.ite++;
            m->st.devtlb_timeouts++;
            remove_inflight(m, (unsigned)best);
            /* VT-d 6.5.2.10: ITE aborts all pending wait descriptors (no status write, no
               interrupt) and the queue stops fetching until ITE is cleared. */
            m->st.waits_aborted += m->n_waits;
            m->n_waits = 0;
            m->fence_blocked = false;
            vtdm_fault_event(m, VTDM_FSTS_ITE);
        }
    }

    /* A wait completes once every device-TLB invalidation fetched before it has. */
    while (m->n_waits > 0) {
        const struct vtdm_wait *w = &m->waits[0];
        bool blocked = false;
        for (unsigned i = 0; i < m->n_inflight; i++) {
            if (m->inflight[i].seq < w->seq) {
                blocked = true;
                break;
            }
        }
        /* VT-d 7.10: a page-drain wait also waits for page requests issued before it. */
        if (blocked || ((w->qw0 & (1u << 7)) && vtdm_prq_inflight_upto(m, w->prq_seq))) {
            break;
        }
        struct vtdm_wait done = *w;
        memmove(&m->waits[0], &m->waits[1], (m->n_waits - 1) * sizeof(m->waits[0]));
        m->n_waits--;
        complete_wait(m, &done);
    }
    m->fence_blocked = false;
    for (unsigned i = 0; i < m->n_waits; i++) {
        if (m->waits[i].qw0 & (1u << 6)) {
            m->fence_blocked = true;
        }
    }
}

/* ---------------------------------------------------------------- descriptors */

/* PCIe ATS invalidation size: with S set, the lowest clear address bit (from bit 12) gives the
   size: bit 12 clear = 8 KiB, bits 12 set and 13 clear = 16 KiB, ... Returns 0 for "all". */
static void ats_range(uint64_t addr, bool s, uint64_t *base, uint64_t *size)
{
    addr &= ~0xfffull;
    if (!s) {
        *base = addr;
        *size = VTDM_PAGE;
        return;
    }
    uint64_t ones = ~(addr >> 12);
    unsigned k = ones ? (unsigned)__builtin_ctzll(ones) : 52;
    unsigned bits = 12 + k + 1;
    if (bits >= 64) {
        *base = 0;
        *size = 0;
        return;
    }
    *size = 1ull << bits;
    *base = addr & ~(*size - 1);
}

static void send_devtlb(struct vtd_model *m, uint16_t sid, uint32_t pasid, bool global,
                        uint64_t base, uint64_t size, uint32_t off)
{
    struct vtdm_devtlb_inv *v = &m->inflight[m->n_inflight++];
    struct vtdm_device *d = vtdm_find_device(m, sid);
    m->st.devtlb_invalidations++;
    v->sid = sid;
    v->pasid = pasid;
    v->global = global;
    v->base = base;
    v->size = size;
    v->seq = m->fetch_seq;
    v->desc_off = off;
    v->done_at = m->now + m->cfg.devtlb_latency_ns;
    v->timeout_at = m->now + m->cfg.ite_timeout_ns;
    /* An unknown, absent or non-ATS function never answers (VT-d 6.5.2.10). */
    v->responsive = d && d->present && (d->flags & VTD_MODEL_DEV_ATS);
}

#define EXEC_STALL 0x100 /* not executed yet: flow control, fetch it again later */

/* ATS invalidate queue depth: the unit keeps at most this many requests outstanding per
   function (0 encodes 32). */
static bool device_queue_full(const struct vtd_model *m, uint16_t sid, unsigned qdep)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->n_inflight; i++) {
        n += m->inflight[i].sid == sid;
    }
    return n >= (qdep ? qdep : 32);
}

/* Returns 0, EXEC_STALL, or the IQEI code for a malformed descriptor. */
static unsigned execute(struct vtd_model *m, const uint64_t qw[4], bool dw, uint32_t off)
{
    unsigned type = (unsigned)((qw[0] & 0xf) | (((qw[0] >> 9) & 7) << 4));
    uint64_t lo = qw[0], hi = qw[1];
    unsigned g = (lo >> 4) & 3;
    uint16_t did = (lo >> 16) & 0xffff;
    uint32_t pasid = (lo >> 32) & 0xfffff;
    if (dw && type != VTDM_DESC_PGRP && (qw[2] || qw[3])) {
        return VTD_MODEL_IQEI_RSVD;
    }
    switch (type) {
    case VTDM_DESC_CC:
        if ((lo & 0xfffc00000000f1c0ull) || hi || g == 0) {
            return VTD_MODEL_IQEI_RSVD;
        }
        vtdm_cc_invalidate(m, g, did, (lo >> 32) & 0xffff, (lo >> 48) & 3);
        return 0;
    case VTDM_DESC_IOTLB: {
        unsigned am = hi & 0x3f;
        if ((lo & 0xffffffff0000f100ull) || (hi & 0xf80) || g == 0) {
            return VTD_MODEL_IQEI_RSVD;
        }
        if (g == 3 && am > VTDM_CAP_MAMV(m->cap)) {
            return VTD_MODEL_IQEI_RSVD;
        }
        if (g == 3 && !(m->cap & VTDM_CAP_PSI)) {
            g = 2;
        }
        vtdm_iotlb_invalidate(m, g, did, VTD_MODEL_NO_PASID, hi & ~0xfffull, am);
        return 0;
    }
    case VTDM_DESC_DEVTLB: {
        if (!(m->ecap & VTDM_ECAP_DT)) {
            return VTD_MODEL_IQEI_TYPE;
        }
        if ((lo & 0x000f0000ffe001f0ull) || (hi & 0xffe)) {
            return VTD_MODEL_IQEI_RSVD;
        }
        uint64_t base, size;
        if (device_queue_full(m, (lo >> 32) & 0xffff, (lo >> 16) & 0x1f)) {
            return EXEC_STALL;
        }
        ats_range(hi, hi & 1, &base, &size);
        send_devtlb(m, (lo >> 32) & 0xffff, VTD_MODEL_NO_PASID, false, base, size, off);
        return 0;
    }
    case VTDM_DESC_IEC:
        if (!(m->ecap & VTDM_ECAP_IR)) {
            return VTD_MODEL_IQEI_TYPE;
        }
        /* G bit 4 (1 = index-selective), IM bits 31:27, IIDX bits 47:32. */
        if ((lo & 0xffff000007fff1e0ull) || hi) {
            return VTD_MODEL_IQEI_RSVD;
        }
        vtdm_iec_invalidate(m, !(lo & (1u << 4)), (uint32_t)((lo >> 32) & 0xffff),
                            (unsigned)((lo >> 27) & 0x1f));
        return 0;
    case VTDM_DESC_WAIT: {
        bool iflag = lo & (1u << 4), sw = lo & (1u << 5), pd = lo & (1u << 7);
        if ((lo & 0x00000000fffff100ull) || (hi & 3)) {
            return VTD_MODEL_IQEI_RSVD;
        }
        if (sw && iflag) {
            /* Real units accept this; QEMU aborts on it. The model rejects it so that a
               library that ever builds one is caught. */
            m->st.wait_sw_and_if++;
            return VTD_MODEL_IQEI_RSVD;
        }
        if (pd && !(m->ecap & VTDM_ECAP_PRS)) {
            return VTD_MODEL_IQEI_RSVD;
        }
        uint64_t sa = hi & ~3ull;
        if (sw && (sa > m->mem_bytes || m->mem_bytes - sa < 4)) {
            return VTD_MODEL_IQEI_FETCH;
        }
        if (pd) {
            m->st.page_drains++;
        }
        struct vtdm_wait *w = &m->waits[m->n_waits++];
        w->qw0 = lo;
        w->qw1 = hi;
        w->seq = m->fetch_seq;
        w->prq_seq = m->prq_seq;
        w->desc_off = off;
        return 0;
    }
    case VTDM_DESC_PIOTLB: {
        unsigned am = hi & 0x3f;
        if (!(m->ecap & VTDM_ECAP_SMTS)) {
            return VTD_MODEL_IQEI_TYPE;
        }
        if ((lo & 0xfff000000000f1c0ull) || (hi & 0xf80) || g < 2) {
            return VTD_MODEL_IQEI_RSVD;
        }
        if (g == 3 && am > VTDM_CAP_MAMV(m->cap)) {
            return VTD_MODEL_IQEI_RSVD;
        }
        vtdm_iotlb_invalidate(m, g, did, pasid, hi & ~0xfffull, am);
        return 0;
    }
    case VTDM_DESC_PC:
        if (!(m->ecap & VTDM_ECAP_SMTS)) {
            return VTD_MODEL_IQEI_TYPE;
        }
        if ((lo & 0xfff000000000f1c0ull) || hi || g == 2) {
            return VTD_MODEL_IQEI_RSVD;
        }
        vtdm_pc_invalidate(m, g, did, pasid);
        return 0;
    case VTDM_DESC_PDEVTLB: {
        if (!(m->ecap & VTDM_ECAP_DT) || !(m->ecap & VTDM_ECAP_SMTS)) {
            return VTD_MODEL_IQEI_TYPE;
        }
        if (hi & 0x7fe) {
            return VTD_MODEL_IQEI_RSVD;
        }
        uint64_t base, size;
        if (device_queue_full(m, (lo >> 16) & 0xffff, (lo >> 4) & 0x1f)) {
            return EXEC_STALL;
        }
        ats_range(hi, hi & (1u << 11), &base, &size);
        send_devtlb(m, (lo >> 16) & 0xffff, pasid, hi & 1, base, size, off);
        return 0;
    }
    case VTDM_DESC_PGRP: {
        if (!(m->ecap & VTDM_ECAP_PRS)) {
            return VTD_MODEL_IQEI_TYPE;
        }
        if ((lo & 0xfff00000000001c0ull) || (hi & 0xfffffffffffff003ull)) {
            return VTD_MODEL_IQEI_RSVD;
        }
        struct vtd_model_page_response resp = {
            .sid = (lo >> 16) & 0xffff,
            .pasid = (lo & (1u << 4)) ? pasid : VTD_MODEL_NO_PASID,
            .prgi = (hi >> 3) & 0x1ff,
            .code = (lo >> 12) & 0xf,
            .automatic = false,
        };
        if (m->n_responses == VTDM_MAX_RESPONSES) {
            memmove(&m->responses[0], &m->responses[1],
                    (VTDM_MAX_RESPONSES - 1) * sizeof(m->responses[0]));
            m->n_responses--;
        }
        m->responses[m->n_responses++] = resp;
        m->st.page_responses++;
        return 0;
    }
    default:
        return VTD_MODEL_IQEI_TYPE;
    }
}

/* ---------------------------------------------------------------- the engine */

void vtdm_iq_run(struct vtd_model *m)
{
    if (m->in_run || m->queue_stalled) {
        return;
    }
    m->in_run = true;
    for (;;) {
        progress_inflight(m);
        if (!(m->gsts & VTDM_GCMD_QIE) || (m->fsts_sticky & (VTDM_FSTS_IQE | VTDM_FSTS_ITE)) ||
            m->fence_blocked) {
            break;
        }
        uint64_t iqa = reg64(m, VTDM_IQA_REG);
        bool dw = iqa & VTDM_IQA_DW;
        uint32_t dsize = dw ? 32 : 16;
        uint64_t qbase = iqa & ~0xfffull;
        uint32_t qsize = 4096u << VTDM_IQA_QS(iqa);
        uint32_t raw_tail = m->regs[VTDM_IQT_REG / 4];
        uint32_t tail = raw_tail & VTDM_IQ_OFF_MASK;
        if (tail == m->iq_head) {
            break;
        }
        if ((raw_tail & ~VTDM_IQ_OFF_MASK) || tail >= qsize || (dw && (tail & 0x10))) {
            iqe(m, VTD_MODEL_IQEI_TAIL);
            break;
        }
        if (m->ttm == VTDM_TTM_SCALABLE && !dw) {
            iqe(m, VTD_MODEL_IQEI_WIDTH);
            break;
        }
        if (m->n_inflight == VTDM_MAX_OUTSTANDING || m->n_waits == VTDM_MAX_WAITS) {
            break; /* flow control: resumes as requests complete */
        }
        uint64_t qw[4] = {0, 0, 0, 0};
        /* Descriptor fetches are snooped (not subject to ECAP.C). */
        if (qbase + qsize > m->mem_bytes || !vtdm_mem_read(m, qbase + m->iq_head, qw, dsize)) {
            iqe(m, VTD_MODEL_IQEI_FETCH);
            break;
        }
        m->fetch_seq++;
        unsigned err = execute(m, qw, dw, m->iq_head);
        if (err == EXEC_STALL) {
            m->fetch_seq--;
            m->st.devtlb_flow_stalls++;
            break;
        }
        if (err) {
            iqe(m, err); /* IQH stays on the bad descriptor */
            break;
        }
        m->st.descriptors++;
        log_desc(m, qw);
        m->iq_head = (m->iq_head + dsize) % qsize;
    }
    m->in_run = false;
}
