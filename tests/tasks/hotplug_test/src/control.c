/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control client (role hotplug_test): drives the in-guest half of the hotplug scenarios
 * through the server's control endpoint while the QMP script drives QEMU's half, and checks
 * what the server reports. Every wait here is a poll of slot_status with a deadline.
 *
 * scenario=basic  (QEMU: edu0 on rp2, vrng0 on rp1, rp7 empty)
 *   1. QMP device_del edu0 -> the slot goes OFF with one removal (orderly, by the button)
 *   2. QMP device_add edu0 -> the slot is ON again with a new handle (re-plug)
 *   3. control power-off of the populated slot -> surprise removal, QEMU deletes the device
 *   4. hostile and mistaken requests get defined errors and change nothing
 * scenario=cycles n=N  (QMP adds/removes edu1 on rp7 N times): waits for N removals.
 */
#include <stdio.h>
#include <string.h>

#include <hotplug/hotplug.h>
#include <hpsrv/client.h>
#include <hpsrv/protocol.h>
#include <portcullis/portcullis.h>

#include "hptest.h"

#define PORT_RP1 0x0008u /* 00:01.0 */
#define PORT_RP2 0x0010u /* 00:02.0 */
#define PORT_RP7 0x0018u /* 00:03.0 */

static pc_cptr_t g_ctl, g_sleep;

static uint64_t slot_request(uint64_t port, uint64_t request)
{
    return hps_slot_request(g_ctl, port, request);
}

/* A message no encoder makes: hostile or mistaken input. */
static uint64_t raw_call(uint64_t label, unsigned len, uint64_t a0, uint64_t a1)
{
    struct hps_msg m = {.label = label, .len = len, .w = {a0, a1}};
    return hps_call(g_ctl, &m, NULL);
}

static struct hps_slot_status slot_status(uint16_t port)
{
    return hps_slot_status(g_ctl, port);
}

/* Polls until the slot is in `state` with at least `removed` removals and `added` additions. */
static bool wait_slot(uint16_t port, uint64_t state, uint64_t added, uint64_t removed,
                      uint64_t timeout_ms, struct hps_slot_status *out)
{
    uint64_t end = hpt_now_ms() + timeout_ms;
    struct hps_slot_status s;
    do {
        s = slot_status(port);
        if (s.err == HP_OK && s.state == state && s.added >= added && s.removed >= removed) {
            *out = s;
            return true;
        }
        if (s.err == HP_ERR_NOT_OWNED) {
            break; /* not a slot of the server: nothing to wait for */
        }
        (void)pc_wait(g_sleep, 10000, NULL); /* nobody signals it: a 10 ms sleep */
    } while (hpt_now_ms() < end);
    *out = s;
    return false;
}

