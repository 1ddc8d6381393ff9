/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server task: thin glue between the kernel and libiommu. At start it takes over
 * every DMAR unit the root task granted (register frames, the validated DMAR table, memory for
 * tables and queues, an MSI vector for the fault event), turns translation on fail-closed (an
 * empty root table: every source-id is blocked until a client attaches it; RMRR devices get
 * their identity maps), then serves one endpoint from one event loop:
 *
 *   - the root task (badge IOMMU_SRV_BADGE_ROOT) registers clients and their device and memory
 *     grants (<iommu_srv/root.h>): the device capability of a driver is that registration;
 *   - the hotplug server (IOMMU_SRV_BADGE_HOTPLUG) fences, removes and adds devices;
 *   - drivers (registered client badges) attach, map, unmap, flush and read their faults;
 *   - the fault event arrives as a notification bound to our thread: faults are decoded and
 *     routed by libiommu in bounded rounds, interleaved with messages so a flood never starves
 *     the clients;
 *   - a receive time-out drives libiommu's retries (unfinished quarantine fences and drains).
 *
 * Every decision about a message is libiommu's (decode, then perform); this file moves words
 * and capabilities between the kernel's message format and struct iommu_msg.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <acpi/acpi.h>
#include <iommu/server.h>
#include <iommu_srv/root.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

#include "iommu_srv.h"
#include "park.h"

#define RECV_TIMEOUT_US 50000u /* idle tick: retries, polling units without an MSI */
#define FAULT_ROUNDS 2u        /* fault service calls between two looks at the endpoint */
#define MAX_DMAR_SCOPES 64u

static struct iommu_server g_srv;
static struct srv_caps g_caps;
static struct vtd_hw g_hw[IOMMU_MAX_UNITS];
static struct srv_unit_regs g_regs[IOMMU_MAX_UNITS];
static bool g_verbose;

/* Unit index → scopes, kept to choose the unit of a client from its first device. */
static struct {
    bool include_all;
    unsigned n;
    struct {
        uint16_t first, last;
    } r[IOMMU_MAX_SCOPES];
} g_scope[IOMMU_MAX_UNITS];

/* Client badge → the notification its faults are signalled on. */
static struct {
    uint64_t badge;
    pc_cptr_t ntfn;
} g_notify[IOMMU_MAX_CLIENTS];

/* ---- slots ------------------------------------------------------------------------------- */

static uint32_t g_next_slot, g_end_slot;
static pc_cptr_t g_free_slots[1024]; /* at most the CNode size (2^10) */
static unsigned g_nfree_slots;

pc_cptr_t srv_slot_alloc(void)
{
    if (g_nfree_slots > 0) {
        return g_free_slots[--g_nfree_slots];
    }
    if (g_next_slot >= g_end_slot) {
        return 0;
    }
    return g_next_slot++;
}

void srv_slot_free(pc_cptr_t slot)
{
    (void)pc_cnode_delete(g_caps.cnode, slot);
    if (g_nfree_slots < sizeof(g_free_slots) / sizeof(g_free_slots[0])) {
        g_free_slots[g_nfree_slots++] = slot;
    }
}

/* ---- environment callbacks for libiommu -------------------------------------------------- */

static void env_notify_client(void *ctx, uint64_t badge)
{
    (void)ctx;
    for (unsigned i = 0; i < IOMMU_MAX_CLIENTS; i++) {
        if (g_notify[i].badge == badge && g_notify[i].ntfn != 0) {
            pc_signal(g_notify[i].ntfn);
            return;
        }
    }
}

static void env_release_cap(void *ctx, uint64_t cookie)
{
    (void)ctx;
    if (cookie != 0 && cookie < g_end_slot) {
        srv_slot_free((pc_cptr_t)cookie);
    }
}

/* ---- start-up ----------------------------------------------------------------------------- */

/*
 * Log lines go straight to the console, never through the root task: the root task calls us
 * (registrations, also at run time after a hot-plug) and would wait for us while we waited for
 * it. The server prints only at start-up and on registrations.
 */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printf("%s\n", line);
    fflush(stdout);
}

static const char *bdf(uint16_t sid)
{
    static char buf[4][12];
    static unsigned k;
    char *b = buf[k++ & 3];
    snprintf(b, 12, "%02x:%02x.%x", sid >> 8, (sid >> 3) & 0x1f, sid & 7);
    return b;
}

