/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Remapped interrupts: the server's side of VT-d interrupt remapping. Every interrupt a device
 * may raise is an Interrupt Remapping Table Entry this file wrote, source-id validated for
 * exactly that device, in the table of the unit whose scope holds the device. The root task
 * grants vectors (policy); a client asks for an entry on one of its grants and receives an opaque
 * handle plus the remappable MSI address/data; the entry's lifetime is the device's generation:
 * a fence clears it (Present = 0, interrupt entry cache flushed) before anything else of the
 * device is torn down, removal frees its index, and a handle from an earlier occupant is stale.
 *
 * Invariants: a record in state LIVE has a present IRTE whose vector, source-id and index are
 * the record's; CLEARED has a not-present IRTE at an index still allocated to it; FREE holds
 * nothing. Every IRTE change is followed by an index-selective IEC invalidation in one batch,
 * submitted (deadline-bounded) before the change is reported done.
 */
#include "internal.h"

#include <string.h>

/* The uniprocessor kernel takes every interrupt on the boot CPU (APIC id 0). */
#define IRQ_DEST_APIC 0u
/* Owner of an entry whose clearing the hardware never confirmed: kept, counted, never reused. */
#define IRQ_ORPHAN (-2)

static int irq_slot_free(const struct iommu_server *s)
{
    for (unsigned i = 0; i < IOMMU_MAX_IRQS; i++) {
        if (s->irqs[i].state == IOMMU_IRQ_FREE) {
            return (int)i;
        }
    }
    return -1;
}

static bool unit_has_room(const struct iommu_server *s, unsigned unit)
{
    const struct vtd_unit *vu = &s->units[unit].vu;
    return vtd_ir_enabled(vu) && vtd_ir_in_use(vu) < vtd_ir_size(vu);
}

/* A handle names a record in use with the same serial (freed and reused slots never match). */
static int irq_lookup(const struct iommu_server *s, uint64_t handle)
{
    if (handle > IOMMU_IRQ_HANDLE_MAX) {
        return -1;
    }
    unsigned slot = IOMMU_IRQ_HANDLE_SLOT(handle);
    if (slot >= IOMMU_MAX_IRQS || s->irqs[slot].state == IOMMU_IRQ_FREE ||
        s->irqs[slot].serial != IOMMU_IRQ_HANDLE_SERIAL(handle)) {
        return -1;
    }
    return (int)slot;
}

static enum vtd_err irte_write(struct iommu_server *s, const struct iommu_irq *q)
{
    struct vtd_unit *vu = &s->units[q->unit].vu;
    struct vtd_irte_spec spec = {.vector = q->vector,
                                 .dest = IRQ_DEST_APIC,
                                 .level = false,
                                 .logical = false,
                                 .delivery = 0,
                                 .svt = VTD_IRTE_SVT_SID,
                                 .sq = 0,
                                 .sid = q->sid};
    struct vtd_irte e;
    enum vtd_err ve = vtd_irte_encode(&spec, false, &e);
    if (ve == VTD_OK) {
        ve = vtd_ir_set(vu, q->index, &e);
    }
    return ve;
}

/* Flush the interrupt entry cache for one index (after a write or a clear). */
static enum vtd_err iec_flush(struct iommu_server *s, unsigned unit, uint16_t index)
{
    struct vtd_batch b;
    vtd_batch_init(&b, &s->units[unit].vu);
    enum vtd_err e = vtd_batch_add_iec_index(&b, index, 0);
    return e == VTD_OK ? iommu_submit(s, unit, &b) : e;
}

/*
 * Write a new entry into slot `slot` and flush it. On failure nothing stays allocated.
 * generation 0 and client -1 for root routes.
 */