static void scenario_basic(void)
{
    struct hps_slot_status boot = slot_status(PORT_RP2), s;
    struct hps_slot_status rp1 = slot_status(PORT_RP1);
    hpt_result("slots_taken_over_with_boot_devices",
               boot.err == HP_OK && boot.state == HP_ST_ON && boot.dev == 0x0200 &&
                   rp1.err == HP_OK && rp1.state == HP_ST_ON && rp1.dev == 0x0100,
               "(rp2: err %llu state %llu dev %#llx; rp1: state %llu dev %#llx)",
               (unsigned long long)boot.err, (unsigned long long)boot.state,
               (unsigned long long)boot.dev, (unsigned long long)rp1.state,
               (unsigned long long)rp1.dev);
    task_log("hotplug_test: ready for device_del edu0");

    bool ok = wait_slot(PORT_RP2, HP_ST_OFF, 0, boot.removed + 1, 30000, &s);
    hpt_result("attention_button_removes_in_order_and_powers_off", ok,
               "(state %s, %llu removal(s))", hp_state_str((int)s.state),
               (unsigned long long)s.removed);

    ok = wait_slot(PORT_RP2, HP_ST_ON, boot.added + 1, boot.removed + 1, 30000, &s);
    hpt_result("replug_same_slot_gets_new_handle",
               ok && s.handle != boot.handle && (s.handle & 0xffff) == 0x0200 &&
                   (s.handle >> 16) > (boot.handle >> 16),
               "(state %s, handle %#llx after %#llx)", hp_state_str((int)s.state),
               (unsigned long long)s.handle, (unsigned long long)boot.handle);

    /* QEMU's only way to make a device vanish under a live driver. */
    uint64_t e = slot_request(PORT_RP2, HP_REQ_POWER_OFF);
    struct hps_slot_status after;
    ok = wait_slot(PORT_RP2, HP_ST_OFF, 0, s.removed + 1, 10000, &after);
    hpt_result("control_power_off_is_surprise_removal", e == HP_OK && ok,
               "(request %llu, state %s, %llu removal(s))", (unsigned long long)e,
               hp_state_str((int)after.state), (unsigned long long)after.removed);
    /* QEMU sends no DEVICE_DELETED without a device_del: the script looks at the bus instead,
     * while this task waits a bounded while. */
    task_log("hotplug_test: edu0 powered off, check it is gone");
    (void)pc_wait(g_sleep, 1500000, NULL);

    /* Bad input: each gets its defined error and nothing moves. */
    struct hps_slot_status before1 = slot_status(PORT_RP1);
    e = slot_request(0x00f8 /* 00:1f.0, not a slot */, HP_REQ_POWER_OFF);
    hpt_result("request_for_foreign_port_not_owned", e == HP_ERR_NOT_OWNED, "(error %llu)",
               (unsigned long long)e);
    e = slot_request(PORT_RP1, 7);
    hpt_result("unknown_request_invalid", e == HP_ERR_INVALID, "(error %llu)",
               (unsigned long long)e);
    e = raw_call(HPS_SLOT_REQUEST, 1, PORT_RP1, 0);
    hpt_result("short_request_invalid", e == HP_ERR_INVALID, "(error %llu)", (unsigned long long)e);
    e = slot_request(0x10000 | PORT_RP1, HP_REQ_POWER_OFF);
    hpt_result("request_with_out_of_range_port_invalid", e == HP_ERR_INVALID, "(error %llu)",
               (unsigned long long)e);
    e = raw_call(0x7777, 0, 0, 0);
    hpt_result("unknown_label_invalid", e == HP_ERR_INVALID, "(error %llu)", (unsigned long long)e);
    e = raw_call(HP_GONE_DETACHED, 1, (1ull << 16) | 0x0100, 0);
    hpt_result("detached_from_control_badge_refused", e == HP_ERR_INVALID, "(error %llu)",
               (unsigned long long)e);
    e = slot_request(PORT_RP2, HP_REQ_POWER_ON);
    hpt_result("power_on_of_empty_slot_no_device", e == HP_ERR_NO_DEVICE, "(error %llu)",
               (unsigned long long)e);
    struct hps_slot_status now1 = slot_status(PORT_RP1), now2 = slot_status(PORT_RP2);
    hpt_result("refused_requests_change_nothing",
               now1.state == before1.state && now1.handle == before1.handle &&
                   now1.removed == before1.removed && now2.state == HP_ST_OFF &&
                   now2.removed == after.removed,
               "(rp1 %s handle %#llx, rp2 %s)", hp_state_str((int)now1.state),
               (unsigned long long)now1.handle, hp_state_str((int)now2.state));
}

/* With the real IOMMU server and the edu driver (mode=serve replug): the button removal waits
 * for the driver's detached, the re-plug goes to the same driver, which attaches the new
 * occupant; then a surprise power-off of the slot the driver no longer serves. */
static void scenario_system(void)
{
    struct hps_slot_status boot, s;
    bool ok = wait_slot(PORT_RP2, HP_ST_ON, 1, 0, 20000, &boot);
    hpt_result("edu0_slot_on_with_driver", ok && boot.dev == 0x0200, "(state %s)",
               hp_state_str((int)boot.state));
    task_log("hotplug_test: ready for device_del edu0");
    ok = wait_slot(PORT_RP2, HP_ST_OFF, 0, boot.removed + 1, 30000, &s);
    hpt_result("edu0_removed_after_driver_detached", ok, "(state %s, %llu removal(s))",
               hp_state_str((int)s.state), (unsigned long long)s.removed);
    ok = wait_slot(PORT_RP2, HP_ST_ON, boot.added + 1, boot.removed + 1, 30000, &s);
    hpt_result("edu0_replugged_with_new_handle", ok && (s.handle >> 16) > (boot.handle >> 16),
               "(handle %#llx after %#llx)", (unsigned long long)s.handle,
               (unsigned long long)boot.handle);
}

