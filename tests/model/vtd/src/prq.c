/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The page request queue of the model (VT-d 7.5): devices' PRI page requests are written as
 * 256-bit page request descriptors at PQT, PRS.PPR signals them, and when the queue is full
 * the request is dropped with PRS.PRO - answered automatically when it was the last request
 * of its group, so the device is not left waiting. No real QEMU unit has this, hence the model.
 */
#include <string.h>

#include "model_internal.h"

static uint64_t reg64(const struct vtd_model *m, uint32_t off)
{
    return (uint64_t)m->regs[off / 4] | (uint64_t)m->regs[off / 4 + 1] << 32;
}

static void respond(struct vtd_model *m, const struct vtd_model_page_request *req, uint8_t code)
{
    struct vtd_model_page_response resp = {
        .sid = req->sid,
        .pasid = req->pasid,
        .prgi = req->prgi & 0x1ff,
        .code = code,
        .automatic = true,
    };
    if (m->n_responses == VTDM_MAX_RESPONSES) {
        memmove(&m->responses[0], &m->responses[1],
                (VTDM_MAX_RESPONSES - 1) * sizeof(m->responses[0]));
        m->n_responses--;
    }
    m->responses[m->n_responses++] = resp;
    m->st.auto_page_responses++;
}

static bool request_ok(const struct vtd_model *m, const struct vtd_model_page_request *req)
{
    return (m->ecap & VTDM_ECAP_PRS) && req &&
           (req->pasid == VTD_MODEL_NO_PASID || req->pasid <= 0xfffff) && req->prgi <= 0x1ff;
}

static bool device_ok(struct vtd_model *m, uint16_t sid)
{
    struct vtdm_device *d = vtdm_find_device(m, sid);
    return !d || ((d->flags & VTD_MODEL_DEV_PRI) && d->present);
}

/* The unit receives one request: queue it, or drop it (overflow), or reject it. */
static int deliver(struct vtd_model *m, const struct vtd_model_page_request *req)
{
    m->st.page_requests++;
    if (!vtdm_prq_allowed(m, req->sid)) {
        m->st.page_requests_rejected++;
        if (req->last) {
            respond(m, req, 1); /* invalid request */
        }
        return 2;
    }
    uint64_t pqa = reg64(m, VTDM_PQA_REG);
    uint64_t base = pqa & ~0xfffull;
    uint32_t size = 4096u << (pqa & 7);
    uint32_t head = m->regs[VTDM_PQH_REG / 4] & VTDM_PQ_OFF_MASK;
    uint32_t tail = m->pq_tail;
    bool usable = base != 0 && base + size <= m->mem_bytes && head < size && tail < size;
    if (!usable || (tail + 32) % size == head) {
        m->st.page_requests_dropped++;
        vtdm_prq_event(m, VTDM_PRS_PRO);
        if (req->last) {
            respond(m, req, 0); /* success: the device retries its translation */
        }
        return 1;
    }
    uint64_t qw[4] = {0, 0, 0, 0};
    qw[0] = 1 /* page request */ | ((uint64_t)req->sid << 16);
    if (req->pasid != VTD_MODEL_NO_PASID) {
        qw[0] |= (1ull << 8) | ((uint64_t)req->pasid << 32);
    }
    qw[1] = (req->read ? 1u : 0u) | (req->write ? 2u : 0u) | (req->last ? 4u : 0u) |
            ((uint64_t)(req->prgi & 0x1ff) << 3) | (req->addr & ~0xfffull);
    vtdm_mem_write(m, base + tail, qw, sizeof(qw));
    m->pq_tail = (tail + 32) % size;
    vtdm_prq_event(m, VTDM_PRS_PPR);
    return 0;
}

int vtd_model_page_request(struct vtd_model *m, const struct vtd_model_page_request *req)
{
    if (!request_ok(m, req) || !device_ok(m, req->sid)) {
        return -1;
    }
    m->prq_seq++;
    return deliver(m, req);
}

int vtd_model_page_request_delayed(struct vtd_model *m, const struct vtd_model_page_request *req,
                                   uint64_t delay_ns)
{
    if (!request_ok(m, req) || !device_ok(m, req->sid) ||
        m->n_prq_flight == sizeof(m->prq_flight) / sizeof(m->prq_flight[0]) ||
        delay_ns > UINT64_MAX - m->now) {
        return -1;
    }
    struct vtdm_prq_inflight *f = &m->prq_flight[m->n_prq_flight++];
    f->req = *req;
    f->arrive_at = m->now + delay_ns;
    f->seq = ++m->prq_seq;
    return 0;
}

/* Deliver the requests whose time has come, in issue order. */
void vtdm_prq_progress(struct vtd_model *m)
{
    while (m->n_prq_flight > 0 && m->now >= m->prq_flight[0].arrive_at) {
        struct vtd_model_page_request req = m->prq_flight[0].req;
        memmove(&m->prq_flight[0], &m->prq_flight[1],
                (m->n_prq_flight - 1) * sizeof(m->prq_flight[0]));
        m->n_prq_flight--;
        deliver(m, &req);
    }
}

bool vtdm_prq_inflight_upto(const struct vtd_model *m, uint64_t seq)
{
    for (unsigned i = 0; i < m->n_prq_flight; i++) {
        if (m->prq_flight[i].seq <= seq) {
            return true;
        }
    }
    return false;
}
