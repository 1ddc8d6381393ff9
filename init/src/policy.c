/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The policy table: every role the root task knows and the capabilities each receives. This is
 * the one place that decides authority; the loader only carries it out. Roles for the kernel test
 * suite and the benchmark live here next to the demo roles, so what each test task can do is as
 * visible as what a driver can do.
 */
#include <string.h>

#include <init/policy.h>
#include <iommu/protocol.h>
#include <portcullis/types.h>
#include <task/start_info.h>

#define RW (PC_RIGHT_READ | PC_RIGHT_WRITE)
#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

/* Every task may report to the root task (and is its fault-handling client). */
#define INIT_EP                                                                                    \
    {                                                                                              \
        .name = "init", .kind = GRANT_INIT_ENDPOINT, .rights = PC_RIGHT_WRITE                      \
    }

/* ping: calls pong with its badge and hands over a notification of its own. */
static const init_grant_t g_ping[] = {
    {.name = "ep",
     .kind = GRANT_ENDPOINT,
     .object = "pingpong",
     .rights = PC_RIGHT_WRITE | PC_RIGHT_GRANT,
     .badge = 0x100,
     .flags = GRANT_BADGE_TASK_ID},
    /* badged: whoever signals a copy of it sets these bits (ktest pingpong.h PP_SIGNAL_BITS) */
    {.name = "reply_ntfn", .kind = GRANT_NOTIFICATION, .rights = PC_RIGHTS_ALL, .badge = 0x5a0},
    INIT_EP,
};

/* pong: serves the ping-pong endpoint; receives capabilities into its free slots. */
static const init_grant_t g_pong[] = {
    {.name = "ep", .kind = GRANT_ENDPOINT, .object = "pingpong", .rights = PC_RIGHT_READ},
    INIT_EP,
};

/* irq_rtc: the CMOS RTC's periodic interrupt (ISA IRQ 8) and its index/data ports. */
static const init_grant_t g_irq_rtc[] = {
    {.name = "rtc_irq", .kind = GRANT_IRQ_ISA, .a = 8, .b = 1},
    {.name = "rtc_ports", .kind = GRANT_IOPORT, .a = 0x70, .b = 0x71},
    INIT_EP,
};

/* msi_edu: QEMU's edu device: its config page (to enable MSI), BAR0 and one MSI vector. */
static const init_grant_t g_msi_edu[] = {
    {.name = "config", .kind = GRANT_PCI_CONFIG},
    {.name = "bar0", .kind = GRANT_PCI_BAR, .a = 0, .b = 0},
    {.name = "msi", .kind = GRANT_IRQ_MSI, .b = 1},
    INIT_EP,
};

/* faulter: does one bad thing (cmdline fault=pf|gp|de|ud); holds nothing else. */
static const init_grant_t g_faulter[] = {
    INIT_EP,
};

/* nocap: probes the kernel's refusals: read-only copies, a small untyped, its own CNode/VSpace. */
static const init_grant_t g_nocap[] = {
    {.name = "ntfn_ro", .kind = GRANT_NOTIFICATION, .rights = PC_RIGHT_READ},
    {.name = "ep_ro", .kind = GRANT_ENDPOINT, .rights = PC_RIGHT_READ},
    {.name = "ntfn", .kind = GRANT_NOTIFICATION, .rights = RW},
    {.name = "untyped", .kind = GRANT_UNTYPED, .a = 16},
    {.name = "cnode", .kind = GRANT_OWN_CNODE, .rights = PC_RIGHTS_ALL},
    {.name = "vspace", .kind = GRANT_OWN_VSPACE, .rights = PC_RIGHTS_ALL},
    {.name = "ports", .kind = GRANT_IOPORT, .a = 0x80, .b = 0x80},
    INIT_EP,
};

