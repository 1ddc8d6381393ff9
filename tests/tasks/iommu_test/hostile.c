/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A hostile client of the IOMMU server: malformed messages of every shape, a storm of random
 * ones, and attempts on other clients' devices and IOVAs. Every reply must be an error the
 * protocol declares for that method (or BAD_LABEL), the server must keep answering, and the
 * other test tasks in the same image (the edu client) keep working meanwhile — their own TEST
 * lines say so. This task holds no device and only its own memory. Finally it maps its own
 * frame at the edu client's IOVAs and checks that the edu device's DMA never reaches it.
 *
 * Role `iommu_hostile`; command line: storm=N (random messages, default 3000), seed=S,
 * overlay_ms=N (how long the overlay mapping is watched, default 3000).
 */
#include <stdio.h>
#include <string.h>

#include <iommu/protocol.h>

#include "iommu_test.h"

static pc_cptr_t g_ep;
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* A word that is sometimes plausible: small, page-aligned, a boundary, or random. */
static uint64_t word(void)
{
    static const uint64_t edges[] = {0,
                                     1,
                                     4096,
                                     0x200000,
                                     0xffffffffull,
                                     IOMMU_MEM_CAP,
                                     ~0ull,
                                     ~0ull - 4095,
                                     1ull << 48,
                                     1ull << 63,
                                     0x0200,
                                     0x0100,
                                     IOMMU_HANDLE(0x0200, 1)};
    switch (rnd() % 4) {
    case 0:
        return edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return (rnd() % 64) * 4096;
    case 2:
        return rnd() % 16;
    default:
        return rnd();
    }
}

