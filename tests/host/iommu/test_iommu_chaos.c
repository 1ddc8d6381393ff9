/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Random interleavings of everything at once — client attach/detach/map/unmap/ats_flush/
 * fault_read, hotplug fences (orderly and surprise), removals, re-plugs, and devices that
 * vanish without anybody being told — checked against a shadow of what each client mapped:
 *   * a DMA succeeds exactly when its device is attached, present and unfenced and its client
 *     has a mapping there, and then it reads that client's memory (a stale IOTLB, context or
 *     ATC entry would make a DMA succeed that must fault);
 *   * no device-TLB descriptor is ever executed for a source-id that was fenced, removed or
 *     quarantined before the operation started;
 *   * every error is one the protocol declares for the method;
 *   * pins match mappings, and cleaning up returns every count to zero.
 */
#include "fixture.h"

#define NDEV 3
#define NCLI 2
#define SLOTS 8
static const uint16_t dev_sid[NDEV] = {0x0100, 0x0200, 0x0300};
static const uint64_t cli_badge[NCLI] = {CLIENT_A, CLIENT_B};
static const uint64_t cli_pool[NCLI] = {POOL_A, POOL_B};

struct shadow_map {
    bool used;
    uint64_t iova, size, off;
};

struct world {
    struct fx f;
    struct shadow_map maps[NCLI][SLOTS];
    uint64_t handle[NDEV];
    int owner[NDEV]; /* client index the device is attached to (per the replies) */
    bool hw_present[NDEV];
    uint64_t seed;
};

static uint64_t rnd(struct world *w)
{
    w->seed ^= w->seed << 13;
    w->seed ^= w->seed >> 7;
    w->seed ^= w->seed << 17;
    return w->seed;
}

static bool declared(uint64_t label, uint64_t err)
{
    const struct iommu_method_info *mi = iommu_method_find(label);
    return err == 0 || (mi && (mi->errors & (1ull << err)));
}

/* Source-ids the server had fenced/removed/quarantined: they must get no device-TLB traffic. */
static void dead_set(struct world *w, bool dead[NDEV])
{
    for (int d = 0; d < NDEV; d++) {
        const struct iommu_device *dv = iommu_device_get(w->f.s, dev_sid[d]);
        dead[d] = dv && (dv->state != IOMMU_DEV_PRESENT || dv->quarantined);
    }
}

static bool dma_expected(struct world *w, int d, uint64_t iova, uint64_t *pa)
{
    const struct iommu_device *dv = iommu_device_get(w->f.s, dev_sid[d]);
    int c = w->owner[d];
    if (!dv || c < 0 || dv->state != IOMMU_DEV_PRESENT || dv->quarantined) {
        return false;
    }
    for (int k = 0; k < SLOTS; k++) {
        const struct shadow_map *m = &w->maps[c][k];
        if (m->used && iova >= m->iova && iova < m->iova + m->size) {
            *pa = cli_pool[c] + m->off + (iova - m->iova);
            return true;
        }
    }
    return false;
}

/* SMTS, SLTS, PASID (PSS = 19), PRS, PT, DT, QI, IR, IRO = 0xf0, C = 1. */
#define SM_ECAP                                                                                    \
    ((1ull << 46) | (1ull << 43) | (1ull << 40) | (19ull << 35) | (1ull << 29) | (1ull << 6) |     \
     (1ull << 3) | (1ull << 2) | (1ull << 1) | (1ull << 0) | (0xfull << 8))

