/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server task, start-up: it takes over every DMAR unit the root task granted (register
 * frames, the validated DMAR table, memory for tables and queues, MSI vectors for the fault and
 * invalidation-completion events), turns translation on fail-closed (an empty root table: every
 * source-id is blocked until a client attaches it; RMRR devices get their identity maps), indexes
 * the devices whose config space it was given, and hands over to the transport (transport.c),
 * which serves one endpoint for three protocols, all decided by libiommu:
 *
 *   - the root task (badge IOMMU_SRV_BADGE_ROOT) registers clients and their device, memory
 *     and vector grants, and revokes them (<iommu/protocol.h>, IOMMU_ROOT_METHODS);
 *   - the hotplug server (IOMMU_SRV_BADGE_HOTPLUG) fences, removes and adds devices;
 *   - drivers (registered client badges) attach, map, unmap, flush and read their faults.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <acpi/acpi.h>
#include <iommu/server.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

#include "iommu_srv.h"

#define MAX_DMAR_SCOPES 64u

static struct iommu_server g_srv;
static struct srv_caps g_caps;
static struct vtd_hw g_hw[IOMMU_MAX_UNITS];
static struct srv_unit_regs g_regs[IOMMU_MAX_UNITS];
static bool g_verbose;

/* ---- environment callbacks for libiommu -------------------------------------------------- */

/* A client's fault notification: the slot client_add's capability was received in. */
static void env_notify_client(void *ctx, uint64_t badge, uint64_t cookie)
{
    (void)ctx;
    (void)badge;
    if (srv_slot_owned(cookie)) {
        pc_signal((pc_cptr_t)cookie);
    }
}

/* A pinned frame or a client's notification that libiommu no longer holds. */
static void env_release_cap(void *ctx, uint64_t cookie)
{
    (void)ctx;
    if (srv_slot_owned(cookie)) {
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
    srv_slots_init(g_caps.cnode, si->first_free_slot, si->end_free_slot);
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

int main(void)
{
    const task_start_info_t *si = task_start();
    if (si == NULL || !take_caps(si)) {
        printf("iommu: start information or capabilities missing: not serving\n");
        return 1;
    }
    g_verbose = task_cmdline_has(si->cmdline, "verbose");
    srv_transport_prepare(si, &g_caps); /* before the table pool takes the untyped */
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
    env.root_badge = IOMMU_SRV_BADGE_ROOT;
    env.ats_refused = srv_ats_refused;
    iommu_server_init(&g_srv, &env, IOMMU_SRV_BADGE_HOTPLUG);
    if (!start_units(si)) {
        say("iommu: no remapping unit taken over: not serving");
        return 1;
    }
    add_devices();
    srv_transport_start(si, &g_srv);
    unsigned used, high, total;
    srv_pool_stats(&used, &high, &total);
    say("iommu: ready: %u unit(s), %u/%u table pages in use", g_srv.n_units, used, total);
    srv_serve(&g_srv, si->tsc_hz);
    return 0;
}
