/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libhotplug against the QEMU pcie-root-port slot model: the removal, surprise and re-plug
 * sequences of DESIGN.md, every bounded wait (driver detach, command completed, config reads),
 * spurious and repeated events, the cancel window, events for slots the server does not own,
 * 100 unplug/re-plug cycles, and the device-gone protocol codec. Each test checks the exact
 * order of the calls out of the library and the harness's independent invariants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int failures;
static const char *current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s: %s:%d: %s\n", current, __FILE__, __LINE__, #cond);           \
            failures++;                                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_CLEAN(h)                                                                             \
    do {                                                                                           \
        if ((h)->violations != 0) {                                                                \
            fprintf(stderr, "FAIL %s: %u invariant violation(s), first: %s\n", current,            \
                    (h)->violations, (h)->first_violation);                                        \
            failures++;                                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define MS 1000000ull
#define SEC 1000000000ull

static struct harness H; /* large: keep it off the stack */

/* Asserts that the ops after `from` begin with exactly `ops` (model power/vanish records
 * included), returns the index after them or -1. */
static int expect_ops(const struct harness *h, unsigned from, const enum hh_op *ops, unsigned n)
{
    unsigned i = from, k = 0;
    for (; k < n && i < h->n; i++, k++) {
        if (h->trace[i].op != ops[k]) {
            fprintf(stderr, "  trace[%u] = op %d, expected op %d\n", i, h->trace[i].op, ops[k]);
            return -1;
        }
    }
    return k == n ? (int)i : -1;
}
#define EXPECT_OPS(h, from, ...)                                                                   \
    expect_ops((h), (from), (const enum hh_op[]){__VA_ARGS__},                                     \
               sizeof((const enum hh_op[]){__VA_ARGS__}) / sizeof(enum hh_op))

/* Empty slot taken over, then a QEMU device_add brought all the way up. */
static int plug(struct harness *h)
{
    if (pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) != PCIE_MODEL_OK) {
        return -1;
    }
    hh_pump(h);
    hh_settle(h, 10 * SEC);
    return hh_slot(h)->state == HP_ST_ON ? 0 : -1;
}

