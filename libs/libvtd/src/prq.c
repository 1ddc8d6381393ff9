/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The page request queue (VT-d 7.5-7.10): decoding page requests, grouping them into page
 * request groups, and the PASID drain sequence a PASID teardown needs before the PASID may be
 * reused. Used only on units whose ECAP.PRS says they have a page request queue (QEMU has none;
 * the host model does).
 */
#include "mem.h"

#include <string.h>

#define DRAIN_ROUNDS 4u

bool vtd_page_req_decode(const uint64_t qw[4], struct vtd_page_req *out)
{
    if (VTD_PRQ0_TYPE(qw[0]) != 1) {
        return false;
    }
    out->sid = (uint16_t)VTD_PRQ0_RID(qw[0]);
    out->pasid_present = (qw[0] & VTD_PRQ0_PP) != 0;
    out->pasid = out->pasid_present ? (uint32_t)VTD_PRQ0_PASID(qw[0]) : VTD_NO_PASID;
    out->exec = (qw[0] & VTD_PRQ0_ERR) != 0;
    out->priv = (qw[0] & VTD_PRQ0_PMR) != 0;
    out->priv_data = (qw[0] & VTD_PRQ0_PDP) != 0;
    out->read = (qw[1] & VTD_PRQ1_RD) != 0;
    out->write = (qw[1] & VTD_PRQ1_WR) != 0;
    out->last = (qw[1] & VTD_PRQ1_LPIG) != 0;
    out->prgi = (uint16_t)VTD_PRQ1_PRGI(qw[1]);
    out->addr = VTD_PRQ1_ADDR(qw[1]);
    out->priv_data_qw[0] = out->priv_data ? qw[2] : 0;
    out->priv_data_qw[1] = out->priv_data ? qw[3] : 0;
    return true;
}

enum vtd_err vtd_prq_enable(struct vtd_unit *u)
{
    if (!u || !u->probed) {
        return VTD_ERR_INVAL;
    }
    if (!u->f.prs) {
        return VTD_ERR_UNSUPPORTED;
    }
    if (u->prq_on) {
        return VTD_OK;
    }
    unsigned pages = 1u << u->cfg.prq_order;
    if (!u->prq_va) {
        void *va0;
        uint64_t pa0;
        enum vtd_err e = vtd_alloc_contiguous(u, pages, &va0, &pa0);
        if (e != VTD_OK) {
            return e;
        }
        u->prq_va = va0;
        u->prq_pa = pa0;
    }
    u->prq_size = pages * (uint32_t)VTD_PAGE_SIZE;
    wr64(u, VTD_PQH_REG, 0);
    wr64(u, VTD_PQT_REG, 0);
    wr64(u, VTD_PQA_REG, u->prq_pa | VTD_PQA_PQS(u->cfg.prq_order));
    u->prq_on = true;
    return VTD_OK;
}

enum vtd_err vtd_prq_read(struct vtd_unit *u, struct vtd_page_req *out, size_t max, size_t *n,
                          bool *overflow)
{
    if (!u || !n || !overflow || (max && !out)) {
        return VTD_ERR_INVAL;
    }
    *n = 0;
    *overflow = false;
    if (!u->prq_on) {
        return VTD_ERR_STATE;
    }
    uint32_t head = (uint32_t)(rd64(u, VTD_PQH_REG) & VTD_PQ_QH_MASK);
    uint32_t tail = (uint32_t)(rd64(u, VTD_PQT_REG) & VTD_PQ_QH_MASK);
    if (head >= u->prq_size || tail >= u->prq_size) {
        return VTD_ERR_HW; /* hardware pointers outside the queue: never index with them */
    }
    /* Clear PPR before reading so a request arriving meanwhile sets it (and interrupts) again. */
    uint32_t prs = rd32(u, VTD_PRS_REG);
    wr32(u, VTD_PRS_REG, VTD_PRS_PPR);
    while (head != tail && *n < max) {
        const uint64_t *d = (const uint64_t *)((const char *)u->prq_va + head);
        uint64_t qw[4] = {d[0], d[1], d[2], d[3]};
        head = (head + VTD_PRQ_DESC_SIZE) % u->prq_size;
        if (vtd_page_req_decode(qw, &out[*n])) {
            (*n)++;
        }
    }
    wr64(u, VTD_PQH_REG, head);
    if (prs & VTD_PRS_PRO) {
        *overflow = true;
        wr32(u, VTD_PRS_REG, VTD_PRS_PRO);
        u->stats.prq_overflows++;
    }
    u->stats.page_requests += *n;
    return VTD_OK;
}

void vtd_prg_init(struct vtd_prg_tracker *t)
{
    t->n = 0;
}

static bool prg_match(const struct vtd_prg *g, const struct vtd_page_req *r)
{
    return g->sid == r->sid && g->prgi == r->prgi && g->pasid_present == r->pasid_present &&
           (!r->pasid_present || g->pasid == r->pasid);
}