/* fuzz: a sandbox of objects of every kind to throw random invocations at. */
static const init_grant_t g_fuzz[] = {
    {.name = "untyped", .kind = GRANT_UNTYPED, .a = 20},
    {.name = "cnode", .kind = GRANT_OWN_CNODE, .rights = PC_RIGHTS_ALL},
    {.name = "vspace", .kind = GRANT_OWN_VSPACE, .rights = PC_RIGHTS_ALL},
    {.name = "spare_tcb", .kind = GRANT_SPARE_TCB, .rights = PC_RIGHTS_ALL},
    {.name = "ep", .kind = GRANT_ENDPOINT, .rights = PC_RIGHTS_ALL},
    {.name = "ntfn", .kind = GRANT_NOTIFICATION, .rights = PC_RIGHTS_ALL},
    {.name = "ports", .kind = GRANT_IOPORT, .a = 0x80, .b = 0x80},
    INIT_EP,
};

/* bench: builds a second thread of its own; calls bench_peer across address spaces. */
static const init_grant_t g_bench[] = {
    {.name = "untyped", .kind = GRANT_UNTYPED, .a = 16},
    {.name = "cnode", .kind = GRANT_OWN_CNODE, .rights = PC_RIGHTS_ALL},
    {.name = "vspace", .kind = GRANT_OWN_VSPACE, .rights = PC_RIGHTS_ALL},
    {.name = "tcb", .kind = GRANT_OWN_TCB, .rights = PC_RIGHTS_ALL},
    {.name = "peer",
     .kind = GRANT_ENDPOINT,
     .object = "bench",
     .rights = PC_RIGHT_WRITE,
     .badge = 1},
    INIT_EP,
};

static const init_grant_t g_bench_peer[] = {
    {.name = "ep", .kind = GRANT_ENDPOINT, .object = "bench", .rights = PC_RIGHT_READ},
    INIT_EP,
};

/* platform_probe: what the IOMMU and hotplug servers will get, checked from a test task: the
 * VT-d register pages, a copy of the DMAR table, the root ports' config pages, an MSI vector. */
static const init_grant_t g_platform_probe[] = {
    {.name = "dmar", .kind = GRANT_DMAR_UNITS},
    {.name = "dmar_table", .kind = GRANT_ACPI_DMAR},
    {.name = "port", .kind = GRANT_PCI_CONFIG_CLASS, .a = 0x0604, .b = 8},
    {.name = "fault_msi", .kind = GRANT_IRQ_MSI, .b = 1},
    INIT_EP,
};

/*
 * The system roles. The IOMMU server owns VT-d: its register pages, the DMAR table, an MSI vector
 * for its fault event, memory for tables and queues, and the endpoint clients call. The hotplug
 * server owns the root ports (config pages, one MSI each) and reaches the IOMMU server through a
 * badge only it holds. A driver gets its function's config page and BAR, its own MSI and a
 * badged client endpoint to the IOMMU server (one badge per task).
 */
#define BADGE_HOTPLUG IOMMU_SRV_BADGE_HOTPLUG
#define BADGE_DRIVER_BASE IOMMU_SRV_BADGE_CLIENT_BASE

static const init_grant_t g_iommu[] = {
    {.name = "dmar", .kind = GRANT_DMAR_UNITS},
    {.name = "dmar_table", .kind = GRANT_ACPI_DMAR},
    /* every unit's fault event and invalidation-completion event (pending unmaps complete
     * without stalling other clients): fault_msi, fault_msi1, ..., qi_msi, qi_msi1, ... */
    {.name = "fault_msi", .kind = GRANT_IRQ_MSI, .b = 1, .flags = GRANT_MSI_PER_DMAR_UNIT},
    {.name = "qi_msi", .kind = GRANT_IRQ_MSI, .b = 2, .flags = GRANT_MSI_PER_DMAR_UNIT},
    {.name = "clients",
     .kind = GRANT_ENDPOINT,
     .object = "iommu",
     .rights = PC_RIGHT_READ,
     .flags = GRANT_SERVER_ENDPOINT},
    /* 8 MiB: the server's paging structures, then three 2 MiB frames of table memory */
    {.name = "untyped", .kind = GRANT_UNTYPED, .a = 23},
    {.name = "cnode", .kind = GRANT_OWN_CNODE, .rights = PC_RIGHTS_ALL},
    {.name = "vspace", .kind = GRANT_OWN_VSPACE, .rights = PC_RIGHTS_ALL},
    /* to bind the fault notification: faults and messages arrive through one receive */
    {.name = "tcb", .kind = GRANT_OWN_TCB, .rights = PC_RIGHTS_ALL},
    /* config pages: endpoints of class 0x00ff (edu, virtio-rng: ATS capability, ATS enable)
     * and the root ports (the bus ranges of DMAR bridge scopes) */
    {.name = "cfg", .kind = GRANT_PCI_CONFIG_CLASS, .a = 0x00ff, .b = 8},
    {.name = "port", .kind = GRANT_PCI_CONFIG_CLASS, .a = 0x0604, .b = 8},
    INIT_EP,
};

