/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task's side of the IOMMU server's root protocol (<iommu/protocol.h>,
 * IOMMU_ROOT_METHODS): the device capability of a driver. While tasks are built, every IOMMU client
 * grant of the policy (GRANT_IOMMU_CLIENT: the endpoint the IOMMU server serves, one badge per
 * task) is noted with the PCI function the task's role claimed and a notification for fault
 * delivery (the task holds a READ copy named "iommu_fault"). Once every module is started, the root
 * task registers each client with the server through the one endpoint copy carrying
 * IOMMU_SRV_BADGE_ROOT: "badge B may attach source-id S, signal N on its faults". Drivers start
 * below the root task's priority, so none runs before its registration is done. A DMA pool grant
 * (root-owned RAM mapped into the task) is granted to the client's badge right after its
 * registration (grant_memory).
 */
#include <stdio.h>
#include <string.h>

#include <init/init.h>
#include <init/iommu_link.h>
#include <iommu/protocol.h>

#define LINK_MAX INIT_MAX_TASKS
#define LINK_POOLS 2u
#define LINK_VECTORS 4u
#define LINK_PORTS 16u

static struct {
    unsigned task;
    uint64_t badge;
    int sid; /* -1: no PCI function */
    pc_cptr_t ntfn;
    bool sent; /* registered already (iommu_link_send runs again for hot-plugged drivers) */
    unsigned npools;
    struct {
        uint64_t pa, size;
        unsigned rights;
        bool granted; /* the server accepted grant_memory: its grant index is the pool's */
        bool revoked; /* revoke_memory confirmed: no device reaches it, the root task's again */
    } pool[LINK_POOLS];
    unsigned nvec;
    uint8_t vec[LINK_VECTORS]; /* vector grant k = vec[k], for the task's device */
} g_link[LINK_MAX];
static unsigned g_nlink;

/* Hotplug ports and the vector of each: granted to the hotplug badge before any client. */
static struct {
    uint16_t sid;
    uint8_t vector;
    bool sent;
} g_port[LINK_PORTS];
static unsigned g_nport;

bool iommu_link_note(unsigned task, uint64_t badge, int sid, pc_cptr_t ntfn)
{
    if (g_nlink >= LINK_MAX || !iommu_srv_badge_is_client(badge)) {
        return false;
    }
    g_link[g_nlink].task = task;
    g_link[g_nlink].badge = badge;
    g_link[g_nlink].sid = sid;
    g_link[g_nlink].ntfn = ntfn;
    g_link[g_nlink].sent = false;
    g_link[g_nlink].npools = 0;
    g_link[g_nlink].nvec = 0;
    g_nlink++;
    return true;
}

bool iommu_link_vector(unsigned task, unsigned vector, unsigned *index)
{
    for (unsigned i = 0; i < g_nlink; i++) {
        if (g_link[i].task == task && !g_link[i].sent && g_link[i].sid >= 0 &&
            g_link[i].nvec < LINK_VECTORS && vector <= 0xff) {
            unsigned k = g_link[i].nvec++;
            g_link[i].vec[k] = (uint8_t)vector;
            *index = k;
            return true;
        }
    }
    return false;
}

/* I/O APIC lines issued at boot: moved to remapped delivery once the server runs. */
#define LINK_IOAPIC_LINES 8u
static struct {
    pc_cptr_t handler; /* the root task's copy of the line's IRQHandler */
    uint8_t vector;
    uint8_t irq;
} g_line[LINK_IOAPIC_LINES];
static unsigned g_nline;

bool iommu_link_ioapic_line(pc_cptr_t handler, unsigned vector, unsigned irq)
{
    if (g_nline >= LINK_IOAPIC_LINES || vector > 0xff || irq > 0xff) {
        return false;
    }
    g_line[g_nline].handler = handler;
    g_line[g_nline].vector = (uint8_t)vector;
    g_line[g_nline].irq = (uint8_t)irq;
    g_nline++;
    return true;
}

