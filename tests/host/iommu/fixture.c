/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU host-test fixture: model, fake config space wired to the model's ATS state, the
 * server, and protocol helpers. See fixture.h.
 */
#include "fixture.h"

int fx_failures;
const char *fx_current;

static struct fx_cfg_dev *cfg_dev(struct fx *f, uint16_t sid)
{
    for (unsigned i = 0; i < FX_DEVS; i++) {
        if (f->dev[i].used && f->dev[i].sid == sid) {
            return &f->dev[i];
        }
    }
    return NULL;
}

static uint32_t cfg_read(void *ctx, uint64_t off, unsigned width)
{
    struct fx *f = ctx;
    struct fx_cfg_dev *d = cfg_dev(f, (uint16_t)(off >> 12));
    uint32_t ones = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
    if (!d || !d->present) {
        return ones;
    }
    uint32_t v = 0;
    memcpy(&v, &d->cfg[off & 0xfff], width);
    return v;
}

static void cfg_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    struct fx *f = ctx;
    uint16_t sid = (uint16_t)(off >> 12);
    unsigned reg = off & 0xfff;
    struct fx_cfg_dev *d = cfg_dev(f, sid);
    if (!d || !d->present) {
        return; /* nothing answers */
    }
    unsigned ctrl = ATS_CAP_OFF + 6;
    /* Only the ATS Control register is writable in this fake. */
    if (reg <= ctrl && reg + width > ctrl) {
        memcpy(&d->cfg[reg], &val, width);
        bool en = (d->cfg[ctrl + 1] & 0x80) != 0;
        vtd_model_set_ats_enabled(f->m, sid, en);
        if (f->n_ev < FX_EVENTS) {
            struct vtd_model_stats st;
            vtd_model_get_stats(f->m, &st);
            f->ev[f->n_ev++] =
                (struct fx_event){.sid = sid, .ats_enabled = en, .desc_pos = st.descriptors};
        }
    }
}

static void notify(void *ctx, uint64_t badge, uint64_t cookie)
{
    (void)cookie;
    struct fx *f = ctx;
    f->notifies++;
    f->last_notified = badge;
}

static void release(void *ctx, uint64_t cookie)
{
    struct fx *f = ctx;
    f->releases++;
    f->last_released = cookie;
}

static void ats_refused(void *ctx, uint16_t sid, const char *why)
{
    struct fx *f = ctx;
    f->ats_refusals++;
    f->last_ats_refused = sid;
    f->last_ats_why = why;
}

bool fx_init(struct fx *f, const struct vtd_model_config *mc, const struct vtd_unit_config *uc)
{
    memset(f, 0, sizeof(*f));
    struct vtd_model_config def = {0};
    f->m = vtd_model_create(mc ? mc : &def);
    if (!f->m) {
        return false;
    }
    f->hw = vtd_model_hw(f->m);
    f->mmio = (struct pci_mmio){.ctx = f, .read = cfg_read, .write = cfg_write};
    if (pci_ecam_init(&f->ecam, &f->mmio, 0, 0, 255) != PCI_OK) {
        return false;
    }
    f->s = calloc(1, sizeof(*f->s));
    if (!f->s) {
        return false;
    }
    struct iommu_env env = {.ctx = f,
                            .ecam = &f->ecam,
                            .notify_client = notify,
                            .release_cap = release,
                            .ats_refused = ats_refused};
    iommu_server_init(f->s, &env, HP_BADGE);
    /* Until the model ignores second-level bits 61:52 (libs/libvtd/REQUESTS.md item 1), libvtd
       must not keep its table counts there. */
    struct vtd_unit_config ucfg = {.no_sw_bits = true};
    if (uc) {
        ucfg = *uc;
        ucfg.no_sw_bits = true;
    }
    unsigned unit;
    if (iommu_server_add_unit(f->s, f->hw, &ucfg, true, &unit) != IOMMU_OK || unit != 0) {
        return false;
    }
    /* QEMU's DMAR with device-iotlb=on: one ATSR with ALL_PORTS for segment 0. */
    struct iommu_ats_policy ats;
    iommu_ats_policy_init(&ats, 0);
    iommu_ats_policy_allow_all_ports(&ats);
    return iommu_server_set_ats_policy(f->s, &ats) == IOMMU_OK;
}

void fx_fini(struct fx *f)
{
    free(f->s);
    f->s = NULL;
    if (f->m) {
        vtd_model_destroy(f->m);
        f->m = NULL;
    }
}

