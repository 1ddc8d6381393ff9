/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PCIe hotplug server: the event loop around libhotplug's slot state machines. The root task
 * gives it, per root/downstream port, the port's config page, the config page of the device
 * below it, the port's BAR0 (QEMU's ports keep their MSI-X table there) and an MSI vector whose
 * notification is bound to this thread, so one receive on the "hotplug" endpoint returns slot
 * interrupts, drivers' messages and control requests alike. Every wait is libhotplug's deadline:
 * the receive times out at hp_server_next_deadline() (or the slow poll), never later.
 *
 * Out of the library go three kinds of calls: the IOMMU server's hotplug role (one synchronous
 * call each: device_fence, device_removed, device_added), the root task's policy (assign: who
 * drives a new device), and drivers. Drivers are never called or sent to - a blocked driver must
 * not stall removal of every other slot - they are signalled (HPS_NOTIFY_BIT in their interrupt
 * notification) and fetch the device-gone message with next_event (<hpsrv/protocol.h>).
 *
 * Command line: cancel_ms=N (attention-button cancel window, default 0), detach_ms=N (driver
 * detach deadline, default 1000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hotplug/gone.h>
#include <hotplug/hotplug.h>
#include <hpsrv/protocol.h>
#include <iommu/protocol.h>
#include <pci/pci.h>
#include <portcullis/portcullis.h>
#include <task/protocol.h>
#include <task/task.h>

#include "hpsrv.h"

#define MAX_PAGES (2 * HP_MAX_SLOTS)
#define EVQ_DEPTH 4u

/* ---- config space: the pages the root task mapped, as one ECAM window ---- */

static struct {
    pci_sid_t sid;
    volatile uint8_t *va;
} g_pages[MAX_PAGES];
static unsigned g_npages;

static volatile uint8_t *page_of(uint64_t off)
{
    pci_sid_t sid = (pci_sid_t)(off >> 12);
    if ((off >> 12) > 0xffffu) {
        return NULL;
    }
    for (unsigned i = 0; i < g_npages; i++) {
        if (g_pages[i].sid == sid) {
            return g_pages[i].va;
        }
    }
    return NULL;
}

static uint32_t ecam_read(void *ctx, uint64_t off, unsigned width)
{
    (void)ctx;
    volatile uint8_t *p = page_of(off);
    uint32_t reg = (uint32_t)(off & 0xfff);
    if (p == NULL) {
        return width == 1 ? 0xffu : width == 2 ? 0xffffu : 0xffffffffu; /* not ours: absent */
    }
    g_stats.cfg_reads++;
    switch (width) {
    case 1:
        return *(volatile uint8_t *)(p + reg);
    case 2:
        return *(volatile uint16_t *)(p + reg);
    default:
        return *(volatile uint32_t *)(p + reg);
    }
}

static void ecam_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    (void)ctx;
    volatile uint8_t *p = page_of(off);
    uint32_t reg = (uint32_t)(off & 0xfff);
    if (p == NULL) {
        return;
    }
    g_stats.cfg_writes++;
    switch (width) {
    case 1:
        *(volatile uint8_t *)(p + reg) = (uint8_t)val;
        break;
    case 2:
        *(volatile uint16_t *)(p + reg) = (uint16_t)val;
        break;
    default:
        *(volatile uint32_t *)(p + reg) = val;
        break;
    }
}

static const struct pci_mmio g_mmio = {.ctx = NULL, .read = ecam_read, .write = ecam_write};
static struct pci_ecam g_ecam;

/* ---- state ---- */

/* What the server keeps per slot besides libhotplug's struct hp_slot. */
struct hps_slot {
    pci_sid_t port;
    uint8_t secondary;
    uint64_t irq_badge; /* bit in the bound notification's word */
    pc_cptr_t irq;      /* IRQHandler */
    pc_cptr_t drv_ntfn; /* the assigned driver's notification (0: none) */
    unsigned drv_task;  /* its task id (0: none) */
    struct hps_event evq[EVQ_DEPTH];
    unsigned ev_head, ev_count;
    uint64_t t_irq;    /* TSC when the event being handled arrived (0: none) */
    uint64_t t_button; /* TSC of the attention-button interrupt of the removal under way */
};

struct hps_stats g_stats;