static bool take_caps(const task_start_info_t *si)
{
    g_caps.ep = task_cap_slot(si, "clients", TASK_CAP_ENDPOINT);
    g_caps.untyped = task_cap_slot(si, "untyped", TASK_CAP_UNTYPED);
    g_caps.cnode = task_cap_slot(si, "cnode", TASK_CAP_OWN_CNODE);
    g_caps.vspace = task_cap_slot(si, "vspace", TASK_CAP_OWN_VSPACE);
    g_caps.tcb = task_cap_slot(si, "tcb", TASK_CAP_OWN_TCB);
    const task_cap_t *msi = task_cap_find(si, "fault_msi");
    if (msi != NULL && msi->kind == TASK_CAP_MSI) {
        g_caps.fault_irq = msi->slot;
        g_caps.fault_ntfn = msi->aux_slot;
    }
    g_next_slot = si->first_free_slot;
    g_end_slot = si->end_free_slot;
    return g_caps.ep && g_caps.untyped && g_caps.cnode && g_caps.vspace;
}

/* Config pages: the endpoints ("cfgN") and root ports ("portN") the root task granted. */
static void take_config_pages(const task_start_info_t *si)
{
    for (unsigned i = 0; i < si->cap_count; i++) {
        const task_cap_t *c = &si->cap[i];
        if (c->kind != TASK_CAP_DEVICE_REGION || c->vaddr == 0 || c->arg0 > 0xffff) {
            continue;
        }
        if (strncmp(c->name, "cfg", 3) == 0 || strncmp(c->name, "port", 4) == 0) {
            (void)srv_cfg_add_page((uint16_t)c->arg0, (volatile void *)(uintptr_t)c->vaddr);
        }
    }
}

static struct acpi_dmar_drhd g_drhd[IOMMU_MAX_UNITS];
static struct acpi_dmar_rmrr g_rmrr[IOMMU_MAX_RMRR];
static struct acpi_dmar_atsr g_atsr[4], g_satc[4];
static struct acpi_dmar_rhsa g_rhsa[4];
static struct acpi_dmar_scope g_scopes[MAX_DMAR_SCOPES];

static int parse_dmar(const task_start_info_t *si, struct acpi_dmar *d)
{
    const task_cap_t *t = task_cap_find(si, "dmar_table");
    if (t == NULL || t->vaddr == 0 || t->size == 0) {
        return ACPI_ERR_INVALID;
    }
    memset(d, 0, sizeof(*d));
    d->drhds = g_drhd;
    d->drhd_cap = IOMMU_MAX_UNITS;
    d->rmrrs = g_rmrr;
    d->rmrr_cap = IOMMU_MAX_RMRR;
    d->atsrs = g_atsr;
    d->atsr_cap = 4;
    d->satcs = g_satc;
    d->satc_cap = 4;
    d->rhsas = g_rhsa;
    d->rhsa_cap = 4;
    d->scopes = g_scopes;
    d->scope_cap = MAX_DMAR_SCOPES;
    return acpi_dmar_parse((const void *)(uintptr_t)t->vaddr, t->size, d);
}

/* Register frames of DRHD `base` among the granted "dmarN" regions. */
static const task_cap_t *find_regs(const task_start_info_t *si, uint64_t base)
{
    for (unsigned i = 0; i < si->cap_count; i++) {
        const task_cap_t *c = &si->cap[i];
        if (c->kind == TASK_CAP_DEVICE_REGION && strncmp(c->name, "dmar", 4) == 0 &&
            c->name[4] >= '0' && c->name[4] <= '9' && c->paddr == base && c->vaddr != 0) {
            return c;
        }
    }
    return NULL;
}