static void test_boot_device_is_added_and_assigned(void)
{
    struct harness *h = &H;
    hh_init(h, true);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_ON);
    CHECK(EXPECT_OPS(h, 0, HH_ADDED, HH_ASSIGN) >= 0);
    CHECK(h->trace[1].arg == HP_HANDLE(HH_SID_DEV0, 1));
    CHECK(pcie_model_sltctl(&h->m, 0) & PCI_EXP_SLTCTL_HPIE);
    CHECK(pcie_model_sltctl(&h->m, 0) & PCI_EXP_SLTCTL_PDCE);
    CHECK(pcie_model_sltctl(&h->m, 0) & PCI_EXP_SLTCTL_ABPE);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_empty_powered_slot_is_powered_off_at_takeover(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    /* leave it powered and empty, as firmware might */
    h->m.ports[0].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_SLTCTL + 1] &=
        (uint8_t) ~(PCI_EXP_SLTCTL_PCC >> 8);
    CHECK(pcie_model_powered(&h->m, 0));
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    CHECK(!pcie_model_powered(&h->m, 0));
    CHECK(h->op_count[HH_ADDED] == 0 && h->op_count[HH_REMOVED] == 0);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_orderly_removal_fences_then_waits_for_detach_then_powers_off(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    hp_handle_t hd = hp_slot_handle(hh_slot(h));
    unsigned from = h->n;

    CHECK(pcie_model_device_del(&h->m, 0) == PCIE_MODEL_OK); /* QMP device_del: ABP */
    hh_pump(h);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_DETACH);
    CHECK(EXPECT_OPS(h, from, HH_FENCE_ORDERLY, HH_GOING) >= 0);
    CHECK(h->trace[from + 1].arg == hd);
    CHECK(h->m.ports[0].dev_present); /* nothing is powered off before the driver let go */
    CHECK(hp_server_next_deadline(&h->srv) == h->now + HP_DEFAULT_DETACH_TIMEOUT_NS);

    hh_advance(h, 3 * MS);
    CHECK(hh_detached(h, hd) == HP_GONE_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(EXPECT_OPS(h, from, HH_FENCE_ORDERLY, HH_GOING, HH_VANISH, HH_POWER_OFF, HH_REMOVED) >=
          0);
    CHECK(h->op_count[HH_GONE] == 0); /* it detached: nothing more to tell */
    CHECK(!h->m.ports[0].dev_present);
    CHECK(!pcie_model_powered(&h->m, 0));
    CHECK((pcie_model_sltctl(&h->m, 0) & PCI_EXP_SLTCTL_PIC_MASK) ==
          (PCI_EXP_SLTCTL_IND_OFF << PCI_EXP_SLTCTL_PIC_SHIFT));
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    CHECK(h->logs[HP_LOG_REMOVED] == 1);
    /* a late detached for the removed device is refused, changes nothing */
    CHECK(hh_detached(h, hd) == HP_GONE_ERR_STALE);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_surprise_pull_fences_surprise_before_anything_else(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    unsigned from = h->n;

    pcie_model_pull(&h->m, 0); /* real hardware: the card leaves; PDC with PDS = 0 */
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(EXPECT_OPS(h, from, HH_VANISH, HH_FENCE_SURPRISE, HH_GONE, HH_POWER_OFF, HH_REMOVED) >=
          0);
    CHECK(h->op_count[HH_FENCE_ORDERLY] == 0 && h->op_count[HH_GOING] == 0);
    CHECK(h->logs[HP_LOG_SURPRISE] == 1);
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_control_power_off_of_populated_slot_is_surprise_removal(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    unsigned from = h->n;

    /* The seeds' "turn off EP's power": QEMU removes the device inside the power-off write. */
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_POWER_OFF, h->now) == HP_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(EXPECT_OPS(h, from, HH_FENCE_SURPRISE, HH_GONE, HH_VANISH, HH_POWER_OFF, HH_REMOVED) >=
          0);
    CHECK(h->trace[from + 2].arg == 0); /* vanished by the power-off write */
    CHECK(!h->m.ports[0].dev_present);
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    /* asking again is harmless */
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_POWER_OFF, h->now) == HP_OK);
    CHECK(h->op_count[HH_REMOVED] == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_replug_powers_on_waits_for_config_then_adds_and_assigns(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    hp_handle_t old = hp_slot_handle(hh_slot(h));
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_REMOVE, h->now) == HP_OK);
    CHECK(hh_detached(h, old) == HP_GONE_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    h->now += 5 * SEC;
    h->m.now_ns = h->now;
    unsigned from = h->n;

    /* device_add at the same BDF */
    CHECK(pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) == PCIE_MODEL_OK);
    uint64_t t0 = h->now;
    hh_pump(h);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_CONFIG); /* powered, settling */
    CHECK(h->op_count[HH_ADDED] == 1);             /* only the first occupant so far */
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(EXPECT_OPS(h, from, HH_POWER_ON, HH_ADDED, HH_ASSIGN) >= 0);
    CHECK(h->trace[from + 1].now - t0 >= HP_DEFAULT_SETTLE_NS); /* PCIe 6.6.1 wait honoured */
    hp_handle_t fresh = h->trace[from + 2].arg;
    CHECK(HP_HANDLE_SID(fresh) == HP_HANDLE_SID(old) && fresh != old);
    /* the old driver's stale handle gets an error, the new one works */
    CHECK(hh_detached(h, old) == HP_GONE_ERR_STALE);
    CHECK(h->logs[HP_LOG_STALE_HANDLE] == 1);
    CHECK(hh_slot(h)->state == HP_ST_ON);
    CHECK(pcie_model_sltctl(&h->m, 0) & (PCI_EXP_SLTCTL_IND_ON << PCI_EXP_SLTCTL_PIC_SHIFT));
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_device_that_never_answers_is_faulted_powered_off_and_not_added(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) == PCIE_MODEL_OK);
    h->m.ports[0].dev_dead = true;
    uint64_t t0 = h->now;
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_FAULTED);
    CHECK(h->logs[HP_LOG_CONFIG_TIMEOUT] == 1);
    CHECK(h->last_log.code == HP_LOG_CONFIG_TIMEOUT || h->logs[HP_LOG_CONFIG_TIMEOUT] == 1);
    CHECK(h->op_count[HH_ADDED] == 0 && h->op_count[HH_ASSIGN] == 0 &&
          h->op_count[HH_REMOVED] == 0);
    CHECK(!pcie_model_powered(&h->m, 0));
    CHECK((pcie_model_sltctl(&h->m, 0) & PCI_EXP_SLTCTL_AIC_MASK) ==
          (PCI_EXP_SLTCTL_IND_ON << PCI_EXP_SLTCTL_AIC_SHIFT)); /* attention on */
    CHECK(h->now - t0 >= HP_DEFAULT_CONFIG_TIMEOUT_NS &&
          h->now - t0 < 2 * HP_DEFAULT_CONFIG_TIMEOUT_NS);
    /* QEMU's power-off write removed the (unanswering) device; a retry with no card is refused */
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_POWER_ON, h->now) == HP_ERR_NO_DEVICE);
    /* a working card inserted later comes up */
    hh_pump(h);
    CHECK(pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) == PCIE_MODEL_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_ON);
    CHECK(h->op_count[HH_ADDED] == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_driver_that_never_detaches_is_powered_off_at_the_deadline(void)
{
    struct harness *h = &H;
    struct hp_slot_config cfg;
    hh_init(h, false);
    hp_slot_config_defaults(&cfg, HH_SID_PORT0, 3);
    cfg.detach_timeout_ns = 250 * MS;
    CHECK(hh_add_slot(h, &cfg) == HP_OK);
    CHECK(plug(h) == 0);
    unsigned from = h->n;
    CHECK(pcie_model_device_del(&h->m, 0) == PCIE_MODEL_OK);
    uint64_t t0 = h->now;
    hh_pump(h);
    CHECK(hp_server_next_deadline(&h->srv) == t0 + 250 * MS);
    hh_advance(h, 249 * MS);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_DETACH); /* not a moment early */
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->logs[HP_LOG_DETACH_TIMEOUT] == 1);
    CHECK(EXPECT_OPS(h, from, HH_FENCE_ORDERLY, HH_GOING, HH_GONE, HH_VANISH, HH_POWER_OFF,
                     HH_REMOVED) >= 0);
    CHECK(h->trace[from + 2].now == t0 + 250 * MS);
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_command_completed_timeout_proceeds_and_logs(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(hh_settle(h, 10 * SEC));
    h->m.ports[0].cc_broken = true; /* the port stops completing commands */
    CHECK(pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) == PCIE_MODEL_OK);
    uint64_t t0 = h->now;
    hh_pump(h);
    CHECK(hh_slot(h)->state == HP_ST_POWERING_ON);
    CHECK(hh_slot(h)->cmd_busy);
    CHECK(hp_server_next_deadline(&h->srv) == t0 + HP_DEFAULT_CC_TIMEOUT_NS);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->logs[HP_LOG_CC_TIMEOUT] == 1);
    CHECK(hh_slot(h)->state == HP_ST_ON); /* proceeded: the power-on had happened */
    CHECK(h->op_count[HH_ADDED] == 1);
    /* a removal needs two more commands and each waits out its deadline */
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_POWER_OFF, h->now) == HP_OK);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->logs[HP_LOG_CC_TIMEOUT] == 2);
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    CHECK(h->op_count[HH_REMOVED] == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_command_completed_found_by_poll_when_its_interrupt_is_lost(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) == PCIE_MODEL_OK);
    h->m.ports[0].cc_broken = true; /* completion arrives late and its interrupt is lost */
    hh_pump(h);
    h->m.ports[0].cc_broken = false;
    h->m.ports[0].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_SLTSTA] |= PCI_EXP_SLTSTA_CC;
    CHECK(hh_slot(h)->state == HP_ST_POWERING_ON);
    CHECK(!pcie_model_take_irq(&h->m, 0));
    CHECK(hh_slot(h)->cmd_busy);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->logs[HP_LOG_CC_TIMEOUT] == 0); /* the deadline's poll found CC set */
    CHECK(hh_slot(h)->state == HP_ST_ON);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_lost_interrupt_is_found_by_the_slow_poll(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) == PCIE_MODEL_OK);
    while (pcie_model_take_irq(&h->m, 0)) {
        /* the MSI is lost */
    }
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_OFF); /* nothing can be known without the interrupt... */
    pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE);
    CHECK(!pcie_model_take_irq(&h->m, 0)); /* ...and the status bit left set never re-fires */
    h->now += HP_POLL_INTERVAL_NS;
    h->m.now_ns = h->now;
    hp_server_poll(&h->srv, h->now);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_ON && h->op_count[HH_ADDED] == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_slot_without_command_completion_does_not_wait(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    pcie_model_set_nccs(&h->m, 0, true);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(!(pcie_model_sltctl(&h->m, 0) & PCI_EXP_SLTCTL_CCIE));
    CHECK(plug(h) == 0);
    CHECK(!hh_slot(h)->cmd_busy);
    CHECK(h->logs[HP_LOG_CC_TIMEOUT] == 0);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_spurious_and_repeated_pdc_abp_are_harmless(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    /* in the empty slot: PDC with nothing present, CC with no command, twice */
    for (int i = 0; i < 2; i++) {
        pcie_model_inject(&h->m, 0, PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_CC);
        hh_pump(h);
    }
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_OFF && h->n == 0);
    CHECK(plug(h) == 0);
    unsigned from = h->n;
    /* while on: PDC but the same device still answers */
    for (int i = 0; i < 3; i++) {
        pcie_model_inject(&h->m, 0, PCI_EXP_SLTSTA_PDC);
        hh_pump(h);
    }
    CHECK(h->logs[HP_LOG_SPURIOUS_PDC] == 3);
    CHECK(h->n == from && hh_slot(h)->state == HP_ST_ON);
    /* the button twice: the first press starts the removal, the second is ignored */
    pcie_model_push_button(&h->m, 0);
    hh_pump(h);
    pcie_model_push_button(&h->m, 0);
    hh_pump(h);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_DETACH);
    CHECK(h->op_count[HH_FENCE_ORDERLY] == 1 && h->op_count[HH_GOING] == 1);
    CHECK(h->logs[HP_LOG_IGNORED] >= 1);
    CHECK(hh_detached(h, hp_slot_handle(hh_slot(h))) == HP_GONE_OK);
    /* a repeated detached is stale now */
    CHECK(hh_detached(h, hp_slot_handle(hh_slot(h))) == HP_GONE_ERR_STALE);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    /* repeated PDC and ABP after removal */
    pcie_model_inject(&h->m, 0, PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_ABP);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    CHECK(h->op_count[HH_REMOVED] == 1 && h->op_count[HH_ADDED] == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_cancel_window_second_press_cancels_removal(void)
{
    struct harness *h = &H;
    struct hp_slot_config cfg;
    hh_init(h, false);
    hp_slot_config_defaults(&cfg, HH_SID_PORT0, 3);
    cfg.cancel_window_ns = 8 * SEC;
    CHECK(hh_add_slot(h, &cfg) == HP_OK);
    CHECK(plug(h) == 0);
    unsigned from = h->n;

    CHECK(pcie_model_device_del(&h->m, 0) == PCIE_MODEL_OK);
    hh_pump(h);
    CHECK(hh_slot(h)->state == HP_ST_BUTTON_WAIT);
    CHECK((pcie_model_sltctl(&h->m, 0) & PCI_EXP_SLTCTL_PIC_MASK) ==
          (PCI_EXP_SLTCTL_IND_BLINK << PCI_EXP_SLTCTL_PIC_SHIFT));
    /* QEMU refuses another device_del within 5 s, and after that while the indicator blinks */
    CHECK(pcie_model_device_del(&h->m, 0) == PCIE_MODEL_ERR_PENDING);
    hh_advance(h, 6 * SEC);
    CHECK(pcie_model_device_del(&h->m, 0) == PCIE_MODEL_ERR_BLINKING);
    pcie_model_push_button(&h->m, 0); /* the operator changes their mind */
    hh_pump(h);
    CHECK(h->logs[HP_LOG_CANCELLED] == 1);
    CHECK(hh_slot(h)->state == HP_ST_ON);
    CHECK((pcie_model_sltctl(&h->m, 0) & PCI_EXP_SLTCTL_PIC_MASK) ==
          (PCI_EXP_SLTCTL_IND_ON << PCI_EXP_SLTCTL_PIC_SHIFT));
    CHECK(h->n == from); /* nobody was told anything */
    hh_advance(h, 10 * SEC);
    CHECK(hh_slot(h)->state == HP_ST_ON);

    /* pressed once and left alone: removal starts when the window closes */
    pcie_model_push_button(&h->m, 0);
    uint64_t t0 = h->now;
    hh_pump(h);
    hh_advance(h, 8 * SEC - 1);
    CHECK(hh_slot(h)->state == HP_ST_BUTTON_WAIT);
    hh_advance(h, 1);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_DETACH);
    CHECK(EXPECT_OPS(h, from, HH_FENCE_ORDERLY, HH_GOING) >= 0);
    CHECK(h->trace[from].now == t0 + 8 * SEC);
    CHECK(hh_detached(h, hp_slot_handle(hh_slot(h))) == HP_GONE_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_OFF && !h->m.ports[0].dev_present);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_events_for_unowned_slots_are_logged_and_ignored(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(hh_settle(h, 10 * SEC));
    /* port 1 is populated but not ours: enable its interrupt and delete its device */
    h->m.ports[1].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_SLTCTL] |=
        PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_HPIE;
    CHECK(pcie_model_device_del(&h->m, 1) == PCIE_MODEL_OK);
    hh_pump(h);
    CHECK(h->logs[HP_LOG_NOT_OWNED] == 1);
    CHECK(hp_server_irq(&h->srv, PCI_SID(0, 9, 0), h->now) == HP_ERR_NOT_OWNED);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT1, HP_REQ_POWER_OFF, h->now) == HP_ERR_NOT_OWNED);
    CHECK(hh_detached(h, HP_HANDLE(HH_SID_DEV1, 1)) == HP_GONE_ERR_UNKNOWN);
    CHECK(h->logs[HP_LOG_UNKNOWN_SID] == 1);
    CHECK(hh_detached(h, HP_HANDLE(HH_SID_DEV0, 0)) == HP_GONE_ERR_HANDLE);
    CHECK(hh_detached(h, HP_HANDLE(HH_SID_DEV0, 7)) == HP_GONE_ERR_STALE);
    CHECK(h->logs[HP_LOG_NOT_OWNED] == 3);
    CHECK(h->n == 0);                        /* no call out of the library */
    CHECK(h->m.ports[1].sltctl_writes == 0); /* and nothing written to the foreign port */
    CHECK(h->m.ports[1].dev_present);        /* its device still waits for its owner */
    /* refused configurations */
    struct hp_slot_config cfg;
    hp_slot_config_defaults(&cfg, HH_SID_PORT1, 4);
    h->m.ports[1].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_FLAGS + 1] &=
        (uint8_t) ~(PCI_EXP_FLAGS_SLOT >> 8);
    CHECK(hp_server_add_slot(&h->srv, &cfg, h->now, NULL) == HP_ERR_NOT_SLOT);
    h->m.ports[1].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_FLAGS + 1] |=
        (uint8_t)(PCI_EXP_FLAGS_SLOT >> 8);
    h->m.ports[1].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_SLTCAP] &= (uint8_t)~PCI_EXP_SLTCAP_HPC;
    CHECK(hp_server_add_slot(&h->srv, &cfg, h->now, NULL) == HP_ERR_NOT_SLOT);
    hp_slot_config_defaults(&cfg, PCI_SID(0, 9, 0), 9);
    CHECK(hp_server_add_slot(&h->srv, &cfg, h->now, NULL) == HP_ERR_PORT_ABSENT);
    hp_slot_config_defaults(&cfg, HH_SID_PORT0, 3);
    CHECK(hp_server_add_slot(&h->srv, &cfg, h->now, NULL) == HP_ERR_EXISTS);
    hp_slot_config_defaults(&cfg, HH_SID_PORT1, 0);
    CHECK(hp_server_add_slot(&h->srv, &cfg, h->now, NULL) == HP_ERR_INVALID);
    hp_slot_config_defaults(&cfg, HH_SID_PORT1, 4);
    cfg.cc_timeout_ns = 0;
    CHECK(hp_server_add_slot(&h->srv, &cfg, h->now, NULL) == HP_ERR_INVALID);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, (enum hp_request)7, h->now) == HP_ERR_INVALID);
    CHECK(h->srv.n_slots == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_link_down_is_surprise_removal(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    unsigned from = h->n;
    pcie_model_link_down(&h->m, 0); /* PDS still set; QEMU would not interrupt for DLLSC */
    CHECK(hp_server_irq(&h->srv, HH_SID_PORT0, h->now) == HP_OK); /* the server's poll */
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(EXPECT_OPS(h, from, HH_FENCE_SURPRISE, HH_GONE) >= 0);
    CHECK(hh_find(h, HH_REMOVED, from) > 0);
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_surprise_during_detach_wait_escalates_to_surprise_fence(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    unsigned from = h->n;
    CHECK(pcie_model_device_del(&h->m, 0) == PCIE_MODEL_OK);
    hh_pump(h);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_DETACH);
    pcie_model_pull(&h->m, 0);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(EXPECT_OPS(h, from, HH_FENCE_ORDERLY, HH_GOING, HH_VANISH, HH_FENCE_SURPRISE, HH_GONE) >=
          0);
    CHECK(h->op_count[HH_REMOVED] == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_card_pulled_before_its_queued_power_off_is_fenced_as_surprise(void)
{
    struct harness *h = &H;
    struct hp_slot_config cfg;
    hh_init(h, false);
    hp_slot_config_defaults(&cfg, HH_SID_PORT0, 3);
    cfg.cancel_window_ns = 100 * MS;
    CHECK(hh_add_slot(h, &cfg) == HP_OK);
    CHECK(plug(h) == 0);
    h->m.ports[0].cc_broken = true; /* the blink command will not complete... */
    pcie_model_push_button(&h->m, 0);
    hh_pump(h);
    hh_advance(h, 100 * MS);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_DETACH);
    unsigned from = h->n;
    CHECK(hh_detached(h, hp_slot_handle(hh_slot(h))) == HP_GONE_OK);
    CHECK(hh_slot(h)->state == HP_ST_POWERING_OFF && hh_slot(h)->cmd_queued); /* ...so it waits */
    pcie_model_pull(&h->m, 0); /* the card leaves before the power-off reaches the slot */
    hh_pump(h);
    CHECK(EXPECT_OPS(h, from, HH_VANISH, HH_FENCE_SURPRISE) >= 0);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->logs[HP_LOG_CC_TIMEOUT] >= 1 && h->op_count[HH_REMOVED] == 1);
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_failed_orderly_fence_falls_back_to_surprise_fence(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    h->fence_orderly_rc = 5;
    unsigned from = h->n;
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_REMOVE, h->now) == HP_OK);
    CHECK(EXPECT_OPS(h, from, HH_FENCE_ORDERLY, HH_FENCE_SURPRISE, HH_GOING) >= 0);
    CHECK(h->logs[HP_LOG_IOMMU_FAILED] == 1);
    CHECK(h->last_log.code == HP_LOG_IOMMU_FAILED || h->logs[HP_LOG_IOMMU_FAILED] == 1);
    CHECK(hh_detached(h, hp_slot_handle(hh_slot(h))) == HP_GONE_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_OFF && h->op_count[HH_REMOVED] == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_unreachable_driver_and_no_driver_do_not_block_removal(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    h->assign_rc = -1; /* policy finds no driver */
    CHECK(plug(h) == 0);
    CHECK(h->logs[HP_LOG_NO_DRIVER] == 1);
    CHECK(!hh_slot(h)->driver_bound);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_REMOVE, h->now) == HP_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->op_count[HH_GOING] == 0 && h->op_count[HH_REMOVED] == 1);
    /* a driver that is assigned but dead */
    h->assign_rc = 0;
    h->going_rc = -1;
    CHECK(plug(h) == 0);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_REMOVE, h->now) == HP_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->logs[HP_LOG_DRIVER_UNREACHABLE] == 1);
    CHECK(h->op_count[HH_REMOVED] == 2 && hh_slot(h)->state == HP_ST_OFF);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_failed_added_gets_no_driver_and_no_removed(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    h->added_rc = 3;
    CHECK(plug(h) == 0);
    CHECK(h->op_count[HH_ASSIGN] == 0 && h->logs[HP_LOG_IOMMU_FAILED] == 1);
    pcie_model_pull(&h->m, 0);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->op_count[HH_FENCE_SURPRISE] == 1 && h->op_count[HH_REMOVED] == 0);
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    h->added_rc = 0;
    h->dev[0].up = false; /* the stand-in never held it */
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_card_swapped_behind_a_present_slot_is_removed_then_new_one_added(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    h->m.ports[0].keeps_card = true; /* real hardware: power-off leaves the card in */
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    hp_handle_t old = hp_slot_handle(hh_slot(h));
    unsigned from = h->n;
    /* swapped between two status reads: presence still set, another card answers */
    h->m.ports[0].device = 0x1001;
    pcie_model_inject(&h->m, 0, PCI_EXP_SLTSTA_PDC);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(EXPECT_OPS(h, from, HH_FENCE_SURPRISE, HH_GONE, HH_POWER_OFF, HH_REMOVED, HH_POWER_ON,
                     HH_ADDED, HH_ASSIGN) >= 0);
    CHECK(h->trace[from + 6].arg != old);
    CHECK(hh_slot(h)->state == HP_ST_ON && hh_slot(h)->device == 0x1001);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_card_pulled_during_bringup_is_never_added(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) == PCIE_MODEL_OK);
    hh_pump(h);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_CONFIG);
    /* QEMU's device_del now only pushes the button: ignored while the slot comes up */
    CHECK(pcie_model_device_del(&h->m, 0) == PCIE_MODEL_OK);
    hh_pump(h);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_CONFIG && h->logs[HP_LOG_IGNORED] == 1);
    pcie_model_pull(&h->m, 0);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->logs[HP_LOG_BRINGUP_ABORTED] == 1);
    CHECK(h->op_count[HH_ADDED] == 0 && h->op_count[HH_FENCE_SURPRISE] == 0 &&
          h->op_count[HH_REMOVED] == 0);
    CHECK(hh_slot(h)->state == HP_ST_OFF && !pcie_model_powered(&h->m, 0));
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_port_reading_all_ones_is_an_empty_slot_with_bounded_waits(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    unsigned from = h->n;
    h->m.ports[0].port_dead = true;
    CHECK(hp_server_irq(&h->srv, HH_SID_PORT0, h->now) == HP_ERR_PORT_ABSENT);
    CHECK(h->logs[HP_LOG_PORT_UNREADABLE] == 1);
    CHECK(EXPECT_OPS(h, from, HH_FENCE_SURPRISE, HH_GONE) >= 0);
    CHECK(hh_settle(h, 10 * SEC)); /* the power-off command never completes: bounded */
    CHECK(h->logs[HP_LOG_CC_TIMEOUT] == 1 && h->op_count[HH_REMOVED] == 1);
    CHECK(hh_slot(h)->state == HP_ST_OFF);
    CHECK_CLEAN(h);
}