/* Latency samples (TSC cycles) for the benchmark summary (server_stats prints it). */
#define LAT_MAX 128
struct lat {
    uint64_t v[LAT_MAX];
    unsigned n;
};
/* event -> fenced: orderly, surprise, orderly of a device with ATS enabled */
static struct lat g_lat_fence[3];
static struct lat g_lat_button; /* attention button interrupt -> device_removed */

static void lat_add(struct lat *l, uint64_t v)
{
    if (l->n < LAT_MAX) {
        l->v[l->n++] = v;
    }
}
static struct hps_slot g_slots[HP_MAX_SLOTS];
static unsigned g_nslots;
static struct hp_server g_srv;
static pc_cptr_t g_ep, g_iommu, g_init, g_cnode;
static uint32_t g_free_slot, g_end_slot;
static uint64_t g_tsc_hz;

uint64_t hps_now_ns(void)
{
    uint64_t t = task_rdtsc();
    uint64_t hz = g_tsc_hz ? g_tsc_hz : 1000000000ull;
    return (t / hz) * 1000000000ull + (t % hz) * 1000000000ull / hz;
}

static uint64_t tsc_to_us(uint64_t d)
{
    uint64_t hz = g_tsc_hz ? g_tsc_hz : 1000000000ull;
    return d / (hz / 1000000u ? hz / 1000000u : 1u);
}

static void sid_str(pci_sid_t sid, char *buf)
{
    snprintf(buf, 8, "%02x:%02x.%x", sid >> 8, (sid >> 3) & 0x1f, sid & 7);
}

static struct hps_slot *slot_by_port(pci_sid_t port)
{
    for (unsigned i = 0; i < g_nslots; i++) {
        if (g_slots[i].port == port) {
            return &g_slots[i];
        }
    }
    return NULL;
}

static struct hps_slot *slot_by_device(pci_sid_t sid)
{
    struct hp_slot *s = hp_server_slot_by_device(&g_srv, sid);
    return s != NULL ? slot_by_port(s->cfg.port) : NULL;
}

/*
 * One line with a timestamp (ms since boot, guest time) so console order can be compared with
 * QEMU's trace. Lines are stamped when they happen but printed after the event is handled: the
 * console costs far more than a fence, and must not sit between an interrupt and the fence.
 */
#define LOG_LINES 24
#define LOG_LINE_MAX 200
static char g_logbuf[LOG_LINES][LOG_LINE_MAX];
static unsigned g_nlog;
static uint64_t g_log_dropped;

static void log_flush(void)
{
    for (unsigned i = 0; i < g_nlog; i++) {
        printf("%s\n", g_logbuf[i]);
    }
    if (g_log_dropped) {
        printf("hotplug: %llu log line(s) dropped\n", (unsigned long long)g_log_dropped);
        g_log_dropped = 0;
    }
    g_nlog = 0;
}

void hps_log(const char *line)
{
    uint64_t now = hps_now_ns();
    if (g_nlog == LOG_LINES) {
        g_log_dropped++;
        return;
    }
    snprintf(g_logbuf[g_nlog++], LOG_LINE_MAX, "hotplug: [%llu.%06llu] %s",
             (unsigned long long)(now / 1000000u), (unsigned long long)(now % 1000000u), line);
}

/* ---- IOMMU server (hotplug role) ---- */

static int iommu_call(uint64_t label, uint64_t a0, uint64_t a1, unsigned nargs, uint64_t *ret0)
{
    const uint64_t in[2] = {a0, a1};
    uint64_t out[1] = {0};
    pc_msginfo_t info;
    pc_word_t err = nargs <= 2 ? pc_call_words(g_iommu, label, 0, in, nargs, out, 1, &info)
                               : PC_ERR_INVALID_ARGUMENT;
    if (err != PC_OK) {
        return (int)pc_call_ipc_failed(err); /* distinguishable from the server's errors */
    }
    if (ret0 != NULL) {
        *ret0 = out[0];
    }
    return (int)pc_msginfo_label(info);
}