static void add_unit_scopes(unsigned unit, const struct acpi_dmar *d,
                            const struct acpi_dmar_drhd *h)
{
    const struct pci_ecam *ecam = srv_cfg_ecam();
    for (size_t k = 0; k < h->scope_count; k++) {
        const struct acpi_dmar_scope *sc = &d->scopes[h->scope_first + k];
        if ((sc->type == ACPI_DMAR_SCOPE_IOAPIC || sc->type == ACPI_DMAR_SCOPE_HPET) &&
            sc->path_len == 1) {
            /* Their interrupts go through this unit's remapping table (one hop from the start
             * bus: their requester id, which the entries written for them validate). */
            uint16_t sid = (uint16_t)(sc->start_bus << 8 | sc->path[0].dev << 3 | sc->path[0].fn);
            (void)iommu_server_add_scope(&g_srv, unit, sid, sid);
            if (g_verbose) {
                say("iommu: unit %u scope %s %s", unit,
                    sc->type == ACPI_DMAR_SCOPE_IOAPIC ? "I/O APIC" : "HPET", bdf(sid));
            }
            continue;
        }
        if (sc->type != ACPI_DMAR_SCOPE_ENDPOINT && sc->type != ACPI_DMAR_SCOPE_BRIDGE) {
            continue; /* namespace devices: not ours */
        }
        pci_sid_t sid = 0;
        uint8_t sec = 0, sub = 0;
        int e = acpi_dmar_scope_resolve(sc, h->segment, pci_ecam_read32_cb, (void *)ecam, &sid,
                                        sc->type == ACPI_DMAR_SCOPE_BRIDGE ? &sec : NULL,
                                        sc->type == ACPI_DMAR_SCOPE_BRIDGE ? &sub : NULL);
        if (e != ACPI_OK) {
            say("iommu: unit %u: scope at bus %u unresolved (%d): left blocked", unit,
                sc->start_bus, e);
            continue;
        }
        uint16_t first = sid, last = sid;
        (void)iommu_server_add_scope(&g_srv, unit, sid, sid);
        if (sc->type == ACPI_DMAR_SCOPE_BRIDGE && sec != 0 && sub >= sec) {
            first = (uint16_t)(sec << 8);
            last = (uint16_t)(sub << 8 | 0xff);
            (void)iommu_server_add_scope(&g_srv, unit, first, last);
        }
        if (g_scope[unit].n + 2 <= IOMMU_MAX_SCOPES) {
            g_scope[unit].r[g_scope[unit].n].first = sid;
            g_scope[unit].r[g_scope[unit].n++].last = sid;
            g_scope[unit].r[g_scope[unit].n].first = first;
            g_scope[unit].r[g_scope[unit].n++].last = last;
        }
        if (g_verbose) {
            say("iommu: unit %u scope %s [%s..%s]", unit, bdf(sid), bdf(first), bdf(last));
        }
    }
}

static void add_rmrrs(const struct acpi_dmar *d)
{
    const struct pci_ecam *ecam = srv_cfg_ecam();
    for (size_t i = 0; i < d->rmrr_count; i++) {
        const struct acpi_dmar_rmrr *r = &d->rmrrs[i];
        for (size_t k = 0; k < r->scope_count; k++) {
            const struct acpi_dmar_scope *sc = &d->scopes[r->scope_first + k];
            pci_sid_t sid = 0;
            if (sc->type != ACPI_DMAR_SCOPE_ENDPOINT ||
                acpi_dmar_scope_resolve(sc, r->segment, pci_ecam_read32_cb, (void *)ecam, &sid,
                                        NULL, NULL) != ACPI_OK) {
                continue;
            }
            enum iommu_err e = iommu_server_add_rmrr(&g_srv, sid, r->base, r->limit + 1 - r->base);
            say("iommu: RMRR %#llx..%#llx for %s: %s", (unsigned long long)r->base,
                (unsigned long long)r->limit, bdf(sid), iommu_errname(e));
        }
    }
}

static unsigned unit_of(uint16_t sid)
{
    for (unsigned u = 0; u < g_srv.n_units; u++) {
        for (unsigned k = 0; k < g_scope[u].n; k++) {
            if (sid >= g_scope[u].r[k].first && sid <= g_scope[u].r[k].last) {
                return u;
            }
        }
    }
    for (unsigned u = 0; u < g_srv.n_units; u++) {
        if (g_scope[u].include_all) {
            return u;
        }
    }
    return 0;
}