/* vrng0 (virtio-rng, ATS on) behind rp1 with its driver serving: QMP device_del -> orderly. */
static void scenario_ats_orderly(void)
{
    struct hps_slot_status boot, s;
    bool ok = wait_slot(PORT_RP1, HP_ST_ON, 1, 0, 20000, &boot);
    hpt_result("vrng0_slot_on_with_driver", ok && boot.dev == 0x0100, "(state %s)",
               hp_state_str((int)boot.state));
    task_log("hotplug_test: ready for device_del vrng0");
    ok = wait_slot(PORT_RP1, HP_ST_OFF, 0, boot.removed + 1, 30000, &s);
    hpt_result("vrng0_orderly_removal_completed", ok, "(state %s, %llu removal(s))",
               hp_state_str((int)s.state), (unsigned long long)s.removed);
}

/* The same device powered off by request while the edu driver keeps doing DMA on rp2. */
static void scenario_ats_surprise(void)
{
    struct hps_slot_status boot, s;
    bool ok = wait_slot(PORT_RP1, HP_ST_ON, 1, 0, 20000, &boot) &&
              wait_slot(PORT_RP2, HP_ST_ON, 1, 0, 20000, &s);
    hpt_result("vrng0_and_edu0_slots_on", ok, "(rp1 %s, rp2 %s)", hp_state_str((int)boot.state),
               hp_state_str((int)s.state));
    (void)pc_wait(g_sleep, 300000, NULL); /* edu's transfers are under way by now */
    task_log("hotplug_test: powering off rp1 (vrng0) while edu0 does DMA");
    uint64_t e = slot_request(PORT_RP1, HP_REQ_POWER_OFF);
    ok = wait_slot(PORT_RP1, HP_ST_OFF, 0, boot.removed + 1, 10000, &s);
    hpt_result("vrng0_surprise_removed_by_control_request", e == HP_OK && ok,
               "(request %llu, state %s, %llu removal(s))", (unsigned long long)e,
               hp_state_str((int)s.state), (unsigned long long)s.removed);
    task_log("hotplug_test: vrng0 powered off");
}

/* The default image's demo: the spare port's device is unplugged and re-plugged by the QMP
 * script; this only holds the run open until that is done, and says whether it was. */
static void scenario_replug_watch(void)
{
    /* Counted, not compared with a first look: the script may finish before this task runs. */
    struct hps_slot_status s = {0};
    bool ok = wait_slot(PORT_RP7, HP_ST_ON, 2, 1, 30000, &s);
    hpt_result("spare_slot_unplugged_and_replugged", ok && (s.handle >> 16) >= 2,
               "(rp7: %llu removal(s), %llu insertion(s), handle %#llx)",
               (unsigned long long)s.removed, (unsigned long long)s.added,
               (unsigned long long)s.handle);
}

/* edu0's driver finished its work and exited (mode=selftest): it never answers device_going.
 * The removal must complete at the detach deadline anyway. */
static void scenario_no_detach(void)
{
    struct hps_slot_status boot, s;
    bool ok = wait_slot(PORT_RP2, HP_ST_ON, 1, 0, 20000, &boot);
    task_log("hotplug_test: ready for device_del edu0");
    uint64_t t0 = 0;
    ok = ok && wait_slot(PORT_RP2, HP_ST_WAIT_DETACH, 0, 0, 30000, &s);
    t0 = hpt_now_ms();
    ok = ok && wait_slot(PORT_RP2, HP_ST_OFF, 0, boot.removed + 1, 10000, &s);
    uint64_t waited = hpt_now_ms() - t0;
    hpt_result("driver_never_detaching_powered_off_at_deadline", ok && waited < 5000,
               "(state %s, %llu removal(s), %llu ms in WAIT_DETACH or after)",
               hp_state_str((int)s.state), (unsigned long long)s.removed,
               (unsigned long long)waited);
}

/* The IOMMU (stand-in) refuses both fences of edu0: the button removal must still end with the
 * slot off and device_removed, each refusal logged. */
static void scenario_fence_refused(void)
{
    struct hps_slot_status boot, s;
    bool ok = wait_slot(PORT_RP2, HP_ST_ON, 1, 0, 20000, &boot);
    task_log("hotplug_test: ready for device_del edu0");
    ok = ok && wait_slot(PORT_RP2, HP_ST_OFF, 0, boot.removed + 1, 30000, &s);
    hpt_result("refused_fence_removal_still_completes", ok, "(state %s, %llu removal(s))",
               hp_state_str((int)s.state), (unsigned long long)s.removed);
}