static enum iommu_err irq_create(struct iommu_server *s, int slot, unsigned unit, uint16_t sid,
                                 uint8_t vector, int client, uint16_t grant, uint32_t generation)
{
    struct vtd_unit *vu = &s->units[unit].vu;
    uint32_t index = 0;
    if (vtd_ir_alloc(vu, 1, &index) != VTD_OK) {
        return IOMMU_ERR_NO_IRTE;
    }
    struct iommu_irq *q = &s->irqs[slot];
    *q = (struct iommu_irq){.state = IOMMU_IRQ_LIVE,
                            .unit = (uint8_t)unit,
                            .vector = vector,
                            .index = (uint16_t)index,
                            .sid = sid,
                            .grant = grant,
                            .client = client,
                            .generation = generation,
                            .serial = ++s->irq_serial};
    if (q->serial == 0) {
        q->serial = ++s->irq_serial; /* 0 never names a record */
    }
    enum vtd_err e = irte_write(s, q);
    if (e == VTD_OK) {
        e = iec_flush(s, unit, q->index);
    }
    if (e != VTD_OK) {
        (void)vtd_ir_clear(vu, index);
        (void)iec_flush(s, unit, (uint16_t)index);
        (void)vtd_ir_free(vu, index, 1);
        memset(q, 0, sizeof(*q));
        return IOMMU_ERR_HW;
    }
    s->stats.irq_allocs++;
    return IOMMU_OK;
}

/* Clear (if live) and free one record. The IEC is flushed before the index is reused. */
static enum vtd_err irq_destroy(struct iommu_server *s, int slot)
{
    struct iommu_irq *q = &s->irqs[slot];
    struct vtd_unit *vu = &s->units[q->unit].vu;
    enum vtd_err e = VTD_OK;
    if (q->state == IOMMU_IRQ_LIVE) {
        e = vtd_ir_clear(vu, q->index);
        if (e == VTD_OK) {
            e = iec_flush(s, q->unit, q->index);
        }
    }
    if (e != VTD_OK) {
        /* Not confirmed: the entry may still be cached. Keep the index (never reused) in a
         * record nobody holds (IRQ_ORPHAN); the holder sees its handle gone. */
        q->state = IOMMU_IRQ_CLEARED;
        q->client = IRQ_ORPHAN;
        return e;
    }
    (void)vtd_ir_free(vu, q->index, 1);
    memset(q, 0, sizeof(*q));
    s->stats.irq_frees++;
    return VTD_OK;
}

static void msi_pair(const struct iommu_irq *q, struct iommu_reply *r)
{
    r->w[1] = vtd_ir_msi_addr(q->index);
    r->w[2] = vtd_ir_msi_data();
}

/* ---- Lifecycle hooks (fence, removal, detach, client removal) -------------------------------- */

enum vtd_err iommu_irq_fence_sid(struct iommu_server *s, unsigned unit, uint16_t sid)
{
    struct vtd_batch b;
    vtd_batch_init(&b, &s->units[unit].vu);
    enum vtd_err e = VTD_OK;
    unsigned n = 0;
    for (unsigned i = 0; i < IOMMU_MAX_IRQS; i++) {
        struct iommu_irq *q = &s->irqs[i];
        if (q->state != IOMMU_IRQ_LIVE || q->unit != unit || q->sid != sid) {
            continue;
        }
        enum vtd_err ce = vtd_ir_clear(&s->units[unit].vu, q->index);
        if (ce == VTD_OK) {
            ce = vtd_batch_add_iec_index(&b, q->index, 0);
        }
        if (ce != VTD_OK && e == VTD_OK) {
            e = ce;
        }
        q->state = IOMMU_IRQ_CLEARED;
        s->stats.irq_fence_clears++;
        n++;
    }
    if (n == 0) {
        return e;
    }
    enum vtd_err se = iommu_submit(s, unit, &b);
    return e != VTD_OK ? e : se;
}

void iommu_irq_release_sid(struct iommu_server *s, unsigned unit, uint16_t sid)
{
    for (unsigned i = 0; i < IOMMU_MAX_IRQS; i++) {
        const struct iommu_irq *q = &s->irqs[i];
        if (q->state != IOMMU_IRQ_FREE && q->unit == unit && q->sid == sid && q->client >= 0) {
            (void)irq_destroy(s, (int)i);
        }
    }
}

