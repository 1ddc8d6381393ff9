/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The in-guest half of the driver surprise-removal test (role drivers_surprise_ctl). QEMU has no
 * surprise removal; the nearest is powering a populated slot off without a removal request: the
 * card vanishes inside that write (shared/QEMU.md). This task waits until the edu driver says its
 * device works (the "ready" notification it signals) with an occupant of generation `gen` or later
 * in the slot, then asks the hotplug server - through its control endpoint - to power the slot
 * off. The hotplug server fences the device (surprise) before anything else and tells the driver
 * it is gone; the driver's own TEST lines judge what it did. Every wait here has a deadline.
 *
 * Command line: port=<sid of the root port> (default 0x10, 00:02.0), gen=N (default 2).
 */
#include <stdio.h>
#include <string.h>

#include <hotplug/gone.h>
#include <hotplug/hotplug.h>
#include <hpsrv/client.h>
#include <hpsrv/protocol.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

static unsigned g_passed, g_failed;
static pc_cptr_t g_ctl;

static void result(const char *name, bool ok, const char *detail)
{
    char line[160];
    snprintf(line, sizeof(line), "TEST surprise_ctl_%s: %s %s", name, ok ? "PASS" : "FAIL", detail);
    task_log(line);
    ok ? g_passed++ : g_failed++;
}

static struct hps_slot_status slot_status(uint64_t port)
{
    return hps_slot_status(g_ctl, port);
}

static uint64_t now_ms(const task_start_info_t *si)
{
    uint64_t hz = si->tsc_hz >= 1000 ? si->tsc_hz : 1000000000ull;
    return task_rdtsc() / (hz / 1000);
}

int main(void)
{
    const task_start_info_t *si = task_start();
    if (si == NULL) {
        return 1;
    }
    g_ctl = task_cap_slot(si, "hotplug_ctl", TASK_CAP_ENDPOINT);
    pc_cptr_t ready = task_cap_slot(si, "ready", TASK_CAP_NOTIFICATION);
    uint64_t port = 0x10, gen = 2;
    (void)task_cmdline_get_u64(si->cmdline, "port", &port);
    (void)task_cmdline_get_u64(si->cmdline, "gen", &gen);
    char detail[128];

    /* 1. the driver works with an occupant of generation >= gen */
    struct hps_slot_status s = {0};
    bool seen = false;
    uint64_t end = now_ms(si) + 60000;
    while (!seen && g_ctl != 0 && ready != 0 && now_ms(si) < end) {
        pc_word_t word = 0;
        if (pc_wait(ready, 100000, &word) != PC_OK) {
            continue;
        }
        s = slot_status(port);
        seen = s.err == HP_OK && s.state == HP_ST_ON && HP_HANDLE_GEN(s.handle) >= gen;
    }
    snprintf(detail, sizeof(detail), "(slot %#llx handle %#llx, wanted generation >= %llu)",
             (unsigned long long)port, (unsigned long long)s.handle, (unsigned long long)gen);
    result("driver_ready_with_new_occupant", seen, detail);

    /* 2. power the populated slot off: a surprise removal */
    if (seen) {
        uint64_t removed = s.removed;
        uint64_t err = hps_slot_request(g_ctl, port, HP_REQ_POWER_OFF);
        bool ipc_failed = pc_call_is_ipc_failure(err);
        snprintf(detail, sizeof(detail), "(call %llu, server %s)",
                 (unsigned long long)pc_call_ipc_error(err),
                 ipc_failed ? "-" : hp_err_str((int)err));
        result("power_off_requested", err == HP_OK, detail);
        bool off = false;
        end = now_ms(si) + 10000;
        while (!off && now_ms(si) < end) {
            s = slot_status(port);
            /* the removal count, not the state: QMP may insert the next card at once */
            off = s.err == HP_OK && s.removed > removed;
            if (!off) {
                pc_word_t word = 0;
                (void)pc_wait(ready, 10000, &word); /* a 10 ms sleep */
            }
        }
        snprintf(detail, sizeof(detail), "(state %llu, %llu removal(s))",
                 (unsigned long long)s.state, (unsigned long long)s.removed);
        result("slot_removal_counted", off, detail);
    }
    (void)task_report_done(g_passed, g_failed);
    return g_failed ? 1 : 0;
}