static const init_grant_t g_hotplug[] = {
    /* every root/downstream port: config page, its device's config page, BAR0 (MSI-X table),
     * an MSI vector signalling the notification bound to the server's thread (bit k = slot k) */
    {.name = "slot", .kind = GRANT_HOTPLUG_SLOTS, .a = 6},
    /* drivers (device-gone protocol) and operators/tests (slot requests) call it here */
    {.name = "hotplug", .kind = GRANT_ENDPOINT, .object = "hotplug", .rights = PC_RIGHT_READ},
    /* to drop a driver's notification when its slot gets a new occupant */
    {.name = "cnode", .kind = GRANT_OWN_CNODE, .rights = PC_RIGHTS_ALL},
    {.name = "iommu",
     .kind = GRANT_ENDPOINT,
     .object = "iommu",
     .rights = PC_RIGHT_WRITE | PC_RIGHT_GRANT,
     .badge = BADGE_HOTPLUG},
    /* assignments come back with a driver's notification: replies may carry a capability */
    {.name = "init", .kind = GRANT_INIT_ENDPOINT, .rights = PC_RIGHT_WRITE | PC_RIGHT_GRANT_REPLY},
};

/* What a task needs to call the hotplug server: drivers (badge 0x20000 | task id, the
 * device-gone protocol) and control clients (0x50000000, hpsrv/protocol.h). */
#define HOTPLUG_DRIVER_GRANT                                                                       \
    {                                                                                              \
        .name = "hotplug", .kind = GRANT_ENDPOINT, .object = "hotplug", .rights = PC_RIGHT_WRITE,  \
        .badge = 0x20000ull, .flags = GRANT_BADGE_TASK_ID                                          \
    }
#define HOTPLUG_CONTROL_GRANT                                                                      \
    {                                                                                              \
        .name = "hotplug_ctl", .kind = GRANT_ENDPOINT, .object = "hotplug",                        \
        .rights = PC_RIGHT_WRITE, .badge = 0x50000000ull                                           \
    }

/* Hotplug server tests (tests/tasks/hotplug_test): a stand-in serving the IOMMU server's endpoint
 * (for images without the real server) and the in-guest control client, which may also tell the
 * stand-in that a scenario is over (badge 0x7e57). */
static const init_grant_t g_hp_iommu_standin[] = {
    {.name = "iommu", .kind = GRANT_ENDPOINT, .object = "iommu", .rights = PC_RIGHT_READ},
    INIT_EP,
};
static const init_grant_t g_hotplug_test[] = {
    HOTPLUG_CONTROL_GRANT,
    {.name = "standin",
     .kind = GRANT_ENDPOINT,
     .object = "iommu",
     .rights = PC_RIGHT_WRITE,
     .badge = 0x7e57},
    {.name = "sleep", .kind = GRANT_NOTIFICATION, .rights = RW},
    INIT_EP,
};

/* What every driver holds besides its device's registers and interrupt: a client endpoint to the
 * IOMMU server (one badge per task), RAM for DMA buffers (retyped into frames it maps into its
 * own VSpace and hands to the IOMMU server to map), and the root task's endpoint. The device-gone
 * endpoint ("gone", sent to by the hotplug server) is optional for a driver. */
