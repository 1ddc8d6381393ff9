/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The recording stand-ins and the invariant checks described in harness.h.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void hh_violation(struct harness *h, const char *fmt, ...)
{
    if (h->violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(h->first_violation, sizeof(h->first_violation), fmt, ap);
        va_end(ap);
    }
}

static int port_of_dev(pci_sid_t sid)
{
    if (PCI_SID_DEVFN(sid) != 0) {
        return -1;
    }
    switch (PCI_SID_BUS(sid)) {
    case 3:
        return 0;
    case 4:
        return 1;
    default:
        return -1;
    }
}

static void record(struct harness *h, enum hh_op op, pci_sid_t sid, uint64_t arg)
{
    h->n_total++;
    h->op_count[op]++;
    if (h->n < HH_TRACE_MAX) {
        struct hh_rec r = {op, sid, arg, h->now};
        h->trace[h->n++] = r;
    }
}

/* Every library call about a device passes here first. */
static struct hh_dev *dev_call(struct harness *h, enum hh_op op, pci_sid_t sid)
{
    int p = port_of_dev(sid);
    if (p < 0) {
        hh_violation(h, "op %d for sid %04x that is no slot's device", op, sid);
        return NULL;
    }
    struct hh_dev *d = &h->dev[p];
    if (d->vanished_unfenced) {
        if (op != HH_FENCE_SURPRISE) {
            hh_violation(h, "op %d before fence(surprise) after the device vanished", op);
        }
        d->vanished_unfenced = false;
    }
    return d;
}

/* ---- IOMMU stand-in ---- */

static int io_fence(void *ctx, pci_sid_t sid, enum hp_fence_kind kind)
{
    struct harness *h = ctx;
    enum hh_op op = kind == HP_FENCE_SURPRISE ? HH_FENCE_SURPRISE : HH_FENCE_ORDERLY;
    struct hh_dev *d = dev_call(h, op, sid);
    record(h, op, sid, kind);
    if (kind != HP_FENCE_ORDERLY && kind != HP_FENCE_SURPRISE) {
        hh_violation(h, "fence kind %d", kind);
    }
    if (d != NULL) {
        if (!d->up) {
            hh_violation(h, "fence of %04x that is not up", sid);
        }
        d->fenced = true;
        d->surprise_fenced |= kind == HP_FENCE_SURPRISE;
    }
    if (kind == HP_FENCE_ORDERLY && h->fence_orderly_rc != 0) {
        d->fenced = false;
        return h->fence_orderly_rc;
    }
    if (h->fence_rc != 0 && d != NULL) {
        d->fenced = false;
    }
    return h->fence_rc;
}

static int io_removed(void *ctx, pci_sid_t sid)
{
    struct harness *h = ctx;
    struct hh_dev *d = dev_call(h, HH_REMOVED, sid);
    record(h, HH_REMOVED, sid, 0);
    if (d != NULL) {
        if (!d->up || !d->added_ok) {
            hh_violation(h, "removed(%04x) without a successful added", sid);
        }
        if (!d->fenced && h->fence_rc == 0) {
            hh_violation(h, "removed(%04x) before fence", sid);
        }
        d->up = false;
        d->added_ok = false;
        d->fenced = false;
        d->surprise_fenced = false;
        d->going = false;
        d->dead_handle = d->handle;
        d->handle = 0;
    }
    return h->removed_rc;
}

static int io_added(void *ctx, pci_sid_t sid, uint32_t *generation)
{
    struct harness *h = ctx;
    struct hh_dev *d = dev_call(h, HH_ADDED, sid);
    record(h, HH_ADDED, sid, 0);
    if (d != NULL) {
        int p = (int)(d - h->dev);
        if (d->up && d->added_ok) {
            hh_violation(h, "added(%04x) twice without removed", sid);
        }
        if (!pcie_model_device_answers(&h->m, p)) {
            hh_violation(h, "added(%04x) for a device that does not answer", sid);
        }
        d->up = true;
        d->vanished = false;
        d->surprise_fenced = false;
        d->added_ok = h->added_rc == 0;
        d->fenced = false;
        d->handle = 0;
        if (h->added_rc == 0 && h->iommu_generations) {
            *generation = ++h->iommu_gen; /* as the IOMMU server: its own counter */
        }
    }
    return h->added_rc;
}