/* The I/O APIC's entries (irq_route for its source-id), then its lines in remappable format. */
static void send_ioapic_lines(pc_cptr_t ep)
{
    for (unsigned i = 0; i < g_nline; i++) {
        pc_msg_t m;
        memset(&m, 0, sizeof(m));
        m.mr[0] = (uint64_t)g_platform.ioapic_sid;
        m.mr[1] = g_line[i].vector;
        m.info = pc_msginfo(IOMMU_ROOT_IRQ_ROUTE, 0, 0, 2);
        pc_word_t err = pc_call(ep, &m);
        uint64_t res = err == PC_OK ? pc_msginfo_label(m.info) : ~0ull;
        bool ok = res == 0 && pc_msginfo_length(m.info) >= 3;
        uint64_t addr = ok ? m.mr[1] : 0;
        /* the index the remappable address carries: handle[14:0] in 19:5, handle[15] in 2 */
        uint32_t index = (uint32_t)((addr >> 5) & 0x7fff) | (uint32_t)((addr >> 2) & 1) << 15;
        pc_word_t kerr = ok ? pc_irq_handler_set_remap(g_line[i].handler, index) : PC_ERR_RANGE;
        printf("init: I/O APIC line of ISA IRQ %u (vector %u): %s, entry %u\n", g_line[i].irq,
               g_line[i].vector,
               !ok             ? "the IOMMU server wrote no entry: the line stays masked-direct"
               : kerr != PC_OK ? "the kernel refused the remappable format"
                               : "remapped",
               index);
        obj_delete(g_line[i].handler);
    }
    g_nline = 0;
}

static bool g_server_expected;

void iommu_link_expect_server(void)
{
    g_server_expected = true;
}

bool iommu_link_server_expected(void)
{
    return g_server_expected;
}

bool iommu_link_port_vector(uint16_t sid, unsigned vector)
{
    if (g_nport >= LINK_PORTS || vector > 0xff) {
        return false;
    }
    g_port[g_nport].sid = sid;
    g_port[g_nport].vector = (uint8_t)vector;
    g_port[g_nport].sent = false;
    g_nport++;
    return true;
}

/* irq_grant(badge, sid, vector); true when the server answered OK with result `want`. */
static bool send_irq_grant(pc_cptr_t ep, uint64_t badge, uint64_t sid, unsigned vector,
                           uint64_t want)
{
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    m.mr[0] = badge;
    m.mr[1] = sid;
    m.mr[2] = vector;
    m.info = pc_msginfo(IOMMU_ROOT_IRQ_GRANT, 0, 0, 3);
    pc_word_t err = pc_call(ep, &m);
    return err == PC_OK && pc_msginfo_label(m.info) == 0 &&
           (badge == IOMMU_SRV_BADGE_HOTPLUG ||
            (pc_msginfo_length(m.info) >= 1 && m.mr[0] == want));
}

/* The vector grants of link i (after its registration succeeded). */
static void send_vectors(pc_cptr_t ep, unsigned i)
{
    for (unsigned k = 0; k < g_link[i].nvec; k++) {
        bool ok = send_irq_grant(ep, g_link[i].badge, (uint64_t)g_link[i].sid, g_link[i].vec[k], k);
        printf("init: iommu client %#llx: interrupt grant %u (vector %u): %s\n",
               (unsigned long long)g_link[i].badge, k, g_link[i].vec[k],
               ok ? "granted" : "refused by the server");
    }
}

bool iommu_link_pool(unsigned task, uint64_t pa, uint64_t size, unsigned rights, unsigned *index)
{
    for (unsigned i = 0; i < g_nlink; i++) {
        if (g_link[i].task == task && !g_link[i].sent && g_link[i].npools < LINK_POOLS) {
            unsigned k = g_link[i].npools++;
            g_link[i].pool[k].pa = pa;
            g_link[i].pool[k].size = size;
            g_link[i].pool[k].rights = rights;
            g_link[i].pool[k].granted = false;
            g_link[i].pool[k].revoked = false;
            *index = k;
            return true;
        }
    }
    return false;
}