#define DRIVER_COMMON_GRANTS                                                                       \
    {.name = "iommu",                                                                              \
     .kind = GRANT_ENDPOINT,                                                                       \
     .object = "iommu",                                                                            \
     .rights = PC_RIGHT_WRITE | PC_RIGHT_GRANT,                                                    \
     .badge = BADGE_DRIVER_BASE,                                                                   \
     .flags = GRANT_BADGE_TASK_ID | GRANT_IOMMU_CLIENT},                                           \
        {.name = "untyped", .kind = GRANT_UNTYPED, .a = 20},                                       \
        {.name = "vspace", .kind = GRANT_OWN_VSPACE, .rights = PC_RIGHTS_ALL}, INIT_EP

/* edu: config page (MSI), BAR0 (registers and the DMA engine), one MSI vector. */
static const init_grant_t g_edu_driver[] = {
    {.name = "config", .kind = GRANT_PCI_CONFIG},
    {.name = "bar0", .kind = GRANT_PCI_BAR, .a = 0},
    DRIVER_COMMON_GRANTS,
    /* after the client endpoint: with an IOMMU server the vector becomes a grant of it */
    {.name = "msi", .kind = GRANT_IRQ_MSI, .b = 1},
    HOTPLUG_DRIVER_GRANT,
    /* signalled whenever its device works (after bring-up, after a re-plug): for supervisors */
    {.name = "ready",
     .kind = GRANT_NOTIFICATION,
     .object = "edu_ready",
     .rights = PC_RIGHT_WRITE,
     .flags = GRANT_READY_SIGNAL},
};
/* drivers_surprise_ctl (tests/qemu/drivers): waits for the edu driver's "ready", then powers its
 * slot off through the hotplug server's control endpoint (QEMU's nearest to a surprise removal). */
static const init_grant_t g_drivers_surprise_ctl[] = {
    HOTPLUG_CONTROL_GRANT,
    {.name = "ready", .kind = GRANT_NOTIFICATION, .object = "edu_ready", .rights = PC_RIGHT_READ},
    INIT_EP,
};
/* The hotplug tests' edu client that lives through many re-plugs (tests/tasks/hotplug_test,
 * cycler): what the edu driver holds. */
static const init_grant_t g_hp_edu_cycler[] = {
    {.name = "config", .kind = GRANT_PCI_CONFIG},
    {.name = "bar0", .kind = GRANT_PCI_BAR, .a = 0},
    DRIVER_COMMON_GRANTS,
    /* after the client endpoint: with an IOMMU server the vector becomes a grant of it */
    {.name = "msi", .kind = GRANT_IRQ_MSI, .b = 1},
    HOTPLUG_DRIVER_GRANT,
};
/* virtio (modern, disable-legacy=on): QEMU puts the MSI-X table in BAR1 and the virtio
 * structures (common, ISR, device, notify) in the 64-bit BAR4; the driver checks its
 * capabilities name these BARs. One MSI vector, programmed into an MSI-X table entry. */
static const init_grant_t g_virtio_driver[] = {
    {.name = "config", .kind = GRANT_PCI_CONFIG},
    {.name = "bar1", .kind = GRANT_PCI_BAR, .a = 1},
    {.name = "bar4", .kind = GRANT_PCI_BAR, .a = 4},
    DRIVER_COMMON_GRANTS,
    {.name = "msi", .kind = GRANT_IRQ_MSI, .b = 1},
    HOTPLUG_DRIVER_GRANT,
};

/*
 * The IOMMU server's QEMU test tasks (tests/tasks/iommu_test). Each is an ordinary client (one
 * badge per task, the device its role claims, memory it retypes itself); the hotplug-role test also
 * holds the hotplug server's badge, so it can fence, remove and re-add the device it drives.
 */
#define IOMMU_CLIENT_EP                                                                            \
    {                                                                                              \
        .name = "iommu", .kind = GRANT_ENDPOINT, .object = "iommu",                                \
        .rights = PC_RIGHT_WRITE | PC_RIGHT_GRANT, .badge = IOMMU_SRV_BADGE_CLIENT_BASE,           \
        .flags = GRANT_BADGE_TASK_ID | GRANT_IOMMU_CLIENT                                          \
    }
#define IOMMU_TEST_MEMORY(bits)                                                                    \
    {.name = "untyped", .kind = GRANT_UNTYPED, .a = (bits)},                                       \
    {                                                                                              \
        .name = "vspace", .kind = GRANT_OWN_VSPACE, .rights = PC_RIGHTS_ALL                        \
    }