void iommu_irq_release_client(struct iommu_server *s, int client, int sid)
{
    for (unsigned i = 0; i < IOMMU_MAX_IRQS; i++) {
        const struct iommu_irq *q = &s->irqs[i];
        if (q->state != IOMMU_IRQ_FREE && q->client == client && (sid < 0 || q->sid == sid)) {
            (void)irq_destroy(s, (int)i);
        }
    }
}

unsigned iommu_irq_count(const struct iommu_server *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < IOMMU_MAX_IRQS; i++) {
        n += s->irqs[i].state != IOMMU_IRQ_FREE;
    }
    return n;
}

/* ---- Client methods -------------------------------------------------------------------------- */

static bool grant_busy(const struct iommu_server *s, int client, unsigned grant, int except)
{
    for (unsigned i = 0; i < IOMMU_MAX_IRQS; i++) {
        const struct iommu_irq *q = &s->irqs[i];
        if ((int)i != except && q->state != IOMMU_IRQ_FREE && q->client == client &&
            q->grant == grant) {
            return true;
        }
    }
    return false;
}

static bool grant_ok(const struct iommu_client *c, uint64_t grant, uint16_t sid)
{
    return grant < IOMMU_CLIENT_VECTORS && c->vec[grant].used && c->vec[grant].sid == sid;
}

enum iommu_err iommu_decode_irq_alloc(const struct iommu_server *s, struct iommu_request *req)
{
    const struct iommu_irq_alloc_args *a = &req->a.irq_alloc;
    enum iommu_err e = iommu_decode_live_handle(s, req->client, a->handle, &req->device);
    if (e != IOMMU_OK) {
        return e;
    }
    const struct iommu_device *d = &s->devices[req->device];
    if (!grant_ok(&s->clients[req->client], a->vector, d->sid)) {
        return IOMMU_ERR_NOT_GRANTED;
    }
    if (!vtd_ir_enabled(&s->units[d->unit].vu)) {
        return IOMMU_ERR_UNSUPPORTED;
    }
    if (grant_busy(s, req->client, (unsigned)a->vector, -1)) {
        return IOMMU_ERR_BUSY;
    }
    if (irq_slot_free(s) < 0 || !unit_has_room(s, d->unit)) {
        return IOMMU_ERR_NO_IRTE;
    }
    return IOMMU_OK;
}

enum iommu_err iommu_decode_irq_handle(const struct iommu_server *s, struct iommu_request *req,
                                       uint64_t handle)
{
    if (handle > IOMMU_IRQ_HANDLE_MAX) {
        return IOMMU_ERR_BAD_ARG;
    }
    int q = irq_lookup(s, handle);
    if (q < 0 || s->irqs[q].client != req->client) {
        return IOMMU_ERR_STALE;
    }
    req->irq = q;
    return IOMMU_OK;
}

enum iommu_err iommu_decode_irq_retarget(const struct iommu_server *s, struct iommu_request *req)
{
    const struct iommu_irq_retarget_args *a = &req->a.irq_retarget;
    enum iommu_err e = iommu_decode_irq_handle(s, req, a->irq);
    if (e != IOMMU_OK) {
        return e;
    }
    const struct iommu_irq *q = &s->irqs[req->irq];
    if (q->state != IOMMU_IRQ_LIVE) {
        return IOMMU_ERR_FENCED;
    }
    if (!grant_ok(&s->clients[req->client], a->vector, q->sid)) {
        return IOMMU_ERR_NOT_GRANTED;
    }
    if (grant_busy(s, req->client, (unsigned)a->vector, req->irq)) {
        return IOMMU_ERR_BUSY;
    }
    return IOMMU_OK;
}