/* A config image at sid (reused if there is one), present, zeroed. */
static struct fx_cfg_dev *cfg_new(struct fx *f, uint16_t sid)
{
    struct fx_cfg_dev *d = cfg_dev(f, sid);
    for (unsigned i = 0; !d && i < FX_DEVS; i++) {
        if (!f->dev[i].used) {
            d = &f->dev[i];
        }
    }
    if (!d) {
        abort();
    }
    memset(d, 0, sizeof(*d));
    d->used = true;
    d->present = true;
    d->sid = sid;
    return d;
}

void fx_add_root_port(struct fx *f, uint16_t port, uint8_t secondary, uint8_t subordinate)
{
    struct fx_cfg_dev *d = cfg_new(f, port);
    d->cfg[0] = 0x86; /* vendor 8086, device 7890 */
    d->cfg[1] = 0x80;
    d->cfg[2] = 0x90;
    d->cfg[3] = 0x78;
    d->cfg[0x06] = 0x10; /* Status: Capabilities List */
    d->cfg[0x0e] = 0x01; /* Header Type: PCI-to-PCI bridge */
    d->cfg[0x18] = (uint8_t)(port >> 8);
    d->cfg[0x19] = secondary;
    d->cfg[0x1a] = subordinate;
    d->cfg[0x34] = 0x40;               /* Capabilities Pointer */
    d->cfg[0x40] = 0x10;               /* PCI Express capability, last in the list */
    d->cfg[0x42] = 0x02 | (0x4u << 4); /* version 2, Device/Port Type: Root Port */
}

void fx_add_device(struct fx *f, uint16_t sid, unsigned model_flags, bool boot)
{
    vtd_model_add_device(f->m, sid, model_flags);
    unsigned bus = sid >> 8;
    if (bus >= 1 && bus <= 31 && cfg_dev(f, (uint16_t)(bus << 3)) == NULL) {
        fx_add_root_port(f, (uint16_t)(bus << 3), (uint8_t)bus, (uint8_t)bus);
    }
    struct fx_cfg_dev *d = cfg_new(f, sid);
    d->cfg[0] = 0x86; /* vendor 8086, device 1234 */
    d->cfg[1] = 0x80;
    d->cfg[2] = 0x34;
    d->cfg[3] = 0x12;
    if (model_flags & VTD_MODEL_DEV_ATS) {
        /* Extended capability header: ATS (0x000f), version 1, next 0; Invalidate Queue Depth 8. */
        uint32_t hdr = 0x000f | (1u << 16);
        memcpy(&d->cfg[ATS_CAP_OFF], &hdr, 4);
        d->cfg[ATS_CAP_OFF + 4] = 8;
    }
    if (boot) {
        iommu_server_add_device(f->s, sid);
    }
}

void fx_set_present(struct fx *f, uint16_t sid, bool present)
{
    vtd_model_set_device_present(f->m, sid, present);
    struct fx_cfg_dev *d = cfg_dev(f, sid);
    if (d) {
        d->present = present;
        if (present) {
            d->cfg[ATS_CAP_OFF + 7] &= 0x7f; /* a new occupant starts with ATS off */
            vtd_model_set_ats_enabled(f->m, sid, false);
        }
    }
}

void fx_client(struct fx *f, uint64_t badge, uint64_t pool, const uint16_t *sids, unsigned n)
{
    if (iommu_client_register(f->s, badge, 0) != IOMMU_OK ||
        iommu_client_grant_memory(f->s, badge, pool, POOL_SIZE, IOMMU_READ | IOMMU_WRITE, NULL) !=
            IOMMU_OK) {
        abort();
    }
    for (unsigned i = 0; i < n; i++) {
        if (iommu_client_grant_device(f->s, badge, sids[i]) != IOMMU_OK) {
            abort();
        }
    }
}

uint64_t fx_call(struct fx *f, uint64_t badge, struct iommu_msg *m, struct iommu_reply *r)
{
    m->badge = badge;
    iommu_handle_client(f->s, m, r);
    return r->err;
}

uint64_t fx_hp(struct fx *f, struct iommu_msg *m, struct iommu_reply *r)
{
    m->badge = HP_BADGE;
    iommu_handle_hotplug(f->s, m, r);
    return r->err;
}

uint64_t fx_attach(struct fx *f, uint64_t badge, uint16_t sid, uint64_t *handle)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_attach(&m, sid);
    fx_call(f, badge, &m, &r);
    struct iommu_attach_rets rets;
    uint64_t e = iommu_reply_attach(&r, &rets);
    if (handle) {
        *handle = rets.handle;
    }
    return e;
}