static int op_fence(void *ctx, pci_sid_t sid, enum hp_fence_kind kind)
{
    (void)ctx;
    char b[8], line[96];
    sid_str(sid, b);
    struct hps_slot *hs = slot_by_device(sid);
    /* Orderly: the device's ATS Enable before and after the fence, the config-space half of
     * the sequence (QEMU traces invalidation descriptors but not config writes). Surprise: the
     * device is not touched at all. */
    struct pci_ats ats;
    bool has_ats = kind == HP_FENCE_ORDERLY && pci_ats_probe(&g_ecam, sid, &ats) == PCI_OK;
    uint16_t ats_before = has_ats ? pci_cfg_read16(&g_ecam, sid, ats.off + PCI_ATS_CTRL) : 0;
    uint64_t t0 = task_rdtsc(), status = 0;
    int rc = iommu_call(IOMMU_LABEL_DEVICE_FENCE, sid,
                        kind == HP_FENCE_ORDERLY ? IOMMU_FENCE_ORDERLY : IOMMU_FENCE_SURPRISE, 2,
                        &status);
    uint64_t t1 = task_rdtsc();
    if (has_ats) {
        uint16_t ats_after = pci_cfg_read16(&g_ecam, sid, ats.off + PCI_ATS_CTRL);
        snprintf(line, sizeof(line), "ATS Enable of %s: %u before the fence, %u after", b,
                 (ats_before & PCI_ATS_CTRL_ENABLE) != 0, (ats_after & PCI_ATS_CTRL_ENABLE) != 0);
        hps_log(line);
    }
    snprintf(line, sizeof(line), "device_fence(%s, %s) = %d status=%#llx (%llu us)", b,
             kind == HP_FENCE_ORDERLY ? "orderly" : "surprise", rc, (unsigned long long)status,
             (unsigned long long)tsc_to_us(t1 - t0));
    hps_log(line);
    if (hs != NULL && hs->t_irq != 0 && rc == 0) {
        /* From the interrupt (or request) that started the removal to the fence's completion. */
        bool ats_on = has_ats && (ats_before & PCI_ATS_CTRL_ENABLE) != 0;
        lat_add(&g_lat_fence[kind != HP_FENCE_ORDERLY ? 1 : ats_on ? 2 : 0], t1 - hs->t_irq);
        snprintf(line, sizeof(line), "fence of %s completed %llu us after the event", b,
                 (unsigned long long)tsc_to_us(t1 - hs->t_irq));
        hps_log(line);
        hs->t_irq = 0;
    }
    g_stats.fences++;
    return rc;
}

static int op_removed(void *ctx, pci_sid_t sid)
{
    (void)ctx;
    char b[8], line[64];
    sid_str(sid, b);
    struct hps_slot *hs = slot_by_device(sid);
    if (hs != NULL && hs->t_button != 0) {
        lat_add(&g_lat_button, task_rdtsc() - hs->t_button);
        hs->t_button = 0;
    }
    int rc = iommu_call(IOMMU_LABEL_DEVICE_REMOVED, sid, 0, 1, NULL);
    snprintf(line, sizeof(line), "device_removed(%s) = %d", b, rc);
    hps_log(line);
    g_stats.removed++;
    return rc;
}

static int op_added(void *ctx, pci_sid_t sid, uint32_t *generation)
{
    (void)ctx;
    char b[8], line[80];
    sid_str(sid, b);
    uint64_t gen = 0;
    int rc = iommu_call(IOMMU_LABEL_DEVICE_ADDED, sid, 0, 1, &gen);
    struct hp_slot *s = hp_server_slot_by_device(&g_srv, sid);
    if (rc == IOMMU_HP_ERR_PRESENT && s != NULL && s->n_added == 0) {
        /* A device that was there at boot is already known (and live) at the IOMMU server:
         * taking the slot over is not a new occupant. */
        snprintf(line, sizeof(line), "device_added(%s): present since boot", b);
        hps_log(line);
        return 0;
    }
    if (rc == 0 && gen <= 0xffffffffu) {
        *generation = (uint32_t)gen;
    }
    snprintf(line, sizeof(line), "device_added(%s) = %d generation=%llu", b, rc,
             (unsigned long long)gen);
    hps_log(line);
    g_stats.added++;
    return rc;
}

/* ---- drivers ---- */

static int queue_event(pci_sid_t sid, uint64_t label, hp_handle_t h)
{
    struct hps_slot *hs = slot_by_device(sid);
    if (hs == NULL || hs->drv_ntfn == 0) {
        return -1;
    }
    if (hs->ev_count == EVQ_DEPTH) {
        /* Oldest first out: a driver that never fetches keeps the newest events. */
        hs->ev_head = (hs->ev_head + 1) % EVQ_DEPTH;
        hs->ev_count--;
    }
    struct hps_event *e = &hs->evq[(hs->ev_head + hs->ev_count) % EVQ_DEPTH];
    e->label = label;
    e->handle = h;
    hs->ev_count++;
    pc_signal(hs->drv_ntfn);
    char b[8], line[96];
    sid_str(sid, b);
    snprintf(line, sizeof(line), "%s(%s, handle %#llx) -> task %u",
             label == HPS_EVENT_DEVICE_NEW ? "device_new" : hp_gone_label_str(label), b,
             (unsigned long long)h, hs->drv_task);
    hps_log(line);
    return 0;
}