static const init_grant_t g_iommu_edu_test[] = {
    {.name = "config", .kind = GRANT_PCI_CONFIG},
    {.name = "bar0", .kind = GRANT_PCI_BAR, .a = 0},
    IOMMU_CLIENT_EP,
    IOMMU_TEST_MEMORY(20),
    INIT_EP,
};
static const init_grant_t g_iommu_hostile[] = {
    IOMMU_CLIENT_EP,
    IOMMU_TEST_MEMORY(16),
    INIT_EP,
};
static const init_grant_t g_iommu_hp_test[] = {
    {.name = "config", .kind = GRANT_PCI_CONFIG},
    IOMMU_CLIENT_EP,
    {.name = "hotplug",
     .kind = GRANT_ENDPOINT,
     .object = "iommu",
     .rights = PC_RIGHT_WRITE,
     .badge = IOMMU_SRV_BADGE_HOTPLUG},
    IOMMU_TEST_MEMORY(20),
    INIT_EP,
};
/* A driver that turns hostile with its interrupts (tests/tasks/iommu_test/irq.c): edu's config page
 * and BAR0, a client endpoint, then its vector grant, and the hotplug badge to fence its own
 * device. */
#define IRQ_TEST_GRANTS                                                                            \
    {.name = "config", .kind = GRANT_PCI_CONFIG}, {.name = "bar0", .kind = GRANT_PCI_BAR, .a = 0}, \
        IOMMU_CLIENT_EP, {.name = "msi", .kind = GRANT_IRQ_MSI, .b = 1},                           \
        {.name = "hotplug",                                                                        \
         .kind = GRANT_ENDPOINT,                                                                   \
         .object = "iommu",                                                                        \
         .rights = PC_RIGHT_WRITE,                                                                 \
         .badge = IOMMU_SRV_BADGE_HOTPLUG},                                                        \
        IOMMU_TEST_MEMORY(20), INIT_EP
static const init_grant_t g_iommu_irq_test[] = {IRQ_TEST_GRANTS};
/* The interrupt benchmark: the same, plus a direct-format MSI as the baseline. */
static const init_grant_t g_iommu_irq_bench[] = {
    IRQ_TEST_GRANTS,
    {.name = "msi_direct", .kind = GRANT_IRQ_MSI, .b = 1, .flags = GRANT_MSI_DIRECT},
};
static const init_grant_t g_iommu_bench[] = {
    {.name = "config", .kind = GRANT_PCI_CONFIG},
    IOMMU_CLIENT_EP,
    /* 2 MiB (one 2 MiB frame: aligned) the client maps by (grant, offset) with map_pool and
     * map_vec: no capability transfer; a 2 MiB range of it can be a superpage */
    {.name = "dma_pool", .kind = GRANT_DMA_POOL, .a = 21, .b = 3},
    IOMMU_TEST_MEMORY(23),
    INIT_EP,
};

/* The pool-revocation target (tests/tasks/iommu_test/pool_revoke.c): edu's config page and BAR0,
 * a client endpoint, a 64 KiB DMA pool it maps with map_pool, its own memory for frame-capability
 * buffers, and the ready notification the root task's revocation scenario (init.revoke=pool)
 * waits on. */
static const init_grant_t g_iommu_pool_revoke[] = {
    {.name = "config", .kind = GRANT_PCI_CONFIG},
    {.name = "bar0", .kind = GRANT_PCI_BAR, .a = 0},
    IOMMU_CLIENT_EP,
    {.name = "dma_pool", .kind = GRANT_DMA_POOL, .a = 16, .b = 3},
    IOMMU_TEST_MEMORY(20),
    INIT_EP,
    {.name = "ready",
     .kind = GRANT_NOTIFICATION,
     .object = "pool_ready",
     .rights = PC_RIGHT_WRITE,
     .flags = GRANT_READY_SIGNAL},
};

/* reclaim_probe (tests/qemu/drivers): a module that fails midway on purpose - memory (4 MiB, so
 * its arena is large enough for the next driver to be built in it again), a notification and
 * its RAM made, then a DMA pool grant refused (no IOMMU client grant before it); everything made
 * for it must come back. */
