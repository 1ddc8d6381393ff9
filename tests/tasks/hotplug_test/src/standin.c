/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A stand-in for the IOMMU server's hotplug role (role hp_iommu_standin): it serves the "iommu"
 * endpoint the hotplug server calls, answers device_fence / device_removed / device_added as
 * libiommu's protocol declares (a source-id present since boot answers device_added with
 * PRESENT, a new occupant gets generation + 1, an unknown source-id UNKNOWN) and records every
 * call with its guest time. When the control test (badge HPT_BADGE_REPORT on the same endpoint)
 * says the scenario is over, it checks the recorded order against what the hotplug sequences
 * require and reports. This lets the hotplug server's QEMU tests judge exactly which calls it
 * made, in which order, without depending on the real IOMMU server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommu/protocol.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

#include "hptest.h"

#define MAX_CALLS 512
#define MAX_SIDS 16

struct call {
    uint64_t label, sid, mode;
    int err;
};
static struct call g_calls[MAX_CALLS];
static unsigned g_ncalls;

static struct {
    uint16_t sid;
    bool present, fenced;
    uint32_t gen;
} g_dev[MAX_SIDS];
static unsigned g_ndev;
static int g_refuse_fence = -1; /* refuse_fence=SID: answer UNKNOWN to fences of SID */

static int dev_find(uint16_t sid, bool create)
{
    for (unsigned i = 0; i < g_ndev; i++) {
        if (g_dev[i].sid == sid) {
            return (int)i;
        }
    }
    if (!create || g_ndev == MAX_SIDS) {
        return -1;
    }
    g_dev[g_ndev].sid = sid;
    g_dev[g_ndev].gen = 0;
    return (int)g_ndev++;
}

static void serve_hotplug(pc_msg_t *m)
{
    uint64_t label = pc_msginfo_label(m->info);
    unsigned len = pc_msginfo_length(m->info);
    uint64_t sid = m->mr[0], mode = m->mr[1];
    int err = IOMMU_HP_OK;
    uint64_t ret = 0;
    unsigned rets = 0;
    int d = sid <= 0xffff ? dev_find((uint16_t)sid, label == IOMMU_LABEL_DEVICE_ADDED) : -1;
    switch (label) {
    case IOMMU_LABEL_DEVICE_FENCE:
        if (len != 2) {
            err = IOMMU_HP_ERR_BAD_MSG;
        } else if (sid > 0xffff || (mode != IOMMU_FENCE_ORDERLY && mode != IOMMU_FENCE_SURPRISE)) {
            err = IOMMU_HP_ERR_BAD_ARG;
        } else if (d < 0 || (int)sid == g_refuse_fence) {
            /* an unknown source-id, or one the scenario makes unknown on purpose */
            err = IOMMU_HP_ERR_UNKNOWN;
        } else {
            g_dev[d].fenced = true;
            rets = 1;
        }
        break;
    case IOMMU_LABEL_DEVICE_REMOVED:
        if (len != 1) {
            err = IOMMU_HP_ERR_BAD_MSG;
        } else if (sid > 0xffff) {
            err = IOMMU_HP_ERR_BAD_ARG;
        } else if (d < 0) {
            err = IOMMU_HP_ERR_UNKNOWN;
        } else {
            g_dev[d].present = false;
        }
        break;
    case IOMMU_LABEL_DEVICE_ADDED:
        if (len != 1) {
            err = IOMMU_HP_ERR_BAD_MSG;
        } else if (sid > 0xffff) {
            err = IOMMU_HP_ERR_BAD_ARG;
        } else if (d < 0) {
            err = IOMMU_HP_ERR_NO_SPACE;
        } else if (g_dev[d].present && !g_dev[d].fenced) {
            err = IOMMU_HP_ERR_PRESENT;
        } else {
            g_dev[d].present = true;
            g_dev[d].fenced = false;
            g_dev[d].gen++;
            ret = g_dev[d].gen;
            rets = 1;
        }
        break;
    default:
        err = IOMMU_HP_ERR_BAD_LABEL;
        break;
    }
    if (g_ncalls < MAX_CALLS) {
        g_calls[g_ncalls++] = (struct call){label, sid, mode, err};
    }
    m->info = pc_msginfo((uint64_t)err, 0, 0, rets);
    m->mr[0] = ret;
}

static const char *name_of(uint64_t label)
{
    return label == IOMMU_LABEL_DEVICE_FENCE     ? "fence"
           : label == IOMMU_LABEL_DEVICE_REMOVED ? "removed"
           : label == IOMMU_LABEL_DEVICE_ADDED   ? "added"
                                                 : "?";
}

/* The calls for one source-id, as a string: "fence(o) removed added fence(s) removed". */
static void history(uint16_t sid, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < g_ncalls && n + 16 < cap; i++) {
        if (g_calls[i].sid != sid) {
            continue;
        }
        const char *mode = g_calls[i].label != IOMMU_LABEL_DEVICE_FENCE ? ""
                           : g_calls[i].mode == IOMMU_FENCE_ORDERLY     ? "(o)"
                                                                        : "(s)";
        n += (size_t)snprintf(out + n, cap - n, "%s%s%s%s", n ? " " : "", name_of(g_calls[i].label),
                              mode, g_calls[i].err ? "!" : "");
    }
}

