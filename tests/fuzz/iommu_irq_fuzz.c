/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzzes the remapped-interrupt protocol (irq_alloc, irq_free, irq_retarget, port_irq) together
 * with the lifecycle it is tied to (attach, detach, fence, removal, re-plug, client removal) on a
 * server running on the VT-d model. Every input is a sequence of operations with fuzzed
 * arguments (real handles, stale handles, random words). After every operation:
 *   - a rejected message changed nothing (fingerprint) and its error is declared for the method;
 *   - every live entry is present in the unit's table with its vector and source-id, and the
 *     model delivers exactly that vector for that device and refuses it for the other device;
 *   - every cleared entry is not present; the entries the server holds match the unit's
 *     allocator (nothing leaks, nothing is shared).
 * At the end of an input both clients are removed and re-registered and every fenced device is
 * removed and re-added, which must bring the entry count back to 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommu/server.h>
#include <vtd_model.h>

#include "fuzz_take.h"

#define DEV1 0x0100
#define DEV2 0x0200
#define PORT 0x0008
#define A 0xa1
#define B 0xb2
#define HP 0x4850

static struct iommu_server *srv;
static struct vtd_model *model;
static uint64_t handles[2]; /* current device handles of A (DEV1) and B (DEV2) */
static uint64_t irqs[8];    /* interrupt handles seen (some stale) */
static unsigned n_irqs;

static void die(const char *why)
{
    fprintf(stderr, "iommu_irq_fuzz: %s\n", why);
    abort();
}

static void clients(void)
{
    if (iommu_client_register(srv, A, 0) != IOMMU_OK ||
        iommu_client_register(srv, B, 0) != IOMMU_OK ||
        iommu_client_grant_device(srv, A, DEV1) != IOMMU_OK ||
        iommu_client_grant_device(srv, B, DEV2) != IOMMU_OK ||
        iommu_client_grant_vector(srv, A, DEV1, 0x61, NULL) != IOMMU_OK ||
        iommu_client_grant_vector(srv, A, DEV1, 0x62, NULL) != IOMMU_OK ||
        iommu_client_grant_vector(srv, B, DEV2, 0x71, NULL) != IOMMU_OK) {
        die("client set-up");
    }
}

static void setup(void)
{
    model = vtd_model_create(&(struct vtd_model_config){0});
    srv = calloc(1, sizeof(*srv));
    if (!model || !srv) {
        abort();
    }
    vtd_model_add_device(model, DEV1, 0);
    vtd_model_add_device(model, DEV2, 0);
    iommu_server_init(srv, &(struct iommu_env){0}, HP);
    struct vtd_unit_config uc = {.no_sw_bits = true};
    if (iommu_server_add_unit(srv, vtd_model_hw(model), &uc, true, NULL) != IOMMU_OK ||
        iommu_server_add_device(srv, DEV1) != IOMMU_OK ||
        iommu_server_add_device(srv, DEV2) != IOMMU_OK ||
        iommu_port_grant_vector(srv, PORT, 0x80) != IOMMU_OK) {
        die("set-up");
    }
    clients();
}

/* A fuzzed argument: a live or stale handle, a small number, or raw bits. */
static uint64_t word(const uint8_t **p, size_t *n)
{
    uint8_t k = (uint8_t)take(p, n, 1);
    switch (k >> 5) {
    case 0:
    case 1:
        return handles[k & 1] + ((k & 6) == 6 ? 1ull << 16 : 0);
    case 2:
    case 3:
        return n_irqs ? irqs[k % n_irqs] : 0;
    case 4:
        return k & 7;
    case 5:
        return (k & 1) ? DEV1 : (k & 2) ? DEV2 : PORT;
    default:
        return take(p, n, 8);
    }
}

static void note_irq(uint64_t h)
{
    irqs[n_irqs < 8 ? n_irqs++ : (h & 7)] = h;
}

static void check_declared(const struct iommu_msg *m, uint64_t err, bool hp)
{
    const struct iommu_method_info *mi = iommu_method_find(m->label);
    if (err != 0 && mi && mi->proto == (hp ? IOMMU_PROTO_HOTPLUG : IOMMU_PROTO_CLIENT) &&
        !(mi->errors & (1ull << err))) {
        fprintf(stderr, "undeclared error %llu from %s\n", (unsigned long long)err, mi->name);
        abort();
    }
}

static void call(struct iommu_msg *m, uint64_t badge, bool hp, struct iommu_reply *r)
{
    uint64_t fp = iommu_server_fingerprint(srv);
    m->badge = badge;
    if (hp) {
        iommu_handle_hotplug(srv, m, r);
    } else {
        iommu_handle_client(srv, m, r);
    }
    check_declared(m, r->err, hp);
    /* decode rejections change nothing; HW and DEVICE_TIMEOUT never happen on this model */
    if (r->err != 0 && iommu_server_fingerprint(srv) != fp) {
        die("a rejected message changed the server");
    }
}