/* grant_memory for the pools of link i (after its registration succeeded). */
static void send_pools(pc_cptr_t ep, unsigned i)
{
    for (unsigned k = 0; k < g_link[i].npools; k++) {
        pc_msg_t m;
        memset(&m, 0, sizeof(m));
        m.mr[0] = g_link[i].badge;
        m.mr[1] = g_link[i].pool[k].pa;
        m.mr[2] = g_link[i].pool[k].size;
        m.mr[3] = g_link[i].pool[k].rights;
        m.info = pc_msginfo(IOMMU_ROOT_GRANT_MEMORY, 0, 0, 4);
        pc_word_t err = pc_call(ep, &m);
        uint64_t res = err == PC_OK ? pc_msginfo_label(m.info) : ~0ull;
        bool ok = res == 0 && pc_msginfo_length(m.info) >= 1 && m.mr[0] == k;
        g_link[i].pool[k].granted = ok;
        printf("init: iommu client %#llx: DMA pool %u (%#llx, %llu KiB): %s\n",
               (unsigned long long)g_link[i].badge, k, (unsigned long long)g_link[i].pool[k].pa,
               (unsigned long long)(g_link[i].pool[k].size >> 10),
               ok ? "granted" : "refused by the server");
    }
}

/*
 * One root-protocol call at run time: a root-badged copy of the server's endpoint made for it
 * (in the root scope: it outlives no task) and deleted after. *res = the server's error (the
 * reply label), words into out[0..nout). False when no call could be made.
 */
static bool root_call(unsigned label, const uint64_t *w, unsigned n, uint64_t *res, uint64_t *out,
                      unsigned nout)
{
    pc_cptr_t shared = obj_shared_slot(init_policy_iommu_endpoint());
    unsigned saved = obj_root_scope_enter();
    pc_cptr_t ep = shared != 0 ? slot_map_alloc(&g_slots, 1) : 0;
    obj_root_scope_leave(saved);
    bool called = false;
    if (ep != 0 && pc_cnode_mint(PC_SLOT_CNODE, ep, PC_SLOT_CNODE, shared, PC_RIGHT_WRITE,
                                 IOMMU_SRV_BADGE_ROOT) == PC_OK) {
        pc_msg_t m;
        memset(&m, 0, sizeof(m));
        for (unsigned i = 0; i < n && i < PC_MSG_REG_COUNT; i++) {
            m.mr[i] = w[i];
        }
        m.info = pc_msginfo(label, 0, 0, n);
        called = pc_call(ep, &m) == PC_OK;
        *res = called ? pc_msginfo_label(m.info) : ~0ull;
        unsigned got = called ? pc_msginfo_length(m.info) : 0;
        for (unsigned i = 0; i < nout; i++) {
            out[i] = i < got && i < PC_MSG_REG_COUNT ? m.mr[i] : 0;
        }
    }
    if (ep != 0) {
        obj_delete(ep);
    }
    return called;
}

static int link_of(unsigned task)
{
    for (unsigned i = 0; i < g_nlink; i++) {
        if (g_link[i].task == task && g_link[i].sent) {
            return (int)i;
        }
    }
    return -1;
}

static const char *result_name(bool called, uint64_t res)
{
    return !called ? "IPC failed" : res == 0 ? "ok" : "refused or not confirmed";
}

/* revoke_memory / revoke_frames: the words, the call, the line; true only when the server
 * confirmed that no mapping of the memory is left (error OK and no pins left). */