static const init_grant_t g_reclaim_probe[] = {
    {.name = "untyped", .kind = GRANT_UNTYPED, .a = 22},
    {.name = "ntfn", .kind = GRANT_NOTIFICATION, .rights = PC_RIGHT_READ},
    {.name = "dma_pool", .kind = GRANT_DMA_POOL, .a = 16, .b = 3},
};

#define ROLE(name_, prio_, mcp_, bits_, flags_, grants_)                                           \
    {                                                                                              \
        .role = name_, .priority = prio_, .mcp = mcp_, .cnode_bits = bits_, .flags = flags_,       \
        .grants = grants_, .grant_count = N(grants_)                                               \
    }

/* A role that drives one PCI function (vendor:device), priority = mcp. */
#define PCI_ROLE(name_, prio_, bits_, flags_, vendor_, device_, grants_)                           \
    {                                                                                              \
        .role = name_, .priority = prio_, .mcp = prio_, .cnode_bits = bits_, .flags = flags_,      \
        .pci_vendor = vendor_, .pci_device = device_, .grants = grants_, .grant_count = N(grants_) \
    }

static const init_role_t g_roles[] = {
    ROLE("ping", 100, 100, 6, ROLE_TEST, g_ping),
    ROLE("pong", 100, 100, 6, ROLE_TEST, g_pong),
    ROLE("irq_rtc", 120, 120, 6, ROLE_TEST, g_irq_rtc),
    PCI_ROLE("msi_edu", 120, 6, ROLE_TEST, 0x1234, 0x11e8, g_msi_edu),
    /* above the other test tasks: its fault happens while they run */
    ROLE("faulter", 110, 110, 4, ROLE_EXPECT_FAULT, g_faulter),
    ROLE("nocap", 100, 100, 8, ROLE_TEST, g_nocap),
    ROLE("fuzz", 80, 80, 10, ROLE_TEST, g_fuzz),
    ROLE("bench", 100, 101, 8, ROLE_TEST, g_bench),
    ROLE("bench_peer", 100, 100, 4, 0, g_bench_peer),
    ROLE("platform_probe", 100, 100, 6, ROLE_TEST, g_platform_probe),
    ROLE("iommu", 200, 200, 10, ROLE_IOMMU_SERVER, g_iommu),
    PCI_ROLE("iommu_edu_test", 120, 8, ROLE_TEST, 0x1234, 0x11e8, g_iommu_edu_test),
    ROLE("iommu_hostile", 110, 110, 8, ROLE_TEST, g_iommu_hostile),
    PCI_ROLE("iommu_hp_test", 120, 8, ROLE_TEST, 0x1af4, 0x1044, g_iommu_hp_test),
    PCI_ROLE("iommu_irq_test", 120, 8, ROLE_TEST, 0x1234, 0x11e8, g_iommu_irq_test),
    PCI_ROLE("iommu_irq_bench", 120, 8, ROLE_TEST, 0x1234, 0x11e8, g_iommu_irq_bench),
    PCI_ROLE("iommu_bench", 120, 10, ROLE_TEST, 0x1234, 0x11e8, g_iommu_bench),
    ROLE("hotplug", 190, 190, 8, ROLE_HOTPLUG_SERVER, g_hotplug),
    ROLE("hp_iommu_standin", 200, 200, 6, ROLE_TEST, g_hp_iommu_standin),
    ROLE("hotplug_test", 100, 100, 6, ROLE_TEST, g_hotplug_test),
    PCI_ROLE("hp_edu_cycler", 150, 8, ROLE_TEST, 0x1234, 0x11e8, g_hp_edu_cycler),
    {.role = "edu_driver",
     .priority = 150,
     .mcp = 150,
     .cnode_bits = 8,
     .flags = ROLE_TEST, /* reports its checks (TASK_LABEL_DONE) once its device works */
     .pci_vendor = 0x1234,
     .pci_device = 0x11e8,
     .grants = g_edu_driver,
     .grant_count = N(g_edu_driver)},
    ROLE("drivers_surprise_ctl", 100, 100, 6, ROLE_TEST, g_drivers_surprise_ctl),
    ROLE("reclaim_probe", 100, 100, 6, ROLE_TEST, g_reclaim_probe),
    {.role = "virtio_driver",
     .priority = 150,
     .mcp = 150,
     .cnode_bits = 8,
     .flags = ROLE_TEST, /* reports its checks (TASK_LABEL_DONE) once its device works */
     .pci_vendor = 0x1af4,
     .pci_device = 0x1044,
     .grants = g_virtio_driver,
     .grant_count = N(g_virtio_driver)},
    /* after edu_driver: init.revoke without init.revoke_role still names the edu driver */
    PCI_ROLE("iommu_pool_revoke", 120, 8, ROLE_TEST, 0x1234, 0x11e8, g_iommu_pool_revoke),
};