enum vtd_err vtd_prg_add(struct vtd_prg_tracker *t, const struct vtd_page_req *r, bool *complete,
                         struct vtd_prg *done)
{
    if (!t || !r || !complete || !done) {
        return VTD_ERR_INVAL;
    }
    *complete = false;
    unsigned i;
    for (i = 0; i < t->n; i++) {
        if (prg_match(&t->open[i], r)) {
            break;
        }
    }
    if (i == t->n) {
        if (t->n == VTD_PRG_OPEN_MAX) {
            return VTD_ERR_FULL;
        }
        t->open[t->n++] = (struct vtd_prg){.sid = r->sid,
                                           .pasid_present = r->pasid_present,
                                           .pasid = r->pasid,
                                           .prgi = r->prgi,
                                           .first_addr = r->addr};
    }
    struct vtd_prg *g = &t->open[i];
    g->pages++;
    g->write |= r->write;
    if (r->last) {
        *done = *g;
        t->open[i] = t->open[--t->n];
        *complete = true;
    }
    return VTD_OK;
}

unsigned vtd_prg_mark_drained(struct vtd_prg_tracker *t, uint16_t sid, uint32_t pasid)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->n; i++) {
        if (t->open[i].sid == sid && t->open[i].pasid_present && t->open[i].pasid == pasid) {
            t->open[i].drained = true;
            n++;
        }
    }
    return n;
}

/* Answer or hand on everything in the queue now; responses for the drained PASID go out. */
static enum vtd_err drain_queue(struct vtd_unit *u, uint16_t sid, uint32_t pasid,
                                void (*other)(void *ctx, const struct vtd_page_req *r), void *ctx,
                                bool *overflow)
{
    struct vtd_page_req reqs[16];
    size_t n;
    bool ovf;
    *overflow = false;
    /* The queue holds at most prq_size / 32 requests: bounded number of rounds. */
    for (uint32_t round = 0; round <= u->prq_size / VTD_PRQ_DESC_SIZE / 16 + 1; round++) {
        enum vtd_err e = vtd_prq_read(u, reqs, 16, &n, &ovf);
        if (e != VTD_OK) {
            return e;
        }
        *overflow |= ovf;
        struct vtd_batch b;
        vtd_batch_init(&b, u);
        for (size_t i = 0; i < n; i++) {
            const struct vtd_page_req *r = &reqs[i];
            bool mine = r->sid == sid && r->pasid_present && r->pasid == pasid;
            if (!mine && other) {
                other(ctx, r);
                continue;
            }
            if (r->last) {
                e = vtd_batch_add_page_response(&b, r->sid,
                                                r->pasid_present ? r->pasid : VTD_NO_PASID, r->prgi,
                                                mine ? VTD_PRG_INVALID : VTD_PRG_FAILURE);
                if (e != VTD_OK) {
                    return e;
                }
            }
        }
        if (b.n) {
            e = vtd_batch_submit(&b, 0);
            if (e != VTD_OK) {
                return e;
            }
        }
        if (n < 16) {
            return VTD_OK;
        }
    }
    return VTD_OK;
}

enum vtd_err vtd_pasid_drain(struct vtd_unit *u, uint16_t sid, uint32_t pasid, uint16_t did,
                             unsigned qdep, bool ats,
                             void (*other)(void *ctx, const struct vtd_page_req *r), void *ctx)
{
    if (!u || !u->probed || (pasid >> 20) || qdep > 32) {
        return VTD_ERR_INVAL;
    }
    if (!u->f.prs) {
        return VTD_ERR_UNSUPPORTED; /* a page-drain wait would raise IQE (QEMU.md) */
    }
    if (!u->prq_on || !u->qi_on || !u->cfg.qi_256) {
        return VTD_ERR_STATE;
    }
    if ((uint32_t)did >> u->f.nd_bits) {
        return VTD_ERR_INVAL;
    }
    uint64_t deadline = deadline_after(u, 0);
    for (unsigned round = 0; round < DRAIN_ROUNDS; round++) {
        bool ovf;
        enum vtd_err e = drain_queue(u, sid, pasid, other, ctx, &ovf);
        if (e != VTD_OK) {
            return e;
        }
        /* VT-d 7.10: fenced wait, PASID-IOTLB and PASID device-TLB invalidations, then a wait
         * with page-drain: every request the device issued before is now in the queue. */
        struct vtd_batch b;
        vtd_batch_init(&b, u);
        vtd_batch_add_piotlb(&b, did, pasid, 0, 0);
        if (ats && u->f.dt) {
            vtd_batch_add_pdevtlb(&b, sid, pasid, qdep, 0, 0);
        }
        b.drain = true;
        uint64_t now = now_ns(u);
        if (now >= deadline) {
            return VTD_ERR_TIMEOUT;
        }
        e = vtd_batch_submit(&b, deadline - now);
        if (e != VTD_OK && e != VTD_ERR_ITE && e != VTD_ERR_ICE) {
            return e;
        }
        enum vtd_err result = e;
        if (!(rd32(u, VTD_PRS_REG) & VTD_PRS_PRO) && !ovf) {
            /* Answer what the drain flushed into the queue, then we are done. */
            e = drain_queue(u, sid, pasid, other, ctx, &ovf);
            return e != VTD_OK ? e : result;
        }
        /* Requests were lost to an overflow during the drain: go round again. */
    }
    return VTD_ERR_TIMEOUT;
}
