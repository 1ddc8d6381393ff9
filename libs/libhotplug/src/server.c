/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The server level: the table of owned slots and the routing of interrupts, timers, driver
 * answers and control requests to them. Inputs naming a port or a device the server does not
 * own are answered with an error and a log record and change nothing.
 */
#include <hotplug/hotplug.h>

#include <stddef.h>
#include <string.h>

#include "internal.h"

static void server_log(struct hp_server *srv, enum hp_log_code code, pci_sid_t port, pci_sid_t dev,
                       uint64_t arg, uint64_t now)
{
    if (srv->log.log != NULL) {
        struct hp_log_rec r = {code, port, dev, -1, now, arg};
        srv->log.log(srv->log.ctx, &r);
    }
}

int hp_server_init(struct hp_server *srv, const struct pci_ecam *ecam,
                   const struct hp_iommu_ops *iommu, const struct hp_driver_ops *drv,
                   const struct hp_log_ops *log)
{
    if (srv == NULL || ecam == NULL || iommu == NULL || drv == NULL ||
        iommu->device_fence == NULL || iommu->device_removed == NULL ||
        iommu->device_added == NULL || drv->device_going == NULL || drv->device_gone == NULL ||
        drv->assign == NULL) {
        return HP_ERR_INVALID;
    }
    memset(srv, 0, sizeof(*srv));
    srv->ecam = ecam;
    srv->iommu = *iommu;
    srv->drv = *drv;
    if (log != NULL) {
        srv->log = *log;
    }
    return HP_OK;
}

struct hp_slot *hp_server_slot_by_port(struct hp_server *srv, pci_sid_t port)
{
    for (unsigned i = 0; srv != NULL && i < srv->n_slots; i++) {
        if (srv->slots[i].cfg.port == port) {
            return &srv->slots[i];
        }
    }
    return NULL;
}

struct hp_slot *hp_server_slot_by_device(struct hp_server *srv, pci_sid_t sid)
{
    for (unsigned i = 0; srv != NULL && i < srv->n_slots; i++) {
        if (srv->slots[i].dev_sid == sid) {
            return &srv->slots[i];
        }
    }
    return NULL;
}

static bool config_ok(const struct hp_slot_config *c)
{
    return c->secondary_bus > PCI_SID_BUS(c->port) && c->detach_timeout_ns != 0 &&
           c->cc_timeout_ns != 0 && c->config_timeout_ns != 0 && c->config_poll_ns != 0;
}

int hp_server_add_slot(struct hp_server *srv, const struct hp_slot_config *cfg, uint64_t now_ns,
                       struct hp_slot **out)
{
    struct pci_pcie pcie;
    struct pci_slot_caps caps;
    struct hp_slot *s;

    if (srv == NULL || cfg == NULL || !config_ok(cfg)) {
        return HP_ERR_INVALID;
    }
    for (unsigned i = 0; i < srv->n_slots; i++) {
        if (srv->slots[i].cfg.port == cfg->port ||
            srv->slots[i].cfg.secondary_bus == cfg->secondary_bus) {
            return HP_ERR_EXISTS;
        }
    }
    if (srv->n_slots >= HP_MAX_SLOTS) {
        return HP_ERR_FULL;
    }
    if (!pci_present(srv->ecam, cfg->port)) {
        return HP_ERR_PORT_ABSENT;
    }
    if (pci_pcie_probe(srv->ecam, cfg->port, &pcie) != PCI_OK || !pcie.slot) {
        return HP_ERR_NOT_SLOT;
    }
    pci_slot_caps_decode(pcie.sltcap, &caps);
    if (!caps.hpc) {
        return HP_ERR_NOT_SLOT;
    }

    s = &srv->slots[srv->n_slots++];
    memset(s, 0, sizeof(*s));
    s->srv = srv;
    s->cfg = *cfg;
    s->pcie = pcie;
    s->caps = caps;
    s->dev_sid = PCI_SID(cfg->secondary_bus, 0, 0);
    s->off_next = HP_ST_OFF;
    hp_slot_start(s, now_ns);
    if (out != NULL) {
        *out = s;
    }
    return HP_OK;
}

int hp_server_irq(struct hp_server *srv, pci_sid_t port, uint64_t now_ns)
{
    struct hp_slot *s = hp_server_slot_by_port(srv, port);
    if (s == NULL) {
        server_log(srv, HP_LOG_NOT_OWNED, port, 0, 0, now_ns);
        return HP_ERR_NOT_OWNED;
    }
    return hp_slot_irq(s, now_ns);
}

void hp_server_poll(struct hp_server *srv, uint64_t now_ns)
{
    for (unsigned i = 0; i < srv->n_slots; i++) {
        hp_slot_irq(&srv->slots[i], now_ns);
    }
}

void hp_server_timer(struct hp_server *srv, uint64_t now_ns)
{
    for (unsigned i = 0; i < srv->n_slots; i++) {
        if (hp_slot_next_deadline(&srv->slots[i]) <= now_ns) {
            hp_slot_timer(&srv->slots[i], now_ns);
        }
    }
}

uint64_t hp_server_next_deadline(const struct hp_server *srv)
{
    uint64_t d = UINT64_MAX;
    for (unsigned i = 0; i < srv->n_slots; i++) {
        uint64_t t = hp_slot_next_deadline(&srv->slots[i]);
        if (t < d) {
            d = t;
        }
    }
    return d;
}

enum hp_gone_err hp_server_detached(struct hp_server *srv, hp_handle_t h, uint64_t now_ns)
{
    pci_sid_t sid = HP_HANDLE_SID(h);
    struct hp_slot *s = hp_server_slot_by_device(srv, sid);
    if (HP_HANDLE_GEN(h) == 0) {
        server_log(srv, HP_LOG_STALE_HANDLE, 0, sid, h, now_ns);
        return HP_GONE_ERR_HANDLE;
    }
    if (s == NULL) {
        server_log(srv, HP_LOG_UNKNOWN_SID, 0, sid, h, now_ns);
        return HP_GONE_ERR_UNKNOWN;
    }
    if (HP_HANDLE_GEN(h) != s->gen || !s->driver_bound) {
        server_log(srv, HP_LOG_STALE_HANDLE, s->cfg.port, sid, h, now_ns);
        return HP_GONE_ERR_STALE;
    }
    hp_slot_detached(s, now_ns);
    return HP_GONE_OK;
}

int hp_server_request(struct hp_server *srv, pci_sid_t port, enum hp_request req, uint64_t now_ns)
{
    struct hp_slot *s = hp_server_slot_by_port(srv, port);
    if (s == NULL) {
        server_log(srv, HP_LOG_NOT_OWNED, port, 0, (uint64_t)req, now_ns);
        return HP_ERR_NOT_OWNED;
    }
    return hp_slot_request(s, req, now_ns);
}