static int op_going(void *ctx, hp_handle_t h)
{
    (void)ctx;
    return queue_event(HP_HANDLE_SID(h), HP_GONE_DEVICE_GOING, h);
}

static int op_gone(void *ctx, hp_handle_t h)
{
    (void)ctx;
    return queue_event(HP_HANDLE_SID(h), HP_GONE_DEVICE_GONE, h);
}

static int op_assign(void *ctx, hp_handle_t h, uint16_t vendor, uint16_t device)
{
    (void)ctx;
    pci_sid_t sid = HP_HANDLE_SID(h);
    struct hps_slot *hs = slot_by_device(sid);
    if (hs == NULL) {
        return -1;
    }
    /* The slot's reserved CNode slot receives the driver's notification. */
    uint32_t rx = g_free_slot + (uint32_t)(hs - g_slots);
    if (rx >= g_end_slot || g_cnode == 0) {
        return -1;
    }
    if (hs->drv_ntfn != 0) {
        (void)pc_cnode_delete(g_cnode, hs->drv_ntfn);
        hs->drv_ntfn = 0;
    }
    hs->drv_task = 0;
    hs->ev_count = 0;
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    m.info = pc_msginfo(TASK_LABEL_HP_ASSIGN, 0, 0, 3);
    m.mr[0] = h;
    m.mr[1] = (uint64_t)vendor | (uint64_t)device << 16;
    m.mr[2] = hs->port;
    pc_ipc_buffer()->receive_index = rx;
    pc_word_t err = pc_call(g_init, &m);
    pc_ipc_buffer()->receive_index = 0;
    char b[8], line[112];
    sid_str(sid, b);
    if (err != PC_OK || m.mr[0] != PC_OK) {
        snprintf(line, sizeof(line), "assign(%s %04x:%04x) refused by the root task: %llu", b,
                 vendor, device, (unsigned long long)(err != PC_OK ? err : m.mr[0]));
        hps_log(line);
        return -1;
    }
    hs->drv_task = (unsigned)m.mr[1];
    hs->drv_ntfn = pc_msginfo_extra_caps(m.info) == 1 ? rx : 0;
    snprintf(line, sizeof(line), "assign(%s %04x:%04x, handle %#llx) -> task %u%s", b, vendor,
             device, (unsigned long long)h, hs->drv_task,
             hs->drv_ntfn ? "" : " (no notification: it will not hear of removal)");
    hps_log(line);
    (void)queue_event(sid, HPS_EVENT_DEVICE_NEW, h);
    return 0;
}

/* "ON", "WAIT_DETACH", ...: the enum's name without its prefix. */
static const char *state_name(int st)
{
    switch (st) {
#define HPS_STATE_NAME_(name, value, text)                                                         \
    case value:                                                                                    \
        return #name + 6;
        HP_STATES(HPS_STATE_NAME_)
#undef HPS_STATE_NAME_
    default:
        return "-";
    }
}

static void op_log(void *ctx, const struct hp_log_rec *r)
{
    (void)ctx;
    char p[8], d[8], line[200];
    sid_str(r->port, p);
    sid_str(r->device, d);
    snprintf(line, sizeof(line), "slot %s dev %s [%s] %s (arg %#llx)", p, d, state_name(r->state),
             hp_log_str(r->code), (unsigned long long)r->arg);
    hps_log(line);
    if (r->code < 32) {
        g_stats.logs[r->code]++;
    }
    struct hps_slot *hs = slot_by_port(r->port);
    if (r->code == HP_LOG_BUTTON && hs != NULL && hs->t_irq != 0) {
        hs->t_button = hs->t_irq;
    }
}

/* ---- messages: decoded by hps_decode (src/protocol.c), then performed here ---- */

static void reply_words(pc_msg_t *m, const uint64_t *w, unsigned n)
{
    m->info = pc_msginfo(0, 0, 0, n);
    (void)pc_msg_set_words(m, w, n);
}