/* A device hot-added where no driver runs: the root task starts a fresh instance of the role
 * that drives it (its BARs programmed into rp7's window, registered at the IOMMU server). The
 * instance reports its own checks; this only waits for the slot. */
static void scenario_fresh(void)
{
    struct hps_slot_status s;
    task_log("hotplug_test: ready for device_add edu1");
    bool ok = wait_slot(PORT_RP7, HP_ST_ON, 1, 0, 30000, &s);
    hpt_result("hot_added_device_on_and_assigned", ok && s.dev == 0x0300,
               "(state %s, handle %#llx)", hp_state_str((int)s.state),
               (unsigned long long)s.handle);
}

/* The server runs with a cancel window (cancel_ms): the button starts it, a second device_del
 * inside it is QEMU's to refuse, and the removal happens when the window closes. */
static void scenario_window(void)
{
    struct hps_slot_status boot, s;
    bool ok = wait_slot(PORT_RP2, HP_ST_ON, 1, 0, 20000, &boot);
    task_log("hotplug_test: ready for device_del edu0");
    ok = ok && wait_slot(PORT_RP2, HP_ST_BUTTON_WAIT, 0, 0, 30000, &s);
    uint64_t t0 = hpt_now_ms();
    ok = ok && wait_slot(PORT_RP2, HP_ST_OFF, 0, boot.removed + 1, 10000, &s);
    uint64_t waited = hpt_now_ms() - t0;
    hpt_result("button_removal_after_cancel_window", ok && waited >= 500,
               "(state %s, %llu removal(s), %llu ms from the window to the removal)",
               hp_state_str((int)s.state), (unsigned long long)s.removed,
               (unsigned long long)waited);
}

/* The IOMMU server's leak accounting, through the hotplug server. */
struct counts {
    uint64_t err;
    struct hps_iommu_counts_rets c;
};

static struct counts iommu_counts(uint16_t sid)
{
    struct counts c;
    c.err = hps_iommu_counts(g_ctl, sid, &c.c);
    return c;
}

/* Same accounting (the generation aside). */
static bool counts_equal(const struct counts *a, const struct counts *b)
{
    return a->err == 0 && b->err == 0 && hps_counts_same(&a->c, &b->c);
}

static void counts_str(const struct counts *c, char *out, size_t cap)
{
    const struct hps_iommu_counts_rets *x = &c->c;
    snprintf(out, cap, "dom %llu map %llu pt %llu pin %llu stuck %llu dev %llu/%llu/%llu irte %llu",
             (unsigned long long)x->domains, (unsigned long long)x->mappings,
             (unsigned long long)x->table_pages, (unsigned long long)x->pins,
             (unsigned long long)x->stuck, (unsigned long long)x->present,
             (unsigned long long)x->fenced, (unsigned long long)x->quarantined,
             (unsigned long long)x->irtes);
}

static void scenario_cycles(uint64_t n, uint16_t port, bool counts)
{
    struct hps_slot_status s;
    struct counts before = {0}, after = {0};
    if (counts) {
        /* The client has attached and mapped its two pages: the state every cycle returns to. */
        uint64_t end = hpt_now_ms() + 30000;
        do {
            before = iommu_counts(0x0200);
            (void)pc_wait(g_sleep, 10000, NULL);
        } while ((before.err != 0 || before.c.mappings < 2) && hpt_now_ms() < end);
    }
    task_log("hotplug_test: ready for cycles");
    /* Every cycle ends with the device re-inserted: boot (or the script's closing insertion)
     * plus N insertions, N removals. The deadline is long in guest time: under -icount with
     * sleep=off an idle guest's clock runs far ahead of the host's while the script works (the
     * ctest deadline bounds the run). */
    bool ok = wait_slot(port, HP_ST_ON, n + 1, n, 36000000, &s);
    hpt_result("unplug_replug_cycles_completed", ok, "(%llu added, %llu removed, %llu cycles)",
               (unsigned long long)s.added, (unsigned long long)s.removed, (unsigned long long)n);
    if (counts) {
        /* After the last re-plug the client maps its two pages again: the counts must come back
         * to where they were (polled: the client may still be re-mapping). */
        uint64_t end = hpt_now_ms() + 3000;
        do {
            after = iommu_counts(0x0200);
            (void)pc_wait(g_sleep, 10000, NULL);
        } while (!counts_equal(&before, &after) && hpt_now_ms() < end);
        char b[96], a[96];
        counts_str(&before, b, sizeof(b));
        counts_str(&after, a, sizeof(a));
        hpt_result("iommu_counts_back_to_start_after_cycles",
                   counts_equal(&before, &after) && after.c.generation == before.c.generation + n,
                   "(before: %s gen %llu; after: %s gen %llu)", b,
                   (unsigned long long)before.c.generation, a,
                   (unsigned long long)after.c.generation);
    }
}