static bool start_units(const task_start_info_t *si)
{
    struct acpi_dmar d;
    int e = parse_dmar(si, &d);
    if (e != ACPI_OK) {
        say("iommu: DMAR table unusable (%d): nothing enabled", e);
        return false;
    }
    bool legacy = task_cmdline_has(si->cmdline, "mode=legacy");
    for (size_t i = 0; i < d.drhd_count; i++) {
        const struct acpi_dmar_drhd *h = &d.drhds[i];
        const task_cap_t *regs = find_regs(si, h->base);
        if (regs == NULL || h->segment != 0) {
            say("iommu: DRHD %#llx: no register grant or segment %u: skipped",
                (unsigned long long)h->base, h->segment);
            continue;
        }
        unsigned n = g_srv.n_units;
        g_regs[n].base = (volatile uint8_t *)(uintptr_t)regs->vaddr;
        g_regs[n].paddr = regs->paddr;
        g_regs[n].size = regs->size;
        srv_hw_init(&g_hw[n], &g_regs[n]);
        /* Scalable mode where the unit has it (QEMU x-scalable-mode=on), else legacy. */
        uint64_t ecap = g_hw[n].read64(g_hw[n].ctx, VTD_ECAP_REG);
        struct vtd_unit_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.mode = (!legacy && (ecap & VTD_ECAP_SMTS) && (ecap & VTD_ECAP_SLTS)) ? VTD_MODE_SCALABLE
                                                                                 : VTD_MODE_LEGACY;
        cfg.qi_order = 1;
        unsigned idx = 0;
        bool all = (h->flags & ACPI_DMAR_DRHD_INCLUDE_PCI_ALL) != 0;
        enum iommu_err ie = iommu_server_add_unit(&g_srv, &g_hw[n], &cfg, all, &idx);
        if (ie != IOMMU_OK) {
            say("iommu: DRHD %#llx: take-over failed: %s", (unsigned long long)h->base,
                iommu_errname(ie));
            continue;
        }
        g_scope[idx].include_all = all;
        add_unit_scopes(idx, &d, h);
        struct vtd_unit *vu = iommu_server_vtd_unit(&g_srv, idx);
        say("iommu: unit %u at %#llx: VT-d %u.%u cap %#llx ecap %#llx, %s mode, QI on, "
            "translation on (fail-closed)",
            idx, (unsigned long long)h->base, vu->f.version >> 4, vu->f.version & 15,
            (unsigned long long)vu->f.cap, (unsigned long long)vu->f.ecap,
            cfg.mode == VTD_MODE_SCALABLE ? "scalable" : "legacy");
        if (vtd_ir_enabled(vu)) {
            uint32_t gsts = g_hw[n].read32(g_hw[n].ctx, VTD_GSTS_REG);
            say("iommu: unit %u interrupt remapping on: %u entries, compatibility format %s", idx,
                vtd_ir_size(vu), (gsts & VTD_GSTS_CFIS) ? "ALLOWED" : "blocked (CFIS clear)");
        } else {
            say("iommu: unit %u has no interrupt remapping: device interrupts are not isolated",
                idx);
        }
    }
    if (g_srv.n_units == 0) {
        return false;
    }
    srv_ats_start(&g_srv, &d);
    add_rmrrs(&d);
    return true;
}

/* The fault event MSI of unit 0 (the one vector the root task grants), bound to our thread. */
static void start_fault_event(const task_start_info_t *si)
{
    const task_cap_t *msi = task_cap_find(si, "fault_msi");
    if (msi == NULL || g_caps.fault_irq == 0 || g_caps.tcb == 0) {
        say("iommu: no fault MSI: faults are polled every %u ms", RECV_TIMEOUT_US / 1000u);
        return;
    }
    pc_word_t err = pc_tcb_bind_notification(g_caps.tcb, g_caps.fault_ntfn);
    enum vtd_err ve = VTD_ERR_STATE;
    if (err == PC_OK) {
        ve = vtd_unit_fault_event_setup(iommu_server_vtd_unit(&g_srv, 0), msi->arg1,
                                        (uint32_t)msi->arg2);
    }
    (void)pc_irq_handler_ack(g_caps.fault_irq);
    say("iommu: fault event: vector %llu, %s", (unsigned long long)msi->arg0,
        err != PC_OK ? "notification not bound" : vtd_errname(ve));
}

/* Every function whose config page we hold is in the device index (hot-added ones arrive
 * through device_added; the root task's grant_device adds the rest). */
static void add_devices(void)
{
    const struct pci_ecam *ecam = srv_cfg_ecam();
    for (unsigned i = 0; i < srv_cfg_count(); i++) {
        uint16_t sid = srv_cfg_sid(i);
        if (!pci_present(ecam, sid)) {
            continue;
        }
        enum iommu_err e = iommu_server_add_device(&g_srv, sid);
        const struct iommu_device *dv = iommu_device_get(&g_srv, sid);
        say("iommu: device %s %s%s", bdf(sid),
            e == IOMMU_OK ? "indexed, blocked" : iommu_errname(e),
            dv != NULL && dv->has_ats ? ", ATS capable" : "");
    }
}

/* ---- the root protocol ------------------------------------------------------------------- */

static bool notify_set(uint64_t badge, pc_cptr_t ntfn)
{
    for (unsigned i = 0; i < IOMMU_MAX_CLIENTS; i++) {
        if (g_notify[i].badge == 0) {
            g_notify[i].badge = badge;
            g_notify[i].ntfn = ntfn;
            return true;
        }
    }
    return false;
}

