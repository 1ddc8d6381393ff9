/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task's policy: which role gets which capabilities. A boot module names its role on its
 * command line (`ktest_ping.elf role=ping`); the role's entry in the table below lists, as data,
 * every capability the task receives and under which name it appears in the task's start
 * information. Nothing else grants authority: a module without a known role is not started.
 *
 * Grant kinds and their arguments (a, b):
 *   ENDPOINT / NOTIFICATION  a shared object called `object` (created on first use; NULL = a
 *                            fresh object for this task only), copied with `rights`, minted with
 *                            `badge` (| the task id if GRANT_BADGE_TASK_ID)
 *   INIT_ENDPOINT            the root task's own endpoint (reports, echo), badge = task id
 *   IRQ_ISA                  ISA interrupt a (through the MADT overrides) -> an IRQHandler and a
 *                            notification it signals (badge b, default 1)
 *   IRQ_MSI                  an MSI vector -> IRQHandler + notification; address/data in start info
 *   IOPORT                   ports a..b
 *   PCI_CONFIG               the 4 KiB ECAM page of the role's PCI function, mapped uncached
 *   PCI_BAR                  memory BAR a of the role's PCI function, mapped uncached
 *                            (at most b bytes, 0 = the whole BAR)
 *   UNTYPED                  an untyped region of 2^a bytes (RAM)
 *   OWN_TCB / OWN_CNODE / OWN_VSPACE   the task's own objects
 *   SPARE_TCB                a second thread object, not configured
 *   DMAR_UNITS               the register pages of every VT-d unit of the ACPI DMAR table,
 *                            mapped uncached, as "<name>0", "<name>1", ...
 *   ACPI_DMAR                a read-only copy of the (validated) ACPI DMAR table
 *   PCI_CONFIG_CLASS         the ECAM pages of every function whose class/subclass is a (e.g.
 *                            0x0604, PCI-to-PCI bridges: root ports), at most b of them, as
 *                            "<name>0", "<name>1", ...
 *   HOTPLUG_SLOTS            for every PCI-to-PCI bridge (root/downstream port; at most a of
 *                            them) k: its ECAM page "<name>k" (arg0 = port source-id, arg1 =
 *                            secondary bus), the ECAM page of its secondary bus's device 0
 *                            function 0 "<name>k_dev" (arg0 = that source-id; mapped even while
 *                            the slot is empty), its BAR0 "<name>k_bar" if it has one (the MSI-X
 *                            table of QEMU's ports), and an MSI vector "<name>k_irq" (IRQHandler
 *                            in slot; arg0..2 as IRQ_MSI) that signals one notification bound to
 *                            the task's thread with badge bit k
 *   DMA_POOL                 2^a bytes of RAM (4 KiB frames of one retype: physically contiguous)
 *                            the root task keeps, mapped read-write into the task and granted
 *                            to the task's IOMMU client badge (`grant_memory`, rights b: IOMMU_READ
 *                            | IOMMU_WRITE); the task maps it with map_pool, no capability
 *                            transfer. Must follow the role's GRANT_IOMMU_CLIENT grant
 */
#ifndef INIT_POLICY_H
#define INIT_POLICY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every grant kind, once: X(KIND, handler, "name"). The enum, init_grant_kind_name and the root
 * task's table of grant handlers (spawn.c: grant_<handler>) are generated from this list, so a
 * kind cannot exist without a name and a handler. Append only: the numbers are the table's data.
 */
#define INIT_GRANT_KINDS(X)                                                                        \
    X(ENDPOINT, object, "endpoint")                                                                \
    X(NOTIFICATION, object, "notification")                                                        \
    X(INIT_ENDPOINT, init_endpoint, "init-ep")                                                     \
    X(IRQ_ISA, irq_isa, "irq-isa")                                                                 \
    X(IRQ_MSI, irq_msi, "irq-msi")                                                                 \
    X(IOPORT, ioport, "ioport")                                                                    \
    X(PCI_CONFIG, pci_config, "pci-config")                                                        \
    X(PCI_BAR, pci_bar, "pci-bar")                                                                 \
    X(UNTYPED, untyped, "untyped")                                                                 \
    X(OWN_TCB, own_object, "own-tcb")                                                              \
    X(OWN_CNODE, own_object, "own-cnode")                                                          \
    X(OWN_VSPACE, own_object, "own-vspace")                                                        \
    X(SPARE_TCB, spare_tcb, "spare-tcb")                                                           \
    X(DMAR_UNITS, dmar_units, "dmar-units")                                                        \
    X(ACPI_DMAR, acpi_dmar, "acpi-dmar")                                                           \
    X(PCI_CONFIG_CLASS, pci_config_class, "pci-config-class")                                      \
    X(HOTPLUG_SLOTS, hotplug_slots, "hotplug-slots")                                               \
    X(DMA_POOL, dma_pool, "dma-pool")

enum init_grant_kind {
    GRANT_KIND_NONE_ = 0, /* never valid: a zeroed grant is refused */
#define GRANT_KIND_ENUM_(kind, handler, name) GRANT_##kind,
    INIT_GRANT_KINDS(GRANT_KIND_ENUM_)
#undef GRANT_KIND_ENUM_
        GRANT_KIND_COUNT_
};

