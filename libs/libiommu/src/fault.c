/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fault and page-request events. Each call does a bounded amount of work (a fault flood can
 * never starve the server's message loop): faults are read in budgets, routed to the client
 * that owns the faulting source-id through a fixed ring per client with a per-client rate
 * limit, and the client is notified once until it reads. Page requests are answered "invalid":
 * client memory is pinned and mapped before DMA, so nothing is ever paged in on demand.
 */
#include "internal.h"

static void route(struct iommu_server *s, const struct vtd_fault *f, uint64_t now)
{
    struct iommu_fault_rec rec = {.sid = f->sid,
                                  .reason = (uint8_t)f->reason,
                                  .write = f->write,
                                  .pasid_present = f->pasid_present,
                                  .pasid = f->pasid,
                                  .addr = f->ir ? f->ir_index : f->addr};
    s->stats.ir_faults += f->ir;
    int dev = iommu_device_find(s, f->sid);
    int ci = dev >= 0 ? s->devices[dev].owner : -1;
    if (ci < 0 || !s->clients[ci].used) {
        s->stats.faults_unowned++;
        s->unowned[s->unowned_count % 8] = rec;
        s->unowned_count++;
        return;
    }
    struct iommu_client *c = &s->clients[ci];
    if (now - c->window_start_ns >= IOMMU_FAULT_WINDOW_NS) {
        c->window_start_ns = now;
        c->window_count = 0;
    }
    if (c->window_count >= IOMMU_FAULT_RATE || c->ring_count >= IOMMU_FAULT_RING) {
        c->dropped++;
        s->stats.faults_dropped++;
        return;
    }
    c->window_count++;
    c->ring[(c->ring_head + c->ring_count) % IOMMU_FAULT_RING] = rec;
    c->ring_count++;
    s->stats.faults_routed++;
    if (!c->notified) {
        c->notified = true;
        if (s->env.notify_client) {
            s->env.notify_client(s->env.ctx, c->badge, c->has_notify ? c->notify_cookie : 0);
        }
    }
}

bool iommu_fault_service(struct iommu_server *s, unsigned unit)
{
    if (unit >= s->n_units) {
        return false;
    }
    struct vtd_unit *vu = &s->units[unit].vu;
    unsigned budget = IOMMU_FAULT_BUDGET;
    while (budget > 0) {
        struct vtd_fault f[8];
        size_t n = 0;
        bool overflow = false;
        size_t want = budget < 8 ? budget : 8;
        if (vtd_fault_read(vu, f, want, &n, &overflow) != VTD_OK) {
            return false;
        }
        if (overflow) {
            s->stats.fault_overflows++;
        }
        uint64_t now = vu->hw->now_ns(vu->hw->ctx);
        for (size_t i = 0; i < n; i++) {
            route(s, &f[i], now);
        }
        if (n == 0) {
            return false;
        }
        budget -= (unsigned)n;
    }
    return true;
}

bool iommu_prq_service(struct iommu_server *s, unsigned unit)
{
    if (unit >= s->n_units || !s->units[unit].vu.prq_on) {
        return false;
    }
    struct iommu_unit *u = &s->units[unit];
    struct vtd_page_req req[16];
    size_t n = 0;
    bool overflow = false;
    if (vtd_prq_read(&u->vu, req, 16, &n, &overflow) != VTD_OK) {
        return false;
    }
    if (overflow) {
        s->stats.prq_overflows++;
    }
    struct vtd_batch b;
    vtd_batch_init(&b, &u->vu);
    for (size_t i = 0; i < n; i++) {
        s->stats.page_requests++;
        bool complete = false;
        struct vtd_prg done;
        enum vtd_err e = vtd_prg_add(&u->prg, &req[i], &complete, &done);
        uint32_t pasid = req[i].pasid_present ? req[i].pasid : VTD_NO_PASID;
        if (e == VTD_ERR_FULL && req[i].last) {
            (void)vtd_batch_add_page_response(&b, req[i].sid, pasid, req[i].prgi, VTD_PRG_FAILURE);
        } else if (e == VTD_OK && complete) {
            uint32_t gp = done.pasid_present ? done.pasid : VTD_NO_PASID;
            (void)vtd_batch_add_page_response(&b, done.sid, gp, done.prgi, VTD_PRG_INVALID);
            s->stats.page_groups_answered++;
        }
    }
    (void)iommu_submit(s, unit, &b);
    return n == 16;
}