/* The client's fault notification goes with it: the copy is deleted, the slot reused. */
static void notify_drop(uint64_t badge)
{
    for (unsigned i = 0; i < IOMMU_MAX_CLIENTS; i++) {
        if (g_notify[i].badge == badge) {
            if (g_notify[i].ntfn != 0) {
                srv_slot_free(g_notify[i].ntfn);
            }
            g_notify[i].badge = 0;
            g_notify[i].ntfn = 0;
        }
    }
}

static enum iommu_err root_grant_device(uint64_t badge, uint64_t sid)
{
    if (!iommu_srv_badge_is_client(badge) || sid > 0xffff) {
        return IOMMU_ERR_BAD_ARG;
    }
    /* The root task enumerated the function: index it if we did not (other classes). */
    if (iommu_device_find(&g_srv, (uint16_t)sid) < 0) {
        enum iommu_err e = iommu_server_add_device(&g_srv, (uint16_t)sid);
        if (e != IOMMU_OK) {
            return e == IOMMU_ERR_BAD_ARG ? IOMMU_ERR_UNIT : e;
        }
    }
    return iommu_client_grant_device(&g_srv, badge, (uint16_t)sid);
}

/*
 * One root-protocol message. `cap` is the slot holding the capability that came with it (0 if
 * none); *keep says whether the server took it.
 */
static void handle_root(const struct iommu_msg *m, pc_cptr_t cap, struct iommu_reply *r, bool *keep)
{
    *keep = false;
    r->len = 0;
    r->err = IOMMU_ERR_BAD_MSG;
    switch (m->label) {
    case IOMMU_ROOT_CLIENT_ADD: {
        if (m->len != 3 || m->ncaps > 1) {
            return;
        }
        uint64_t badge = m->w[0], sid = m->w[1];
        if (!iommu_srv_badge_is_client(badge) || (sid > 0xffff && sid != IOMMU_SRV_NO_SID)) {
            r->err = IOMMU_ERR_BAD_ARG;
            return;
        }
        pc_word_t id[3] = {0, 0, 0};
        bool ntfn = cap != 0 && pc_cap_identify(cap, id) == PC_OK && id[0] == PC_OBJ_NOTIFICATION &&
                    (id[1] & PC_RIGHT_WRITE);
        unsigned unit = sid == IOMMU_SRV_NO_SID ? 0 : unit_of((uint16_t)sid);
        r->err = iommu_client_register(&g_srv, badge, unit);
        if (r->err == IOMMU_OK && sid != IOMMU_SRV_NO_SID) {
            r->err = root_grant_device(badge, sid);
            if (r->err != IOMMU_OK) {
                (void)iommu_client_unregister(&g_srv, badge);
            }
        }
        if (r->err == IOMMU_OK && ntfn) {
            *keep = notify_set(badge, cap);
        }
        if (r->err == IOMMU_OK) {
            say("iommu: client %#llx registered%s%s%s", (unsigned long long)badge,
                sid != IOMMU_SRV_NO_SID ? ", granted " : "",
                sid != IOMMU_SRV_NO_SID ? bdf((uint16_t)sid) : "",
                *keep ? ", fault notification" : "");
        }
        return;
    }
    case IOMMU_ROOT_GRANT_DEVICE:
        if (m->len != 2 || m->ncaps != 0) {
            return;
        }
        r->err = root_grant_device(m->w[0], m->w[1]);
        return;
    case IOMMU_ROOT_GRANT_MEMORY: {
        if (m->len != 4 || m->ncaps != 0) {
            return;
        }
        if (!iommu_srv_badge_is_client(m->w[0]) || m->w[3] > 0xffffffffull) {
            r->err = IOMMU_ERR_BAD_ARG;
            return;
        }
        unsigned grant = 0;
        r->err =
            iommu_client_grant_memory(&g_srv, m->w[0], m->w[1], m->w[2], (unsigned)m->w[3], &grant);
        if (r->err == IOMMU_OK) {
            r->w[0] = grant;
            r->len = 1;
        }
        return;
    }
    case IOMMU_ROOT_CLIENT_REMOVE: {
        if (m->len != 1 || m->ncaps != 0) {
            return;
        }
        uint64_t badge = m->w[0];
        if (!iommu_srv_badge_is_client(badge)) {
            r->err = IOMMU_ERR_BAD_ARG;
            return;
        }
        /* BAD_ARG if not registered; otherwise: detach (block + flush at the hardware), unmap
         * strictly, unbind, drop the grants: all synchronous, so the reply means no device reaches
         * the client's memory any more */
        r->err = iommu_client_unregister(&g_srv, badge);
        if (r->err == IOMMU_ERR_BAD_ARG) {
            return;
        }
        notify_drop(badge);
        struct iommu_counts n;
        iommu_server_counts(&g_srv, &n);
        say("iommu: client %#llx removed%s%s; now %u domains, %u mappings, %llu table pages, %u "
            "pins, %u stuck, %u irtes",
            (unsigned long long)badge, r->err == IOMMU_OK ? "" : ": ",
            r->err == IOMMU_OK ? "" : iommu_errname(r->err), n.domains, n.mappings,
            (unsigned long long)n.table_pages, n.pins, n.stuck, n.irtes);
        return;
    }
    case IOMMU_ROOT_IRQ_GRANT: {
        if (m->len != 3 || m->ncaps != 0) {
            return;
        }
        bool port = m->w[0] == IOMMU_SRV_BADGE_HOTPLUG;
        if ((!port && !iommu_srv_badge_is_client(m->w[0])) || m->w[1] > 0xffff) {
            r->err = IOMMU_ERR_BAD_ARG;
            return;
        }
        unsigned grant = 0;
        r->err =
            port ? iommu_port_grant_vector(&g_srv, (uint16_t)m->w[1], m->w[2])
                 : iommu_client_grant_vector(&g_srv, m->w[0], (uint16_t)m->w[1], m->w[2], &grant);
        if (r->err == IOMMU_OK) {
            r->w[0] = grant;
            r->len = 1;
        }
        return;
    }
    case IOMMU_ROOT_IRQ_ROUTE: {
        if (m->len != 2 || m->ncaps != 0) {
            return;
        }
        if (m->w[0] > 0xffff) {
            r->err = IOMMU_ERR_BAD_ARG;
            return;
        }
        r->err = iommu_irq_route(&g_srv, (uint16_t)m->w[0], m->w[1], &r->w[0], &r->w[1], &r->w[2]);
        if (r->err == IOMMU_OK) {
            r->len = 3;
        }
        return;
    }
    case IOMMU_ROOT_REVOKE_MEMORY: {
        if (m->len != 2 || m->ncaps != 0) {
            return;
        }
        if (!iommu_srv_badge_is_client(m->w[0]) || m->w[1] >= IOMMU_CLIENT_MEMORY) {
            r->err = IOMMU_ERR_BAD_ARG;
            return;
        }
        unsigned left = 0;
        r->err = iommu_client_revoke_memory(&g_srv, m->w[0], (unsigned)m->w[1], &r->w[0], &left);
        if (r->err != IOMMU_ERR_BAD_ARG) {
            r->w[1] = left;
            r->len = 2;
        }
        return;
    }
    case IOMMU_ROOT_REVOKE_DEVICE: {
        if (m->len != 2 || m->ncaps != 0) {
            return;
        }
        if (!iommu_srv_badge_is_client(m->w[0]) || m->w[1] > 0xffff) {
            r->err = IOMMU_ERR_BAD_ARG;
            return;
        }
        r->err = iommu_client_revoke_device(&g_srv, m->w[0], (uint16_t)m->w[1], &r->w[0]);
        if (r->err != IOMMU_ERR_BAD_ARG) {
            r->len = 1;
        }
        return;
    }
    default:
        r->err = IOMMU_ERR_BAD_LABEL;
        return;
    }
}