static bool revoke_memory_call(unsigned task, unsigned label, const uint64_t *w, unsigned n,
                               const char *what, uint64_t *pins_left)
{
    int i = link_of(task);
    uint64_t res = ~0ull, out[2] = {0, 0};
    bool called = i >= 0 && root_call(label, w, n, &res, out, 2);
    printf("init: revoke: %s of iommu client %#llx (task %u): %s (error %llu, status %#llx, %llu "
           "pins left)\n",
           what, i >= 0 ? (unsigned long long)g_link[i].badge : 0ull, task,
           i < 0 ? "no registered client" : result_name(called, res), (unsigned long long)res,
           (unsigned long long)out[0], (unsigned long long)out[1]);
    if (pins_left) {
        *pins_left = out[1];
    }
    return called && res == 0 && out[1] == 0;
}

bool iommu_link_revoke_memory(unsigned task, unsigned grant, uint64_t *pins_left)
{
    int i = link_of(task);
    uint64_t w[2] = {i >= 0 ? g_link[i].badge : 0, grant};
    bool ok = revoke_memory_call(task, IOMMU_ROOT_REVOKE_MEMORY, w, 2, "memory grant", pins_left);
    if (ok && grant < g_link[i].npools) {
        g_link[i].pool[grant].revoked = true;
    }
    return ok;
}

bool iommu_link_pool_granted(unsigned task, unsigned *grant, uint64_t *pa, uint64_t *size)
{
    int i = link_of(task);
    for (unsigned k = 0; i >= 0 && k < g_link[i].npools; k++) {
        if (g_link[i].pool[k].granted && !g_link[i].pool[k].revoked) {
            *grant = k;
            *pa = g_link[i].pool[k].pa;
            *size = g_link[i].pool[k].size;
            return true;
        }
    }
    return false;
}

bool iommu_link_revoke_frames(unsigned task, uint64_t pa, uint64_t size, uint64_t *pins_left)
{
    int i = link_of(task);
    uint64_t w[3] = {i >= 0 ? g_link[i].badge : 0, pa, size};
    char what[64];
    snprintf(what, sizeof(what), "frames [%#llx, %#llx)", (unsigned long long)pa,
             (unsigned long long)(pa + size));
    return revoke_memory_call(task, IOMMU_ROOT_REVOKE_FRAMES, w, 3, what, pins_left);
}

bool iommu_link_revoke_device(unsigned task, uint16_t sid)
{
    int i = link_of(task);
    uint64_t res = ~0ull, status = 0;
    uint64_t w[2] = {i >= 0 ? g_link[i].badge : 0, sid};
    bool called = i >= 0 && root_call(IOMMU_ROOT_REVOKE_DEVICE, w, 2, &res, &status, 1);
    printf("init: revoke: device %02x:%02x.%x of iommu client %#llx (task %u): %s (error %llu, "
           "status %#llx)\n",
           sid >> 8, (sid >> 3) & 0x1f, sid & 7,
           i >= 0 ? (unsigned long long)g_link[i].badge : 0ull, task,
           i < 0 ? "no registered client" : result_name(called, res), (unsigned long long)res,
           (unsigned long long)status);
    return called && res == 0;
}

bool iommu_link_remove(unsigned task)
{
    bool ok = true;
    for (unsigned i = 0; i < g_nlink; i++) {
        if (g_link[i].task != task) {
            continue;
        }
        if (g_link[i].sent) {
            /* The server answers once the client's devices are blocked and flushed, its
             * mappings gone and its grants withdrawn (synchronous: the call is the wait). */
            uint64_t res = ~0ull;
            bool called = root_call(IOMMU_ROOT_CLIENT_REMOVE, &g_link[i].badge, 1, &res, NULL, 0);
            printf("init: iommu client %#llx removed at the server: %s (%llu)\n",
                   (unsigned long long)g_link[i].badge,
                   !called    ? "IPC failed"
                   : res == 0 ? "ok"
                              : "error",
                   (unsigned long long)res);
            ok = called && res == 0;
        }
        g_link[i] = g_link[--g_nlink]; /* an unsent note just goes (its slot is the task's) */
        i--;
    }
    return ok;
}