#define GRANT_BADGE_TASK_ID (1u << 0) /* badge |= task id (one distinct client badge per task) */
/* GRANT_IRQ_MSI: the direct (compatibility-format) address/data even with an IOMMU server. Only
 * for the interrupt benchmark's baseline: hardware with CFIS clear blocks it (QEMU 7.2 does not).
 */
#define GRANT_MSI_DIRECT (1u << 1)
/* GRANT_IRQ_MSI: one vector per DMAR unit, named `name` (unit 0), `name`1, `name`2, ... (the IOMMU
 * server's fault and invalidation-completion events: every unit interrupt-driven). */
#define GRANT_MSI_PER_DMAR_UNIT (1u << 2)
/* GRANT_ENDPOINT with an object: the endpoint this role's task serves. In the ROLE_IOMMU_SERVER
 * role it is the IOMMU server's endpoint: the root task registers clients on it (a copy minted
 * with IOMMU_SRV_BADGE_ROOT). */
#define GRANT_SERVER_ENDPOINT (1u << 3)
/* GRANT_ENDPOINT to the IOMMU server's endpoint, GRANT_BADGE_TASK_ID: the task is a client of
 * the IOMMU server. It also gets a notification for its DMA faults ("iommu_fault"), and the root
 * task registers the badge with the role's PCI function once the server runs. */
#define GRANT_IOMMU_CLIENT (1u << 4)
/* GRANT_NOTIFICATION of a shared object the task signals whenever a supervisor's next step may
 * come (the root task's revocation scenario, init.revoke, waits on it). */
#define GRANT_READY_SIGNAL (1u << 5)
#define GRANT_FLAGS_ALL_ ((1u << 6) - 1)

typedef struct init_grant {
    const char *name;   /* the name in the task's start information */
    uint8_t kind;       /* enum init_grant_kind */
    uint8_t rights;     /* PC_RIGHT_* of the task's copy */
    uint16_t flags;     /* GRANT_* flags */
    const char *object; /* shared object name (ENDPOINT, NOTIFICATION) */
    uint64_t badge;
    uint64_t a;
    uint64_t b;
} init_grant_t;

/* Role flags. */
#define ROLE_TEST (1u << 0) /* reports results (TASK_LABEL_DONE); counted in the SUMMARY */
#define ROLE_EXPECT_FAULT                                                                          \
    (1u << 1) /* is meant to fault as its cmdline `fault=` says; the fault                         \
                 is its result (it never reports) */
/* The IOMMU server (at most one role): with it among the boot modules every device interrupt is
 * remapped through it; its GRANT_SERVER_ENDPOINT grant names the endpoint the root task calls. */
#define ROLE_IOMMU_SERVER (1u << 2)
/* The hotplug server: may ask the root task who drives a new occupant (TASK_LABEL_HP_ASSIGN). */
#define ROLE_HOTPLUG_SERVER (1u << 3)

typedef struct init_role {
    const char *role;
    uint8_t priority;
    uint8_t mcp;
    uint8_t cnode_bits; /* log2 slots of the task's root CNode */
    uint32_t flags;
    uint16_t pci_vendor; /* the PCI function this role drives (0 = none) */
    uint16_t pci_device;
    const init_grant_t *grants;
    size_t grant_count;
} init_role_t;

/* The role named `name`, or NULL. */
const init_role_t *init_policy_find(const char *name);
/* The role a boot module's command line names (`role=NAME`): its entry, or NULL. role[] receives
 * the name, "" when there is no role= word or its value does not fit role_size. */
const init_role_t *init_policy_of_cmdline(const char *cmdline, char *role, size_t role_size);
/* Every role, for checks and printing. */
const init_role_t *init_policy_roles(size_t *count);
/* The first grant of role r that carries GRANT_* flag `flag`, or NULL. */
const init_grant_t *init_role_grant(const init_role_t *r, unsigned flag);
/* The IOMMU server's role (ROLE_IOMMU_SERVER), or NULL if the policy has none. */
const init_role_t *init_policy_iommu_server(void);
/* The shared endpoint the IOMMU server serves (the object of its GRANT_SERVER_ENDPOINT grant),
 * or NULL if the policy has no IOMMU server. */
const char *init_policy_iommu_endpoint(void);
/* "endpoint", "irq-isa", ... */
const char *init_grant_kind_name(unsigned kind);

/*
 * Checks the table itself: unique role names, names that fit the start information, kinds in
 * range, at most TASK_MAX_CAPS entries (IRQ grants count twice), CNode big enough for the grants,
 * PCI grants only in roles that name a device, GRANT_* flags on the kinds they mean something for
 * (at most one IOMMU server with one served endpoint; client grants name that endpoint and badge
 * by task id; ready signals name a shared notification). Returns NULL if sound, else a static
 * description of the first problem (the root task refuses to start anything with a broken policy).
 */
const char *init_policy_check(void);

#endif /* INIT_POLICY_H */