const init_role_t *init_policy_roles(size_t *count)
{
    *count = N(g_roles);
    return g_roles;
}

const init_role_t *init_policy_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < N(g_roles); i++) {
        if (strcmp(g_roles[i].role, name) == 0) {
            return &g_roles[i];
        }
    }
    return NULL;
}

const init_role_t *init_policy_of_cmdline(const char *cmdline, char *role, size_t role_size)
{
    if (!task_cmdline_get(cmdline, "role", role, role_size) || role[0] == '\0') {
        return NULL;
    }
    return init_policy_find(role);
}

const init_grant_t *init_role_grant(const init_role_t *r, unsigned flag)
{
    for (size_t i = 0; r != NULL && i < r->grant_count; i++) {
        if (r->grants[i].flags & flag) {
            return &r->grants[i];
        }
    }
    return NULL;
}

const init_role_t *init_policy_iommu_server(void)
{
    for (size_t i = 0; i < N(g_roles); i++) {
        if (g_roles[i].flags & ROLE_IOMMU_SERVER) {
            return &g_roles[i];
        }
    }
    return NULL;
}

const char *init_policy_iommu_endpoint(void)
{
    const init_grant_t *g = init_role_grant(init_policy_iommu_server(), GRANT_SERVER_ENDPOINT);
    return g != NULL ? g->object : NULL;
}

/* What a grant's GRANT_* flags need (NULL: sound). */
static const char *check_grant_flags(const init_grant_t *g)
{
    if (g->flags & ~GRANT_FLAGS_ALL_) {
        return "unknown grant flag";
    }
    if ((g->flags & (GRANT_MSI_DIRECT | GRANT_MSI_PER_DMAR_UNIT)) && g->kind != GRANT_IRQ_MSI) {
        return "MSI flag on a grant that is not an MSI";
    }
    if ((g->flags & GRANT_SERVER_ENDPOINT) && (g->kind != GRANT_ENDPOINT || g->object == NULL)) {
        return "served endpoint grant without a shared endpoint";
    }
    if (g->flags & GRANT_IOMMU_CLIENT) {
        const char *ep = init_policy_iommu_endpoint();
        if (g->kind != GRANT_ENDPOINT || !(g->flags & GRANT_BADGE_TASK_ID) || ep == NULL ||
            g->object == NULL || strcmp(g->object, ep) != 0) {
            return "IOMMU client grant not a per-task badge of the IOMMU server's endpoint";
        }
    }
    if ((g->flags & GRANT_READY_SIGNAL) && (g->kind != GRANT_NOTIFICATION || g->object == NULL)) {
        return "ready signal grant without a shared notification";
    }
    return NULL;
}

const char *init_grant_kind_name(unsigned kind)
{
#define GRANT_KIND_NAME_(kind, handler, name) [GRANT_##kind] = name,
    static const char *const names[GRANT_KIND_COUNT_] = {INIT_GRANT_KINDS(GRANT_KIND_NAME_)};
#undef GRANT_KIND_NAME_
    return (kind > 0 && kind < GRANT_KIND_COUNT_) ? names[kind] : "?";
}