/* Every record against the unit's table and the model's delivery. */
static void check_invariants(void)
{
    struct vtd_unit *vu = iommu_server_vtd_unit(srv, 0);
    unsigned held = 0;
    for (unsigned i = 0; i < IOMMU_MAX_IRQS; i++) {
        const struct iommu_irq *q = &srv->irqs[i];
        if (q->state == IOMMU_IRQ_FREE) {
            continue;
        }
        held++;
        struct vtd_irte e;
        struct vtd_irte_spec sp;
        if (vtd_ir_get(vu, q->index, &e) != VTD_OK) {
            die("held entry outside the table");
        }
        bool present = vtd_irte_decode(&e, false, &sp);
        uint64_t addr = vtd_ir_msi_addr(q->index);
        struct vtd_model_irq o;
        if (q->state == IOMMU_IRQ_LIVE) {
            if (!present || sp.vector != q->vector || sp.sid != q->sid ||
                sp.svt != VTD_IRTE_SVT_SID) {
                die("live record and entry disagree");
            }
            if (vtd_model_interrupt(model, q->sid, addr, vtd_ir_msi_data(), &o) != 0 ||
                o.vector != q->vector) {
                die("live entry not delivered with its vector");
            }
            uint16_t other = q->sid == DEV1 ? DEV2 : DEV1;
            if (vtd_model_interrupt(model, other, addr, vtd_ir_msi_data(), &o) !=
                VTD_MODEL_FR_IR_SID_ERR) {
                die("another device used the entry");
            }
        } else {
            if (present) {
                die("cleared record with a present entry");
            }
            if (vtd_model_interrupt(model, q->sid, addr, vtd_ir_msi_data(), &o) !=
                VTD_MODEL_FR_IR_NOT_PRESENT) {
                die("cleared entry still delivered");
            }
        }
        for (unsigned k = i + 1; k < IOMMU_MAX_IRQS; k++) {
            if (srv->irqs[k].state != IOMMU_IRQ_FREE && srv->irqs[k].index == q->index) {
                die("two records share an entry");
            }
        }
    }
    if (held != vtd_ir_in_use(vu)) {
        die("entries held and allocated differ");
    }
    /* keep the model's fault register drained (the flood is another test's business) */
    while (iommu_fault_service(srv, 0)) {
    }
}

static void reset(void)
{
    struct iommu_msg m;
    struct iommu_reply r;
    (void)iommu_client_unregister(srv, A);
    (void)iommu_client_unregister(srv, B);
    for (unsigned d = 0; d < 2; d++) {
        uint16_t sid = d ? DEV2 : DEV1;
        const struct iommu_device *dv = iommu_device_get(srv, sid);
        if (dv->state != IOMMU_DEV_PRESENT) {
            iommu_encode_device_removed(&m, sid);
            call(&m, HP, true, &r);
            iommu_encode_device_added(&m, sid);
            call(&m, HP, true, &r);
        }
    }
    clients();
    handles[0] = handles[1] = 0;
    struct iommu_counts c;
    iommu_server_counts(srv, &c);
    /* the port's entry is the server's, not a client's: it may stay */
    if (c.irtes > 1) {
        die("entries left after every client and device went");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) {
        setup();
    }
    unsigned ops = 0;
    while (size > 1 && ops++ < 64) {
        uint8_t op = (uint8_t)take(&data, &size, 1);
        struct iommu_msg m;
        struct iommu_reply r;
        uint64_t badge = (op & 0x80) ? B : A;
        unsigned who = badge == B;
        switch (op & 15) {
        case 0:
        case 1: {
            uint64_t h = word(&data, &size), g = word(&data, &size);
            iommu_encode_irq_alloc(&m, h, g);
            call(&m, badge, false, &r);
            if (r.err == IOMMU_OK) {
                note_irq(r.w[0]);
            }
            break;
        }
        case 2:
            iommu_encode_irq_free(&m, word(&data, &size));
            call(&m, badge, false, &r);
            break;
        case 3: {
            uint64_t q = word(&data, &size), g = word(&data, &size);
            iommu_encode_irq_retarget(&m, q, g);
            call(&m, badge, false, &r);
            break;
        }
        case 4:
            iommu_encode_attach(&m, who ? DEV2 : DEV1);
            call(&m, badge, false, &r);
            if (r.err == IOMMU_OK) {
                handles[who] = r.w[0];
            }
            break;
        case 5:
            iommu_encode_detach(&m, word(&data, &size));
            call(&m, badge, false, &r);
            break;
        case 6:
        case 7:
            iommu_encode_device_fence(&m, word(&data, &size),
                                      (op & 1) ? IOMMU_FENCE_ORDERLY : IOMMU_FENCE_SURPRISE);
            call(&m, HP, true, &r);
            break;
        case 8:
            iommu_encode_device_removed(&m, word(&data, &size));
            call(&m, HP, true, &r);
            break;
        case 9:
            iommu_encode_device_added(&m, word(&data, &size));
            call(&m, HP, true, &r);
            break;
        case 10:
            iommu_encode_port_irq(&m, word(&data, &size));
            call(&m, (op & 0x40) ? A : HP, true, &r);
            break;
        case 11: {
            /* a raw interrupt request from one of the devices: never changes the server */
            uint64_t fp = iommu_server_fingerprint(srv);
            struct vtd_model_irq o;
            (void)vtd_model_interrupt(model, (op & 0x40) ? DEV2 : DEV1,
                                      0xfee00000ull | (word(&data, &size) & 0xfffff),
                                      (uint32_t)word(&data, &size), &o);
            if (iommu_server_fingerprint(srv) != fp) {
                die("an interrupt request changed the server");
            }
            break;
        }
        case 12:
            (void)iommu_client_unregister(srv, badge);
            (void)iommu_client_register(srv, badge, 0);
            (void)iommu_client_grant_device(srv, badge, who ? DEV2 : DEV1);
            (void)iommu_client_grant_vector(srv, badge, who ? DEV2 : DEV1, 0x61 + 0x10 * who, NULL);
            handles[who] = 0;
            break;
        default: {
            iommu_msg_init(&m, IOMMU_LABEL_IRQ_ALLOC + (op & 3));
            m.len = (unsigned)take(&data, &size, 1) % 5;
            for (unsigned w = 0; w < m.len; w++) {
                m.w[w] = word(&data, &size);
            }
            call(&m, badge, false, &r);
            break;
        }
        }
        check_invariants();
    }
    reset();
    check_invariants();
    return 0;
}