void iommu_link_send(void)
{
    unsigned pending = 0;
    for (unsigned i = 0; i < g_nlink; i++) {
        pending += !g_link[i].sent;
    }
    for (unsigned p = 0; p < g_nport; p++) {
        pending += !g_port[p].sent;
    }
    pending += g_nline;
    if (pending == 0) {
        return;
    }
    const init_task_t *srv = task_running_with(ROLE_IOMMU_SERVER);
    pc_cptr_t shared = obj_shared_slot(init_policy_iommu_endpoint());
    if (srv == NULL || shared == 0) {
        printf("init: iommu: no IOMMU server running: %u registration(s) not sent\n", pending);
        return;
    }
    pc_cptr_t ep = slot_map_alloc(&g_slots, 1);
    if (ep == 0 || pc_cnode_mint(PC_SLOT_CNODE, ep, PC_SLOT_CNODE, shared,
                                 PC_RIGHT_WRITE | PC_RIGHT_GRANT, IOMMU_SRV_BADGE_ROOT) != PC_OK) {
        printf("init: iommu: cannot mint the root badge: clients not registered\n");
        return;
    }
    for (unsigned p = 0; p < g_nport; p++) {
        if (!g_port[p].sent) {
            g_port[p].sent = true;
            if (!send_irq_grant(ep, IOMMU_SRV_BADGE_HOTPLUG, g_port[p].sid, g_port[p].vector, 0)) {
                printf("init: iommu: interrupt grant for port %02x:%02x.%x refused\n",
                       g_port[p].sid >> 8, (g_port[p].sid >> 3) & 0x1f, g_port[p].sid & 7);
            }
        }
    }
    send_ioapic_lines(ep);
    pc_ipc_buffer_t *buf = pc_ipc_buffer();
    for (unsigned i = 0; i < g_nlink; i++) {
        if (g_link[i].sent) {
            continue;
        }
        g_link[i].sent = true;
        pc_msg_t m;
        memset(&m, 0, sizeof(m));
        m.mr[0] = g_link[i].badge;
        m.mr[1] = g_link[i].sid < 0 ? IOMMU_SRV_NO_SID : (uint64_t)g_link[i].sid;
        m.mr[2] = 0;
        unsigned caps = 0;
        if (g_link[i].ntfn != 0) {
            buf->caps_or_badges[0] = g_link[i].ntfn;
            caps = 1;
        }
        m.info = pc_msginfo(IOMMU_ROOT_CLIENT_ADD, 0, caps, 3);
        /* The server is trusted and already started; a call has no time-out (docs/iommu-server.md).
         */
        pc_word_t err = pc_call(ep, &m);
        uint64_t res = err == PC_OK ? pc_msginfo_label(m.info) : ~0ull;
        init_task_t *t = task_by_id(g_link[i].task); /* a note lives no longer than its task */
        char dev[16] = "no device";
        if (g_link[i].sid >= 0) {
            snprintf(dev, sizeof(dev), "%02x:%02x.%x", g_link[i].sid >> 8,
                     (g_link[i].sid >> 3) & 0x1f, g_link[i].sid & 7);
        }
        printf("init: iommu client %#llx (%s): %s: %s\n", (unsigned long long)g_link[i].badge,
               t->name, dev,
               err != PC_OK ? "IPC failed"
               : res == 0   ? "registered"
                            : "refused by the server");
        if (err == PC_OK && res == 0) {
            send_pools(ep, i);
            send_vectors(ep, i);
        }
        if (g_link[i].ntfn != 0) {
            /* the server holds its own copy now; the original lives with the task's objects */
            (void)keep_move(&t->keep, g_link[i].ntfn, &t->acct);
            g_link[i].ntfn = 0;
        }
    }
    obj_delete(ep);
}
