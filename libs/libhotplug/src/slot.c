/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-slot state machine. Three layers, bottom up:
 *  - the command layer: every Slot Control write is one command (PCIe 6.7.3.2); with command
 *    completion supported (NCCS = 0) the next write waits for Command Completed or the command
 *    deadline, so later commands are queued (merged) meanwhile;
 *  - decoding: Slot Status (and Link Status for DLLSC) become events; a control request, a
 *    driver's detached() and a passed deadline are events too;
 *  - the table hp_table[state][event] -> action; actions are the only code with side effects
 *    on the IOMMU server and drivers, and each keeps the ordering rules of hotplug.h.
 * After every entry point, progress() finishes what waited for a command (power on -> poll
 * config; power off -> device_removed) and runs deadlines that have passed. Nothing blocks.
 */
#include <hotplug/hotplug.h>

#include <stddef.h>

#include "internal.h"

#define NEVER UINT64_MAX

/* Slot Control fields that are enables, not commands to the slot. */
#define SLTCTL_ENABLES                                                                             \
    (PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_PFDE | PCI_EXP_SLTCTL_MRLSCE | PCI_EXP_SLTCTL_PDCE |     \
     PCI_EXP_SLTCTL_CCIE | PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_DLLSCE)
#define SLTCTL_IND(pic, aic)                                                                       \
    ((uint16_t)(((pic) << PCI_EXP_SLTCTL_PIC_SHIFT) | ((aic) << PCI_EXP_SLTCTL_AIC_SHIFT)))
#define SLTCTL_IND_MASK (PCI_EXP_SLTCTL_PIC_MASK | PCI_EXP_SLTCTL_AIC_MASK)

/* Bound on Slot Status re-reads per interrupt: enough to re-arm an edge-triggered interrupt when
 * a new event lands while the previous ones are acknowledged, finite if the port misbehaves. */
#define STATUS_REREADS 4
/* Bound on progress steps per entry point (each step changes state or moves a deadline). */
#define PROGRESS_STEPS 16

/* ---- strings ---- */

const char *hp_err_str(int err)
{
    switch (err) {
#define CASE_(name, value, text)                                                                   \
    case value:                                                                                    \
        return text;
        HP_ERRORS(CASE_)
    default:
        return "unknown error";
    }
}

const char *hp_log_str(int code)
{
    switch (code) {
        HP_LOGS(CASE_)
    default:
        return "unknown log code";
    }
}

const char *hp_state_str(int st)
{
    switch (st) {
        HP_STATES(CASE_)
    default:
        return "unknown state";
    }
}

const char *hp_event_str(int ev)
{
    switch (ev) {
        HP_EVENTS(CASE_)
#undef CASE_
    default:
        return "unknown event";
    }
}

/* ---- helpers ---- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > NEVER - b ? NEVER : a + b;
}

static void slog(struct hp_slot *s, enum hp_log_code code, uint64_t arg, uint64_t now)
{
    const struct hp_log_ops *l = &s->srv->log;
    if (l->log != NULL) {
        struct hp_log_rec r = {code, s->cfg.port, s->dev_sid, (int)s->state, now, arg};
        l->log(l->ctx, &r);
    }
}

static uint16_t cap_off(const struct hp_slot *s, uint16_t reg)
{
    return (uint16_t)(s->pcie.off + reg);
}

static uint16_t read_sltsta(const struct hp_slot *s)
{
    return pci_cfg_read16(s->srv->ecam, s->cfg.port, cap_off(s, PCI_EXP_SLTSTA));
}

static bool card_present(const struct hp_slot *s)
{
    uint16_t sta = read_sltsta(s);
    return sta != 0xffffu && (sta & PCI_EXP_SLTSTA_PDS);
}

static void set_state(struct hp_slot *s, enum hp_state st, uint64_t now)
{
    s->state = st;
    s->state_since = now;
    s->deadline = NEVER;
}

hp_handle_t hp_slot_handle(const struct hp_slot *s)
{
    return s->gen == 0 ? 0 : HP_HANDLE(s->dev_sid, s->gen);
}

/* ---- command layer (PCIe 6.7.3.2) ---- */