static void test_voluntary_release_and_busy_requests(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    CHECK(hh_detached(h, hp_slot_handle(hh_slot(h))) == HP_GONE_OK); /* driver lets go */
    CHECK(hh_slot(h)->state == HP_ST_ON && !hh_slot(h)->driver_bound);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_REMOVE, h->now) == HP_OK);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(h->op_count[HH_GOING] == 0 && h->op_count[HH_REMOVED] == 1); /* nobody to wait for */
    CHECK(plug(h) == 0);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_REMOVE, h->now) == HP_OK);
    CHECK(hh_slot(h)->state == HP_ST_WAIT_DETACH);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_POWER_ON, h->now) == HP_ERR_BUSY);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_REMOVE, h->now) == HP_OK); /* already */
    CHECK(hh_detached(h, hp_slot_handle(hh_slot(h))) == HP_GONE_OK);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_OFF && h->op_count[HH_REMOVED] == 2);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_hundred_unplug_replug_cycles_leave_no_state_behind(void)
{
    struct harness *h = &H;
    struct hp_slot first;
    memset(&first, 0, sizeof(first));
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    struct pcie_model_port *mp = &h->m.ports[0];
    unsigned plug_r = 0, plug_w = 0, plug_irq = 0, del_r = 0, del_w = 0, del_irq = 0;
    for (int i = 0; i < 100; i++) {
        unsigned r0 = mp->cfg_reads, w0 = mp->cfg_writes, q0 = mp->irqs;
        CHECK(plug(h) == 0);
        plug_r += mp->cfg_reads - r0, plug_w += mp->cfg_writes - w0, plug_irq += mp->irqs - q0;
        r0 = mp->cfg_reads, w0 = mp->cfg_writes, q0 = mp->irqs;
        hp_handle_t hd = hp_slot_handle(hh_slot(h));
        CHECK(HP_HANDLE_GEN(hd) == (uint32_t)(i + 1));
        h->now += 5 * SEC; /* QEMU's device_del guard */
        h->m.now_ns = h->now;
        CHECK(pcie_model_device_del(&h->m, 0) == PCIE_MODEL_OK);
        hh_pump(h);
        CHECK(hh_detached(h, hd) == HP_GONE_OK);
        hh_pump(h);
        CHECK(hh_settle(h, 10 * SEC));
        CHECK(hh_slot(h)->state == HP_ST_OFF);
        del_r += mp->cfg_reads - r0, del_w += mp->cfg_writes - w0, del_irq += mp->irqs - q0;
        if (i == 0) {
            first = *hh_slot(h);
        }
    }
    /* cost, printed not asserted: config-space accesses and slot interrupts per operation */
    printf("    per insertion: %.1f config reads, %.1f config writes, %.1f interrupts\n",
           plug_r / 100.0, plug_w / 100.0, plug_irq / 100.0);
    printf("    per orderly removal: %.1f config reads, %.1f config writes, %.1f interrupts\n",
           del_r / 100.0, del_w / 100.0, del_irq / 100.0);
    struct hp_slot *s = hh_slot(h);
    CHECK(s->n_added == 100 && s->n_removed == 100);
    CHECK(h->op_count[HH_ADDED] == 100 && h->op_count[HH_REMOVED] == 100);
    CHECK(h->op_count[HH_FENCE_ORDERLY] == 100 && h->op_count[HH_GOING] == 100);
    CHECK(h->m.ports[0].removals == 100);
    /* the slot after 100 cycles equals the slot after one, but for the generation, counters
     * and timestamps */
    CHECK(!s->cmd_busy && !s->cmd_queued && !s->added && !s->fenced && !s->driver_bound);
    CHECK(!s->deferred_present && s->deadline == UINT64_MAX);
    CHECK(s->state == first.state && s->off_next == first.off_next && s->dev_sid == first.dev_sid);
    CHECK(s->gen == 100 && s->n_ignored == first.n_ignored && s->n_cc_timeouts == 0);
    CHECK(h->srv.n_slots == 1);
    CHECK(h->logs[HP_LOG_IGNORED] == 0 && h->logs[HP_LOG_CC_TIMEOUT] == 0);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_faulted_slot_retries_on_request_and_button(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    /* A real card that answers only on the second try: present, dead the first time. The model
     * would remove it on the power-off write, so make it a card QEMU cannot remove: put it back
     * after the fault. */
    CHECK(pcie_model_device_add(&h->m, 0, HH_EDU_VENDOR, HH_EDU_DEVICE) == PCIE_MODEL_OK);
    h->m.ports[0].dev_dead = true;
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_FAULTED);
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_POWER_ON, h->now) == HP_ERR_NO_DEVICE);
    hh_pump(h);
    /* card re-seated (physically present, powered off) */
    h->m.ports[0].dev_present = true;
    h->m.ports[0].dev_dead = false;
    h->m.ports[0].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_SLTSTA] |= PCI_EXP_SLTSTA_PDS;
    pcie_model_push_button(&h->m, 0);
    hh_pump(h);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(hh_slot(h)->state == HP_ST_ON);
    CHECK(h->op_count[HH_ADDED] == 1);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_handle_carries_the_iommu_generation(void)
{
    struct harness *h = &H;
    hh_init(h, false);
    h->iommu_generations = true;
    h->iommu_gen = 41;
    CHECK(hh_add_slot(h, NULL) == HP_OK);
    CHECK(plug(h) == 0);
    hp_handle_t hd = hp_slot_handle(hh_slot(h));
    CHECK(hd == HP_HANDLE(HH_SID_DEV0, 42)); /* the IOMMU protocol's handle for this occupant */
    CHECK(hp_server_request(&h->srv, HH_SID_PORT0, HP_REQ_POWER_OFF, h->now) == HP_OK);
    CHECK(hh_settle(h, 10 * SEC));
    CHECK(plug(h) == 0);
    CHECK(hp_slot_handle(hh_slot(h)) == HP_HANDLE(HH_SID_DEV0, 43));
    CHECK(hh_detached(h, hd) == HP_GONE_ERR_STALE);
    hh_check_settled(h);
    CHECK_CLEAN(h);
}

