/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzzes libhotplug's slot state machine with random sequences of what the world can do to a
 * slot - QMP device_add/device_del, button presses, surprise pulls, link loss, raw status bits,
 * lost interrupts, a port that stops completing commands, a device that stops answering,
 * failing IOMMU/driver calls, driver answers with good and bad handles, control requests, and
 * time passing - against the QEMU slot model. Driver answers and control requests arrive as
 * messages (some malformed) through the server's decoder (hps_decode), and every answer, the
 * decoder's and the library's, must be an error the protocol table declares for the method. The
 * harness checks the ordering invariants on every call (fence before removed, never removed or
 * added twice, fence(surprise) first after a device vanished, no power-off under an unfenced
 * occupant, command and detach deadlines honoured and logged). At the end, with the world quiet,
 * the slot must settle within bounded virtual time into ON, OFF or FAULTED in agreement with the
 * IOMMU stand-in and (unless the port was made to drop writes) with the model.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hotplug/gone.h>
#include <hpsrv/protocol.h>

#include "harness.h"

static struct harness H;

struct input {
    const uint8_t *p;
    size_t n;
};

static uint8_t next(struct input *in)
{
    if (in->n == 0) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

static void fail(const char *what)
{
    const struct harness *h = &H;
    for (unsigned i = 0; i < h->n; i++) {
        fprintf(stderr, "  trace %2u: op %d sid %04x arg %llx at %llu\n", i, h->trace[i].op,
                h->trace[i].sid, (unsigned long long)h->trace[i].arg,
                (unsigned long long)h->trace[i].now);
    }
    fprintf(stderr, "hotplug fuzz: %s\n", what);
    abort();
}

static void check_declared(uint64_t e, uint64_t declared, const char *what)
{
    if (e != 0 && (e >= 64 || !(declared & (1ull << e)))) {
        fprintf(stderr, "%s answered %llu, an error its table does not declare\n", what,
                (unsigned long long)e);
        fail("undeclared error");
    }
}

/* A driver's detached through the decoder; form 0..11 is well formed, the rest is not. */
static void driver_detached(struct harness *h, hp_handle_t hd, unsigned form)
{
    const struct hp_gone_method_info *det = hp_gone_method_find(HP_GONE_DETACHED);
    struct hps_msg m = {.label = HP_GONE_DETACHED,
                        .badge = HPS_BADGE_DRIVER_BASE | 5u,
                        .len = det->nargs,
                        .w = {hd, 0}};
    switch (form) {
    case 12:
        m.len = 2;
        break;
    case 13:
        m.len = 0;
        break;
    case 14:
        m.badge = HPS_BADGE_CONTROL; /* not the control client's method */
        break;
    case 15:
        m.label = HP_GONE_DEVICE_GOING; /* a server-to-driver label */
        break;
    }
    struct hps_request req;
    uint64_t e = hps_decode(&m, &req);
    if (form == 14) {
        if (e != HP_ERR_INVALID) {
            fail("detached from the control badge accepted");
        }
        return;
    }
    check_declared(e, det->errors, "decode of detached");
    if (e == 0) {
        check_declared((uint64_t)hh_detached(h, req.a.detached_handle), det->errors,
                       "hp_server_detached");
    }
}

/* A control slot_request through the decoder; form 0..11 is well formed, the rest is not. */
static void control_request(struct harness *h, pci_sid_t port, unsigned request, unsigned form)
{
    const struct hps_method_info *mi = hps_method_find(HPS_SLOT_REQUEST);
    struct hps_msg m;
    hps_encode_slot_request(&m, port, request);
    m.badge = HPS_BADGE_CONTROL;
    switch (form) {
    case 12:
        m.len = 1;
        break;
    case 13:
        m.w[0] |= 0x10000; /* no source-id */
        break;
    case 14:
        m.badge = HPS_BADGE_DRIVER_BASE | 5u; /* not a driver's method */
        break;
    case 15:
        m.len = 3; /* longer than any message */
        break;
    }
    struct hps_request req;
    uint64_t e = hps_decode(&m, &req);
    if (form == 14) {
        if (e != HP_GONE_ERR_LABEL) {
            fail("slot_request from a driver badge accepted");
        }
        return;
    }
    check_declared(e, mi->errors, "decode of slot_request");
    if (e == 0) {
        int rc = hp_server_request(&h->srv, (pci_sid_t)req.a.slot_request.port,
                                   (enum hp_request)req.a.slot_request.request, h->now);
        check_declared((uint64_t)rc, mi->errors, "hp_server_request");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct harness *h = &H;
    struct input in = {data, size};
    struct hp_slot_config cfg;
    uint8_t setup = next(&in);

    hh_init(h, setup & 1);
    h->iommu_generations = setup & 32;
    h->iommu_gen = (uint32_t)(setup & 64 ? 0xfffffff0u : 100);
    h->print_logs = getenv("HP_FUZZ_VERBOSE") != NULL;
    if (setup & 2) {
        pcie_model_set_nccs(&h->m, 0, true);
    }
    hp_slot_config_defaults(&cfg, HH_SID_PORT0, 3);
    cfg.cancel_window_ns = (setup & 4) ? 50000000ull : 0;
    cfg.detach_timeout_ns = (setup & 8) ? 1000000ull : HP_DEFAULT_DETACH_TIMEOUT_NS;
    if (setup & 16) {
        cfg.settle_ns = 0;
    }
    if (hh_add_slot(h, &cfg) != HP_OK) {
        fail("slot refused");
    }

    for (unsigned step = 0; step < 256 && in.n > 0; step++) {
        uint8_t op = next(&in), arg = next(&in);
        struct hp_slot *s = hh_slot(h);
        bool pump = true;
        if (h->print_logs) {
            fprintf(stderr, "step %u: op %u arg %02x state %s (sltctl %04x sltsta %04x)\n", step,
                    op % 16, arg, hp_state_str(s->state), pcie_model_sltctl(&h->m, 0),
                    pcie_model_sltsta(&h->m, 0));
        }
        switch (op % 16) {
        case 0:
            pcie_model_device_add(&h->m, arg & 1, HH_EDU_VENDOR,
                                  (uint16_t)(HH_EDU_DEVICE + (arg >> 4)));
            break;
        case 1:
            pcie_model_device_del(&h->m, arg & 1);
            break;
        case 2:
            pcie_model_push_button(&h->m, 0);
            break;
        case 3:
            pcie_model_pull(&h->m, 0);
            break;
        case 4:
            pcie_model_link_down(&h->m, 0);
            if (arg & 1) {
                hp_server_irq(&h->srv, HH_SID_PORT0, h->now); /* the server's poll */
            }
            break;
        case 5:
            pcie_model_inject(&h->m, arg & 1,
                              (uint16_t)(arg | (arg & 0x80 ? PCI_EXP_SLTSTA_DLLSC : 0)));
            break;
        case 6:
            hh_advance(h, 1000ull << (arg % 24));
            break; /* 1 us .. 8 s */
        case 7: {
            hp_handle_t hd = hp_slot_handle(s);
            if (arg & 1) {
                hd = HP_HANDLE(arg & 2 ? HH_SID_DEV0 : HH_SID_DEV1, arg >> 2);
            }
            driver_detached(h, hd, op >> 4);
            break;
        }
        case 8:
            control_request(h, arg & 0x10 ? HH_SID_PORT1 : HH_SID_PORT0, arg % 4, op >> 4);
            break;
        case 9:
            switch (arg % 3) {
            case 0:
                h->m.ports[0].cc_broken = !h->m.ports[0].cc_broken;
                break;
            case 1:
                h->m.ports[0].keeps_card = !h->m.ports[0].keeps_card;
                break;
            case 2:
                h->m.ports[0].port_dead = !h->m.ports[0].port_dead;
                h->model_unreliable = true; /* writes were lost: the model may disagree */
                h->irq_unreliable = true;
                break;
            }
            break;
        case 10:
            h->m.ports[0].dev_dead = arg & 1;
            break;
        case 11:
            while (pcie_model_take_irq(&h->m, arg & 1)) {
                h->irq_unreliable = true; /* lost interrupt */
            }
            pump = false;
            break;
        case 12: {
            int v = arg & 0x80 ? -(int)(arg & 7) - 1 : 0;
            switch (arg % 6) {
            case 0:
                h->fence_orderly_rc = v;
                break;
            case 1:
                h->added_rc = v;
                break;
            case 2:
                h->removed_rc = v;
                break;
            case 3:
                h->going_rc = v;
                break;
            case 4:
                h->gone_rc = v;
                break;
            case 5:
                h->assign_rc = v;
                break;
            }
            break;
        }
        case 13: {
            /* Event bits as a polling fallback could find them, with the state bits (presence,
             * link) as the port really has them; CC is only ever taken from the hardware. */
            uint16_t ev = (uint16_t)((arg | (uint16_t)next(&in) << 8) &
                                     (PCI_EXP_SLTSTA_EVENTS & ~PCI_EXP_SLTSTA_CC));
            uint16_t real = pcie_model_sltsta(&h->m, 0);
            uint16_t lnk =
                (uint16_t)(h->m.ports[0].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_LNKSTA] |
                           h->m.ports[0].cfg[PCIE_MODEL_PORT_CAP + PCI_EXP_LNKSTA + 1] << 8);
            hp_slot_status_event(s, (uint16_t)(ev | (real & ~PCI_EXP_SLTSTA_EVENTS)), lnk, h->now);
            break;
        }
        case 14: {
            uint64_t d = hp_server_next_deadline(&h->srv);
            if (d != UINT64_MAX) {
                h->now = d;
                h->m.now_ns = d;
                hp_server_timer(&h->srv, h->now);
            }
            break;
        }
        case 15:
            hp_server_irq(&h->srv, arg & 1 ? HH_SID_PORT1 : HH_SID_PORT0, h->now);
            break;
        }
        if (pump) {
            hh_pump(h);
        }
        if (h->violations != 0) {
            fprintf(stderr, "step %u op %u: %s\n", step, op % 16, h->first_violation);
            fail("invariant violated");
        }
    }

    /* Quiet world: lost interrupts are found by the polls at the deadlines, so deliver what is
     * pending, then let every deadline run. */
    hh_pump(h);
    if (!hh_settle(h, 600ull * 1000000000ull)) {
        fail("slot never settled");
    }
    hh_check_settled(h);
    if (h->violations != 0) {
        fprintf(stderr, "at the end: %s\n", h->first_violation);
        fail("invariant violated");
    }
    return 0;
}
