/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzzes whole message sequences through iommu_handle_client / iommu_handle_hotplug, decode and
 * perform, every input from the same freshly set-up server and VT-d model (ATS devices, two
 * clients; restored from a snapshot, see setup()), with devices that can vanish without notice.
 * Checked after every message: the error is declared for the method, a rejected message (other
 * than a hardware outcome) changed neither the server nor the hardware, and no device-TLB
 * descriptor reached a source-id that was fenced, removed or quarantined before the message. The
 * sanitizers catch the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommu/server.h>
#include <vtd_model.h>

#include "fuzz_take.h"

#define NDEV 3
#define A 0xa1
#define B 0xb2
#define HP 0x4850

static const uint16_t sids[NDEV] = {0x0100, 0x0200, 0x0300};

static unsigned devtlb_sid(const struct vtd_model_desc_log *d, bool *is)
{
    unsigned t = (unsigned)((d->qw[0] & 0xf) | ((d->qw[0] >> 5) & 0x70));
    *is = t == 3 || t == 8;
    return t == 3 ? (unsigned)((d->qw[0] >> 32) & 0xffff) : (unsigned)((d->qw[0] >> 16) & 0xffff);
}

/*
 * Every input starts from the same state: a server on a fresh model with the devices, clients
 * and grants below. That state is built once and snapshotted (the server is a plain object, the
 * model snapshots itself, see vtd_model_snapshot); each input starts from a restore, which costs
 * a few page copies instead of a new model (16 MiB of simulated memory) and a dozen register
 * handshakes. Every 1024th input the restored model is compared with a full copy of the set-up
 * state, so a write that escaped the model's page tracking shows up as a crash.
 */
static struct iommu_server server, server_setup;
static struct vtd_model *model;
static struct vtd_model_snapshot *model_setup;

static void setup(void)
{
    struct vtd_model_config mc = {.mem_bytes = 8u << 20};
    struct vtd_model *m = vtd_model_create(&mc);
    struct iommu_server *s = &server;
    if (!m) {
        abort();
    }
    struct iommu_env env = {.root_badge = IOMMU_SRV_BADGE_ROOT};
    iommu_server_init(s, &env, HP);
    struct vtd_unit_config uc = {.no_sw_bits = true};
    if (iommu_server_add_unit(s, vtd_model_hw(m), &uc, true, NULL) != IOMMU_OK) {
        abort();
    }
    for (int d = 0; d < NDEV; d++) {
        vtd_model_add_device(m, sids[d], d < 2 ? VTD_MODEL_DEV_ATS : 0);
        iommu_server_add_device(s, sids[d]);
    }
    uint64_t badges[] = {A, B};
    for (int c = 0; c < 2; c++) {
        if (iommu_client_register(s, badges[c], 0) != IOMMU_OK ||
            iommu_client_grant_memory(s, badges[c], 0x100000 + c * 0x100000ull, 0x100000, 3,
                                      NULL) != IOMMU_OK) {
            abort();
        }
        for (int d = 0; d < NDEV; d++) {
            iommu_client_grant_device(s, badges[c], sids[d]);
        }
    }
    model = m;
    server_setup = server;
    model_setup = vtd_model_snapshot(m, true);
    if (!model_setup) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vtd_model_desc_log log[4096];
    static unsigned long inputs;
    if (!model) {
        setup();
    }
    vtd_model_restore(model, model_setup);
    if (inputs++ % 1024 == 0 && !vtd_model_matches_snapshot(model, model_setup)) {
        fprintf(stderr, "the model's restore missed a write\n");
        abort();
    }
    server = server_setup;
    struct vtd_model *m = model;
    struct iommu_server *s = &server;
    uint64_t handles[4] = {0};
    static const uint64_t words[] = {
        0,          0x1000,     0x2000, 0x10000, 0x11000, 0x200000, 0x100000, IOMMU_MEM_CAP,
        UINT64_MAX, 1ull << 48, 0x0100, 0x0200,  0x0300,  1,        2,        3};
    static const uint64_t all_badges[] = {A, B, HP, 0, A, B, IOMMU_SRV_BADGE_ROOT, HP};
    for (unsigned steps = 0; size > 1 && steps < 64; steps++) {
        uint8_t sel = (uint8_t)take(&data, &size, 1);
        if ((sel & 0xf0) == 0xf0) { /* a device vanishes or comes back silently */
            vtd_model_set_device_present(m, sids[sel % NDEV], (sel & 8) != 0);
            continue;
        }
        struct iommu_msg msg;
        struct iommu_reply r;
        unsigned nm;
        const struct iommu_method_info *meth = iommu_methods(&nm);
        const struct iommu_method_info *mi = &meth[take(&data, &size, 1) % nm];
        iommu_msg_init(&msg, mi->label);
        msg.badge = all_badges[sel & 7];
        bool hp = mi->proto == IOMMU_PROTO_HOTPLUG;
        msg.len = (sel & 8) ? (uint32_t)(take(&data, &size, 1) % (IOMMU_MSG_WORDS + 1)) : mi->nargs;
        for (unsigned w = 0; w < msg.len; w++) {
            uint8_t k = (uint8_t)take(&data, &size, 1);
            msg.w[w] = k < 0xc0   ? words[k % (sizeof(words) / sizeof(words[0]))]
                       : k < 0xe0 ? handles[k & 3]
                                  : take(&data, &size, 8);
        }
        bool dead[NDEV];
        for (int d = 0; d < NDEV; d++) {
            const struct iommu_device *dv = iommu_device_get(s, sids[d]);
            dead[d] = dv && (dv->state != IOMMU_DEV_PRESENT || dv->quarantined);
        }
        uint64_t fp = iommu_server_fingerprint(s);
        size_t pages = vtd_model_pages_in_use(m);
        vtd_model_clear_log(m);
        if (hp) {
            iommu_handle_hotplug(s, &msg, &r);
        } else if (mi->proto == IOMMU_PROTO_ROOT) {
            iommu_handle_root(s, &msg, &r);
        } else {
            iommu_handle_client(s, &msg, &r);
        }
        if (r.err == 0 && mi->label == IOMMU_LABEL_ATTACH) {
            handles[steps & 3] = r.w[0];
        }
        if (r.err != 0 && !(mi->errors & (1ull << r.err))) {
            fprintf(stderr, "undeclared error %llu from %s\n", (unsigned long long)r.err, mi->name);
            abort();
        }
        bool hw = hp ? r.err == IOMMU_HP_ERR_HW
                     : (r.err == IOMMU_ERR_HW || r.err == IOMMU_ERR_NO_MEMORY ||
                        r.err == IOMMU_ERR_DEVICE_TIMEOUT);
        struct vtd_model_stats st;
        vtd_model_get_stats(m, &st);
        size_t n = vtd_model_desc_log(m, log, 4096);
        if (r.err != 0 && !hw &&
            (iommu_server_fingerprint(s) != fp || vtd_model_pages_in_use(m) != pages || n != 0)) {
            fprintf(stderr, "rejected %s changed state\n", mi->name);
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            bool is;
            unsigned sid = devtlb_sid(&log[i], &is);
            for (int d = 0; is && d < NDEV; d++) {
                if (dead[d] && sid == sids[d]) {
                    fprintf(stderr, "device-TLB descriptor for fenced %04x\n", sid);
                    abort();
                }
            }
        }
        iommu_fault_service(s, 0);
    }
    return 0;
}