static void cmd_write(struct hp_slot *s, struct hp_cmd c, uint64_t now)
{
    const struct pci_ecam *e = s->srv->ecam;
    uint16_t ctl = pci_cfg_read16(e, s->cfg.port, cap_off(s, PCI_EXP_SLTCTL));
    /* EIC reads 0 and toggles the interlock when written 1: never carried over. */
    ctl = (uint16_t)(((ctl & ~c.clear) | c.set) & ~PCI_EXP_SLTCTL_EIC);
    pci_cfg_write16(e, s->cfg.port, cap_off(s, PCI_EXP_SLTCTL), ctl);
    if (s->caps.nccs) {
        s->cmd_busy = false; /* no completion is reported; nothing to wait for */
        return;
    }
    s->cmd_busy = true;
    s->cmd_issued = now;
    s->cmd_deadline = add_sat(now, s->cfg.cc_timeout_ns);
}

static void cmd_issue(struct hp_slot *s, uint16_t clear, uint16_t set, uint64_t now)
{
    struct hp_cmd c = {(uint16_t)(clear | set), set};
    if (!s->cmd_busy) {
        cmd_write(s, c, now);
        return;
    }
    if (!s->cmd_queued) {
        s->queued = c;
        s->cmd_queued = true;
        return;
    }
    /* Merge: the later command wins for every field it names. */
    s->queued.clear = (uint16_t)(s->queued.clear | c.clear);
    s->queued.set = (uint16_t)((s->queued.set & ~c.clear) | c.set);
}

static void cmd_complete(struct hp_slot *s, uint64_t now)
{
    s->cmd_busy = false;
    if (s->cmd_queued) {
        s->cmd_queued = false;
        cmd_write(s, s->queued, now);
    }
}

static void cmd_power(struct hp_slot *s, bool on, unsigned aic, uint64_t now)
{
    uint16_t clear = SLTCTL_IND_MASK;
    uint16_t set = SLTCTL_IND(on ? PCI_EXP_SLTCTL_IND_ON : PCI_EXP_SLTCTL_IND_OFF, aic);
    if (s->caps.pcp) {
        clear |= PCI_EXP_SLTCTL_PCC;
        set |= on ? 0 : PCI_EXP_SLTCTL_PCC; /* PCC = 1 is power off */
    }
    cmd_issue(s, clear, set, now);
}

static void cmd_power_indicator(struct hp_slot *s, unsigned pic, uint64_t now)
{
    cmd_issue(s, PCI_EXP_SLTCTL_PIC_MASK, SLTCTL_IND(pic, 0), now);
}

/* ---- calls out, with their failures logged ---- */

static void iommu_failed(struct hp_slot *s, enum hp_iommu_op op, int rc, uint64_t now)
{
    slog(s, HP_LOG_IOMMU_FAILED, ((uint64_t)op << 16) | (uint16_t)rc, now);
}

static void fence(struct hp_slot *s, enum hp_fence_kind kind, uint64_t now)
{
    const struct hp_iommu_ops *io = &s->srv->iommu;
    int rc = io->device_fence(io->ctx, s->dev_sid, kind);
    if (rc != 0) {
        iommu_failed(s, HP_IOMMU_OP_FENCE, rc, now);
        if (kind == HP_FENCE_ORDERLY) {
            /* DESIGN.md: the surprise fence must succeed; it never touches the device. */
            rc = io->device_fence(io->ctx, s->dev_sid, HP_FENCE_SURPRISE);
            if (rc != 0) {
                iommu_failed(s, HP_IOMMU_OP_FENCE, rc, now);
            }
        }
    }
    s->fenced = true;
    s->fenced_surprise |= kind == HP_FENCE_SURPRISE;
}

static bool power_off_written(const struct hp_slot *s)
{
    uint16_t ctl = pci_cfg_read16(s->srv->ecam, s->cfg.port, cap_off(s, PCI_EXP_SLTCTL));
    return ctl != 0xffffu && (ctl & PCI_EXP_SLTCTL_PCC);
}

static void tell_gone(struct hp_slot *s, uint64_t now)
{
    const struct hp_driver_ops *d = &s->srv->drv;
    if (!s->driver_bound) {
        return;
    }
    s->driver_bound = false;
    s->driver_told = true;
    if (d->device_gone(d->ctx, hp_slot_handle(s)) != 0) {
        slog(s, HP_LOG_DRIVER_UNREACHABLE, HP_GONE_DEVICE_GONE, now);
    }
}