uint64_t fx_detach(struct fx *f, uint64_t badge, uint64_t handle, uint64_t *status)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_detach(&m, handle);
    fx_call(f, badge, &m, &r);
    struct iommu_detach_rets rets;
    uint64_t e = iommu_reply_detach(&r, &rets);
    if (status) {
        *status = rets.status;
    }
    return e;
}

uint64_t fx_map(struct fx *f, uint64_t badge, uint64_t iova, uint64_t mem, uint64_t off,
                uint64_t size, uint64_t rights)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map(&m, iova, mem, off, size, rights);
    return fx_call(f, badge, &m, &r);
}

uint64_t fx_unmap(struct fx *f, uint64_t badge, uint64_t iova, uint64_t size, uint64_t *status)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_unmap(&m, iova, size);
    fx_call(f, badge, &m, &r);
    struct iommu_unmap_rets rets;
    uint64_t e = iommu_reply_unmap(&r, &rets);
    if (status) {
        *status = rets.status;
    }
    return e;
}

uint64_t fx_fence(struct fx *f, uint16_t sid, uint64_t mode, uint64_t *status)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_device_fence(&m, sid, mode);
    fx_hp(f, &m, &r);
    struct iommu_device_fence_rets rets;
    uint64_t e = iommu_reply_device_fence(&r, &rets);
    if (status) {
        *status = rets.status;
    }
    return e;
}

uint64_t fx_removed(struct fx *f, uint16_t sid)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_device_removed(&m, sid);
    return fx_hp(f, &m, &r);
}

uint64_t fx_added(struct fx *f, uint16_t sid, uint64_t *generation)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_device_added(&m, sid);
    fx_hp(f, &m, &r);
    struct iommu_device_added_rets rets;
    uint64_t e = iommu_reply_device_added(&r, &rets);
    if (generation) {
        *generation = rets.generation;
    }
    return e;
}

void fx_fill(struct fx *f, uint64_t pa, size_t len, unsigned seed)
{
    uint8_t *p = vtd_model_phys(f->m, pa, len);
    for (size_t i = 0; p && i < len; i++) {
        p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
    }
}

bool fx_same(struct fx *f, uint64_t pa, const void *buf, size_t len)
{
    const uint8_t *p = vtd_model_phys(f->m, pa, len);
    return p && memcmp(p, buf, len) == 0;
}

size_t fx_log(struct fx *f, struct vtd_model_desc_log *out, size_t max)
{
    static struct vtd_model_desc_log scratch[4096];
    if (!out) {
        return vtd_model_desc_log(f->m, scratch, 4096); /* just the count */
    }
    return vtd_model_desc_log(f->m, out, max);
}

unsigned fx_desc_type(const struct vtd_model_desc_log *d)
{
    return (unsigned)((d->qw[0] & 0xf) | ((d->qw[0] >> 5) & 0x70));
}

uint32_t fx_desc_sid(const struct vtd_model_desc_log *d)
{
    switch (fx_desc_type(d)) {
    case 1: /* context-cache */
    case 3: /* device-TLB */
        return (uint32_t)((d->qw[0] >> 32) & 0xffff);
    case 8: /* PASID-based device-TLB */
        return (uint32_t)((d->qw[0] >> 16) & 0xffff);
    default:
        return 0xffffffffu;
    }
}

unsigned fx_count_desc(struct fx *f, size_t from, unsigned type, uint32_t sid)
{
    static struct vtd_model_desc_log log[8192];
    size_t n = fx_log(f, log, 8192);
    unsigned c = 0;
    for (size_t i = from; i < n; i++) {
        if (fx_desc_type(&log[i]) == type && (sid == 0xffffffffu || fx_desc_sid(&log[i]) == sid)) {
            c++;
        }
    }
    return c;
}

int fx_report(void)
{
    if (fx_failures) {
        printf("%d check(s) failed\n", fx_failures);
        return 1;
    }
    printf("all passed\n");
    return 0;
}

struct vtd_model *fx_second_unit(struct fx *f, const struct vtd_model_config *mc, uint16_t first,
                                 uint16_t last)
{
    struct vtd_model_config def = {0};
    struct vtd_model *m2 = vtd_model_create(mc ? mc : &def);
    struct vtd_unit_config uc = {.no_sw_bits = true};
    unsigned u1 = 0;
    if (m2 == NULL || iommu_server_add_unit(f->s, vtd_model_hw(m2), &uc, false, &u1) != IOMMU_OK ||
        u1 != 1 || iommu_server_add_scope(f->s, 1, first, last) != IOMMU_OK) {
        if (m2) {
            vtd_model_destroy(m2);
        }
        return NULL;
    }
    return m2;
}