/* Checks the history of `sid` against `want` and reports one TEST line. */
static void expect_history(const char *test, uint16_t sid, const char *want)
{
    char got[400];
    history(sid, got, sizeof(got));
    hpt_result(test, strcmp(got, want) == 0, "(%02x:%02x.%x: got \"%s\", want \"%s\")", sid >> 8,
               (sid >> 3) & 0x1f, sid & 7, got, want);
}

/* Every removal pairs with exactly one fence before it, and no device_added comes while the
 * previous occupant is neither removed nor fenced: the ordering rule over the whole run. */
static void check_invariants(void)
{
    unsigned bad = 0, fences = 0, removals = 0, adds = 0;
    for (unsigned k = 0; k < g_ndev; k++) {
        bool live = false, fenced = false;
        for (unsigned i = 0; i < g_ncalls; i++) {
            const struct call *c = &g_calls[i];
            if (c->sid != g_dev[k].sid) {
                continue;
            }
            if (c->label == IOMMU_LABEL_DEVICE_FENCE) {
                fenced = true;
                fences++;
            } else if (c->label == IOMMU_LABEL_DEVICE_REMOVED) {
                bad += !fenced; /* removal without a fence first */
                live = false;
                removals++;
            } else if (c->label == IOMMU_LABEL_DEVICE_ADDED && c->err == IOMMU_HP_OK) {
                bad += live && !fenced;
                live = true;
                fenced = false;
                adds++;
            }
        }
    }
    hpt_result("every_removal_fenced_first_over_the_run", bad == 0 && removals > 0,
               "(%u calls: %u fences, %u removals, %u adds, %u violations)", g_ncalls, fences,
               removals, adds, bad);
}

/* rp7: N x (added, fence(orderly), removed), nothing else. */
static void expect_cycles(uint16_t sid, uint64_t n)
{
    uint64_t done = 0, bad = 0;
    unsigned phase = 0;
    for (unsigned i = 0; i < g_ncalls; i++) {
        const struct call *c = &g_calls[i];
        if (c->sid != sid) {
            continue;
        }
        uint64_t want = phase == 0   ? IOMMU_LABEL_DEVICE_ADDED
                        : phase == 1 ? IOMMU_LABEL_DEVICE_FENCE
                                     : IOMMU_LABEL_DEVICE_REMOVED;
        if (c->label != want || c->err != 0 || (phase == 1 && c->mode != IOMMU_FENCE_ORDERLY)) {
            bad++;
        }
        phase = (phase + 1) % 3;
        done += phase == 0;
    }
    hpt_result("rp7_every_cycle_added_fenced_orderly_removed", bad == 0 && done == n && n > 0,
               "(%llu cycles seen, %llu expected, %llu out of order; %u calls recorded)",
               (unsigned long long)done, (unsigned long long)n, (unsigned long long)bad, g_ncalls);
}

int hpt_standin_main(const task_start_info_t *si)
{
    pc_cptr_t ep = task_cap_slot(si, "iommu", TASK_CAP_ENDPOINT);
    if (ep == 0) {
        hpt_result("standin_has_iommu_endpoint", false, "(no iommu grant)");
        return hpt_finish();
    }
    /* Boot devices are known as present, as the IOMMU server knows them from enumeration. */
    char list[64] = "";
    (void)task_cmdline_get(si->cmdline, "present", list, sizeof(list));
    for (char *p = list; *p;) {
        unsigned long v = strtoul(p, &p, 16);
        int d = dev_find((uint16_t)v, true);
        if (d >= 0) {
            g_dev[d].present = true;
            g_dev[d].gen = 1;
        }
        while (*p == ':' || *p == '+') {
            p++;
        }
    }
    uint64_t refuse = 0;
    if (task_cmdline_get_u64(si->cmdline, "refuse_fence", &refuse) && refuse <= 0xffff) {
        g_refuse_fence = (int)refuse;
    }
    char scenario[16] = "";
    (void)task_cmdline_get(si->cmdline, "scenario", scenario, sizeof(scenario));
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    bool reply = false;
    for (;;) {
        pc_word_t err =
            reply ? pc_reply_recv(ep, &m, PC_TIMEOUT_FOREVER) : pc_recv(ep, &m, PC_TIMEOUT_FOREVER);
        reply = false;
        if (err != PC_OK) {
            continue;
        }
        if (m.badge == HPT_BADGE_REPORT) {
            /* The scenario is over: judge and answer. */
            if (strcmp(scenario, "basic") == 0) {
                /* boot take-over (present since boot), QMP device_del, QMP device_add, control
                 * power-off of the populated slot */
                expect_history("edu0_calls_in_order_boot_orderly_readd_surprise", 0x0200,
                               "added! fence(o) removed added fence(s) removed");
                expect_history("vrng0_untouched_while_edu0_cycles", 0x0100, "added!");
            } else if (strcmp(scenario, "window") == 0) {
                /* one removal, however many button presses QEMU let through */
                expect_history("button_twice_one_orderly_removal", 0x0200,
                               "added! fence(o) removed");
            } else if (strcmp(scenario, "refused") == 0) {
                /* both fences refused: the removal still completes, device_removed last */
                expect_history("refused_fences_still_end_in_removal", 0x0200,
                               "added fence(o)! fence(s)! removed");
            } else if (strcmp(scenario, "cycles") == 0) {
                expect_cycles(0x0300, m.mr[0]);
            }
            check_invariants();
            m.info = pc_msginfo(0, 0, 0, 1);
            m.mr[0] = g_ncalls;
            (void)pc_reply(&m);
            return hpt_finish();
        }
        serve_hotplug(&m);
        reply = true;
    }
}