/* ---- drivers and policy ---- */

static void check_handle_msg(struct harness *h, enum hh_op op, hp_handle_t hd)
{
    struct hh_dev *d = dev_call(h, op, HP_HANDLE_SID(hd));
    record(h, op, HP_HANDLE_SID(hd), hd);
    if (d == NULL) {
        return;
    }
    if (hd == d->dead_handle && d->handle != hd) {
        hh_violation(h, "op %d for handle %llx after its device was removed", op,
                     (unsigned long long)hd);
    }
    if (hd != d->handle) {
        hh_violation(h, "op %d for handle %llx, assigned is %llx", op, (unsigned long long)hd,
                     (unsigned long long)d->handle);
    }
    if (!d->fenced && h->fence_rc == 0) {
        hh_violation(h, "op %d before the fence", op);
    }
}

static int drv_going(void *ctx, hp_handle_t hd)
{
    struct harness *h = ctx;
    check_handle_msg(h, HH_GOING, hd);
    int p = port_of_dev(HP_HANDLE_SID(hd));
    if (p >= 0 && h->going_rc == 0) {
        struct hh_dev *d = &h->dev[p];
        d->going = true;
        d->going_at = h->now;
        d->detach_logs_at_going = h->logs[HP_LOG_DETACH_TIMEOUT];
        d->surprise_logs_at_going = h->logs[HP_LOG_SURPRISE];
    }
    return h->going_rc;
}

static int drv_gone(void *ctx, hp_handle_t hd)
{
    struct harness *h = ctx;
    check_handle_msg(h, HH_GONE, hd);
    int p = port_of_dev(HP_HANDLE_SID(hd));
    if (p >= 0) {
        h->dev[p].going = false;
    }
    return h->gone_rc;
}

static int drv_assign(void *ctx, hp_handle_t hd, uint16_t vendor, uint16_t device)
{
    struct harness *h = ctx;
    struct hh_dev *d = dev_call(h, HH_ASSIGN, HP_HANDLE_SID(hd));
    record(h, HH_ASSIGN, HP_HANDLE_SID(hd), hd);
    if (d == NULL) {
        return -1;
    }
    int p = (int)(d - h->dev);
    if (!d->up || !d->added_ok) {
        hh_violation(h, "assign before a successful added");
    }
    if (HP_HANDLE_GEN(hd) == 0 || hd == d->dead_handle) {
        hh_violation(h, "assign with handle %llx (generation 0 or reused)", (unsigned long long)hd);
    }
    if (vendor != h->m.ports[p].vendor || device != h->m.ports[p].device) {
        hh_violation(h, "assign with ids %04x:%04x, device is %04x:%04x", vendor, device,
                     h->m.ports[p].vendor, h->m.ports[p].device);
    }
    if (h->assign_rc == 0) {
        d->handle = hd;
    }
    return h->assign_rc;
}

static void on_log(void *ctx, const struct hp_log_rec *r)
{
    struct harness *h = ctx;
    if ((unsigned)r->code < HP_LOG_COUNT_) {
        h->logs[r->code]++;
    } else {
        hh_violation(h, "log code %d out of range", r->code);
    }
    h->last_log = *r;
    if (h->print_logs) {
        char port[PCI_SID_FMT_LEN];
        printf("    [%10.3f ms] hotplug %s: %s (%s, arg %llx)\n", (double)r->now_ns / 1e6,
               pci_sid_format(r->port, port, sizeof(port)), hp_log_str(r->code),
               r->state >= 0 ? hp_state_str(r->state) : "-", (unsigned long long)r->arg);
    }
}

/* ---- model observers ---- */