void iommu_perform_irq(struct iommu_server *s, const struct iommu_request *req,
                       struct iommu_reply *r)
{
    switch (req->label) {
    case IOMMU_LABEL_IRQ_ALLOC: {
        const struct iommu_device *d = &s->devices[req->device];
        const struct iommu_client *c = &s->clients[req->client];
        unsigned g = (unsigned)req->a.irq_alloc.vector;
        int slot = irq_slot_free(s);
        r->err = irq_create(s, slot, d->unit, d->sid, c->vec[g].vector, req->client, (uint16_t)g,
                            d->generation);
        if (r->err == IOMMU_OK) {
            const struct iommu_irq *q = &s->irqs[slot];
            r->w[0] = IOMMU_IRQ_HANDLE(q->serial, slot);
            msi_pair(q, r);
            r->len = 3;
        }
        break;
    }
    case IOMMU_LABEL_IRQ_FREE:
        r->err = irq_destroy(s, req->irq) == VTD_OK ? IOMMU_OK : IOMMU_ERR_HW;
        break;
    case IOMMU_LABEL_IRQ_RETARGET: {
        struct iommu_irq *q = &s->irqs[req->irq];
        const struct iommu_client *c = &s->clients[req->client];
        struct iommu_irq moved = *q;
        moved.vector = c->vec[req->a.irq_retarget.vector].vector;
        moved.grant = (uint16_t)req->a.irq_retarget.vector;
        enum vtd_err e = irte_write(s, &moved);
        if (e == VTD_OK) {
            *q = moved;
            e = iec_flush(s, q->unit, q->index);
        }
        r->err = e == VTD_OK ? IOMMU_OK : IOMMU_ERR_HW;
        break;
    }
    default:
        r->err = IOMMU_ERR_BAD_LABEL;
        break;
    }
}

/* ---- Root task: vector grants and routes for trusted servers --------------------------------- */

enum iommu_err iommu_client_grant_vector(struct iommu_server *s, uint64_t badge, uint16_t sid,
                                         uint64_t vector, unsigned *grant)
{
    int ci = iommu_client_find(s, badge);
    if (ci < 0 || vector < IOMMU_IRQ_MIN_VECTOR || vector > 0xff ||
        !iommu_client_granted(&s->clients[ci], sid)) {
        return IOMMU_ERR_BAD_ARG;
    }
    struct iommu_client *c = &s->clients[ci];
    for (unsigned g = 0; g < IOMMU_CLIENT_VECTORS; g++) {
        if (!c->vec[g].used) {
            c->vec[g] =
                (struct iommu_vec_grant){.used = true, .vector = (uint8_t)vector, .sid = sid};
            if (grant) {
                *grant = g;
            }
            return IOMMU_OK;
        }
    }
    return IOMMU_ERR_NO_SLOTS;
}

enum iommu_err iommu_irq_route(struct iommu_server *s, uint16_t sid, uint64_t vector, uint64_t *irq,
                               uint64_t *msi_addr, uint64_t *msi_data)
{
    if (vector < IOMMU_IRQ_MIN_VECTOR || vector > 0xff) {
        return IOMMU_ERR_BAD_ARG;
    }
    int unit = iommu_unit_for_sid(s, sid);
    if (unit < 0) {
        return IOMMU_ERR_UNIT;
    }
    if (!vtd_ir_enabled(&s->units[unit].vu)) {
        return IOMMU_ERR_UNSUPPORTED;
    }
    int slot = irq_slot_free(s);
    if (slot < 0 || !unit_has_room(s, (unsigned)unit)) {
        return IOMMU_ERR_NO_IRTE;
    }
    enum iommu_err e =
        irq_create(s, slot, (unsigned)unit, sid, (uint8_t)vector, -1, IOMMU_IRQ_ROOT_GRANT, 0);
    if (e == IOMMU_OK) {
        const struct iommu_irq *q = &s->irqs[slot];
        *irq = IOMMU_IRQ_HANDLE(q->serial, slot);
        *msi_addr = vtd_ir_msi_addr(q->index);
        *msi_data = vtd_ir_msi_data();
    }
    return e;
}

