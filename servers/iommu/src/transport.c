/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server's transport: one endpoint, one event loop. Each kernel message becomes a
 * struct iommu_msg (words and a resolved capability), libiommu's iommu_begin decides everything
 * about it, and the reply goes back as the kernel's message. A request libiommu leaves pending (an
 * unmap or ats_flush waiting on device-TLB work) keeps its caller's reply capability in a slot of
 * our CNode (PC_CNODE_SAVE_CALLER) while the loop serves everybody else; iommu_complete finishes
 * it when the unit's invalidation-completion interrupt arrives or its deadline passes, and the
 * saved reply capability carries the answer (and is consumed by it).
 *
 * Interrupts: the fault and the completion events of every unit the root task granted vectors
 * for reach one notification of ours, bound to our thread; the IRQ handlers signal badged copies
 * of it (SRV_NTFN_FAULT, SRV_NTFN_QI). A unit without a fault vector is polled at the idle tick.
 * Requests stay pending only if every unit's completion event works.
 *
 * Policy (command line): `park=force` leaves every unmap/ats_flush with queue work pending
 * (QEMU's device-TLB completes at once, so the tests force the path), `park=off` never does.
 */
#include <stdio.h>
#include <string.h>

#include <iommu/server.h>
#include <portcullis/portcullis.h>
#include <task/task.h>

#include "iommu_srv.h"

#define RECV_TIMEOUT_US 50000u /* idle tick: retries, polling units without a fault vector */
#define FAULT_ROUNDS 2u        /* fault service calls between two looks at the endpoint */
#define PENDING_SLOTS 8u
_Static_assert(IOMMU_MSG_WORDS == PC_MSG_MAX_LENGTH, "a message carries what the kernel carries");

static struct srv_caps *g_caps;
static struct iommu_server *g_s;

/* Per unit: the IRQ handlers of its fault and completion events (0: not granted). */
static struct {
    const task_cap_t *fault, *qi;
    bool fault_on, qi_on;
} g_irq[IOMMU_MAX_UNITS];
static pc_cptr_t g_ntfn; /* ours, bound to our thread */
static bool g_async, g_force;
static unsigned g_flags; /* iommu_begin flags: the parking policy */

/* Pending requests and the saved reply capabilities that answer them. */
static struct iommu_pending g_pending[PENDING_SLOTS];
static pc_cptr_t g_reply_slot[PENDING_SLOTS];
static struct iommu_pending *g_free; /* a free record, or NULL when all are in flight */
static unsigned g_n_pending;
static uint64_t g_answered;

static const task_cap_t *unit_msi(const task_start_info_t *si, const char *base, unsigned u)
{
    char name[TASK_CAP_NAME_MAX];
    const task_cap_t *c =
        task_cap_name_nth(name, sizeof(name), base, u) ? task_cap_find(si, name) : NULL;
    return c != NULL && c->kind == TASK_CAP_MSI && c->slot != 0 ? c : NULL;
}

/* Before the table pool takes the rest of the untyped: our own notification for all IRQs. */
void srv_transport_prepare(const task_start_info_t *si, struct srv_caps *caps)
{
    g_caps = caps;
    for (unsigned u = 0; u < IOMMU_MAX_UNITS; u++) {
        g_irq[u].fault = unit_msi(si, "fault_msi", u);
        g_irq[u].qi = unit_msi(si, "qi_msi", u);
    }
    pc_cptr_t n = srv_slot_alloc(), nf = srv_slot_alloc(), nq = srv_slot_alloc();
    bool ok =
        n != 0 && nf != 0 && nq != 0 && caps->untyped != 0 &&
        pc_untyped_retype(caps->untyped, PC_OBJ_NOTIFICATION, 0, PC_NULL_CPTR, n, 1) == PC_OK &&
        pc_cnode_mint(caps->cnode, nf, caps->cnode, n, PC_RIGHT_WRITE, SRV_NTFN_FAULT) == PC_OK &&
        pc_cnode_mint(caps->cnode, nq, caps->cnode, n, PC_RIGHT_WRITE, SRV_NTFN_QI) == PC_OK;
    for (unsigned u = 0; ok && u < IOMMU_MAX_UNITS; u++) {
        g_irq[u].fault_on = g_irq[u].fault != NULL &&
                            pc_irq_handler_set_notification(g_irq[u].fault->slot, nf) == PC_OK;
        g_irq[u].qi_on =
            g_irq[u].qi != NULL && pc_irq_handler_set_notification(g_irq[u].qi->slot, nq) == PC_OK;
    }
    if (ok) {
        g_ntfn = n;
    } else if (g_irq[0].fault != NULL && g_irq[0].fault->aux_slot != 0) {
        /* No room for our own: unit 0's fault event on the notification the root task made. */
        g_ntfn = g_irq[0].fault->aux_slot;
        g_irq[0].fault_on = true;
        printf("iommu: own notification not made: completion events off\n");
    }
    g_force = task_cmdline_has(si->cmdline, "park=force");
    g_async = !task_cmdline_has(si->cmdline, "park=off");
    g_free = &g_pending[0];
}

/* After the units are up: bind the notification, program each unit's events. */
void srv_transport_start(const task_start_info_t *si, struct iommu_server *s)
{
    (void)si;
    g_s = s;
    pc_word_t bound = g_ntfn != 0 && g_caps->tcb != 0
                          ? pc_tcb_bind_notification(g_caps->tcb, g_ntfn)
                          : PC_ERR_INVALID_CAPABILITY;
    bool every_qi = s->n_units > 0;
    for (unsigned u = 0; u < s->n_units; u++) {
        struct vtd_unit *vu = iommu_server_vtd_unit(s, u);
        char who[16] = "";
        if (u > 0) {
            snprintf(who, sizeof(who), "unit %u ", u);
        }
        if (g_irq[u].fault_on && bound == PC_OK) {
            enum vtd_err e = vtd_unit_fault_event_setup(vu, g_irq[u].fault->arg1,
                                                        (uint32_t)g_irq[u].fault->arg2);
            (void)pc_irq_handler_ack(g_irq[u].fault->slot);
            g_irq[u].fault_on = e == VTD_OK;
            printf("iommu: %sfault event: vector %llu, %s\n", who,
                   (unsigned long long)g_irq[u].fault->arg0, vtd_errname(e));
        } else {
            g_irq[u].fault_on = false;
            printf("iommu: %sno fault MSI: faults are polled every %u ms\n", who,
                   RECV_TIMEOUT_US / 1000u);
        }
        if (g_irq[u].qi_on && bound == PC_OK) {
            enum vtd_err e =
                vtd_unit_qi_event_setup(vu, g_irq[u].qi->arg1, (uint32_t)g_irq[u].qi->arg2);
            (void)pc_irq_handler_ack(g_irq[u].qi->slot);
            g_irq[u].qi_on = e == VTD_OK;
            printf("iommu: %scompletion event: vector %llu, %s\n", who,
                   (unsigned long long)g_irq[u].qi->arg0, vtd_errname(e));
        } else {
            g_irq[u].qi_on = false;
        }
        every_qi = every_qi && g_irq[u].qi_on;
    }
    g_async = g_async && every_qi;
    g_flags = (g_async ? IOMMU_BEGIN_ASYNC : 0u) | (g_force ? IOMMU_BEGIN_FORCE : 0u);
    printf("iommu: completion events on %s; parking %s\n",
           every_qi ? "every unit" : "not every unit",
           !g_async  ? "off"
           : g_force ? "forced"
                     : "for device-TLB waits");
}

/* ---- messages -------------------------------------------------------------------------------- */

/* What a received capability is, for libiommu: a frame (physical range and rights), a
 * notification, or nothing. */
static void resolve_cap(pc_cptr_t slot, struct iommu_cap_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    ref->cookie = slot;
    pc_word_t id[3] = {0, 0, 0};
    if (pc_cap_identify(slot, id) != PC_OK) {
        return;
    }
    unsigned rights =
        ((id[1] & PC_RIGHT_READ) ? IOMMU_READ : 0u) | ((id[1] & PC_RIGHT_WRITE) ? IOMMU_WRITE : 0u);
    if (id[0] == PC_OBJ_NOTIFICATION) {
        ref->kind = IOMMU_CAP_NOTIFICATION;
        ref->rights = rights;
        return;
    }
    if (id[0] != PC_OBJ_FRAME_4K && id[0] != PC_OBJ_FRAME_2M) {
        return;
    }
    /* A kernel that reports a frame's physical base in IDENTIFY's third word saves the second
     * system call (init/KERNEL_ISSUES.md); 0 there means "not reported". */
    uint64_t pa = id[2];
    if (pa == 0 && pc_frame_get_address(slot, &pa) != PC_OK) {
        return;
    }
    ref->kind = IOMMU_CAP_FRAME;
    ref->pa = pa;
    ref->size = id[0] == PC_OBJ_FRAME_2M ? SRV_LARGE_PAGE : 4096u;
    ref->rights = rights;
}

/* The reply as the kernel's message. The kernel hands all register words to the caller
 * whatever the length: the ones past the length are zeroed, or they would carry an earlier
 * reply (maybe another client's faults). */
static void to_kernel(const struct iommu_reply *r, pc_msg_t *out)
{
    unsigned rlen = r->len > IOMMU_MSG_WORDS ? IOMMU_MSG_WORDS : r->len;
    out->info = pc_msginfo(r->err, 0, 0, rlen);
    _Static_assert(PC_MSG_REG_COUNT == 4, "four register words cleared below");
    out->mr[0] = out->mr[1] = out->mr[2] = out->mr[3] = 0;
    (void)pc_msg_set_words(out, r->w, rlen); /* rlen <= IOMMU_MSG_WORDS == PC_MSG_MAX_LENGTH */
}

static void log_root(const struct iommu_msg *m, const struct iommu_reply *r)
{
    if (m->label == IOMMU_ROOT_CLIENT_ADD && r->err == IOMMU_OK) {
        printf("iommu: client %#llx registered%s%s\n", (unsigned long long)m->w[0],
               m->w[1] != IOMMU_SRV_NO_SID ? ", device granted" : "",
               r->cap_kept ? ", fault notification" : "");
    } else if (m->label == IOMMU_ROOT_CLIENT_REMOVE && r->err != IOMMU_ERR_BAD_ARG &&
               r->err != IOMMU_ERR_BAD_MSG) {
        struct iommu_counts n;
        iommu_server_counts(g_s, &n);
        printf("iommu: client %#llx removed%s%s; now %u domains, %u mappings, %llu table pages, "
               "%u pins, %u stuck, %u irtes\n",
               (unsigned long long)m->w[0], r->err == IOMMU_OK ? "" : ": ",
               r->err == IOMMU_OK ? "" : iommu_errname((unsigned)r->err), n.domains, n.mappings,
               (unsigned long long)n.table_pages, n.pins, n.stuck, n.irtes);
    }
}

static pc_cptr_t g_recv_slot;

static struct iommu_pending *next_free(void)
{
    for (unsigned i = 0; i < PENDING_SLOTS; i++) {
        if (!g_pending[i].used) {
            return &g_pending[i];
        }
    }
    return NULL;
}

/* The request in p stays pending: save the caller's reply capability. False: no slot or the save
 * failed; then p is completed synchronously into *r (bounded by its deadline). */
static bool keep_pending(struct iommu_pending *p, struct iommu_reply *r)
{
    unsigned i = (unsigned)(p - g_pending);
    pc_cptr_t slot = srv_slot_alloc();
    if (slot != 0 && pc_cnode_save_caller(g_caps->cnode, slot) == PC_OK) {
        g_reply_slot[i] = slot;
        g_n_pending++;
        g_free = next_free();
        return true;
    }
    if (slot != 0) {
        srv_slot_free(slot);
    }
    while (!iommu_complete(g_s, p, r)) {
        /* libvtd ends the wait at the batch's deadline */
    }
    return false;
}

/* One kernel message; true: reply with *out now, false: the caller is answered later. */
static bool handle_message(const pc_msg_t *in, pc_msg_t *out)
{
    PROF_T(t0);
    static struct iommu_msg m;
    static struct iommu_reply r;
    unsigned len = pc_msginfo_length(in->info);
    unsigned ncaps = pc_msginfo_extra_caps(in->info);
    bool unwrapped = (pc_msginfo_unwrapped(in->info) & 1u) != 0;
    pc_cptr_t cap = (ncaps > 0 && !unwrapped) ? g_recv_slot : 0;
    enum iommu_step step = IOMMU_STEP_DONE;

    m.label = pc_msginfo_label(in->info);
    m.badge = in->badge;
    m.ncaps = ncaps > IOMMU_MSG_CAPS ? IOMMU_MSG_CAPS + 1 : ncaps;
    if (len > IOMMU_MSG_WORDS) {
        /* More words than any method takes: BAD_MSG without looking further. */
        r.err = m.badge == IOMMU_SRV_BADGE_HOTPLUG ? (uint64_t)IOMMU_HP_ERR_BAD_MSG
                                                   : (uint64_t)IOMMU_ERR_BAD_MSG;
        r.len = 0;
        r.cap_kept = false;
    } else {
        m.len = pc_msg_get_words(in, m.w, IOMMU_MSG_WORDS);
#ifdef IOMMU_SRV_PROFILE
        prof_message(m.label);
#endif
        PROF_T(t1);
        PROF_ADD(PROF_COPY_IN, t0, t1);
        if (m.ncaps > 0) {
            if (cap != 0) {
                resolve_cap(cap, &m.cap[0]);
            } else {
                memset(&m.cap[0], 0, sizeof(m.cap[0]));
            }
        }
        PROF_T(t2);
        PROF_ADD(PROF_RESOLVE, t1, t2);
        step = iommu_begin(g_s, &m, &r, g_free, g_flags, 0); /* g_free NULL: synchronous */
        PROF_T(t3);
        PROF_ADD(PROF_HANDLE, t2, t3);
        if (m.badge == IOMMU_SRV_BADGE_ROOT) {
            log_root(&m, &r);
        }
    }
    PROF_T(t4);
    if (cap != 0) {
        if (r.cap_kept) {
            /* the slot now belongs to a pin (or a client's notification): receive elsewhere */
            g_recv_slot = srv_slot_alloc();
        } else {
            (void)pc_cnode_delete(g_caps->cnode, cap);
        }
    }
    PROF_T(t5);
    PROF_ADD(PROF_CAP_DONE, t4, t5);
    if (step == IOMMU_STEP_PENDING && keep_pending(g_free, &r)) {
        return false;
    }
    to_kernel(&r, out);
    PROF_T(t6);
    PROF_ADD(PROF_COPY_OUT, t5, t6);
    return true;
}

/* Answer every pending request whose batch finished (nothing to do when none is pending). */
static void answer_finished(void)
{
    for (unsigned i = 0; g_n_pending != 0 && i < PENDING_SLOTS; i++) {
        struct iommu_reply r;
        if (g_reply_slot[i] == 0 || !iommu_complete(g_s, &g_pending[i], &r)) {
            continue;
        }
        pc_msg_t out;
        memset(&out, 0, sizeof(out));
        to_kernel(&r, &out);
        pc_word_t err = pc_send(g_reply_slot[i], &out); /* consumes the reply capability */
        if (g_force || g_answered < 1) { /* park=force: one line per answer (the tests count) */
            printf("iommu: parked %s answered: %s%s\n",
                   g_pending[i].label == IOMMU_LABEL_UNMAP ? "unmap" : "ats_flush",
                   iommu_errname((unsigned)r.err), err == PC_OK ? "" : " (caller gone)");
        }
        g_answered++;
        srv_slot_free(g_reply_slot[i]);
        g_reply_slot[i] = 0;
        g_n_pending--;
        g_free = next_free();
    }
}

/* The receive time-out: no later than the earliest pending deadline (1 ms resolution). */
static uint64_t receive_timeout_us(uint64_t tmo_us)
{
    if (g_n_pending == 0) {
        return tmo_us;
    }
    uint64_t now = srv_now_ns(), earliest = ~0ull;
    for (unsigned i = 0; i < PENDING_SLOTS; i++) {
        uint64_t d = g_reply_slot[i] != 0 ? iommu_pending_deadline(&g_pending[i]) : 0;
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

/* Faults of every unit, at most FAULT_ROUNDS bounded service calls each. True: more remain. */
static bool service_faults(void)
{
    bool more = false;
    for (unsigned u = 0; u < g_s->n_units; u++) {
        unsigned rounds = 0;
        bool again = true;
        while (again && rounds++ < FAULT_ROUNDS) {
            again = iommu_fault_service(g_s, u);
        }
        more = more || again;
    }
    return more;
}

/* The notification: completion events advance the queues, then every unit's faults are read
 * (bounded) before the fault IRQs are acknowledged. True: more faults remain. */
static bool interrupt(uint64_t bits)
{
    for (unsigned u = 0; u < g_s->n_units; u++) {
        if ((bits & SRV_NTFN_QI) && g_irq[u].qi_on) {
            (void)iommu_completion_event(g_s, u);
            (void)pc_irq_handler_ack(g_irq[u].qi->slot);
        }
    }
    bool more = service_faults();
    for (unsigned u = 0; u < g_s->n_units; u++) {
        if (g_irq[u].fault_on) {
            (void)pc_irq_handler_ack(g_irq[u].fault->slot);
        }
    }
    return more;
}

void srv_serve(struct iommu_server *s, uint64_t tsc_hz)
{
    g_s = s;
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    pc_msg_t in, out;
    bool reply = false;
    bool faults_pending = true; /* look once at start: faults may predate the MSI set-up */
    /* The idle tick in TSC cycles: one rdtsc and a compare per message, no division. */
    uint64_t tick_cycles = (tsc_hz ? tsc_hz : 1000000000ull) / 1000000u * RECV_TIMEOUT_US;
    if (tick_cycles == 0) {
        tick_cycles = 1;
    }
    uint64_t last_tick = task_rdtsc();
    g_recv_slot = srv_slot_alloc();
    memset(&out, 0, sizeof(out));
#ifdef IOMMU_SRV_PROFILE
    /* glue outside handle_message: after it until the system call, and back until the next */
    uint64_t t_done = 0, t_loop = 0, t_back = 0;
#endif
    for (;;) {
        buf->receive_index = g_recv_slot;
        /* With faults left over, only poll: messages and faults take turns. */
        uint64_t tmo = receive_timeout_us(faults_pending ? PC_TIMEOUT_POLL : RECV_TIMEOUT_US);
        pc_word_t err;
        if (reply) {
            in = out;
#ifdef IOMMU_SRV_PROFILE
            t_loop = task_rdtsc() - t_done;
#endif
            err = pc_reply_recv(g_caps->ep, &in, tmo);
#ifdef IOMMU_SRV_PROFILE
            t_back = task_rdtsc();
#endif
        } else {
            memset(&in, 0, sizeof(in));
            err = pc_recv(g_caps->ep, &in, tmo);
#ifdef IOMMU_SRV_PROFILE
            t_back = 0;
#endif
        }
        reply = false;
        if (err == PC_OK && pc_msginfo_label(in.info) == PC_LABEL_NOTIFICATION) {
            faults_pending = interrupt(in.badge);
        } else if (err == PC_OK) {
#ifdef IOMMU_SRV_PROFILE
            t_loop += task_rdtsc() - t_back;
#endif
            reply = handle_message(&in, &out);
#ifdef IOMMU_SRV_PROFILE
            t_done = task_rdtsc();
            if (t_back != 0) {
                prof_add(PROF_LOOP, t_loop);
            }
#endif
        } else if (err == PC_ERR_TIMEOUT) {
            faults_pending = service_faults();
        }
        if (g_n_pending != 0) {
            answer_finished();
        }
        uint64_t now = task_rdtsc();
        if (now - last_tick >= tick_cycles) {
            last_tick = now;
            iommu_server_retry(s);
        }
    }
}