static void on_vanish(void *ctx, int port, pci_sid_t sid, int why)
{
    struct harness *h = ctx;
    struct hh_dev *d = &h->dev[port];
    record(h, HH_VANISH, sid, (uint64_t)why);
    /* Only the occupant the library brought up counts; a card inserted after it left (and
     * never brought up) may vanish without the occupant's bookkeeping being finished. */
    if (!d->up || !d->added_ok || d->vanished) {
        return; /* an occupant the IOMMU never added has no state a late call could hurt */
    }
    d->vanished = true;
    if (why == 0) {
        /* software powered it off: only allowed once the occupant is fenced */
        if (!d->fenced && h->fence_rc == 0) {
            hh_violation(h, "populated slot powered off before its device was fenced");
        }
    } else if (!d->surprise_fenced && !(d->fenced && !pcie_model_powered(&h->m, port)) &&
               !(d->fenced && h->irq_unreliable) && !h->model_unreliable) {
        /* (a fenced occupant whose slot software already powered off is no surprise) */
        d->vanished_unfenced = true;
    }
}

static void on_power(void *ctx, int port, bool on)
{
    struct harness *h = ctx;
    record(h, on ? HH_POWER_ON : HH_POWER_OFF, PCI_SID(h->m.ports[port].sec_bus, 0, 0), 0);
}

static void on_sltctl(void *ctx, int port, uint16_t old, uint16_t val)
{
    struct harness *h = ctx;
    struct hh_dev *d = &h->dev[port];
    struct pcie_model_port *p = &h->m.ports[port];
    uint32_t sltcap = (uint32_t)p->cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_SLTCAP + 2] << 16;
    bool nccs = sltcap & PCI_EXP_SLTCAP_NCCS;

    if (port != 0) {
        hh_violation(h, "Slot Control write to a port the server does not own");
        return;
    }
    if (d->wrote_sltctl && !nccs && p->cc_acks == d->cc_acks_at_write) {
        if (h->logs[HP_LOG_CC_TIMEOUT] == d->cc_timeouts_at_write) {
            hh_violation(h, "Slot Control written before the previous command completed");
        } else if (h->now - p->last_sltctl_write_ns < h->cc_timeout_ns) {
            hh_violation(h, "command timeout taken after %llu ns",
                         (unsigned long long)(h->now - p->last_sltctl_write_ns));
        }
    }
    d->wrote_sltctl = true;
    d->cc_acks_at_write = p->cc_acks;
    d->cc_timeouts_at_write = h->logs[HP_LOG_CC_TIMEOUT];
    /* Power going off under an occupant told to go: detached, surprise or a timed-out wait. */
    if (!(old & PCI_EXP_SLTCTL_PCC) && (val & PCI_EXP_SLTCTL_PCC) && d->going) {
        bool timed_out = h->logs[HP_LOG_DETACH_TIMEOUT] > d->detach_logs_at_going;
        bool surprised = h->logs[HP_LOG_SURPRISE] > d->surprise_logs_at_going;
        if (!timed_out && !surprised) {
            hh_violation(h, "powered off while the driver was still detaching, without a log");
        } else if (timed_out && h->now - d->going_at < h->detach_timeout_ns) {
            hh_violation(h, "detach deadline taken early");
        }
    }
}

/* ---- setup and driving ---- */

void hh_init(struct harness *h, bool populated)
{
    memset(h, 0, sizeof(*h));
    pcie_model_init(&h->m);
    pcie_model_add_port(&h->m, 3, 3, 7, populated, HH_EDU_VENDOR, HH_EDU_DEVICE);
    pcie_model_add_port(&h->m, 4, 4, 8, true, HH_EDU_VENDOR, HH_EDU_DEVICE);
    h->m.hook_ctx = h;
    h->m.on_vanish = on_vanish;
    h->m.on_power = on_power;
    h->m.on_sltctl = on_sltctl;
}

int hh_add_slot(struct harness *h, const struct hp_slot_config *cfg)
{
    struct hp_iommu_ops io = {h, io_fence, io_removed, io_added};
    struct hp_driver_ops drv = {h, drv_going, drv_gone, drv_assign};
    struct hp_log_ops log = {h, on_log};
    struct hp_slot_config def;
    int rc = hp_server_init(&h->srv, &h->m.ecam, &io, &drv, &log);
    if (rc != HP_OK) {
        return rc;
    }
    if (cfg == NULL) {
        hp_slot_config_defaults(&def, HH_SID_PORT0, 3);
        cfg = &def;
    }
    h->cc_timeout_ns = cfg->cc_timeout_ns;
    h->detach_timeout_ns = cfg->detach_timeout_ns;
    rc = hp_server_add_slot(&h->srv, cfg, h->now, NULL);
    hh_pump(h);
    return rc;
}

