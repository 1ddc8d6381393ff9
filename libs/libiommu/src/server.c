/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Set-up of the IOMMU server's state (units, scopes, RMRRs, devices, clients and their grants),
 * the device index and the domain/mapping bookkeeping everything else builds on, and the
 * accounting that tests use to prove nothing leaks. The server starts fail-closed: a unit is
 * switched on with an empty root table, so every source-id it covers is blocked until it is
 * attached (or given its RMRR identity map).
 */
#include "internal.h"

#include <string.h>

void iommu_server_init(struct iommu_server *s, const struct iommu_env *env, uint64_t hotplug_badge)
{
    memset(s, 0, sizeof(*s));
    if (env) {
        s->env = *env;
    }
    s->hotplug_badge = hotplug_badge;
    for (unsigned i = 0; i < IOMMU_MAX_UNITS; i++) {
        s->units[i].rmrr_domain = -1;
    }
    for (unsigned i = 0; i < IOMMU_MAX_CLIENTS; i++) {
        s->clients[i].domain = -1;
    }
    for (unsigned i = 0; i < IOMMU_MAX_DOMAINS; i++) {
        s->domains[i].owner = -1;
    }
}

/* ---- Lookups -------------------------------------------------------------------------------- */

int iommu_device_find(const struct iommu_server *s, uint16_t sid)
{
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        if (s->devices[i].state != IOMMU_DEV_UNUSED && s->devices[i].sid == sid) {
            return (int)i;
        }
    }
    return -1;
}

const struct iommu_device *iommu_device_get(const struct iommu_server *s, uint16_t sid)
{
    int i = iommu_device_find(s, sid);
    return i < 0 ? NULL : &s->devices[i];
}

int iommu_unit_for_sid(const struct iommu_server *s, uint16_t sid)
{
    int all = -1;
    for (unsigned u = 0; u < s->n_units; u++) {
        const struct iommu_unit *un = &s->units[u];
        for (unsigned k = 0; k < un->n_scopes; k++) {
            if (sid >= un->scope[k].first && sid <= un->scope[k].last) {
                return (int)u;
            }
        }
        if (un->include_all && all < 0) {
            all = (int)u;
        }
    }
    return all;
}

int iommu_client_find(const struct iommu_server *s, uint64_t badge)
{
    if (badge == 0) {
        return -1;
    }
    for (unsigned i = 0; i < IOMMU_MAX_CLIENTS; i++) {
        if (s->clients[i].used && s->clients[i].badge == badge) {
            return (int)i;
        }
    }
    return -1;
}

bool iommu_client_granted(const struct iommu_client *c, uint16_t sid)
{
    for (unsigned i = 0; i < c->n_dev_grants; i++) {
        if (c->dev_grants[i] == sid) {
            return true;
        }
    }
    return false;
}

struct vtd_unit *iommu_server_vtd_unit(struct iommu_server *s, unsigned unit)
{
    return unit < s->n_units ? &s->units[unit].vu : NULL;
}

/* ---- Mapping table -------------------------------------------------------------------------- */