static void chaos(bool scalable)
{
    struct world *w = calloc(1, sizeof(*w));
    struct fx *f = &w->f;
    struct vtd_model_desc_log *log = calloc(4096, sizeof(*log));
    unsigned dmas_ok = 0, dmas_fault = 0, ops = 0;
    w->seed = 0x2545f4914f6cdd1dull;
    if (getenv("IOMMU_CHAOS_SEED")) { /* for exploring other interleavings by hand */
        w->seed = strtoull(getenv("IOMMU_CHAOS_SEED"), NULL, 0) | 1;
    }
    struct vtd_model_config mc = {.ecap = SM_ECAP, .cap = 0x00d2038c22260206ull};
    struct vtd_unit_config uc = {.mode = VTD_MODE_SCALABLE};
    CHECK(w && log && fx_init(f, scalable ? &mc : NULL, scalable ? &uc : NULL));
    uint16_t all[NDEV] = {dev_sid[0], dev_sid[1], dev_sid[2]};
    for (int d = 0; d < NDEV; d++) {
        fx_add_device(f, dev_sid[d], d < 2 ? VTD_MODEL_DEV_ATS : 0, true);
        w->owner[d] = -1;
        w->hw_present[d] = true;
    }
    for (int c = 0; c < NCLI; c++) {
        fx_client(f, cli_badge[c], cli_pool[c], all, NDEV);
        fx_fill(f, cli_pool[c], 0x40000, 17 + c);
    }
    for (unsigned it = 0; it < 4000; it++) {
        int c = (int)(rnd(w) % NCLI), d = (int)(rnd(w) % NDEV), k = (int)(rnd(w) % SLOTS);
        uint64_t b = cli_badge[c];
        bool dead[NDEV];
        dead_set(w, dead);
        vtd_model_clear_log(f->m);
        struct iommu_msg m;
        struct iommu_reply r;
        uint64_t label = 0, err = 0;
        unsigned op = (unsigned)(rnd(w) % 100);
        ops++;
        if (op < 10) { /* attach */
            iommu_encode_attach(&m, dev_sid[d]);
            label = m.label;
            err = fx_call(f, b, &m, &r);
            if (err == IOMMU_OK) {
                w->owner[d] = c;
                w->handle[d] = r.w[0];
            }
        } else if (op < 13) { /* detach (own or someone's handle) */
            iommu_encode_detach(&m, w->handle[d]);
            label = m.label;
            err = fx_call(f, b, &m, &r);
            if (err == IOMMU_OK || err == IOMMU_ERR_DEVICE_TIMEOUT) {
                w->owner[d] = -1;
            }
        } else if (op < 33) { /* map into slot k */
            uint64_t size = (rnd(w) % 2 + 1) * 0x1000, off = (rnd(w) % 32) * 0x1000;
            iommu_encode_map(&m, 0x100000 + (uint64_t)k * 0x10000, 0, off, size, IOMMU_READ);
            label = m.label;
            err = fx_call(f, b, &m, &r);
            if (err == IOMMU_OK) {
                CHECK(!w->maps[c][k].used);
                w->maps[c][k] =
                    (struct shadow_map){true, 0x100000 + (uint64_t)k * 0x10000, size, off};
            }
        } else if (op < 48) { /* unmap slot k, sometimes a range of slots */
            uint64_t span = rnd(w) % 4 == 0 ? 3 : 1;
            iommu_encode_unmap(&m, 0x100000 + (uint64_t)k * 0x10000, span * 0x10000);
            label = m.label;
            err = fx_call(f, b, &m, &r);
            if (err == IOMMU_OK || err == IOMMU_ERR_DEVICE_TIMEOUT) {
                for (uint64_t s = 0; s < span && k + s < SLOTS; s++) {
                    w->maps[c][k + s].used = false;
                }
            }
        } else if (op < 51) {
            iommu_encode_ats_flush(&m, w->handle[d], 0, 0);
            label = m.label;
            err = fx_call(f, b, &m, &r);
        } else if (op < 54) {
            iommu_encode_fault_read(&m, 7);
            label = m.label;
            err = fx_call(f, b, &m, &r);
        } else if (op < 56) { /* hotplug: fence */
            bool surprise = rnd(w) % 2;
            if (surprise) {
                fx_set_present(f, dev_sid[d], false);
                w->hw_present[d] = false;
            }
            iommu_encode_device_fence(&m, dev_sid[d],
                                      surprise ? IOMMU_FENCE_SURPRISE : IOMMU_FENCE_ORDERLY);
            label = m.label;
            err = fx_hp(f, &m, &r);
        } else if (op < 58) { /* hotplug: removed, then the slot is empty */
            fx_set_present(f, dev_sid[d], false);
            w->hw_present[d] = false;
            iommu_encode_device_removed(&m, dev_sid[d]);
            label = m.label;
            err = fx_hp(f, &m, &r);
        } else if (op < 64) { /* hotplug: a new occupant, if the slot is free */
            const struct iommu_device *dv = iommu_device_get(f->s, dev_sid[d]);
            if (!dv || dv->state == IOMMU_DEV_PRESENT) {
                continue;
            }
            fx_set_present(f, dev_sid[d], true);
            w->hw_present[d] = true;
            iommu_encode_device_added(&m, dev_sid[d]);
            label = m.label;
            err = fx_hp(f, &m, &r);
            CHECK_EQ(err, IOMMU_HP_OK);
            w->owner[d] = -1; /* nothing of the old occupant survives */
        } else if (op < 65) { /* the device dies and nobody says so */
            fx_set_present(f, dev_sid[d], false);
            w->hw_present[d] = false;
            continue;
        } else { /* DMA */
            if (!w->hw_present[d]) {
                continue;
            }
            if (w->owner[d] >= 0 && rnd(w) % 2) { /* aim at a mapped slot half of the time */
                for (int s = 0; s < SLOTS; s++) {
                    if (w->maps[w->owner[d]][(k + s) % SLOTS].used) {
                        k = (k + s) % SLOTS;
                        break;
                    }
                }
            }
            uint64_t iova = 0x100000 + (uint64_t)k * 0x10000 + (rnd(w) % 3) * 0x1000, pa = 0;
            uint8_t buf[16];
            bool want = dma_expected(w, d, iova, &pa);
            int res =
                vtd_model_dma(f->m, dev_sid[d], VTD_MODEL_NO_PASID, iova, buf, sizeof(buf), false);
            if (want) {
                if (res != 0) {
                    fprintf(stderr,
                            "it %u: DMA by dev %d at %#llx faulted (%d), expected success\n", it, d,
                            (unsigned long long)iova, res);
                }
                CHECK_EQ(res, 0);
                CHECK(fx_same(f, pa, buf, sizeof(buf)));
                dmas_ok++;
            } else {
                if (res == 0) {
                    fprintf(stderr, "it %u: DMA by dev %d at %#llx succeeded, expected a fault\n",
                            it, d, (unsigned long long)iova);
                }
                CHECK(res > 0);
                dmas_fault++;
            }
            iommu_fault_service(f->s, 0);
            continue;
        }
        bool hp = label >= IOMMU_LABEL_DEVICE_FENCE;
        if (!declared(label, err)) {
            fprintf(stderr, "it %u: undeclared %s from label %llu\n", it,
                    hp ? iommu_hp_errname((unsigned)err) : iommu_errname((unsigned)err),
                    (unsigned long long)label);
        }
        CHECK(declared(label, err));
        /* fence before invalidate */
        size_t n = fx_log(f, log, 4096);
        for (size_t i = 0; i < n; i++) {
            unsigned t = fx_desc_type(&log[i]);
            if (t != 3 && t != 8) {
                continue;
            }
            for (int x = 0; x < NDEV; x++) {
                if (dead[x] && fx_desc_sid(&log[i]) == dev_sid[x]) {
                    fprintf(stderr, "it %u: device-TLB descriptor for fenced %04x\n", it,
                            dev_sid[x]);
                }
                CHECK(!(dead[x] && fx_desc_sid(&log[i]) == dev_sid[x]));
            }
        }
        /* the server's and the replies' view of ownership agree */
        for (int x = 0; x < NDEV; x++) {
            const struct iommu_device *dv = iommu_device_get(f->s, dev_sid[x]);
            if (dv->owner < 0 || dv->state == IOMMU_DEV_REMOVED) {
                if (dv->state != IOMMU_DEV_REMOVED) {
                    w->owner[x] = -1; /* e.g. a new occupant */
                }
            }
        }
        /* pins match mappings */
        for (int cc = 0; cc < NCLI; cc++) {
            unsigned used = 0;
            for (int s = 0; s < SLOTS; s++) {
                used += w->maps[cc][s].used;
            }
            CHECK_EQ(f->s->clients[cc].mem[0].pins, used);
        }
    }
    struct vtd_model_stats st;
    vtd_model_get_stats(f->m, &st);
    printf("     chaos: %u operations, %u DMAs succeeded, %u faulted as expected, %llu ITE, "
           "%llu quarantines, %llu orderly + %llu surprise fences\n",
           ops, dmas_ok, dmas_fault, (unsigned long long)st.ite,
           (unsigned long long)f->s->stats.quarantines,
           (unsigned long long)f->s->stats.fences_orderly,
           (unsigned long long)f->s->stats.fences_surprise);
    CHECK(st.ite > 0);
    CHECK(dmas_ok > 100 && dmas_fault > 100);
    /* clean up: everybody leaves; nothing may remain */
    for (int c = 0; c < NCLI; c++) {
        enum iommu_err e = iommu_client_unregister(f->s, cli_badge[c]);
        CHECK(e == IOMMU_OK || e == IOMMU_ERR_DEVICE_TIMEOUT);
    }
    struct iommu_counts cnt;
    iommu_server_counts(f->s, &cnt);
    CHECK_EQ(cnt.domains, 0);
    CHECK_EQ(cnt.mappings, 0);
    CHECK_EQ(cnt.pins, 0);
    CHECK_EQ(cnt.stuck, 0);
    CHECK_EQ(cnt.table_pages, 0);
out:
    fx_fini(f);
    free(log);
    free(w);
}

static void test_random_interleavings_keep_isolation_fences_and_accounting(void)
{
    chaos(false);
}

static void test_random_interleavings_in_scalable_mode(void)
{
    chaos(true);
}

int main(void)
{
    RUN(test_random_interleavings_keep_isolation_fences_and_accounting);
    RUN(test_random_interleavings_in_scalable_mode);
    return fx_report();
}