static void reply_err(pc_msg_t *m, uint64_t err)
{
    reply_words(m, &err, 1);
}

static void do_next_event(unsigned task, pc_msg_t *m)
{
    m->info = pc_msginfo(HPS_EVENT_NONE, 0, 0, 0);
    for (unsigned i = 0; i < g_nslots; i++) {
        struct hps_slot *hs = &g_slots[i];
        if (hs->drv_task != task || hs->ev_count == 0) {
            continue;
        }
        struct hps_event *e = &hs->evq[hs->ev_head];
        hs->ev_head = (hs->ev_head + 1) % EVQ_DEPTH;
        hs->ev_count--;
        m->info = pc_msginfo(e->label, 0, 0, 1);
        m->mr[0] = e->handle;
        if (hs->ev_count > 0) {
            pc_signal(hs->drv_ntfn); /* more to fetch */
        }
        return;
    }
}

static void do_detached(const struct hps_request *req, pc_msg_t *m, uint64_t now)
{
    hp_handle_t h = req->a.detached_handle;
    struct hps_slot *hs = slot_by_device(HP_HANDLE_SID(h));
    enum hp_gone_err e;
    char line[96];
    if (hs == NULL || hs->drv_task != req->task) {
        /* Only the driver the device was given to may release it. */
        snprintf(line, sizeof(line), "detached(%#llx) from task %u refused: not its device",
                 (unsigned long long)h, req->task);
        e = HP_GONE_ERR_UNKNOWN;
    } else {
        e = hp_server_detached(&g_srv, h, now);
        snprintf(line, sizeof(line), "detached(%#llx) from task %u = %s", (unsigned long long)h,
                 req->task, hp_gone_err_str(e));
    }
    hps_log(line);
    reply_err(m, (uint64_t)e);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One BENCH line: median/min/max of the samples, in TSC cycles and microseconds. */
static void print_bench(const char *name, struct lat *l)
{
    if (l->n == 0) {
        return;
    }
    qsort(l->v, l->n, sizeof(l->v[0]), cmp_u64);
    uint64_t med = l->v[l->n / 2];
    char line[200];
    snprintf(line, sizeof(line),
             "BENCH %s n=%u median_cycles=%llu min_cycles=%llu max_cycles=%llu median_us=%llu "
             "max_us=%llu",
             name, l->n, (unsigned long long)med, (unsigned long long)l->v[0],
             (unsigned long long)l->v[l->n - 1], (unsigned long long)tsc_to_us(med),
             (unsigned long long)tsc_to_us(l->v[l->n - 1]));
    if (g_nlog < LOG_LINES) {
        snprintf(g_logbuf[g_nlog++], LOG_LINE_MAX, "%s", line);
    }
}

static void do_control(const struct hps_request *req, pc_msg_t *m, uint64_t now)
{
    switch (req->label) {
    case HPS_SLOT_REQUEST: {
        pci_sid_t port = (pci_sid_t)req->a.slot_request.port;
        struct hps_slot *hs = slot_by_port(port);
        if (hs != NULL) {
            hs->t_irq = task_rdtsc();
        }
        char p[8], line[80];
        sid_str(port, p);
        snprintf(line, sizeof(line), "control request %llu for slot %s",
                 (unsigned long long)req->a.slot_request.request, p);
        hps_log(line);
        reply_err(m, (uint64_t)hp_server_request(
                         &g_srv, port, (enum hp_request)req->a.slot_request.request, now));
        if (hs != NULL) {
            hs->t_irq = 0;
        }
        return;
    }
    case HPS_SLOT_STATUS: {
        struct hp_slot *s = hp_server_slot_by_port(&g_srv, (pci_sid_t)req->a.slot_status.port);
        if (s == NULL) {
            reply_err(m, HP_ERR_NOT_OWNED);
            return;
        }
        const uint64_t w[HPS_STATUS_WORDS] = {
            HP_OK, s->state, s->dev_sid, hp_slot_handle(s), s->n_added, s->n_removed,
        };
        reply_words(m, w, HPS_STATUS_WORDS);
        return;
    }
    case HPS_SLOT_FIND: {
        struct hp_slot *s = hp_server_slot_by_device(&g_srv, (pci_sid_t)req->a.slot_find.device);
        if (s == NULL) {
            reply_err(m, HP_ERR_NOT_OWNED);
            return;
        }
        const uint64_t w[2] = {HP_OK, s->cfg.port};
        reply_words(m, w, 2);
        return;
    }
    case HPS_SERVER_STATS: {
        print_bench("hotplug_event_to_fenced_orderly", &g_lat_fence[0]);
        print_bench("hotplug_event_to_fenced_surprise", &g_lat_fence[1]);
        print_bench("hotplug_event_to_fenced_orderly_ats", &g_lat_fence[2]);
        print_bench("hotplug_button_to_removed", &g_lat_button);
        const uint64_t w[HPS_STATS_WORDS] = {
            HP_OK,
            g_stats.fences,
            g_stats.removed,
            g_stats.added,
            g_stats.logs[HP_LOG_IOMMU_FAILED],
            g_stats.irqs,
            g_stats.refused,
            g_stats.logs[HP_LOG_DETACH_TIMEOUT] + g_stats.logs[HP_LOG_CC_TIMEOUT] +
                g_stats.logs[HP_LOG_CONFIG_TIMEOUT],
        };
        reply_words(m, w, HPS_STATS_WORDS);
        return;
    }
    case HPS_IOMMU_COUNTS: {
        /* Forwarded: only this server holds the IOMMU server's hotplug badge. MR0 is the IOMMU
         * server's error, then its counts (zero where it sent fewer). */
        uint64_t w[HPS_COUNTS_WORDS] = {0};
        uint64_t sid = req->a.iommu_counts.sid;
        pc_msginfo_t info;
        pc_word_t err = pc_call_words(g_iommu, IOMMU_LABEL_COUNTS, 0, &sid, 1, &w[1],
                                      HPS_COUNTS_WORDS - 1, &info);
        w[0] = err != PC_OK ? pc_call_ipc_failed(err) : pc_msginfo_label(info);
        reply_words(m, w, HPS_COUNTS_WORDS);
        return;
    }
    default:
        reply_err(m, HP_ERR_INVALID); /* hps_decode returns control methods only */
        return;
    }
}

/* Returns whether to reply. Nothing is acted on before hps_decode accepted the message. */
static bool handle_message(pc_msg_t *m, uint64_t now)
{
    struct hps_msg in = {
        .label = pc_msginfo_label(m->info), .badge = m->badge, .len = pc_msginfo_length(m->info)};
    (void)pc_msg_get_words(m, in.w, HPS_MSG_WORDS);
    struct hps_request req;
    g_stats.messages++;
    uint64_t err = hps_decode(&in, &req);
    if (err != 0) {
        g_stats.refused++;
        reply_err(m, err);
        return true;
    }
    if (req.caller == HPS_CALLER_CONTROL) {
        do_control(&req, m, now);
    } else if (req.label == HPS_NEXT_EVENT) {
        do_next_event(req.task, m);
    } else {
        do_detached(&req, m, now);
    }
    return true;
}

static void handle_irqs(uint64_t word, uint64_t now)
{
    for (unsigned i = 0; i < g_nslots; i++) {
        struct hps_slot *hs = &g_slots[i];
        if ((word & hs->irq_badge) == 0) {
            continue;
        }
        g_stats.irqs++;
        /* A fence started by this interrupt is measured from here (see op_fence). */
        hs->t_irq = task_rdtsc();
        (void)hp_server_irq(&g_srv, hs->port, now);
        hs->t_irq = 0;
        (void)pc_irq_handler_ack(hs->irq);
    }
    /* Anything else in the word is not a slot of ours: counted, never acted on. */
    uint64_t ours = 0;
    for (unsigned i = 0; i < g_nslots; i++) {
        ours |= g_slots[i].irq_badge;
    }
    if (word & ~ours) {
        g_stats.foreign_irqs++;
    }
}

/* ---- start-up ---- */

static bool add_page(pci_sid_t sid, uint64_t vaddr)
{
    if (g_npages >= MAX_PAGES || vaddr == 0) {
        return false;
    }
    g_pages[g_npages].sid = sid;
    g_pages[g_npages].va = (volatile uint8_t *)(uintptr_t)vaddr;
    g_npages++;
    return true;
}

/* The port's interrupt: MSI-X entry 0 (table in a BAR we were given) or MSI; Bus Master Enable
 * on the port, without which QEMU's root port never delivers it. */
/*
 * The MSI address/data of a port. Remapped (the root task gave no address, arg1 = 0): the IOMMU
 * server writes a remapping entry, source-id validated for the port, on the vector the root task
 * granted it, and returns the remappable pair (port_irq). Otherwise the direct pair given.
 */
static const char *port_msi(pci_sid_t port, const task_cap_t *irq, uint64_t *addr, uint32_t *data)
{
    *addr = irq->arg1;
    *data = (uint32_t)irq->arg2;
    if (*addr != 0) {
        return NULL;
    }
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    m.info = pc_msginfo(IOMMU_LABEL_PORT_IRQ, 0, 0, 1);
    m.mr[0] = port;
    pc_word_t err = pc_call(g_iommu, &m);
    if (err != PC_OK || pc_msginfo_label(m.info) != IOMMU_HP_OK || pc_msginfo_length(m.info) < 3) {
        return err != PC_OK ? "port_irq: IPC failed"
                            : iommu_hp_errname((unsigned)pc_msginfo_label(m.info));
    }
    *addr = m.mr[1];
    *data = (uint32_t)m.mr[2];
    return NULL;
}

static const char *setup_irq(pci_sid_t port, const task_cap_t *irq, const task_cap_t *bar)
{
    static struct pci_mmio table;
    static struct pci_mmio_direct direct[HP_MAX_SLOTS];
    uint64_t addr = 0;
    uint32_t data = 0;
    const char *why = port_msi(port, irq, &addr, &data);
    if (why != NULL) {
        return why;
    }
    struct pci_msix msix;
    if (pci_msix_probe(&g_ecam, port, &msix) == PCI_OK) {
        if (bar == NULL || msix.table_bir != 0 || msix.pba_bir != 0 ||
            pci_msix_check_bar(&msix, 0, bar->size) != PCI_OK) {
            return "MSI-X table not in the BAR0 we hold";
        }
        pci_mmio_direct_init(&table, &direct[g_nslots], (volatile void *)(uintptr_t)bar->vaddr,
                             bar->size);
        if (pci_msix_set_entry(&table, &msix, 0, addr, data, false) != PCI_OK ||
            pci_msix_enable(&g_ecam, port, &msix, true) != PCI_OK) {
            return "MSI-X programming failed";
        }
    } else {
        struct pci_msi msi;
        if (pci_msi_probe(&g_ecam, port, &msi) != PCI_OK ||
            pci_msi_enable(&g_ecam, port, &msi, addr, data, 1) != PCI_OK) {
            return "no MSI-X or MSI capability";
        }
    }
    if (pci_set_bus_master(&g_ecam, port, true) != PCI_OK) {
        return "bus master enable failed";
    }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const task_start_info_t *si = task_start();
    if (si == NULL) {
        printf("hotplug: no valid start information\n");
        return 1;
    }
    g_tsc_hz = si->tsc_hz;
    g_ep = task_cap_slot(si, "hotplug", TASK_CAP_ENDPOINT);
    g_iommu = task_cap_slot(si, "iommu", TASK_CAP_ENDPOINT);
    g_init = task_cap_slot(si, "init", TASK_CAP_ENDPOINT);
    g_cnode = task_cap_slot(si, "cnode", TASK_CAP_OWN_CNODE);
    g_free_slot = si->first_free_slot;
    g_end_slot = si->end_free_slot;
    if (g_ep == 0 || g_iommu == 0 || g_init == 0) {
        printf("hotplug: missing endpoint grants (hotplug, iommu, init)\n");
        return 1;
    }
    uint64_t cancel_ms = 0, detach_ms = HP_DEFAULT_DETACH_TIMEOUT_NS / 1000000u;
    (void)task_cmdline_get_u64(si->cmdline, "cancel_ms", &cancel_ms);
    (void)task_cmdline_get_u64(si->cmdline, "detach_ms", &detach_ms);
    if (cancel_ms > 60000 || detach_ms == 0 || detach_ms > 60000) {
        printf("hotplug: cancel_ms/detach_ms out of range; using defaults\n");
        cancel_ms = 0;
        detach_ms = HP_DEFAULT_DETACH_TIMEOUT_NS / 1000000u;
    }

    /* Config pages first: the ECAM window must answer before any slot is looked at. */
    for (unsigned k = 0; k < HP_MAX_SLOTS; k++) {
        char nm[TASK_CAP_NAME_MAX];
        snprintf(nm, sizeof(nm), "slot%u", k);
        const task_cap_t *port = task_cap_find(si, nm);
        snprintf(nm, sizeof(nm), "slot%u_dev", k);
        const task_cap_t *dev = task_cap_find(si, nm);
        if (port == NULL) {
            break;
        }
        (void)add_page((pci_sid_t)port->arg0, port->vaddr);
        if (dev != NULL) {
            (void)add_page((pci_sid_t)dev->arg0, dev->vaddr);
        }
    }
    (void)pci_ecam_init(&g_ecam, &g_mmio, 0, 0, 255);

    static const struct hp_iommu_ops iommu_ops = {.ctx = NULL,
                                                  .device_fence = op_fence,
                                                  .device_removed = op_removed,
                                                  .device_added = op_added};
    static const struct hp_driver_ops drv_ops = {
        .ctx = NULL, .device_going = op_going, .device_gone = op_gone, .assign = op_assign};
    static const struct hp_log_ops log_ops = {.ctx = NULL, .log = op_log};
    if (hp_server_init(&g_srv, &g_ecam, &iommu_ops, &drv_ops, &log_ops) != HP_OK) {
        printf("hotplug: server init failed\n");
        return 1;
    }

    for (unsigned k = 0; k < HP_MAX_SLOTS; k++) {
        char nm[TASK_CAP_NAME_MAX];
        snprintf(nm, sizeof(nm), "slot%u", k);
        const task_cap_t *port = task_cap_find(si, nm);
        if (port == NULL) {
            break;
        }
        snprintf(nm, sizeof(nm), "slot%u_irq", k);
        const task_cap_t *irq = task_cap_find(si, nm);
        snprintf(nm, sizeof(nm), "slot%u_bar", k);
        const task_cap_t *bar = task_cap_find(si, nm);
        pci_sid_t psid = (pci_sid_t)port->arg0;
        char p[8], line[128];
        sid_str(psid, p);
        struct hp_slot_config cfg;
        hp_slot_config_defaults(&cfg, psid, (uint8_t)port->arg1);
        cfg.cancel_window_ns = cancel_ms * 1000000u;
        cfg.detach_timeout_ns = detach_ms * 1000000u;
        /* Interrupt first, so no event of the take-over is lost; the library clears stale
         * status and enables the slot's events itself. */
        struct hps_slot *hs = &g_slots[g_nslots];
        memset(hs, 0, sizeof(*hs));
        hs->port = psid;
        hs->secondary = (uint8_t)port->arg1;
        const char *why = irq == NULL ? "no MSI vector granted" : setup_irq(psid, irq, bar);
        if (why != NULL) {
            snprintf(line, sizeof(line), "port %s: %s (polled only)", p, why);
            hps_log(line);
        } else {
            hs->irq = irq->slot;
            hs->irq_badge = irq->badge;
        }
        struct hp_slot *s = NULL;
        int rc = hp_server_add_slot(&g_srv, &cfg, hps_now_ns(), &s);
        if (rc != HP_OK) {
            snprintf(line, sizeof(line), "port %s: not a hot-plug slot: %s", p, hp_err_str(rc));
            hps_log(line);
            continue;
        }
        g_nslots++;
        snprintf(line, sizeof(line), "slot %s (bus %02llx) taken over: %s%s", p,
                 (unsigned long long)port->arg1, state_name(s->state), hs->irq ? ", MSI" : "");
        hps_log(line);
    }
    hps_log(g_nslots ? "slots ready" : "no hot-plug slot: serving requests only");
    log_flush();

    uint64_t next_poll = hps_now_ns() + HP_POLL_INTERVAL_NS;
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    bool reply = false;
    for (;;) {
        uint64_t now = hps_now_ns();
        uint64_t d = hp_server_next_deadline(&g_srv);
        if (d > next_poll) {
            d = next_poll;
        }
        uint64_t tmo_us = d > now ? (d - now + 999u) / 1000u : 0;
        pc_word_t err = reply ? pc_reply_recv(g_ep, &m, tmo_us) : pc_recv(g_ep, &m, tmo_us);
        reply = false;
        now = hps_now_ns();
        if (err == PC_OK) {
            if (pc_msginfo_label(m.info) == PC_LABEL_NOTIFICATION) {
                handle_irqs(m.badge, now);
            } else {
                reply = handle_message(&m, now);
            }
        }
        hp_server_timer(&g_srv, now);
        if (now >= next_poll) {
            hp_server_poll(&g_srv, now);
            next_poll = now + HP_POLL_INTERVAL_NS;
        }
        log_flush();
    }
}