unsigned iommu_maps_first_end_after(const struct iommu_domain *d, uint64_t addr)
{
    unsigned lo = 0, hi = d->n_maps;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct iommu_mapping *m = &d->maps[mid];
        if (m->iova + m->size > addr) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

unsigned iommu_maps_first_start_at(const struct iommu_domain *d, uint64_t addr)
{
    unsigned lo = 0, hi = d->n_maps;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (d->maps[mid].iova >= addr) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

bool iommu_maps_overlap(const struct iommu_domain *d, uint64_t iova, uint64_t size)
{
    unsigned i = iommu_maps_first_end_after(d, iova);
    return i < d->n_maps && d->maps[i].iova < iova + size;
}

void iommu_maps_insert(struct iommu_domain *d, const struct iommu_mapping *m)
{
    unsigned i = iommu_maps_first_end_after(d, m->iova);
    memmove(&d->maps[i + 1], &d->maps[i], (d->n_maps - i) * sizeof(d->maps[0]));
    d->maps[i] = *m;
    d->n_maps++;
}

void iommu_maps_remove(struct iommu_domain *d, unsigned lo, unsigned hi)
{
    memmove(&d->maps[lo], &d->maps[hi], (d->n_maps - hi) * sizeof(d->maps[0]));
    d->n_maps -= hi - lo;
}

/* ---- Domains -------------------------------------------------------------------------------- */

static int did_alloc(struct iommu_unit *u)
{
    unsigned n = 1u << u->vu.f.nd_bits;
    if (n > 65536u) {
        n = 65536u;
    }
    for (unsigned did = 1; did < n; did++) { /* 0 is reserved with CM; never used */
        if (!(u->did_used[did / 64] & (1ull << (did % 64)))) {
            u->did_used[did / 64] |= 1ull << (did % 64);
            return (int)did;
        }
    }
    return -1;
}

static void did_free(struct iommu_unit *u, uint16_t did)
{
    u->did_used[did / 64] &= ~(1ull << (did % 64));
}

int iommu_domain_create(struct iommu_server *s, unsigned unit, int owner)
{
    struct iommu_unit *u = &s->units[unit];
    for (unsigned i = 0; i < IOMMU_MAX_DOMAINS; i++) {
        struct iommu_domain *d = &s->domains[i];
        if (d->used) {
            continue;
        }
        int did = did_alloc(u);
        if (did < 0) {
            return -1;
        }
        if (vtd_domain_init(&d->vd, &u->vu, (uint16_t)did, 0) != VTD_OK) {
            did_free(u, (uint16_t)did);
            return -1;
        }
        /* An isolated map/unmap round reuses its tables instead of freeing and re-allocating
         * them; the bound keeps what a client can leave behind small (freed on teardown). */
        vtd_domain_set_spare_limit(&d->vd, IOMMU_SPARE_TABLES);
        d->used = true;
        d->unit = (uint8_t)unit;
        d->owner = owner;
        d->refs = 1;
        d->n_maps = 0;
        return (int)i;
    }
    return -1;
}

void iommu_domain_put(struct iommu_server *s, int domain)
{
    struct iommu_domain *d = &s->domains[domain];
    if (d->refs == 0 || --d->refs > 0) {
        return;
    }
    /*
     * Last holder: no device points at the domain any more. Remove whatever is still mapped
     * (reserved identity ranges; client mappings were unmapped by the client or by unregister)
     * and make sure no IOTLB entry tagged with the DID survives before its tables are freed and
     * the DID reused.
     */
    struct iommu_unit *u = &s->units[d->unit];
    struct vtd_unmap_result res;
    memset(&res, 0, sizeof(res));
    if (d->n_maps > 0 && vtd_domain_unmap(&d->vd, 0, d->vd.limit, &res) != VTD_OK) {
        return; /* cannot happen for a whole-domain unmap; keep everything if it does */
    }
    struct vtd_batch b;
    vtd_batch_init(&b, &u->vu);
    vtd_batch_add_iotlb_domain(&b, d->vd.did);
    enum vtd_err e = iommu_submit(s, d->unit, &b);
    if (e != VTD_OK && e != VTD_ERR_ITE && e != VTD_ERR_ICE) {
        /* The hardware did not confirm: keep the pages (counted as a live domain). */
        d->refs = 0;
        for (unsigned i = 0; i < d->n_maps; i++) {
            d->maps[i].stuck = true;
        }
        return;
    }
    vtd_page_list_release(&u->vu, &res.freed);
    for (unsigned i = 0; i < d->n_maps; i++) {
        iommu_release_pin(s, d->owner, &d->maps[i]);
    }
    d->n_maps = 0;
    vtd_domain_destroy(&d->vd);
    did_free(u, d->vd.did);
    if (u->rmrr_domain == domain) {
        u->rmrr_domain = -1;
    }
    d->used = false;
    d->owner = -1;
}

enum iommu_err iommu_domain_map_reserved(struct iommu_server *s, int domain, uint64_t base,
                                         uint64_t size)
{
    struct iommu_domain *d = &s->domains[domain];
    unsigned i = iommu_maps_first_end_after(d, base);
    if (i < d->n_maps && d->maps[i].iova == base && d->maps[i].size == size &&
        d->maps[i].grant == IOMMU_GRANT_RESERVED) {
        return IOMMU_OK;
    }
    if (iommu_maps_overlap(d, base, size)) {
        return IOMMU_ERR_OVERLAP;
    }
    if (d->n_maps >= IOMMU_MAPS_PER_DOMAIN) {
        return IOMMU_ERR_NO_SLOTS;
    }
    enum vtd_err e = vtd_domain_map(&d->vd, base, base, size, VTD_R | VTD_W);
    if (e != VTD_OK) {
        return e == VTD_ERR_NOMEM ? IOMMU_ERR_NO_MEMORY : IOMMU_ERR_RANGE;
    }
    if (vtd_domain_map_needs_flush(&d->vd)) {
        struct vtd_batch b;
        vtd_batch_init(&b, d->vd.unit);
        vtd_batch_add_iotlb_range(&b, d->vd.did, base, size, true);
        (void)iommu_submit(s, d->unit, &b);
    }
    struct iommu_mapping m = {.iova = base,
                              .size = size,
                              .pa = base,
                              .grant = IOMMU_GRANT_RESERVED,
                              .rights = IOMMU_READ | IOMMU_WRITE};
    iommu_maps_insert(d, &m);
    return IOMMU_OK;
}

enum iommu_err iommu_rmrr_check(const struct iommu_server *s, int dev, int domain)
{
    const struct iommu_domain *d = &s->domains[domain];
    unsigned need = 0;
    for (unsigned r = 0; r < s->n_rmrr; r++) {
        if (s->rmrr[r].sid != s->devices[dev].sid) {
            continue;
        }
        unsigned i = iommu_maps_first_end_after(d, s->rmrr[r].base);
        if (i < d->n_maps && d->maps[i].iova == s->rmrr[r].base &&
            d->maps[i].size == s->rmrr[r].size && d->maps[i].grant == IOMMU_GRANT_RESERVED) {
            continue;
        }
        if (iommu_maps_overlap(d, s->rmrr[r].base, s->rmrr[r].size)) {
            return IOMMU_ERR_OVERLAP;
        }
        need++;
    }
    return d->n_maps + need > IOMMU_MAPS_PER_DOMAIN ? IOMMU_ERR_NO_SLOTS : IOMMU_OK;
}

void iommu_release_pin(struct iommu_server *s, int client, const struct iommu_mapping *m)
{
    if (m->grant == IOMMU_GRANT_RESERVED || client < 0) {
        return;
    }
    if (m->grant == IOMMU_GRANT_CAP) {
        if (s->env.release_cap) {
            s->env.release_cap(s->env.ctx, m->cookie);
        }
        return;
    }
    struct iommu_mem_grant *g = &s->clients[client].mem[m->grant];
    if (g->pins > 0) {
        g->pins--;
    }
}

/* ---- Submission and quarantine ---------------------------------------------------------- */

enum vtd_err iommu_submit(struct iommu_server *s, unsigned unit, struct vtd_batch *b)
{
    if (b->n == 0) {
        return VTD_OK;
    }
    s->stats.submissions++;
    enum vtd_err e = vtd_batch_submit(b, 0);
    iommu_batch_failed(s, unit, b, e);
    return e;
}

void iommu_quarantine_failed(struct iommu_server *s, unsigned unit, const struct vtd_batch *b)
{
    for (unsigned i = 0; i < b->n_failed && i < VTD_REPORT_SIDS; i++) {
        iommu_quarantine(s, unit, b->failed_sid[i]);
    }
}

void iommu_ats_off(struct iommu_server *s, struct iommu_device *d)
{
    if (d->ats_enabled && s->env.ecam) {
        (void)pci_ats_disable(s->env.ecam, d->sid, &d->ats);
    }
    d->ats_enabled = false;
}

void iommu_quarantine(struct iommu_server *s, unsigned unit, uint16_t sid)
{
    struct vtd_unit *vu = &s->units[unit].vu;
    /* Fenced first, whatever follows: no device-TLB descriptor for sid from now on. */
    vtd_unit_fence(vu, sid);
    int i = iommu_device_find(s, sid);
    if (i < 0) {
        return; /* unknown to the index: stays fenced and blocked */
    }
    struct iommu_device *d = &s->devices[i];
    if (!d->quarantined) {
        s->stats.quarantines++;
    }
    d->quarantined = true;
    /* A device that does not honour invalidations raises no interrupt either. */
    (void)iommu_irq_fence_sid(s, unit, sid);
    /* VT-d 6.5.2.10 / DESIGN: quarantine = ATS off + entry blocked + caches flushed. */
    iommu_ats_off(s, d);
    enum vtd_err e = vtd_dev_block(vu, sid);
    d->quarantine_done = (e == VTD_OK);
}

enum vtd_err iommu_device_rest(struct iommu_server *s, int dev)
{
    struct iommu_device *d = &s->devices[dev];
    struct iommu_unit *u = &s->units[d->unit];
    if (d->rmrr >= 0 && d->state == IOMMU_DEV_PRESENT && !d->quarantined) {
        if (u->rmrr_domain < 0) {
            u->rmrr_domain = iommu_domain_create(s, d->unit, -1);
            if (u->rmrr_domain < 0) {
                return vtd_dev_block(&u->vu, d->sid);
            }
        }
        int rd = u->rmrr_domain;
        for (unsigned r = 0; r < s->n_rmrr; r++) {
            if (s->rmrr[r].sid == d->sid &&
                iommu_domain_map_reserved(s, rd, s->rmrr[r].base, s->rmrr[r].size) != IOMMU_OK) {
                return vtd_dev_block(&u->vu, d->sid);
            }
        }
        enum vtd_err e = vtd_dev_attach(&u->vu, d->sid, &s->domains[rd].vd, 0, 0);
        if (e == VTD_OK) {
            s->domains[rd].refs++;
            d->domain = rd;
        }
        return e;
    }
    return vtd_dev_block(&u->vu, d->sid);
}

/* ---- Set-up ------------------------------------------------------------------------------- */

enum iommu_err iommu_server_add_unit(struct iommu_server *s, const struct vtd_hw *hw,
                                     const struct vtd_unit_config *cfg, bool include_all,
                                     unsigned *index)
{
    if (!hw) {
        return IOMMU_ERR_BAD_ARG;
    }
    if (s->n_units >= IOMMU_MAX_UNITS) {
        return IOMMU_ERR_NO_SLOTS;
    }
    struct iommu_unit *u = &s->units[s->n_units];
    memset(u, 0, sizeof(*u));
    u->rmrr_domain = -1;
    enum vtd_err e = vtd_unit_probe(&u->vu, hw, cfg);
    if (e == VTD_OK) {
        e = vtd_unit_set_root_table(&u->vu);
    }
    if (e == VTD_OK) {
        e = vtd_unit_enable_qi(&u->vu);
    }
    if (e == VTD_OK) {
        e = vtd_unit_enable_translation(&u->vu);
    }
    /* Interrupt remapping where the unit has it: an empty table (every remappable interrupt
     * blocked until an entry is written), compatibility format blocked (CFIS clear). */
    if (e == VTD_OK && u->vu.f.ir) {
        e = vtd_ir_enable(&u->vu, 0);
    }
    if (e != VTD_OK) {
        return e == VTD_ERR_UNSUPPORTED || e == VTD_ERR_INVAL ? IOMMU_ERR_UNSUPPORTED
                                                              : IOMMU_ERR_HW;
    }
    vtd_prg_init(&u->prg);
    if (u->vu.f.prs) {
        (void)vtd_prq_enable(&u->vu);
    }
    u->used = true;
    u->include_all = include_all;
    if (index) {
        *index = s->n_units;
    }
    s->n_units++;
    return IOMMU_OK;
}

enum iommu_err iommu_server_add_scope(struct iommu_server *s, unsigned unit, uint16_t first,
                                      uint16_t last)
{
    if (unit >= s->n_units || first > last) {
        return IOMMU_ERR_BAD_ARG;
    }
    struct iommu_unit *u = &s->units[unit];
    if (u->n_scopes >= IOMMU_MAX_SCOPES) {
        return IOMMU_ERR_NO_SLOTS;
    }
    u->scope[u->n_scopes].first = first;
    u->scope[u->n_scopes].last = last;
    u->n_scopes++;
    return IOMMU_OK;
}

enum iommu_err iommu_server_add_rmrr(struct iommu_server *s, uint16_t sid, uint64_t base,
                                     uint64_t size)
{
    if (size == 0 || (base | size) & (IOMMU_PAGE_SIZE - 1) || iommu_add_overflows(base, size)) {
        return IOMMU_ERR_BAD_ARG;
    }
    int unit = iommu_unit_for_sid(s, sid);
    if (unit < 0) {
        return IOMMU_ERR_BAD_ARG;
    }
    if (s->n_rmrr >= IOMMU_MAX_RMRR) {
        return IOMMU_ERR_NO_SLOTS;
    }
    s->rmrr[s->n_rmrr] =
        (struct iommu_rmrr){.sid = sid, .unit = (uint8_t)unit, .base = base, .size = size};
    s->n_rmrr++;
    int i = iommu_device_find(s, sid);
    if (i >= 0) {
        struct iommu_device *d = &s->devices[i];
        if (d->rmrr < 0) {
            d->rmrr = (int)s->n_rmrr - 1;
        }
        if (d->state == IOMMU_DEV_PRESENT && d->owner < 0) {
            if (d->domain >= 0) {
                /* Already resting in the identity domain: add the new range to it. */
                return iommu_domain_map_reserved(s, d->domain, base, size);
            }
            return iommu_device_rest(s, i) == VTD_OK ? IOMMU_OK : IOMMU_ERR_HW;
        }
    }
    return IOMMU_OK;
}

/* The ATS policy's decision for sid from where it sits (config space of env.ecam). */
static enum iommu_ats_verdict ats_verdict_of(const struct iommu_server *s, uint16_t sid)
{
    const struct pci_ecam *ecam = s->env.ecam;
    if (PCI_SID_BUS(sid) == ecam->bus_start) {
        return iommu_ats_decide(&s->ats, sid, -1, true);
    }
    pci_sid_t port = 0;
    int root_port = pci_root_port_find(ecam, sid, &port) == PCI_OK ? (int)port : -1;
    return iommu_ats_decide(&s->ats, sid, root_port, false);
}

enum iommu_err iommu_server_set_ats_policy(struct iommu_server *s, const struct iommu_ats_policy *p)
{
    if (p == NULL) {
        return IOMMU_ERR_BAD_ARG;
    }
    s->ats = *p;
    for (unsigned i = 0; i < s->n_dev_slots; i++) {
        struct iommu_device *d = &s->devices[i];
        if (d->state == IOMMU_DEV_PRESENT && d->has_ats && s->env.ecam) {
            d->ats_verdict = (uint8_t)ats_verdict_of(s, d->sid);
            d->ats_refusal_said = false;
        }
    }
    return IOMMU_OK;
}

/* Fresh state for a new occupant of sid (boot enumeration or device_added). */
static void device_fresh(struct iommu_server *s, struct iommu_device *d, uint16_t sid, int unit)
{
    uint32_t gen = d->generation;
    memset(d, 0, sizeof(*d));
    d->sid = sid;
    d->unit = (uint8_t)unit;
    d->generation = gen + 1;
    if (d->generation == 0) {
        d->generation = 1; /* never 0: handle 0 is never valid */
    }
    d->owner = -1;
    d->domain = -1;
    d->rmrr = -1;
    d->state = IOMMU_DEV_PRESENT;
    for (unsigned r = 0; r < s->n_rmrr; r++) {
        if (s->rmrr[r].sid == sid) {
            d->rmrr = (int)r;
            break;
        }
    }
    if (s->env.ecam && pci_ats_probe(s->env.ecam, sid, &d->ats) == PCI_OK) {
        d->has_ats = true;
        d->ats_verdict = (uint8_t)ats_verdict_of(s, sid);
        d->ats_qdep = d->ats.queue_depth >= 32 ? 0 : d->ats.queue_depth; /* 0 = 32 */
        if (d->ats.enabled) {
            /* Left on by a previous owner or firmware: off until a client attaches. */
            d->ats_enabled = true;
            iommu_ats_off(s, d);
        }
    }
}

/* Shared by boot enumeration and device_added. dev_out: index. */
enum iommu_hp_err iommu_device_arrive(struct iommu_server *s, uint16_t sid, int *dev_out)
{
    int unit = iommu_unit_for_sid(s, sid);
    if (unit < 0) {
        return IOMMU_HP_ERR_NO_UNIT;
    }
    int i = iommu_device_find(s, sid);
    if (i < 0) {
        for (unsigned k = 0; k < IOMMU_MAX_DEVICES; k++) {
            if (s->devices[k].state == IOMMU_DEV_UNUSED) {
                i = (int)k;
                s->devices[k].generation = 0;
                if (k + 1 > s->n_dev_slots) {
                    s->n_dev_slots = k + 1;
                }
                break;
            }
        }
        if (i < 0) {
            return IOMMU_HP_ERR_NO_SPACE;
        }
    }
    struct iommu_device *d = &s->devices[i];
    struct vtd_unit *vu = &s->units[unit].vu;
    if (d->state != IOMMU_DEV_UNUSED && d->quarantined && !d->quarantine_done) {
        /* Quarantine ends only after a completed fence: retry it before anything is lifted. */
        iommu_quarantine(s, d->unit, sid);
        if (!d->quarantine_done) {
            return IOMMU_HP_ERR_HW;
        }
    }
    device_fresh(s, d, sid, unit);
    /* The previous occupant's fence ends only here: the new one may get device-TLB traffic. */
    vtd_unit_unfence(vu, sid);
    /* Nothing from an earlier occupant may be cached: entry blocked and caches flushed. */
    enum vtd_err e = iommu_device_rest(s, i);
    *dev_out = i;
    return e == VTD_OK ? IOMMU_HP_OK : IOMMU_HP_ERR_HW;
}

enum iommu_err iommu_server_add_device(struct iommu_server *s, uint16_t sid)
{
    int i = iommu_device_find(s, sid);
    if (i >= 0 && s->devices[i].state == IOMMU_DEV_PRESENT) {
        return IOMMU_OK;
    }
    int dev;
    enum iommu_hp_err e = iommu_device_arrive(s, sid, &dev);
    switch (e) {
    case IOMMU_HP_OK:
        return IOMMU_OK;
    case IOMMU_HP_ERR_NO_UNIT:
        return IOMMU_ERR_BAD_ARG;
    case IOMMU_HP_ERR_NO_SPACE:
        return IOMMU_ERR_NO_SLOTS;
    default:
        return IOMMU_ERR_HW;
    }
}

enum iommu_err iommu_client_register(struct iommu_server *s, uint64_t badge, unsigned unit)
{
    if (badge == 0 || badge == s->hotplug_badge || unit >= s->n_units ||
        iommu_client_find(s, badge) >= 0) {
        return IOMMU_ERR_BAD_ARG;
    }
    for (unsigned i = 0; i < IOMMU_MAX_CLIENTS; i++) {
        struct iommu_client *c = &s->clients[i];
        if (c->used) {
            continue;
        }
        int d = iommu_domain_create(s, unit, (int)i);
        if (d < 0) {
            return IOMMU_ERR_NO_MEMORY;
        }
        memset(c, 0, sizeof(*c));
        c->used = true;
        c->badge = badge;
        c->domain = d;
        return IOMMU_OK;
    }
    return IOMMU_ERR_NO_SLOTS;
}

enum iommu_err iommu_client_grant_device(struct iommu_server *s, uint64_t badge, uint16_t sid)
{
    int ci = iommu_client_find(s, badge);
    if (ci < 0) {
        return IOMMU_ERR_BAD_ARG;
    }
    struct iommu_client *c = &s->clients[ci];
    if (iommu_client_granted(c, sid)) {
        return IOMMU_OK;
    }
    if (c->n_dev_grants >= IOMMU_CLIENT_DEVICES) {
        return IOMMU_ERR_NO_SLOTS;
    }
    c->dev_grants[c->n_dev_grants++] = sid;
    return IOMMU_OK;
}

enum iommu_err iommu_client_grant_memory(struct iommu_server *s, uint64_t badge, uint64_t pa,
                                         uint64_t size, unsigned rights, unsigned *grant)
{
    int ci = iommu_client_find(s, badge);
    if (ci < 0 || size == 0 || (pa | size) & (IOMMU_PAGE_SIZE - 1) ||
        iommu_add_overflows(pa, size) || rights == 0 || (rights & ~(IOMMU_READ | IOMMU_WRITE))) {
        return IOMMU_ERR_BAD_ARG;
    }
    struct iommu_client *c = &s->clients[ci];
    for (unsigned g = 0; g < IOMMU_CLIENT_MEMORY; g++) {
        if (!c->mem[g].used || (c->mem[g].revoked && c->mem[g].pins == 0)) {
            c->mem[g] = (struct iommu_mem_grant){
                .used = true, .rights = (uint8_t)rights, .pa = pa, .size = size};
            if (grant) {
                *grant = g;
            }
            return IOMMU_OK;
        }
    }
    return IOMMU_ERR_NO_SLOTS;
}

/* ---- Accounting ---------------------------------------------------------------------------- */

void iommu_server_counts(const struct iommu_server *s, struct iommu_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (unsigned i = 0; i < IOMMU_MAX_DOMAINS; i++) {
        const struct iommu_domain *d = &s->domains[i];
        if (!d->used) {
            continue;
        }
        c->domains++;
        c->mappings += d->n_maps;
        c->table_pages += d->vd.table_pages;
        for (unsigned k = 0; k < d->n_maps; k++) {
            if (d->maps[k].grant != IOMMU_GRANT_RESERVED) {
                c->pins++;
            }
            if (d->maps[k].stuck) {
                c->stuck++;
            }
        }
    }
    for (unsigned i = 0; i < IOMMU_MAX_DEVICES; i++) {
        const struct iommu_device *d = &s->devices[i];
        c->devices_present += d->state == IOMMU_DEV_PRESENT;
        c->devices_fenced += d->state == IOMMU_DEV_FENCED;
        c->devices_quarantined += d->state != IOMMU_DEV_UNUSED && d->quarantined;
    }
    for (unsigned u = 0; u < s->n_units; u++) {
        for (unsigned p = 0; p < IOMMU_MAX_PASIDS; p++) {
            c->pasids_bound += s->units[u].pasid[p].state == IOMMU_PASID_BOUND;
            c->pasids_draining += s->units[u].pasid[p].state == IOMMU_PASID_DRAINING;
        }
    }
    c->irtes = iommu_irq_count(s);
}

/*
 * One step per 64-bit word (FNV prime, then an xorshift so that high bits reach the low ones).
 * Each step is a bijection of h for a given v and of v for a given h, so a state that differs
 * in a single word always hashes differently. A byte-wise FNV loop cost eight dependent
 * multiplications per word, and the fuzz harnesses take this hash around every message.
 */
static uint64_t fnv(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x100000001b3ull;
    return h ^ (h >> 32);
}

uint64_t iommu_server_fingerprint(const struct iommu_server *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < IOMMU_MAX_DEVICES; i++) {
        const struct iommu_device *d = &s->devices[i];
        h = fnv(h, d->sid | (uint64_t)d->state << 16 | (uint64_t)d->fence << 24 |
                       (uint64_t)d->quarantined << 32 | (uint64_t)d->ats_enabled << 33 |
                       (uint64_t)d->unit << 40);
        h = fnv(h, d->generation);
        h = fnv(h, (uint64_t)(int64_t)d->owner);
        h = fnv(h, (uint64_t)(int64_t)d->domain);
    }
    for (unsigned i = 0; i < IOMMU_MAX_CLIENTS; i++) {
        const struct iommu_client *c = &s->clients[i];
        h = fnv(h, c->used | (uint64_t)c->notified << 1);
        h = fnv(h, c->badge);
        h = fnv(h, (uint64_t)(int64_t)c->domain);
        h = fnv(h, c->n_dev_grants);
        for (unsigned g = 0; g < c->n_dev_grants; g++) {
            h = fnv(h, c->dev_grants[g]);
        }
        for (unsigned g = 0; g < IOMMU_CLIENT_MEMORY; g++) {
            h = fnv(h, c->mem[g].used | (uint64_t)c->mem[g].revoked << 1 |
                           (uint64_t)c->mem[g].rights << 8 | (uint64_t)c->mem[g].pins << 16);
            h = fnv(h, c->mem[g].pa);
            h = fnv(h, c->mem[g].size);
        }
        for (unsigned g = 0; g < IOMMU_CLIENT_VECTORS; g++) {
            h = fnv(h, c->vec[g].used | (uint64_t)c->vec[g].vector << 8 |
                           (uint64_t)c->vec[g].sid << 16);
        }
        h = fnv(h, c->n_revoked);
        for (unsigned k = 0; k < c->n_revoked; k++) {
            h = fnv(h, c->revoked[k].pa);
            h = fnv(h, c->revoked[k].size);
        }
        h = fnv(h, c->ring_head | (uint64_t)c->ring_count << 32);
        h = fnv(h, c->dropped);
    }
    for (unsigned i = 0; i < IOMMU_MAX_IRQS; i++) {
        const struct iommu_irq *q = &s->irqs[i];
        h = fnv(h, q->state | (uint64_t)q->unit << 8 | (uint64_t)q->vector << 16 |
                       (uint64_t)q->index << 24 | (uint64_t)q->sid << 40);
        h = fnv(h, q->grant | (uint64_t)(uint32_t)q->client << 16 | (uint64_t)q->serial << 48);
        h = fnv(h, q->generation);
    }
    h = fnv(h, s->irq_serial);
    for (unsigned i = 0; i < IOMMU_PORT_VECTORS; i++) {
        h = fnv(h, s->port_vec[i].used | (uint64_t)s->port_vec[i].vector << 8 |
                       (uint64_t)s->port_vec[i].sid << 16);
        h = fnv(h, s->port_vec[i].irq);
    }
    for (unsigned i = 0; i < IOMMU_MAX_DOMAINS; i++) {
        const struct iommu_domain *d = &s->domains[i];
        h = fnv(h, d->used | (uint64_t)d->refs << 8 | (uint64_t)d->n_maps << 32);
        if (!d->used) {
            continue;
        }
        h = fnv(h, d->vd.mapped_bytes);
        h = fnv(h, d->vd.table_pages);
        for (unsigned k = 0; k < d->n_maps; k++) {
            const struct iommu_mapping *m = &d->maps[k];
            h = fnv(h, m->iova);
            h = fnv(h, m->size);
            h = fnv(h, m->pa);
            h = fnv(h, m->grant | (uint64_t)m->rights << 16 | (uint64_t)m->stuck << 24);
        }
    }
    for (unsigned u = 0; u < s->n_units; u++) {
        for (unsigned p = 0; p < IOMMU_MAX_PASIDS; p++) {
            const struct iommu_pasid *ps = &s->units[u].pasid[p];
            h = fnv(h, ps->state | (uint64_t)ps->sid << 8 | (uint64_t)ps->generation << 32);
        }
    }
    return h;
}