/* ---- actions ---- */

enum action {
    A_NONE,     /* expected here; nothing to do */
    A_IGNORE,   /* unexpected here; logged and ignored */
    A_OK,       /* request: the slot already is where it asks */
    A_BUSY,     /* request: refused in this transition */
    A_POWER_ON, /* a card appeared: power it on */
    A_POWER_ON_IF_PRESENT,
    A_BUTTON,    /* start the cancel window, or removal at once */
    A_CANCEL,    /* second press in the window */
    A_ORDERLY,   /* fence(orderly) -> going -> wait for detached */
    A_SURPRISE,  /* fence(surprise) first -> gone -> power off -> removed */
    A_CHECK_PDC, /* presence "changed" while on: same device still there? */
    A_DETACH_DONE,
    A_DETACH_TIMEOUT,
    A_RELEASE, /* a driver let go of its device voluntarily */
    A_CONFIG_POLL,
    A_ABORT_BRINGUP,
    A_FAULT_CLEAR,
    A_DEFER_PRESENT,
    A_LOST_WHILE_OFFING, /* presence lost during a power-off: expected, unless it came first */
};

/*
 * state x event -> action. docs/hotplug.md reproduces this table; keep them together.
 * Columns: PRESENT, ABSENT, BUTTON, DEADLINE, DETACHED, REQ_POWER_OFF, REQ_REMOVE, REQ_POWER_ON.
 */
static const unsigned char hp_table[HP_STATE_COUNT_][HP_EVENT_COUNT_] = {
    [HP_ST_OFF] = {A_POWER_ON, A_NONE, A_POWER_ON_IF_PRESENT, A_NONE, A_IGNORE, A_OK, A_OK,
                   A_POWER_ON_IF_PRESENT},
    [HP_ST_POWERING_ON] = {A_NONE, A_ABORT_BRINGUP, A_IGNORE, A_NONE, A_IGNORE, A_ABORT_BRINGUP,
                           A_ABORT_BRINGUP, A_OK},
    [HP_ST_WAIT_CONFIG] = {A_NONE, A_ABORT_BRINGUP, A_IGNORE, A_CONFIG_POLL, A_IGNORE,
                           A_ABORT_BRINGUP, A_ABORT_BRINGUP, A_OK},
    [HP_ST_ON] = {A_CHECK_PDC, A_SURPRISE, A_BUTTON, A_NONE, A_RELEASE, A_SURPRISE, A_ORDERLY,
                  A_OK},
    [HP_ST_BUTTON_WAIT] = {A_CHECK_PDC, A_SURPRISE, A_CANCEL, A_ORDERLY, A_RELEASE, A_SURPRISE,
                           A_ORDERLY, A_BUSY},
    [HP_ST_WAIT_DETACH] = {A_IGNORE, A_SURPRISE, A_IGNORE, A_DETACH_TIMEOUT, A_DETACH_DONE,
                           A_SURPRISE, A_OK, A_BUSY},
    [HP_ST_POWERING_OFF] = {A_DEFER_PRESENT, A_LOST_WHILE_OFFING, A_IGNORE, A_NONE, A_IGNORE, A_OK,
                            A_OK, A_BUSY},
    [HP_ST_FAULTED] = {A_POWER_ON, A_FAULT_CLEAR, A_POWER_ON_IF_PRESENT, A_NONE, A_IGNORE, A_OK,
                       A_OK, A_POWER_ON_IF_PRESENT},
};

static void power_on(struct hp_slot *s, uint64_t now)
{
    s->deferred_present = false;
    cmd_power(s, true, PCI_EXP_SLTCTL_IND_OFF, now);
    set_state(s, HP_ST_POWERING_ON, now);
}

static void power_off(struct hp_slot *s, enum hp_state next, uint64_t now)
{
    unsigned aic = next == HP_ST_FAULTED ? PCI_EXP_SLTCTL_IND_ON : PCI_EXP_SLTCTL_IND_OFF;
    s->off_next = next;
    /* QEMU removes the device inside this write (PCC = 1 with the power indicator off). */
    cmd_power(s, false, aic, now);
    set_state(s, HP_ST_POWERING_OFF, now);
}