static void test_gone_protocol_codec_rejects_malformed_messages(void)
{
    struct hp_gone_msg msg = {HP_GONE_DETACHED, HP_HANDLE(HH_SID_DEV0, 3)}, out;
    uint64_t label, mr[2];
    unsigned len;
    uint32_t accept = 1u << HP_GONE_DETACHED;

    CHECK(hp_gone_encode(&msg, &label, mr, 2, &len) == HP_GONE_OK);
    CHECK(label == HP_GONE_DETACHED && len == 1 && mr[0] == msg.handle);
    CHECK(hp_gone_decode(label, mr, len, accept, &out) == HP_GONE_OK);
    CHECK(out.label == HP_GONE_DETACHED && out.handle == msg.handle);

    memset(&out, 0xab, sizeof(out));
    struct hp_gone_msg before = out;
    CHECK(hp_gone_decode(99, mr, 1, 0, &out) == HP_GONE_ERR_LABEL);
    CHECK(hp_gone_decode(HP_GONE_DEVICE_GONE, mr, 1, accept, &out) == HP_GONE_ERR_LABEL);
    CHECK(hp_gone_decode(label, mr, 0, accept, &out) == HP_GONE_ERR_LENGTH);
    CHECK(hp_gone_decode(label, mr, 2, accept, &out) == HP_GONE_ERR_LENGTH);
    mr[0] = 1ull << 48 | msg.handle;
    CHECK(hp_gone_decode(label, mr, 1, accept, &out) == HP_GONE_ERR_HANDLE);
    mr[0] = HP_HANDLE(HH_SID_DEV0, 0);
    CHECK(hp_gone_decode(label, mr, 1, accept, &out) == HP_GONE_ERR_HANDLE);
    CHECK(memcmp(&out, &before, sizeof(out)) == 0); /* errors change nothing */
    CHECK(hp_gone_encode(&msg, &label, mr, 0, &len) == HP_GONE_ERR_LENGTH);
    msg.handle = 5; /* generation 0 */
    CHECK(hp_gone_encode(&msg, &label, mr, 2, &len) == HP_GONE_ERR_HANDLE);
    CHECK(hp_gone_label_errors(HP_GONE_DETACHED) & HP_GONE_ERRBIT(HP_GONE_ERR_STALE));
    CHECK(hp_gone_label_errors(HP_GONE_DEVICE_GOING) == 0);
    CHECK(strcmp(hp_gone_label_str(HP_GONE_DEVICE_GONE), "HP_GONE_DEVICE_GONE") == 0);
    CHECK(strcmp(hp_gone_err_str(1000), "unknown error") == 0);
}