/* ---- the event loop ----------------------------------------------------------------------- */

/* What a received capability is, for libiommu: a frame (physical range and rights) or nothing. */
static void resolve_cap(pc_cptr_t slot, struct iommu_cap_ref *ref)
{
    ref->kind = IOMMU_CAP_NONE;
    ref->rights = 0;
    ref->pa = 0;
    ref->size = 0;
    ref->cookie = slot;
    pc_word_t id[3] = {0, 0, 0};
    if (pc_cap_identify(slot, id) != PC_OK) {
        return;
    }
    if (id[0] != PC_OBJ_FRAME_4K && id[0] != PC_OBJ_FRAME_2M) {
        return;
    }
    /* A kernel that reports a frame's physical base in IDENTIFY's third word saves the second
     * system call (apps/init/KERNEL_ISSUES.md); 0 there means "not reported". */
    uint64_t pa = id[2];
    if (pa == 0 && pc_frame_get_address(slot, &pa) != PC_OK) {
        return;
    }
    ref->kind = IOMMU_CAP_FRAME;
    ref->pa = pa;
    ref->size = id[0] == PC_OBJ_FRAME_2M ? SRV_LARGE_PAGE : 4096u;
    ref->rights =
        ((id[1] & PC_RIGHT_READ) ? IOMMU_READ : 0u) | ((id[1] & PC_RIGHT_WRITE) ? IOMMU_WRITE : 0u);
}