/* Is `err` acceptable as the answer to label `label`? */
static bool declared(uint64_t label, uint64_t err)
{
    if (err == IOMMU_OK) {
        return true;
    }
    const struct iommu_method_info *mi = iommu_method_find(label);
    if (mi == NULL || mi->proto != IOMMU_PROTO_CLIENT) {
        /* unknown here: the client protocol has no such method (root and hotplug ones) */
        return err == IOMMU_ERR_BAD_LABEL;
    }
    return err < 64 && (mi->errors & (1ull << err)) != 0;
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    g_ep = kt_cap("iommu", TASK_CAP_ENDPOINT);
    uint64_t storm = 3000, seed = 0;
    (void)task_cmdline_get_u64(si->cmdline, "storm", &storm);
    if (task_cmdline_get_u64(si->cmdline, "seed", &seed) && seed != 0) {
        g_rng = seed;
    }
    if (g_ep == 0) {
        kt_finish();
    }
    struct iommu_reply r;
    uint64_t w[IOMMU_MSG_WORDS + 8];
    memset(w, 0, sizeof(w));

    /* Every method with one word too few and one too many; unknown labels; too long. */
    unsigned n = 0;
    const struct iommu_method_info *all = iommu_methods(&n);
    unsigned bad = 0, tried = 0;
    char first_bad[80] = "";
    for (unsigned i = 0; i < n; i++) {
        if (all[i].proto != IOMMU_PROTO_CLIENT) {
            continue;
        }
        /* one word too few, one too many (map_vec: nargs..max_words words) */
        unsigned lens[2] = {all[i].nargs - 1u, all[i].max_words + 1u};
        for (unsigned k = 0; k < 2; k++) {
            if ((k == 0 && all[i].nargs == 0) || lens[k] > PC_MSG_MAX_LENGTH) {
                continue;
            }
            uint64_t e = it_call_raw(g_ep, all[i].label, lens[k], w, 0, &r);
            tried++;
            if (e != IOMMU_ERR_BAD_MSG) {
                if (bad++ == 0) {
                    snprintf(first_bad, sizeof(first_bad), "%s with %u words: %s", all[i].name,
                             lens[k], iommu_errname((unsigned)e));
                }
            }
        }
    }
    static const uint64_t unknown[] = {0, 14, 63, 64, 65, 66, 68, 96, 97, 98, 1000, 1ull << 40};
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        uint64_t e = it_call_raw(g_ep, unknown[i], 2, w, 0, &r);
        tried++;
        if (e != IOMMU_ERR_BAD_LABEL) {
            if (bad++ == 0) {
                snprintf(first_bad, sizeof(first_bad), "label %llu: %s",
                         (unsigned long long)unknown[i], iommu_errname((unsigned)e));
            }
        }
    }
    uint64_t e = it_call_raw(g_ep, IOMMU_LABEL_UNMAP, 20, w, 0, &r);
    tried++;
    if (e != IOMMU_ERR_BAD_MSG && bad++ == 0) {
        snprintf(first_bad, sizeof(first_bad), "20-word unmap: %s", iommu_errname((unsigned)e));
    }
    kt_result("malformed_messages_get_declared_errors", bad == 0, "(%u tried, %u wrong%s%s)", tried,
              bad, bad ? ": first " : "", first_bad);

    /* The root protocol is the root badge's: every one of its methods, with plausible words
     * naming the other clients (badges of tasks 1..15, the edu function, its first grant, all of
     * low memory), is an unknown label to a client. Revocation cannot come from a driver. */
    unsigned root_tried = 0, root_wrong = 0;
    const struct iommu_method_info *root = iommu_methods(&n);
    for (unsigned i = 0; i < n; i++) {
        for (uint64_t task = 1; task < 16 && root[i].proto == IOMMU_PROTO_ROOT; task++) {
            uint64_t rw[4] = {IOMMU_SRV_BADGE_CLIENT_BASE | task, 0, 1ull << 30, 3};
            if (root[i].label == IOMMU_ROOT_REVOKE_DEVICE) {
                rw[1] = 0x0200; /* edu on the iommu machine */
            }
            uint64_t re = it_call_raw(g_ep, root[i].label, root[i].nargs, rw, 0, &r);
            root_tried++;
            root_wrong += re != IOMMU_ERR_BAD_LABEL;
        }
    }
    kt_result("root_methods_refused_to_a_client", root_tried > 0 && root_wrong == 0,
              "(%u root-protocol calls naming other clients, %u not refused as unknown labels)",
              root_tried, root_wrong);

    /* Other clients' devices and IOVAs are out of reach: nothing is granted to this badge. */
    unsigned granted = 0, touched = 0;
    for (unsigned sid = 0; sid < 0x400; sid++) {
        struct iommu_msg m;
        iommu_encode_attach(&m, sid);
        if (it_call(g_ep, &m, 0, &r) != IOMMU_ERR_NOT_GRANTED) {
            granted++;
        }
        for (unsigned gen = 0; gen < 3 && sid >= 0x100; gen += 2) {
            iommu_encode_detach(&m, IOMMU_HANDLE(sid, gen));
            uint64_t d = it_call(g_ep, &m, 0, &r);
            iommu_encode_ats_flush(&m, IOMMU_HANDLE(sid, gen), 0, 0);
            uint64_t f = it_call(g_ep, &m, 0, &r);
            if (d == IOMMU_OK || f == IOMMU_OK) {
                touched++;
            }
        }
    }
    struct iommu_msg m;
    iommu_encode_unmap(&m, 0x100000, 4096);
    uint64_t u = it_call(g_ep, &m, 0, &r);
    iommu_encode_unmap(&m, 0, 1ull << 39);
    uint64_t u2 = it_call(g_ep, &m, 0, &r);
    kt_result("client_cannot_touch_another_clients_device_or_iovas",
              granted == 0 && touched == 0 && u == IOMMU_ERR_NOT_MAPPED &&
                  u2 == IOMMU_ERR_NOT_MAPPED,
              "(%u attachable, %u handles usable, unmap of another's IOVA %s, of everything %s)",
              granted, touched, iommu_errname((unsigned)u), iommu_errname((unsigned)u2));

    /* The storm: random labels, lengths and words, sometimes with our own frame. */
    struct it_frame fr;
    bool have_frame = it_frame_new(12, &fr);
    unsigned wrong = 0, ipc_fail = 0, ok = 0;
    char first_wrong[96] = "";
    for (uint64_t i = 0; i < storm; i++) {
        uint64_t label = (rnd() % 8 == 0) ? rnd() % 128 : 1 + rnd() % 8;
        unsigned len = (unsigned)(rnd() % (IOMMU_MSG_WORDS + 1));
        for (unsigned k = 0; k < len; k++) {
            w[k] = word();
        }
        pc_cptr_t cap = (have_frame && rnd() % 4 == 0) ? fr.cap : 0;
        uint64_t err = it_call_raw(g_ep, label, len, w, cap, &r);
        if (pc_call_is_ipc_failure(err)) {
            ipc_fail++;
        } else if (!declared(label, err)) {
            if (wrong++ == 0) {
                snprintf(first_wrong, sizeof(first_wrong), "label %llu len %u -> %llu",
                         (unsigned long long)label, len, (unsigned long long)err);
            }
        } else if (err == IOMMU_OK) {
            ok++;
        }
    }
    /* Clean up whatever the storm managed to map (our own frame, our own domain). */
    iommu_encode_unmap(&m, 0, 1ull << 39);
    uint64_t cu = it_call(g_ep, &m, 0, &r);
    iommu_encode_fault_read(&m, 4);
    uint64_t fr_err = it_call(g_ep, &m, 0, &r);
    kt_result("random_storm_gets_declared_errors_and_server_keeps_answering",
              wrong == 0 && ipc_fail == 0 && fr_err == IOMMU_OK &&
                  (cu == IOMMU_OK || cu == IOMMU_ERR_NOT_MAPPED),
              "(%llu messages, %u accepted, %u undeclared%s%s, %u IPC failures, cleanup %s)",
              (unsigned long long)storm, ok, wrong, wrong ? ": first " : "", first_wrong, ipc_fail,
              iommu_errname((unsigned)cu));

    /* Our own frame at the IOVAs the edu client uses (0x100000, 0x200000): its device's DMA,
     * running meanwhile, must never land here, whatever the IOVA numbers say. */
    unsigned mapped = 0;
    if (have_frame) {
        for (unsigned i = 0; i < 4096; i++) {
            fr.va[i] = (uint8_t)(0xa5 ^ i);
        }
        for (uint64_t iova = 0x100000; iova <= 0x200000; iova += 0x100000) {
            iommu_encode_map(&m, iova, IOMMU_MEM_CAP, 0, 4096, IOMMU_READ | IOMMU_WRITE);
            mapped += it_call(g_ep, &m, fr.cap, &r) == IOMMU_OK;
        }
    }
    uint64_t sleep_ms = 3000;
    (void)task_cmdline_get_u64(si->cmdline, "overlay_ms", &sleep_ms);
    (void)it_wait_fault(sleep_ms * 1000);
    unsigned changed = 0;
    for (unsigned i = 0; have_frame && i < 4096; i++) {
        changed += fr.va[i] != (uint8_t)(0xa5 ^ i);
    }
    iommu_encode_unmap(&m, 0, 1ull << 39);
    uint64_t un = it_call(g_ep, &m, 0, &r);
    kt_result("same_iova_in_another_domain_is_not_reached",
              have_frame && mapped == 2 && changed == 0 && un == IOMMU_OK,
              "(%u of 2 mapped, %u bytes changed after %llu ms, unmap %s)", mapped, changed,
              (unsigned long long)sleep_ms, iommu_errname((unsigned)un));
    kt_finish();
}