static void test_model_matches_qemu_capture_of_empty_root_port(void)
{
#ifdef PC_TEST_DATA_DIR
    struct harness *h = &H;
    uint8_t img[4096];
    FILE *f = fopen(PC_TEST_DATA_DIR "/q35-iommu/pci/00_03.0.bin", "rb");
    CHECK(f != NULL);
    size_t n = fread(img, 1, sizeof(img), f);
    fclose(f);
    CHECK(n == sizeof(img));
    hh_init(h, false);
    const uint8_t *c = h->m.ports[0].cfg;
    unsigned cap = img[PCI_CAPABILITY_LIST]; /* the capture's list starts at the PCIe cap */
    CHECK(img[cap] == PCI_CAP_ID_EXP && cap == PCIE_MODEL_PORT_CAP);
    /* flags, link capabilities, slot capabilities/control/status of rp7 (slot 7, empty) */
    CHECK(memcmp(c + cap + PCI_EXP_FLAGS, img + cap + PCI_EXP_FLAGS, 2) == 0);
    CHECK(memcmp(c + cap + PCI_EXP_LNKCAP, img + cap + PCI_EXP_LNKCAP, 4) == 0);
    CHECK(memcmp(c + cap + PCI_EXP_SLTCAP, img + cap + PCI_EXP_SLTCAP, 4) == 0);
    CHECK(memcmp(c + cap + PCI_EXP_SLTCTL, img + cap + PCI_EXP_SLTCTL, 4) == 0);
#endif
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
#define T(fn) {#fn, fn}
        T(test_boot_device_is_added_and_assigned),
        T(test_empty_powered_slot_is_powered_off_at_takeover),
        T(test_orderly_removal_fences_then_waits_for_detach_then_powers_off),
        T(test_surprise_pull_fences_surprise_before_anything_else),
        T(test_control_power_off_of_populated_slot_is_surprise_removal),
        T(test_replug_powers_on_waits_for_config_then_adds_and_assigns),
        T(test_device_that_never_answers_is_faulted_powered_off_and_not_added),
        T(test_driver_that_never_detaches_is_powered_off_at_the_deadline),
        T(test_command_completed_timeout_proceeds_and_logs),
        T(test_command_completed_found_by_poll_when_its_interrupt_is_lost),
        T(test_lost_interrupt_is_found_by_the_slow_poll),
        T(test_slot_without_command_completion_does_not_wait),
        T(test_spurious_and_repeated_pdc_abp_are_harmless),
        T(test_cancel_window_second_press_cancels_removal),
        T(test_events_for_unowned_slots_are_logged_and_ignored),
        T(test_link_down_is_surprise_removal),
        T(test_surprise_during_detach_wait_escalates_to_surprise_fence),
        T(test_card_pulled_before_its_queued_power_off_is_fenced_as_surprise),
        T(test_failed_orderly_fence_falls_back_to_surprise_fence),
        T(test_unreachable_driver_and_no_driver_do_not_block_removal),
        T(test_failed_added_gets_no_driver_and_no_removed),
        T(test_card_swapped_behind_a_present_slot_is_removed_then_new_one_added),
        T(test_card_pulled_during_bringup_is_never_added),
        T(test_port_reading_all_ones_is_an_empty_slot_with_bounded_waits),
        T(test_voluntary_release_and_busy_requests),
        T(test_hundred_unplug_replug_cycles_leave_no_state_behind),
        T(test_faulted_slot_retries_on_request_and_button),
        T(test_handle_carries_the_iommu_generation),
        T(test_gone_protocol_codec_rejects_malformed_messages),
        T(test_model_matches_qemu_capture_of_empty_root_port),
#undef T
    };
    unsigned n = sizeof(tests) / sizeof(tests[0]);
    for (unsigned i = 0; i < n; i++) {
        int before = failures;
        current = tests[i].name;
        tests[i].fn();
        printf("%s %s\n", failures == before ? "ok  " : "FAIL", tests[i].name);
    }
    printf("%u tests, %d failed\n", n, failures);
    return failures == 0 ? 0 : 1;
}