/* Slots a grant occupies in the task's CNode (device mappings occupy none). */
static unsigned grant_slots(const init_grant_t *g)
{
    switch (g->kind) {
    case GRANT_IRQ_ISA:
    case GRANT_IRQ_MSI:
        return 2;
    case GRANT_PCI_CONFIG:
    case GRANT_PCI_BAR:
    case GRANT_DMAR_UNITS:
    case GRANT_ACPI_DMAR:
    case GRANT_PCI_CONFIG_CLASS:
    case GRANT_DMA_POOL:
        return 0;
    case GRANT_HOTPLUG_SLOTS:
        return (unsigned)g->a; /* one IRQHandler per slot */
    default:
        return 1;
    }
}

const char *init_policy_check(void)
{
    unsigned iommu_servers = 0;
    for (size_t i = 0; i < N(g_roles); i++) {
        const init_role_t *r = &g_roles[i];
        if (r->flags & ROLE_IOMMU_SERVER) {
            unsigned served = 0;
            for (size_t k = 0; k < r->grant_count; k++) {
                served += (r->grants[k].flags & GRANT_SERVER_ENDPOINT) != 0;
            }
            if (++iommu_servers > 1 || served != 1) {
                return "IOMMU server role not unique or without exactly one served endpoint";
            }
        }
        if (r->role == NULL || r->role[0] == '\0' || strlen(r->role) >= 32) {
            return "role name empty or too long";
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(g_roles[j].role, r->role) == 0) {
                return "duplicate role name";
            }
        }
        if (r->cnode_bits < 2 || r->cnode_bits > 16 || r->priority > r->mcp) {
            return "role CNode size or priority out of range";
        }
        if (r->grant_count > TASK_MAX_CAPS) {
            return "role has more grants than a start info holds";
        }
        unsigned slots = 1; /* slot 0 is the null cptr */
        for (size_t k = 0; k < r->grant_count; k++) {
            const init_grant_t *g = &r->grants[k];
            if (g->name == NULL || g->name[0] == '\0' || strlen(g->name) >= TASK_CAP_NAME_MAX) {
                return "grant name empty or too long";
            }
            for (size_t m = 0; m < k; m++) {
                if (strcmp(r->grants[m].name, g->name) == 0) {
                    return "duplicate grant name in a role";
                }
            }
            if (g->kind == 0 || g->kind >= GRANT_KIND_COUNT_) {
                return "grant kind out of range";
            }
            const char *bad = check_grant_flags(g);
            if (bad != NULL) {
                return bad;
            }
            if ((g->kind == GRANT_PCI_CONFIG || g->kind == GRANT_PCI_BAR) && r->pci_vendor == 0) {
                return "PCI grant in a role without a PCI device";
            }
            if (g->kind == GRANT_IOPORT && (g->a > g->b || g->b > 0xffff)) {
                return "I/O port range invalid";
            }
            if ((g->kind == GRANT_DMAR_UNITS || g->kind == GRANT_PCI_CONFIG_CLASS) &&
                strlen(g->name) + 2 >= TASK_CAP_NAME_MAX) {
                return "indexed grant name too long for its suffix";
            }
            if (g->kind == GRANT_HOTPLUG_SLOTS &&
                (g->a == 0 || g->a > 6 || strlen(g->name) + 6 >= TASK_CAP_NAME_MAX)) {
                return "hotplug slot grant needs 1..6 slots and a short name";
            }
            if (g->kind == GRANT_PCI_CONFIG_CLASS && (g->b == 0 || g->b > 8)) {
                return "config-page class grant needs 1..8 functions";
            }
            if (g->kind == GRANT_DMA_POOL && (g->a < 12 || g->a > 22 || g->b == 0 || g->b > 3)) {
                return "DMA pool grant needs 4 KiB..4 MiB and IOMMU rights";
            }
            if (g->kind == GRANT_UNTYPED && (g->a < 12 || g->a > 30)) {
                return "untyped grant size out of range";
            }
            if ((g->kind == GRANT_ENDPOINT || g->kind == GRANT_NOTIFICATION) &&
                (g->rights & ~PC_RIGHTS_ALL) != 0) {
                return "grant rights out of range";
            }
            slots += grant_slots(g);
        }
        if (slots > (1u << r->cnode_bits)) {
            return "role CNode too small for its grants";
        }
    }
    return NULL;
}