struct hp_slot *hh_slot(struct harness *h)
{
    return hp_server_slot_by_port(&h->srv, HH_SID_PORT0);
}

static void check_deadline(struct harness *h)
{
    uint64_t d = hp_server_next_deadline(&h->srv);
    if (d <= h->now) {
        hh_violation(h, "next deadline %llu not after now %llu after a call", (unsigned long long)d,
                     (unsigned long long)h->now);
    }
}

void hh_pump(struct harness *h)
{
    for (int round = 0; round < 64; round++) {
        bool any = false;
        for (int p = 0; p < 2; p++) {
            if (pcie_model_take_irq(&h->m, p)) {
                hp_server_irq(&h->srv, h->m.ports[p].sid, h->now);
                any = true;
            }
        }
        if (!any) {
            check_deadline(h);
            return;
        }
    }
    hh_violation(h, "interrupt storm: still pending after 64 rounds");
}

void hh_advance(struct harness *h, uint64_t ns)
{
    uint64_t end = h->now + ns;
    for (int i = 0; i < 100000; i++) {
        uint64_t d = hp_server_next_deadline(&h->srv);
        if (d > end) {
            break;
        }
        h->now = d;
        h->m.now_ns = d;
        hp_server_timer(&h->srv, h->now);
        hh_pump(h);
    }
    h->now = end;
    h->m.now_ns = end;
    hp_server_timer(&h->srv, h->now);
    hh_pump(h);
}

bool hh_settle(struct harness *h, uint64_t max_ns)
{
    uint64_t end = h->now + max_ns;
    for (int i = 0; i < 100000; i++) {
        uint64_t d = hp_server_next_deadline(&h->srv);
        if (d == UINT64_MAX) {
            return true;
        }
        if (d > end) {
            return false;
        }
        h->now = d;
        h->m.now_ns = d;
        hp_server_timer(&h->srv, h->now);
        hh_pump(h);
    }
    return false;
}

enum hp_gone_err hh_detached(struct harness *h, hp_handle_t hd)
{
    int p = port_of_dev(HP_HANDLE_SID(hd));
    bool going = p >= 0 && h->dev[p].going;
    /* The library may power off inside the call: the driver has let go from here on. */
    if (p >= 0) {
        h->dev[p].going = false;
    }
    enum hp_gone_err rc = hp_server_detached(&h->srv, hd, h->now);
    if (rc != HP_GONE_OK && p >= 0) {
        h->dev[p].going = going;
    }
    hh_pump(h);
    return rc;
}

int hh_find(const struct harness *h, enum hh_op op, unsigned from)
{
    for (unsigned i = from; i < h->n; i++) {
        if (h->trace[i].op == op) {
            return (int)i;
        }
    }
    return -1;
}

void hh_check_settled(struct harness *h)
{
    struct hp_slot *s = hh_slot(h);
    struct hh_dev *d = &h->dev[0];
    if (s == NULL) {
        return;
    }
    if (hp_slot_next_deadline(s) != UINT64_MAX) {
        hh_violation(h, "settled slot still has a deadline");
    }
    switch (s->state) {
    case HP_ST_ON:
        if (!h->model_unreliable && !pcie_model_device_answers(&h->m, 0) &&
            h->m.ports[0].dev_present && !h->m.ports[0].dev_dead) {
            hh_violation(h, "slot ON but the model's device does not answer");
        }
        if (!d->up) {
            hh_violation(h, "slot ON but the IOMMU never heard added");
        }
        break;
    case HP_ST_OFF:
    case HP_ST_FAULTED:
        if (d->up && d->added_ok) {
            hh_violation(h, "slot %s but the IOMMU still holds the device", hp_state_str(s->state));
        }
        if (!h->model_unreliable && pcie_model_powered(&h->m, 0)) {
            hh_violation(h, "slot %s but the model's slot is powered", hp_state_str(s->state));
        }
        break;
    default:
        hh_violation(h, "settled in transient state %s", hp_state_str(s->state));
    }
    if (h->m.ports[0].reverted_clears != 0) {
        hh_violation(h, "library wrote 1 to a Slot Status event bit that was not set");
    }
}
