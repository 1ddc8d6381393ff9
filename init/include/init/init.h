/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The root task's internal interfaces: object creation from untyped memory with accounting,
 * mappings (creating the paging structures on demand), the per-task "keep" CNode that holds the
 * capabilities a task's memory depends on, PCI discovery, and task construction.
 *
 * Layering of init/src (a file calls only files on its own level's right, never back):
 *
 *   main.c -> revoke.c, hotplug.c -> spawn.c -> iommu_link.c -> platform.c, pci_port.c
 *          -> objects.c, tasks.c -> policy.c, ut_pool.c, elf_sym.c
 *
 *   policy.c, ut_pool.c, elf_sym.c  pure (host-tested): the policy table, untyped and slot
 *                                   bookkeeping, ELF symbols; they call nothing of the root task
 *   objects.c                       kernel objects, slots, mappings, keep CNodes, and the objects
 *                                   shared between tasks by the name the policy gives them
 *   tasks.c                         the task table (storage and look-ups; spawn.c fills it)
 *   platform.c, pci_port.c          what ACPI and PCI say about the machine
 *   iommu_link.c                    the root protocol of the IOMMU server (registers clients,
 *                                   revokes grants); finds the server through policy and tasks.c
 *   spawn.c                         builds and tears down tasks, carries out grants; tells the
 *                                   IOMMU link what to register
 *   hotplug.c, revoke.c             run-time policy: drivers for hot-added devices, revocation
 *   main.c                          boot, the summary, the fault and report loop
 */
#ifndef INIT_INIT_H
#define INIT_INIT_H

#include <stdbool.h>
#include <stdint.h>

#include <init/policy.h>
#include <init/ut_pool.h>
#include <portcullis/portcullis.h>
#include <task/start_info.h>

/* What a task (or the root task itself, id 0) consumed. */
typedef struct init_acct {
    uint64_t untyped_bytes; /* bytes of objects retyped for it (alignment padding excluded) */
    uint32_t objects;       /* objects retyped for it */
    uint32_t frames;        /* 4 KiB + 2 MiB frames mapped for it */
    uint32_t tables;        /* paging structures created for it */
    uint32_t keep_slots;    /* slots used in its keep CNode */
    uint32_t task_slots;    /* slots filled in its own CNode */
    uint32_t device_pages;  /* device frames mapped into it */
} init_acct_t;

/*
 * A CNode held by the root task (never granted) that keeps the capabilities a task's existence
 * depends on: frames, paging structures, TCB, VSpace, the IPC buffer. Caps are moved there after
 * use so the root task's own CNode stays small.
 */
typedef struct init_keep {
    pc_cptr_t cnode; /* slot of the keep CNode in the root task's CNode */
    uint32_t next;
    uint32_t size;
} init_keep_t;

/* ---- objects.c ---- */

extern ut_pool_t g_pool;
extern slot_map_t g_slots;

/* Fill the pool and slot map from the boot information. */
void obj_init(const pc_bootinfo_t *bi);

/*
 * Retypes `count` objects into a fresh run of root-CNode slots; *slot receives the first.
 * Charges `acct` (may be NULL). Returns a pc_error (PC_ERR_NOT_ENOUGH_MEMORY when no region fits,
 * PC_ERR_RANGE when the CNode is full).
 */
pc_word_t obj_new(unsigned type, unsigned size_bits, uint32_t count, init_acct_t *acct,
                  pc_cptr_t *slot);

/*
 * Copies of the frame caps of device pages [paddr, paddr + 4 KiB * count) (count <= 256) in a
 * fresh run of slots, for mapping. The originals stay with the root task, so the same page can be
 * handed out again and requests may come in any order. PC_ERR_FAILED_LOOKUP if the range is not
 * in device memory the root task holds.
 */
pc_word_t obj_device_frames(uint64_t paddr, uint32_t count, init_acct_t *acct, pc_cptr_t *slot);
/* Nodes of the device-untyped split tree (for the summary). */
unsigned obj_device_nodes(void);

/*
 * A task's arena: one untyped the root task retyped (or reused from the pool's spares) for the
 * task, from which every object of the task is made, so one revoke takes them all back.
 */
typedef struct init_arena {
    pc_cptr_t slot; /* the untyped cap (a root-task slot), 0: none */
    uint64_t paddr;
    uint8_t bits;
} init_arena_t;
/* Opens an arena of at least 2^bits bytes for task `owner`: objects come from it and new slots
 * are recorded as the task's until obj_arena_close. False if no memory (nothing changed). */
bool obj_arena_open(unsigned owner, unsigned bits, init_arena_t *a);
void obj_arena_close(void);
/* Whether an allocation failed for lack of room in the open arena since the last reset. */
bool obj_arena_exhausted(void);
void obj_arena_reset_exhausted(void);
/* Objects and slots that must outlive the task being built (shared objects, device tree):
 * from the pool, owned by the root task, until the matching leave. */
unsigned obj_root_scope_enter(void);
void obj_root_scope_leave(unsigned saved);
/* Revokes the arena (every object made from it and every copy goes) and returns it to the pool
 * as a spare. */
bool obj_arena_return(const init_arena_t *a);

/* The physical address of the first object of the last successful obj_new. */
uint64_t obj_last_paddr(void);

/* Deletes the cap in `slot` and frees the slot. */
void obj_delete(pc_cptr_t slot);

/* Creates a keep CNode of 2^bits slots. */
pc_word_t keep_create(init_keep_t *k, unsigned bits, init_acct_t *acct);
/* Moves the cap in root-CNode `slot` to the keep CNode and frees `slot`. */
pc_word_t keep_move(init_keep_t *k, pc_cptr_t slot, init_acct_t *acct);

/*
 * Maps `frame` at vaddr in `vspace`, creating missing paging structures from untyped memory.
 * The structures' caps are moved into `keep` (or stay in the root CNode if keep is NULL).
 */
pc_word_t vs_map(pc_cptr_t frame, pc_cptr_t vspace, uint64_t vaddr, unsigned rights, unsigned attrs,
                 init_keep_t *keep, init_acct_t *acct);

/* The root task's window for filling frames before they are mapped into a task. */
void *scratch_map(pc_cptr_t frame);
void scratch_unmap(pc_cptr_t frame);

/* ---- pci_port.c ---- */

#define INIT_PCI_MAX 64

typedef struct init_pci_dev {
    uint16_t sid;
    uint16_t vendor;
    uint16_t device;
    uint32_t class_rev; /* class code << 8 | revision */
    uint8_t header_type;
    uint8_t secondary; /* bridges: secondary bus as firmware programmed it */
    bool claimed;
} init_pci_dev_t;

/* Enumerates PCI through the legacy configuration ports (the root task holds all I/O ports). */
unsigned pci_port_scan(void);
unsigned pci_port_count(void);
const init_pci_dev_t *pci_port_dev(unsigned i);
/* The first unclaimed function with vendor:device; claims it. NULL if none. */
init_pci_dev_t *pci_port_claim(uint16_t vendor, uint16_t device);
/* Sizes memory BAR `index`. Returns a libpci error (PCI_OK = 0). */
int pci_port_bar(uint16_t sid, unsigned index, uint64_t *base, uint64_t *size);
/*
 * Hot-plug: records (or updates) function `sid` after a new occupant appeared (vendor/device
 * read from the device) as unclaimed, programs its memory BARs into the windows of the port
 * above it (non-prefetchable and prefetchable, each allocated upwards from the window base) and
 * enables memory decode. The next pci_port_claim of vendor:device prefers it. Returns a libpci
 * error (PCI_ERR_NOSPACE when a BAR does not fit its window).
 */
int pci_port_hotplug_add(uint16_t port, uint16_t sid, uint16_t vendor, uint16_t device);
/* The function's driver went away: it may be claimed again. */
void pci_port_unclaim(uint16_t sid);

/* ---- platform.c ---- */

#define INIT_MAX_DMAR_UNITS 4

/* What ACPI says about the machine (zero where a table is absent or refused). */
typedef struct init_platform {
    bool have_mcfg;
    uint64_t ecam_base; /* config space of bus 0, segment 0: MCFG's, init.ecam=, or q35's */
    uint8_t ecam_bus_end;
    unsigned dmar_units;
    uint64_t dmar_base[INIT_MAX_DMAR_UNITS];  /* register base of each DRHD */
    uint32_t dmar_pages[INIT_MAX_DMAR_UNITS]; /* register set size in 4 KiB pages */
    uint8_t *dmar_table;                      /* a validated copy of the whole DMAR table */
    uint32_t dmar_table_len;
    int ioapic_sid; /* the I/O APIC's source-id from its DMAR device scope, -1 if none */
} init_platform_t;

extern init_platform_t g_platform;

/* Reads MCFG and DMAR through libacpi; device frames it maps are charged to acct. Without an
 * MCFG the ECAM window is q35's (0xb0000000, buses 0-255). */
void platform_discover(uint64_t rsdp_paddr, init_acct_t *acct);
/* The ECAM window's base set by the operator (init.ecam=), over what ACPI said; false (nothing
 * changed) unless it is 1 MiB aligned (one bus). */
bool platform_ecam_override(uint64_t base);
/* The physical address of the 4 KiB configuration page of function `sid` in the ECAM window;
 * false if its bus lies beyond the window. The one place config-page addresses come from. */
bool platform_config_page(uint16_t sid, uint64_t *paddr);

/* ---- elf_sym.c ---- */

/* Value of symbol `name` in an ELF64 image's .symtab; false if absent or the tables are bad. */
bool elf_sym_lookup(const void *image, uint64_t size, const char *name, uint64_t *value);

/* Objects shared between tasks, named by the policy (init_grant_t.object): created on first
 * use, owned by the root task (never a task's arena). *slot = its root-CNode slot.
 * PC_ERR_INVALID_CAPABILITY if `name` exists with another type, PC_ERR_RANGE if the table is
 * full. */
pc_word_t obj_shared(const char *name, unsigned type, init_acct_t *acct, pc_cptr_t *slot);
/* The root-CNode slot of shared object `name`; 0 if it was never created or name is NULL. */
pc_cptr_t obj_shared_slot(const char *name);

/* ---- tasks.c ---- */

#define INIT_MAX_TASKS 16

enum init_task_state { TASK_LOADED = 1, TASK_RUNNING, TASK_DONE, TASK_FAULTED, TASK_SKIPPED };

typedef struct init_task {
    unsigned id; /* 1.. ; also the badge of its fault and init endpoint caps */
    char name[TASK_NAME_MAX];
    char role[32];
    const init_role_t *policy;
    enum init_task_state state;
    char skip_reason[96];
    pc_cptr_t tcb; /* in the root CNode, for suspend / inspection */
    init_keep_t keep;
    init_acct_t acct;
    unsigned caps_granted;
    uint64_t entry;
    uint64_t guard;          /* its stack guard page (unmapped), 0 if none */
    uint32_t passed, failed; /* from TASK_LABEL_DONE */
    uint64_t fault_vector;   /* last fault */
    /* hot-plug (init/src/hotplug.c): the module it was built from, the PCI function it
     * drives, the handle of the occupant it was last given, and a WRITE copy of its interrupt
     * notification (badge HPS_NOTIFY_BIT) the hotplug server may signal; 0 when none */
    const pc_bootinfo_module_t *module;
    int pci_sid; /* -1: drives no PCI function */
    uint64_t hp_handle;
    pc_cptr_t hp_ntfn;
    init_arena_t arena; /* where all its objects come from (0: built before arenas, none) */
    /* its RAM grant (GRANT_UNTYPED): the frames it may give the IOMMU server come from here,
     * so this is the range revoke_frames names (size 0: none) */
    uint64_t ram_pa, ram_size;
    bool reclaimed; /* torn down: objects revoked, memory and slots returned */
    bool hp_fresh;  /* started for a hot-added device: torn down once it reports done */
} init_task_t;

extern init_task_t g_tasks[INIT_MAX_TASKS];
extern unsigned g_task_count;

/* The task with id `id` (its badge), or NULL. */
init_task_t *task_by_id(uint64_t id);
/* The first running task whose role has ROLE_* flag `role_flag`, or NULL. */
init_task_t *task_running_with(uint32_t role_flag);
/* Task t's reported results move to the retired totals (its entry is about to be reused; they
 * still count in the SUMMARY). */
void task_results_retire(init_task_t *t);
void task_results_retired(uint32_t *passed, uint32_t *failed);

/* ---- spawn.c ---- */

extern pc_cptr_t g_init_ep; /* the root task's endpoint (faults, reports) */
extern uint64_t g_tsc_hz;

/* Builds and starts the task in boot module `mod`; records a skip reason on failure. */
void spawn_module(const pc_bootinfo_module_t *mod, unsigned module_index);
/* Same, into task entry idx: the next free one, or one whose task was torn down (same id). */
void spawn_module_at(const pc_bootinfo_module_t *mod, unsigned module_index, unsigned idx);

/*
 * Tears task t down: stops its thread, removes it at the IOMMU server (which detaches its devices
 * with the hardware flushed, unmaps everything and withdraws its memory grants before it
 * answers), deletes its root-CNode slots, revokes its arena and returns the memory and slots.
 * Its PCI function becomes unclaimed. True if everything came back.
 */
bool task_teardown(init_task_t *t);
/*
 * Starts `module` again into task entry idx (a free one, or one torn down), its command line
 * followed by " " and `words` (the module's own if there is no room). The instance's device and
 * memory grants still have to be sent to the IOMMU server (iommu_link_send). The task entry, or
 * NULL if idx is out of range.
 */
init_task_t *spawn_module_again(const pc_bootinfo_module_t *module, unsigned idx,
                                const char *words);
/* Tasks torn down so far; skipped modules whose objects all came back (RAM free and free root
 * slots as before their build). */
extern unsigned g_tasks_reclaimed;
extern unsigned g_modules_reclaimed_exactly;
/* Builds torn down because the arena was too small and run again in a larger one. */
extern unsigned g_rebuilds;
/* Free root-CNode slots (a spare arena's slot counts as free: it is reusable memory). */
uint32_t init_free_slots(void);

/* ---- hotplug.c ---- */

/* The badge bit of the hotplug server's copy of a driver's notification (HPS_NOTIFY_BIT). */
#define INIT_HP_NOTIFY_BIT 0x100ull

/* TASK_LABEL_HP_ASSIGN from task `caller` (see <task/protocol.h>); fills the reply in *m. */
void hp_assign(init_task_t *caller, pc_msg_t *m);

#endif /* INIT_INIT_H */