enum iommu_err iommu_irq_unroute(struct iommu_server *s, uint64_t irq)
{
    if (irq > IOMMU_IRQ_HANDLE_MAX) {
        return IOMMU_ERR_BAD_ARG;
    }
    int q = irq_lookup(s, irq);
    if (q < 0 || s->irqs[q].client != -1) {
        return IOMMU_ERR_STALE;
    }
    return irq_destroy(s, q) == VTD_OK ? IOMMU_OK : IOMMU_ERR_HW;
}

/* ---- Hotplug ports ------------------------------------------------------------------------- */

enum iommu_err iommu_port_grant_vector(struct iommu_server *s, uint16_t sid, uint64_t vector)
{
    if (vector < IOMMU_IRQ_MIN_VECTOR || vector > 0xff) {
        return IOMMU_ERR_BAD_ARG;
    }
    int free_slot = -1;
    for (unsigned i = 0; i < IOMMU_PORT_VECTORS; i++) {
        if (s->port_vec[i].used && s->port_vec[i].sid == sid) {
            return IOMMU_ERR_BAD_ARG;
        }
        if (!s->port_vec[i].used && free_slot < 0) {
            free_slot = (int)i;
        }
    }
    if (free_slot < 0) {
        return IOMMU_ERR_NO_SLOTS;
    }
    s->port_vec[free_slot].used = true;
    s->port_vec[free_slot].sid = sid;
    s->port_vec[free_slot].vector = (uint8_t)vector;
    s->port_vec[free_slot].irq = 0;
    return IOMMU_OK;
}

static int port_find(const struct iommu_server *s, uint16_t sid)
{
    for (unsigned i = 0; i < IOMMU_PORT_VECTORS; i++) {
        if (s->port_vec[i].used && s->port_vec[i].sid == sid) {
            return (int)i;
        }
    }
    return -1;
}

enum iommu_hp_err iommu_decode_port_irq(const struct iommu_server *s, struct iommu_request *req)
{
    uint16_t sid = (uint16_t)req->a.port_irq.sid; /* range checked by the hotplug decoder */
    int p = port_find(s, sid);
    if (p < 0) {
        return IOMMU_HP_ERR_NOT_GRANTED;
    }
    if (s->port_vec[p].irq != 0 && irq_lookup(s, s->port_vec[p].irq) >= 0) {
        return IOMMU_HP_OK; /* routed already: the same entry again */
    }
    int unit = iommu_unit_for_sid(s, sid);
    if (unit < 0 || !vtd_ir_enabled(&s->units[unit].vu)) {
        return IOMMU_HP_ERR_UNSUPPORTED;
    }
    if (irq_slot_free(s) < 0 || !unit_has_room(s, (unsigned)unit)) {
        return IOMMU_HP_ERR_NO_IRTE;
    }
    return IOMMU_HP_OK;
}

void iommu_perform_port_irq(struct iommu_server *s, const struct iommu_request *req,
                            struct iommu_reply *r)
{
    int p = port_find(s, (uint16_t)req->a.port_irq.sid);
    int q = irq_lookup(s, s->port_vec[p].irq);
    if (q < 0) {
        uint64_t irq = 0, addr = 0, data = 0;
        enum iommu_err e =
            iommu_irq_route(s, s->port_vec[p].sid, s->port_vec[p].vector, &irq, &addr, &data);
        if (e != IOMMU_OK) {
            r->err = e == IOMMU_ERR_NO_IRTE ? IOMMU_HP_ERR_NO_IRTE : IOMMU_HP_ERR_HW;
            return;
        }
        s->port_vec[p].irq = irq;
        q = irq_lookup(s, irq);
    }
    r->err = IOMMU_HP_OK;
    r->w[0] = s->port_vec[p].irq;
    msi_pair(&s->irqs[q], r);
    r->len = 3;
}