static void orderly(struct hp_slot *s, uint64_t now)
{
    const struct hp_driver_ops *d = &s->srv->drv;
    fence(s, HP_FENCE_ORDERLY, now);
    if (s->driver_bound) {
        s->driver_told = true;
        if (d->device_going(d->ctx, hp_slot_handle(s)) == 0) {
            set_state(s, HP_ST_WAIT_DETACH, now);
            s->deadline = add_sat(now, s->cfg.detach_timeout_ns);
            return;
        }
        slog(s, HP_LOG_DRIVER_UNREACHABLE, HP_GONE_DEVICE_GOING, now);
        s->driver_bound = false;
    }
    power_off(s, HP_ST_OFF, now);
}

static void surprise(struct hp_slot *s, uint64_t now)
{
    /* Fence first: before any driver hears of it and before the slot is touched. */
    fence(s, HP_FENCE_SURPRISE, now);
    slog(s, HP_LOG_SURPRISE, 0, now);
    tell_gone(s, now);
    power_off(s, HP_ST_OFF, now);
}

static void device_answered(struct hp_slot *s, uint32_t id, uint64_t now)
{
    const struct hp_iommu_ops *io = &s->srv->iommu;
    const struct hp_driver_ops *d = &s->srv->drv;
    int rc;

    uint32_t gen = 0;
    s->vendor = (uint16_t)id;
    s->device = (uint16_t)(id >> 16);
    s->fenced = false;
    s->fenced_surprise = false;
    s->driver_told = false;
    s->driver_bound = false;
    set_state(s, HP_ST_ON, now);
    rc = io->device_added(io->ctx, s->dev_sid, &gen);
    s->added = rc == 0;
    /* Handles of one slot only ever grow (0 marks "no handle"): the IOMMU's generation - one
     * handle for both protocols - whenever it is ahead of the slot's own count. "Ahead" in
     * serial-number order (RFC 1982): once the slot's count has wrapped past 2^32 - 1, a
     * generation just below the wrap is behind it, not ahead (it may be a handle already used). */
    if (s->added && gen != 0 && (s->gen == 0 || (int32_t)(gen - s->gen) > 0)) {
        s->gen = gen;
    } else {
        s->gen = s->gen + 1u == 0 ? 1 : s->gen + 1u;
    }
    s->n_added++;
    slog(s, HP_LOG_ADDED, id, now);
    if (!s->added) {
        /* No IOMMU state: fail-closed, the device cannot DMA; giving it a driver is useless. */
        iommu_failed(s, HP_IOMMU_OP_ADDED, rc, now);
        return;
    }
    if (d->assign(d->ctx, hp_slot_handle(s), s->vendor, s->device) == 0) {
        s->driver_bound = true;
    } else {
        slog(s, HP_LOG_NO_DRIVER, id, now);
    }
}

/* Vendor ID that means "a device answered": not all-ones (nothing), not 0, not 0x0001 (the
 * Configuration RRS/CRS completion value, PCIe 2.3.2: not ready yet). */
static bool vendor_valid(uint32_t id)
{
    uint16_t v = (uint16_t)id;
    return v != 0xffffu && v != 0x0000u && v != 0x0001u;
}

static void config_poll(struct hp_slot *s, uint64_t now)
{
    uint32_t id = pci_cfg_read32(s->srv->ecam, s->dev_sid, PCI_VENDOR_ID);
    if (vendor_valid(id)) {
        device_answered(s, id, now);
        return;
    }
    if (now >= s->config_deadline) {
        slog(s, HP_LOG_CONFIG_TIMEOUT, now - s->state_since, now);
        power_off(s, HP_ST_FAULTED, now);
        return;
    }
    s->deadline = add_sat(now, s->cfg.config_poll_ns);
    if (s->deadline > s->config_deadline) {
        s->deadline = s->config_deadline;
    }
}

static void check_pdc(struct hp_slot *s, uint64_t now)
{
    uint32_t id = pci_cfg_read32(s->srv->ecam, s->dev_sid, PCI_VENDOR_ID);
    if (vendor_valid(id) && (uint16_t)id == s->vendor && (uint16_t)(id >> 16) == s->device) {
        s->n_ignored++;
        slog(s, HP_LOG_SPURIOUS_PDC, id, now);
        return;
    }
    /* Another card (or none answering) behind a present slot: the old one is gone. */
    surprise(s, now);
    s->deferred_present = true;
}