int hpt_control_main(const task_start_info_t *si)
{
    g_ctl = task_cap_slot(si, "hotplug_ctl", TASK_CAP_ENDPOINT);
    g_sleep = task_cap_slot(si, "sleep", TASK_CAP_NOTIFICATION);
    pc_cptr_t standin = task_cap_slot(si, "standin", TASK_CAP_ENDPOINT);
    char scenario[16] = "";
    uint64_t n = 0;
    (void)task_cmdline_get(si->cmdline, "scenario", scenario, sizeof(scenario));
    (void)task_cmdline_get_u64(si->cmdline, "n", &n);
    if (g_ctl == 0) {
        hpt_result("control_has_hotplug_endpoint", false, "(no hotplug_ctl grant)");
        return hpt_finish();
    }
    /* The server takes its slots over first. */
    struct hps_slot_status s;
    (void)wait_slot(PORT_RP1, HP_ST_ON, 1, 0, 20000, &s);
    if (strcmp(scenario, "basic") == 0) {
        scenario_basic();
    } else if (strcmp(scenario, "cycles") == 0) {
        uint64_t port = PORT_RP7;
        (void)task_cmdline_get_u64(si->cmdline, "port", &port);
        scenario_cycles(n, (uint16_t)port, task_cmdline_has(si->cmdline, "counts"));
    } else if (strcmp(scenario, "system") == 0) {
        scenario_system();
    } else if (strcmp(scenario, "refused") == 0) {
        scenario_fence_refused();
    } else if (strcmp(scenario, "window") == 0) {
        scenario_window();
    } else if (strcmp(scenario, "fresh") == 0) {
        scenario_fresh();
    } else if (strcmp(scenario, "no_detach") == 0) {
        scenario_no_detach();
    } else if (strcmp(scenario, "replug_watch") == 0) {
        scenario_replug_watch();
    } else if (strcmp(scenario, "ats_orderly") == 0) {
        scenario_ats_orderly();
    } else if (strcmp(scenario, "ats_surprise") == 0) {
        scenario_ats_surprise();
    } else {
        hpt_result("control_scenario_known", false, "(scenario=%s)", scenario);
    }
    /* Over the whole scenario: every IOMMU call answered, no deadline expired. Also makes the
     * server print its latency BENCH lines. */
    struct hps_server_stats_rets st;
    bool have = hps_server_stats(g_ctl, &st) == HP_OK;
    uint64_t failed = have ? st.iommu_failed : ~0ull;
    uint64_t timeouts = have ? st.timeouts : ~0ull;
    uint64_t want_timeouts = 0, want_failed = 0; /* scenarios that provoke them say how many */
    (void)task_cmdline_get_u64(si->cmdline, "timeouts", &want_timeouts);
    (void)task_cmdline_get_u64(si->cmdline, "iommu_failures", &want_failed);
    hpt_result("only_expected_iommu_failures_and_deadlines",
               have && failed == want_failed && timeouts == want_timeouts,
               "(%llu fences, %llu removed, %llu added; %llu failed IOMMU calls, %llu timeouts)",
               (unsigned long long)st.fences, (unsigned long long)st.removed,
               (unsigned long long)st.added, (unsigned long long)failed,
               (unsigned long long)timeouts);
    /* A QMP script may still wait for QEMU's last DEVICE_DELETED: give it a bounded moment
     * before the run can end. */
    (void)pc_wait(g_sleep, 1000000, NULL);
    if (standin != 0) {
        /* Let the stand-in judge the calls it saw. */
        pc_msg_t m;
        memset(&m, 0, sizeof(m));
        m.info = pc_msginfo(1, 0, 0, 1);
        m.mr[0] = n;
        (void)pc_call(standin, &m);
    }
    return hpt_finish();
}
