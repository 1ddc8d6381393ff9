/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parked requests in the IOMMU server task: an unmap or ats_flush whose invalidation may wait
 * long (device-TLB work) is submitted asynchronously by libiommu (iommu/park.h), the caller's
 * reply capability is saved into a slot of our CNode (PC_CNODE_SAVE_CALLER), and the event loop
 * goes on serving other clients. The unit's invalidation-completion event (a second MSI, badge
 * SRV_NTFN_QI on the notification bound to our thread) and the receive time-out (the earliest
 * parked deadline) drive completion; each finished request is answered through its saved reply
 * capability, which consumes it. Memory is released by libiommu only after the hardware let go.
 *
 * Both interrupts reach one notification: at start the server retypes its own notification,
 * points the fault and completion IRQ handlers at badged copies of it (bits SRV_NTFN_FAULT and
 * SRV_NTFN_QI) and binds it to its thread instead of the fault notification the root task made.
 *
 * Policy (command line): `park=force` parks every unmap/ats_flush that submits work (QEMU's
 * device-TLB completes at once, so the tests force the path), `park=off` never parks. A full
 * pool, a request without device-TLB work, or no completion MSI: synchronous, as before.
 */
#include <stdio.h>
#include <string.h>

#include <iommu/park.h>
#include <iommu/protocol.h>
#include <iommu/server.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

#include "iommu_srv.h"
#include "park.h"

#define SRV_PARK_SLOTS 8u

static struct iommu_parked g_pool[SRV_PARK_SLOTS];
static pc_cptr_t g_reply_slot[SRV_PARK_SLOTS];
struct srv_park_state srv_park = {.ats_dirty = true};
static pc_cptr_t g_qi_irq, g_ntfn, g_cnode;
static struct iommu_server *g_s;
static uint64_t g_parked_total, g_sync_total, g_answered;
static bool g_log; /* park=force: one line per answer (the QEMU test counts them) */

/* Before the table pool takes the rest of the untyped: our own notification for both IRQs. */
void srv_park_prepare(const task_start_info_t *si, struct srv_caps *caps)
{
    const task_cap_t *qi = task_cap_find(si, "qi_msi");
    g_cnode = caps->cnode;
    if (task_cmdline_has(si->cmdline, "park=off") || qi == NULL || qi->kind != TASK_CAP_MSI ||
        caps->fault_irq == 0 || caps->untyped == 0 || caps->cnode == 0) {
        return;
    }
    pc_cptr_t n = srv_slot_alloc(), nf = srv_slot_alloc(), nq = srv_slot_alloc();
    if (n == 0 || nf == 0 || nq == 0 ||
        pc_untyped_retype(caps->untyped, PC_OBJ_NOTIFICATION, 0, PC_NULL_CPTR, n, 1) != PC_OK ||
        pc_cnode_mint(caps->cnode, nf, caps->cnode, n, PC_RIGHT_WRITE, SRV_NTFN_FAULT) != PC_OK ||
        pc_cnode_mint(caps->cnode, nq, caps->cnode, n, PC_RIGHT_WRITE, SRV_NTFN_QI) != PC_OK ||
        pc_irq_handler_set_notification(qi->slot, nq) != PC_OK ||
        pc_irq_handler_set_notification(caps->fault_irq, nf) != PC_OK) {
        printf("iommu: completion event not set up: requests are completed synchronously\n");
        return;
    }
    g_qi_irq = qi->slot;
    g_ntfn = n;
    caps->fault_ntfn = n; /* start_fault_event binds this one */
    srv_park.forced = task_cmdline_has(si->cmdline, "park=force");
    g_log = srv_park.forced;
}

/* After the units are up: program unit 0's invalidation-completion event. */
void srv_park_start(const task_start_info_t *si, struct iommu_server *s)
{
    g_s = s;
    const task_cap_t *qi = task_cap_find(si, "qi_msi");
    if (g_ntfn == 0 || qi == NULL) {
        return;
    }
    enum vtd_err e =
        vtd_unit_qi_event_setup(iommu_server_vtd_unit(s, 0), qi->arg1, (uint32_t)qi->arg2);
    (void)pc_irq_handler_ack(g_qi_irq);
    srv_park.enabled = e == VTD_OK && s->n_units == 1; /* only unit 0 has the event */
    printf("iommu: completion event: vector %llu, %s; parking %s\n", (unsigned long long)qi->arg0,
           vtd_errname(e),
           !srv_park.enabled ? "off"
           : srv_park.forced ? "forced"
                             : "for device-TLB waits");
}