/* Finishes a power-off once its command completed (or timed out). */
static void power_off_done(struct hp_slot *s, uint64_t now)
{
    const struct hp_iommu_ops *io = &s->srv->iommu;
    tell_gone(s, now); /* only if a driver is still bound (nothing on the normal paths) */
    if (s->added) {
        int rc = io->device_removed(io->ctx, s->dev_sid);
        s->added = false;
        s->n_removed++;
        if (rc != 0) {
            iommu_failed(s, HP_IOMMU_OP_REMOVED, rc, now);
        }
        slog(s, HP_LOG_REMOVED, 0, now);
    }
    s->fenced = false;
    s->fenced_surprise = false;
    set_state(s, s->off_next, now);
    if (s->deferred_present) {
        s->deferred_present = false;
        if (card_present(s)) {
            power_on(s, now);
        }
    }
}

static int perform(struct hp_slot *s, enum hp_event ev, uint64_t now)
{
    enum action a = (enum action)hp_table[s->state][ev];
    switch (a) {
    case A_NONE:
        return HP_OK;
    case A_IGNORE:
        s->n_ignored++;
        slog(s, HP_LOG_IGNORED, (uint64_t)ev, now);
        return ev >= HP_EV_REQ_POWER_OFF ? HP_ERR_BUSY : HP_OK;
    case A_OK:
        return HP_OK;
    case A_BUSY:
        slog(s, HP_LOG_IGNORED, (uint64_t)ev, now);
        return HP_ERR_BUSY;
    case A_POWER_ON_IF_PRESENT:
        if (!card_present(s)) {
            if (ev == HP_EV_BUTTON) {
                s->n_ignored++;
                slog(s, HP_LOG_IGNORED, (uint64_t)ev, now);
                return HP_OK;
            }
            return HP_ERR_NO_DEVICE;
        }
        power_on(s, now);
        return HP_OK;
    case A_POWER_ON:
        power_on(s, now);
        return HP_OK;
    case A_BUTTON:
        slog(s, HP_LOG_BUTTON, s->cfg.cancel_window_ns, now);
        if (s->cfg.cancel_window_ns == 0) {
            orderly(s, now);
            return HP_OK;
        }
        cmd_power_indicator(s, PCI_EXP_SLTCTL_IND_BLINK, now); /* PCIe 6.7.1.5 */
        set_state(s, HP_ST_BUTTON_WAIT, now);
        s->deadline = add_sat(now, s->cfg.cancel_window_ns);
        return HP_OK;
    case A_CANCEL:
        slog(s, HP_LOG_CANCELLED, now - s->state_since, now);
        cmd_power_indicator(s, PCI_EXP_SLTCTL_IND_ON, now);
        set_state(s, HP_ST_ON, now);
        return HP_OK;
    case A_ORDERLY:
        orderly(s, now);
        return HP_OK;
    case A_SURPRISE:
        surprise(s, now);
        return HP_OK;
    case A_CHECK_PDC:
        check_pdc(s, now);
        return HP_OK;
    case A_DETACH_DONE:
        s->driver_bound = false;
        power_off(s, HP_ST_OFF, now);
        return HP_OK;
    case A_DETACH_TIMEOUT:
        /* The fence is in place, so the device can no longer reach memory: go on without it. */
        slog(s, HP_LOG_DETACH_TIMEOUT, now - s->state_since, now);
        tell_gone(s, now);
        power_off(s, HP_ST_OFF, now);
        return HP_OK;
    case A_RELEASE:
        s->driver_bound = false;
        return HP_OK;
    case A_CONFIG_POLL:
        config_poll(s, now);
        return HP_OK;
    case A_ABORT_BRINGUP:
        slog(s, HP_LOG_BRINGUP_ABORTED, (uint64_t)ev, now);
        power_off(s, HP_ST_OFF, now);
        return HP_OK;
    case A_FAULT_CLEAR:
        set_state(s, HP_ST_OFF, now);
        return HP_OK;
    case A_DEFER_PRESENT:
        s->deferred_present = true;
        return HP_OK;
    case A_LOST_WHILE_OFFING:
        s->deferred_present = false;
        /* QEMU takes the device away inside the power-off write, so absence after that write
         * is the expected result. Before it (the command still queued behind an incomplete
         * one, or a slot without a power controller) the card left on its own: a surprise. */
        if (s->added && !s->fenced_surprise && (!s->caps.pcp || !power_off_written(s))) {
            fence(s, HP_FENCE_SURPRISE, now);
            slog(s, HP_LOG_SURPRISE, 0, now);
            tell_gone(s, now);
        }
        return HP_OK;
    }
    return HP_ERR_INVALID;
}