static pc_cptr_t g_recv_slot;

/* Turn one kernel message into a reply in *out (label = error, words). */
static void handle_message(pc_msg_t *in, pc_msg_t *out)
{
    PROF_T(t0);
    static struct iommu_msg m;
    static struct iommu_reply r;
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    unsigned len = pc_msginfo_length(in->info);
    unsigned ncaps = pc_msginfo_extra_caps(in->info);
    bool unwrapped = (pc_msginfo_unwrapped(in->info) & 1u) != 0;
    pc_cptr_t cap = (ncaps > 0 && !unwrapped) ? g_recv_slot : 0;

    /* Only the header: the handlers set what they return (no clearing of the word array). */
    r.err = 0;
    r.len = 0;
    r.cap_kept = false;
    m.label = pc_msginfo_label(in->info);
    m.badge = in->badge;
    m.ncaps = ncaps > IOMMU_MSG_CAPS ? IOMMU_MSG_CAPS + 1 : ncaps;
    if (len > IOMMU_MSG_WORDS) {
        /* More words than any method takes: BAD_MSG without looking further. */
        r.err = m.badge == IOMMU_SRV_BADGE_HOTPLUG ? (uint64_t)IOMMU_HP_ERR_BAD_MSG
                                                   : (uint64_t)IOMMU_ERR_BAD_MSG;
    } else {
        m.len = len;
        /* The register words always (4 constant moves), the rest from the IPC buffer. */
        _Static_assert(PC_MSG_REG_COUNT <= IOMMU_MSG_WORDS, "register words fit in the message");
        for (unsigned i = 0; i < PC_MSG_REG_COUNT; i++) {
            m.w[i] = in->mr[i];
        }
        for (unsigned i = PC_MSG_REG_COUNT; i < len; i++) {
            m.w[i] = buf->mr[i];
        }
#ifdef IOMMU_SRV_PROFILE
        prof_message(m.label);
#endif
        PROF_T(t1);
        PROF_ADD(PROF_COPY_IN, t0, t1);
        bool keep = false;
        if (m.badge == IOMMU_SRV_BADGE_ROOT) {
            handle_root(&m, cap, &r, &keep);
            r.cap_kept = keep;
        } else {
            if (m.ncaps > 0) {
                if (cap != 0) {
                    resolve_cap(cap, &m.cap[0]);
                } else {
                    memset(&m.cap[0], 0, sizeof(m.cap[0]));
                }
            }
            PROF_T(t2);
            PROF_ADD(PROF_RESOLVE, t1, t2);
            if (m.badge == IOMMU_SRV_BADGE_HOTPLUG) {
                iommu_handle_hotplug(&g_srv, &m, &r);
            } else {
                (void)srv_park_client(&g_srv, &m, &r); /* may park: see park.c */
            }
            PROF_T(t3);
            PROF_ADD(PROF_HANDLE, t2, t3);
        }
    }
    PROF_T(t4);
    if (cap != 0) {
        if (r.cap_kept) {
            /* the slot now belongs to a pin (or a client's notification): receive elsewhere */
            g_recv_slot = srv_slot_alloc();
        } else {
            (void)pc_cnode_delete(g_caps.cnode, cap);
        }
    }
    PROF_T(t5);
    PROF_ADD(PROF_CAP_DONE, t4, t5);
    unsigned rlen = r.len > IOMMU_MSG_WORDS ? IOMMU_MSG_WORDS : r.len;
    out->info = pc_msginfo(r.err, 0, 0, rlen);
    /*
     * The kernel hands all register words to the caller whatever the length: the ones past
     * rlen are zeroed, or they would carry an earlier reply (maybe another client's faults).
     */
    _Static_assert(PC_MSG_REG_COUNT == 4, "four register words, written out below");
    out->mr[0] = rlen > 0 ? r.w[0] : 0; /* one conditional move each, no loop */
    out->mr[1] = rlen > 1 ? r.w[1] : 0;
    out->mr[2] = rlen > 2 ? r.w[2] : 0;
    out->mr[3] = rlen > 3 ? r.w[3] : 0;
    for (unsigned i = PC_MSG_REG_COUNT; i < rlen; i++) {
        buf->mr[i] = r.w[i];
    }
    PROF_T(t6);
    PROF_ADD(PROF_COPY_OUT, t5, t6);
}