/* An unmap or ats_flush with parking on (srv_park_client checked the cheap conditions). */
bool srv_park_client_slow(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r)
{
    if (!srv_park.forced) {
        if (srv_park.ats_dirty) {
            srv_park.ats_live = iommu_park_any_live_ats(s);
            srv_park.ats_dirty = false;
        }
        if (!srv_park.ats_live) {
            iommu_handle_client(s, m, r); /* no device-TLB anywhere: the fast path */
            return false;
        }
    }
    if (srv_park.n_parked >= SRV_PARK_SLOTS) {
        iommu_handle_client(s, m, r);
        return false;
    }
    srv_park.just = iommu_park_begin(s, m, r, g_pool, SRV_PARK_SLOTS,
                                     srv_park.forced ? IOMMU_PARK_FORCE : 0, 0);
    return srv_park.just != NULL;
}

static void to_msg(const struct iommu_reply *r, pc_msg_t *out)
{
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    unsigned len = r->len > IOMMU_MSG_WORDS ? IOMMU_MSG_WORDS : r->len;
    out->info = pc_msginfo(r->err, 0, 0, len);
    for (unsigned i = 0; i < len; i++) {
        if (i < PC_MSG_REG_COUNT) {
            out->mr[i] = r->w[i];
        } else {
            buf->mr[i] = r->w[i];
        }
    }
}

/*
 * Right after handle_message: if it parked the request, save the caller's reply into a slot
 * and return true (no reply now). If no slot is left or the save fails, complete the request
 * synchronously into *out (bounded by its deadline) and return false: the loop replies.
 */
bool srv_park_take_slow(pc_msg_t *out)
{
    struct iommu_parked *p = srv_park.just;
    if (p == NULL) {
        return false;
    }
    srv_park.just = NULL;
    unsigned i = (unsigned)(p - g_pool);
    pc_cptr_t slot = srv_slot_alloc();
    if (slot != 0 && pc_cnode_save_caller(g_cnode, slot) == PC_OK) {
        g_reply_slot[i] = slot;
        srv_park.n_parked++;
        g_parked_total++;
        return true;
    }
    if (slot != 0) {
        srv_slot_free(slot);
    }
    struct iommu_reply r;
    while (!iommu_park_complete(g_s, p, &r)) {
        /* libvtd ends the wait at the batch's deadline */
    }
    g_sync_total++;
    memset(out, 0, sizeof(*out));
    to_msg(&r, out);
    return false;
}

/* Answer every parked request whose batch finished (cheap when nothing is parked). */
void srv_park_poll_slow(void)
{
    for (unsigned i = 0; i < SRV_PARK_SLOTS; i++) {
        struct iommu_reply r;
        if (g_reply_slot[i] == 0 || !iommu_park_complete(g_s, &g_pool[i], &r)) {
            continue;
        }
        pc_msg_t out;
        memset(&out, 0, sizeof(out));
        to_msg(&r, &out);
        pc_word_t err = pc_send(g_reply_slot[i], &out); /* consumes the reply capability */
        if (g_log || g_answered < 1) {
            printf("iommu: parked %s answered: %s%s\n",
                   g_pool[i].label == IOMMU_LABEL_UNMAP ? "unmap" : "ats_flush",
                   iommu_errname((unsigned)r.err), err == PC_OK ? "" : " (caller gone)");
        }
        g_answered++;
        srv_slot_free(g_reply_slot[i]);
        g_reply_slot[i] = 0;
        srv_park.n_parked--;
    }
}

/* The completion event (notification word bit SRV_NTFN_QI). */
void srv_park_event(void)
{
    if (g_s != NULL && srv_park.enabled) {
        (void)iommu_park_event(g_s, 0);
        (void)pc_irq_handler_ack(g_qi_irq);
    }
}

/* The receive time-out: no later than the earliest parked deadline (1 ms resolution). */
uint64_t srv_park_timeout_slow(uint64_t tmo_us)
{
    uint64_t now = srv_now_ns(), earliest = ~0ull;
    for (unsigned i = 0; i < SRV_PARK_SLOTS; i++) {
        uint64_t d = g_reply_slot[i] != 0 ? iommu_park_deadline(&g_pool[i]) : 0;
        if (d != 0 && d < earliest) {
            earliest = d;
        }
    }
    if (earliest == ~0ull || tmo_us == PC_TIMEOUT_POLL) {
        return PC_TIMEOUT_POLL; /* nothing submitted (completes at once), or polling anyway */
    }
    uint64_t us = earliest > now ? (earliest - now) / 1000u + 1u : 1u;
    return us < tmo_us ? us : tmo_us;
}

void srv_park_counts(uint64_t *parked, uint64_t *sync_fallback, unsigned *now)
{
    *parked = g_parked_total;
    *sync_fallback = g_sync_total;
    *now = srv_park.n_parked;
}