/* Finishes waits whose condition now holds and runs passed deadlines, a bounded number of times. */
static void progress(struct hp_slot *s, uint64_t now)
{
    for (int i = 0; i < PROGRESS_STEPS; i++) {
        if (!s->cmd_busy && s->state == HP_ST_POWERING_ON) {
            set_state(s, HP_ST_WAIT_CONFIG, now);
            s->config_deadline = add_sat(now, s->cfg.config_timeout_ns);
            s->deadline = add_sat(now, s->cfg.settle_ns);
            continue;
        }
        if (!s->cmd_busy && s->state == HP_ST_POWERING_OFF) {
            power_off_done(s, now);
            continue;
        }
        if (s->deadline <= now) {
            s->deadline = NEVER;
            perform(s, HP_EV_DEADLINE, now);
            continue;
        }
        break;
    }
}

/* ---- decoding ---- */

static void handle_status(struct hp_slot *s, uint16_t sta, uint16_t lnk, uint64_t now)
{
    if ((sta & PCI_EXP_SLTSTA_CC) && s->cmd_busy) {
        cmd_complete(s, now);
    }
    if (sta & PCI_EXP_SLTSTA_PFD) {
        slog(s, HP_LOG_POWER_FAULT, sta, now);
    }
    if (sta & (PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC)) {
        bool present = (sta & PCI_EXP_SLTSTA_PDS) != 0;
        if ((sta & PCI_EXP_SLTSTA_DLLSC) && !(lnk & PCI_EXP_LNKSTA_DLLLA)) {
            present = false; /* link down counts as gone, whatever presence detect says */
        }
        perform(s, present ? HP_EV_PRESENT : HP_EV_ABSENT, now);
        progress(s, now);
    }
    /* QEMU's device_add raises ABP together with PDC: that press is part of the insertion. */
    if ((sta & PCI_EXP_SLTSTA_ABP) && !(sta & PCI_EXP_SLTSTA_PDC)) {
        perform(s, HP_EV_BUTTON, now);
    }
}

void hp_slot_status_event(struct hp_slot *s, uint16_t sltsta, uint16_t lnksta, uint64_t now_ns)
{
    if (sltsta == 0xffffu) {
        slog(s, HP_LOG_PORT_UNREADABLE, sltsta, now_ns);
        perform(s, HP_EV_ABSENT, now_ns);
    } else {
        handle_status(s, sltsta, lnksta, now_ns);
    }
    progress(s, now_ns);
}

int hp_slot_irq(struct hp_slot *s, uint64_t now_ns)
{
    const struct pci_ecam *e = s->srv->ecam;
    int i;
    for (i = 0; i < STATUS_REREADS; i++) {
        uint16_t sta = read_sltsta(s);
        uint16_t lnk = 0;
        uint16_t ev;
        if (sta == 0xffffu) {
            hp_slot_status_event(s, sta, 0, now_ns);
            return HP_ERR_PORT_ABSENT;
        }
        ev = sta & PCI_EXP_SLTSTA_EVENTS;
        if (ev == 0) {
            break;
        }
        /* Write back exactly the bits that were read set: QEMU undoes the whole clear when a 1
         * is written to an event bit that is not set. */
        pci_cfg_write16(e, s->cfg.port, cap_off(s, PCI_EXP_SLTSTA), ev);
        if (ev & PCI_EXP_SLTSTA_DLLSC) {
            lnk = pci_cfg_read16(e, s->cfg.port, cap_off(s, PCI_EXP_LNKSTA));
        }
        handle_status(s, sta, lnk, now_ns);
    }
    if (i == STATUS_REREADS) {
        slog(s, HP_LOG_EVENT_STORM, 0, now_ns);
    }
    progress(s, now_ns);
    return HP_OK;
}