/* Faults of every unit, at most FAULT_ROUNDS bounded service calls each. True: more remain. */
static bool service_faults(void)
{
    bool more = false;
    for (unsigned u = 0; u < g_srv.n_units; u++) {
        unsigned rounds = 0;
        bool again = true;
        while (again && rounds++ < FAULT_ROUNDS) {
            again = iommu_fault_service(&g_srv, u);
        }
        more = more || again;
    }
    return more;
}

static void serve(uint64_t tsc_hz)
{
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    pc_msg_t in, out;
    bool reply = false;
    bool faults_pending = true; /* look once at start: faults may predate the MSI set-up */
    /* The idle tick in TSC cycles: one rdtsc and a compare per message, no division. */
    uint64_t tick_cycles = (tsc_hz ? tsc_hz : 1000000000ull) / 1000000u * RECV_TIMEOUT_US;
    if (tick_cycles == 0) {
        tick_cycles = 1;
    }
    uint64_t last_tick = task_rdtsc();
    g_recv_slot = srv_slot_alloc();
    memset(&out, 0, sizeof(out));
#ifdef IOMMU_SRV_PROFILE
    /* glue outside handle_message: after it until the system call, and back until the next */
    uint64_t t_done = 0, t_loop = 0, t_back = 0;
#endif
    for (;;) {
        buf->receive_index = g_recv_slot;
        /* With faults left over, only poll: messages and faults take turns. */
        uint64_t tmo = srv_park_timeout_us(faults_pending ? PC_TIMEOUT_POLL : RECV_TIMEOUT_US);
        pc_word_t err;
        if (reply) {
            in = out;
#ifdef IOMMU_SRV_PROFILE
            t_loop = task_rdtsc() - t_done;
#endif
            err = pc_reply_recv(g_caps.ep, &in, tmo);
#ifdef IOMMU_SRV_PROFILE
            t_back = task_rdtsc();
#endif
        } else {
            memset(&in, 0, sizeof(in));
            err = pc_recv(g_caps.ep, &in, tmo);
#ifdef IOMMU_SRV_PROFILE
            t_back = 0;
#endif
        }
        reply = false;
        if (err == PC_OK && pc_msginfo_label(in.info) == PC_LABEL_NOTIFICATION) {
            if (in.badge & SRV_NTFN_QI) {
                srv_park_event();
            }
            faults_pending = service_faults();
            (void)pc_irq_handler_ack(g_caps.fault_irq);
        } else if (err == PC_OK) {
#ifdef IOMMU_SRV_PROFILE
            t_loop += task_rdtsc() - t_back;
#endif
            handle_message(&in, &out);
            reply = !srv_park_take(&in, &out); /* parked: answered later */
#ifdef IOMMU_SRV_PROFILE
            t_done = task_rdtsc();
            if (t_back != 0) {
                prof_add(PROF_LOOP, t_loop);
            }
#endif
        } else if (err == PC_ERR_TIMEOUT) {
            faults_pending = service_faults();
        }
        srv_park_poll();
        uint64_t now = task_rdtsc();
        if (now - last_tick >= tick_cycles) {
            last_tick = now;
            iommu_server_retry(&g_srv);
        }
    }
}

int main(void)
{
    const task_start_info_t *si = task_start();
    if (si == NULL || !take_caps(si)) {
        printf("iommu: start information or capabilities missing: not serving\n");
        return 1;
    }
    g_verbose = task_cmdline_has(si->cmdline, "verbose");
    srv_park_prepare(si, &g_caps); /* before the table pool takes the untyped */
    const task_cap_t *ut = task_cap_find(si, "untyped");
    pc_word_t err = srv_pool_init(&g_caps, si->tsc_hz, ut->size);
    if (err != PC_OK) {
        say("iommu: no table memory (error %llu): not serving", (unsigned long long)err);
        return 1;
    }
    take_config_pages(si);

    struct iommu_env env;
    memset(&env, 0, sizeof(env));
    env.ecam = srv_cfg_ecam();
    env.notify_client = env_notify_client;
    env.release_cap = env_release_cap;
    env.ats_refused = srv_ats_refused;
    iommu_server_init(&g_srv, &env, IOMMU_SRV_BADGE_HOTPLUG);
    if (!start_units(si)) {
        say("iommu: no remapping unit taken over: not serving");
        return 1;
    }
    add_devices();
    start_fault_event(si);
    srv_park_start(si, &g_srv);
    unsigned used, high, total;
    srv_pool_stats(&used, &high, &total);
    say("iommu: ready: %u unit(s), %u/%u table pages in use", g_srv.n_units, used, total);
    serve(si->tsc_hz);
    return 0;
}