void hp_slot_timer(struct hp_slot *s, uint64_t now_ns)
{
    if (s->cmd_busy && now_ns >= s->cmd_deadline) {
        /* Look once more: the completion may be there with its interrupt lost. */
        hp_slot_irq(s, now_ns);
        if (s->cmd_busy && now_ns >= s->cmd_deadline) {
            s->n_cc_timeouts++;
            slog(s, HP_LOG_CC_TIMEOUT, now_ns - s->cmd_issued, now_ns);
            cmd_complete(s, now_ns); /* PCIe 6.7.3.2: proceed after the timeout */
        }
    }
    progress(s, now_ns);
}

uint64_t hp_slot_next_deadline(const struct hp_slot *s)
{
    uint64_t d = s->deadline;
    if (s->cmd_busy && s->cmd_deadline < d) {
        d = s->cmd_deadline;
    }
    return d;
}

int hp_slot_request(struct hp_slot *s, enum hp_request req, uint64_t now_ns)
{
    enum hp_event ev;
    int rc;
    switch (req) {
    case HP_REQ_POWER_OFF:
        ev = HP_EV_REQ_POWER_OFF;
        break;
    case HP_REQ_REMOVE:
        ev = HP_EV_REQ_REMOVE;
        break;
    case HP_REQ_POWER_ON:
        ev = HP_EV_REQ_POWER_ON;
        break;
    default:
        return HP_ERR_INVALID;
    }
    slog(s, HP_LOG_REQUEST, (uint64_t)req, now_ns);
    rc = perform(s, ev, now_ns);
    progress(s, now_ns);
    return rc;
}

/* ---- setup ---- */

void hp_slot_config_defaults(struct hp_slot_config *cfg, pci_sid_t port, uint8_t secondary_bus)
{
    cfg->port = port;
    cfg->secondary_bus = secondary_bus;
    cfg->cancel_window_ns = HP_DEFAULT_CANCEL_WINDOW_NS;
    cfg->detach_timeout_ns = HP_DEFAULT_DETACH_TIMEOUT_NS;
    cfg->cc_timeout_ns = HP_DEFAULT_CC_TIMEOUT_NS;
    cfg->settle_ns = HP_DEFAULT_SETTLE_NS;
    cfg->config_timeout_ns = HP_DEFAULT_CONFIG_TIMEOUT_NS;
    cfg->config_poll_ns = HP_DEFAULT_CONFIG_POLL_NS;
}

void hp_slot_start(struct hp_slot *s, uint64_t now)
{
    const struct pci_ecam *e = s->srv->ecam;
    uint16_t sta = read_sltsta(s);
    uint16_t ctl = pci_cfg_read16(e, s->cfg.port, cap_off(s, PCI_EXP_SLTCTL));
    uint16_t enables = PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_HPIE;
    bool present = (sta & PCI_EXP_SLTSTA_PDS) != 0;
    bool powered = !s->caps.pcp || !(ctl & PCI_EXP_SLTCTL_PCC);

    set_state(s, HP_ST_OFF, now);
    if (sta & PCI_EXP_SLTSTA_EVENTS) {
        pci_cfg_write16(e, s->cfg.port, cap_off(s, PCI_EXP_SLTSTA), sta & PCI_EXP_SLTSTA_EVENTS);
    }
    if (s->caps.abp) {
        enables |= PCI_EXP_SLTCTL_ABPE;
    }
    if (!s->caps.nccs) {
        enables |= PCI_EXP_SLTCTL_CCIE;
    }
    if (s->pcie.lnkcap & PCI_EXP_LNKCAP_DLLLARC) {
        enables |= PCI_EXP_SLTCTL_DLLSCE;
    }
    cmd_issue(s, SLTCTL_ENABLES, enables, now);
    slog(s, HP_LOG_SLOT_READY, sta, now);

    if (present) {
        /* A card there at boot is brought up like an insertion (a powered one keeps its power;
         * the command only sets the indicators). */
        power_on(s, now);
    } else if (powered && s->caps.pcp) {
        power_off(s, HP_ST_OFF, now);
    }
    progress(s, now);
}

void hp_slot_detached(struct hp_slot *s, uint64_t now)
{
    perform(s, HP_EV_DETACHED, now);
    progress(s, now);
}
