/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IOMMU server's state and logic, independent of the kernel: remapping units handed over by
 * init, the device index keyed by source-id with generation numbers, clients with their device
 * and memory grants, domains with their mapping tables, PASIDs, fault routing and quarantine.
 * The server task (servers/iommu) is glue around this: it receives IPC, fills a struct
 * iommu_msg, calls iommu_handle_client / iommu_handle_hotplug and sends the reply; it calls
 * iommu_fault_service / iommu_prq_service from the units' interrupts.
 *
 * Every table has a fixed size (struct iommu_server is caller storage, typically static); only
 * libvtd allocates, and only hardware pages through struct vtd_hw. Handling is decode/perform:
 * iommu_decode_* validate a message completely without side effects, perform changes state and
 * can fail only when hardware fails (and then says what it left behind). Not thread-safe: the
 * server is a single thread.
 */
#ifndef IOMMU_SERVER_H
#define IOMMU_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iommu/ats.h>
#include <iommu/protocol.h>
#include <pci/pci.h>
#include <vtd/vtd.h>

/* ---- Limits (fixed tables) ----------------------------------------------------------------- */
#define IOMMU_MAX_UNITS 4u
#define IOMMU_MAX_SCOPES 16u  /* source-id ranges per unit */
#define IOMMU_MAX_DEVICES 64u /* device index entries (kept across remove/add) */
#define IOMMU_MAX_CLIENTS 16u
#define IOMMU_MAX_DOMAINS (IOMMU_MAX_CLIENTS + IOMMU_MAX_UNITS)
#define IOMMU_MAPS_PER_DOMAIN 512u
#define IOMMU_TABLE_PAGES_QUOTA 1024u /* page-table pages one client domain may hold */
#define IOMMU_SPARE_TABLES                                                                         \
    8u /* emptied tables a domain keeps linked (vtd_domain_set_spare_limit) */
#define IOMMU_CLIENT_DEVICES 8u              /* device grants per client */
#define IOMMU_CLIENT_MEMORY 8u               /* memory grants per client */
#define IOMMU_CLIENT_REVOKED 4u              /* frame ranges revoked per client (revoke_frames) */
#define IOMMU_REVOKE_FRAMES_MAX (1ull << 30) /* the largest range one revoke_frames names */
#define IOMMU_FAULT_RING 32u                 /* fault records kept per client */
#define IOMMU_FAULT_RATE 64u                 /* records accepted per client per window */
#define IOMMU_FAULT_WINDOW_NS 10000000ull    /* 10 ms */
#define IOMMU_FAULT_BUDGET 64u /* records read from a unit per iommu_fault_service call */
#define IOMMU_PASID_FIRST 1u   /* PASID 0 is RID_PASID in scalable mode */
#define IOMMU_MAX_PASIDS 32u   /* PASIDs IOMMU_PASID_FIRST .. + IOMMU_MAX_PASIDS - 1 */
#define IOMMU_MAX_RMRR 8u
#define IOMMU_MAX_IRQS 64u         /* remapped interrupts (IRTEs) the server tracks, all units */
#define IOMMU_CLIENT_VECTORS 8u    /* vector grants per client */
#define IOMMU_IRQ_MIN_VECTOR 0x20u /* below: CPU exceptions, never a device's */
#define IOMMU_PORT_VECTORS 16u     /* hotplug ports with a granted vector */

/* ---- Environment ------------------------------------------------------------------------- */
struct iommu_env {
    void *ctx;
    /* Config space of the segment (NULL: no ATS handling at all). */
    const struct pci_ecam *ecam;
    /* Signal the client's fault notification (coalesced: once until it reads). `cookie` is the
     * notification client_add brought (0: none). May be NULL. */
    void (*notify_client)(void *ctx, uint64_t badge, uint64_t cookie);
    /* The pin of a transferred frame capability ended: the glue may drop the slot. May be NULL. */
    void (*release_cap)(void *ctx, uint64_t cookie);
    /* Device sid was attached without ATS although it and its unit support it, because the ATS
     * policy refuses it (`why`: a constant string). Once per occupant of sid. May be NULL. */
    void (*ats_refused)(void *ctx, uint16_t sid, const char *why);
    /* The badge whose messages are the root protocol (0: no root protocol). */
    uint64_t root_badge;
};

/* ---- State (fields are private; use the functions below) ---------------------------------- */
enum iommu_dev_state {
    IOMMU_DEV_UNUSED = 0,
    IOMMU_DEV_PRESENT, /* in the slot; may be attached */
    IOMMU_DEV_FENCED,  /* hotplug said gone/going: blocked, no device-TLB traffic */
    IOMMU_DEV_REMOVED, /* left the slot: only the generation survives */
};
enum iommu_fence_kind {
    IOMMU_FENCE_NONE = 0,
    IOMMU_FENCE_KIND_ORDERLY = 1,
    IOMMU_FENCE_KIND_SURPRISE = 2
};

struct iommu_device {
    uint16_t sid;
    uint8_t state; /* enum iommu_dev_state */
    uint8_t fence; /* enum iommu_fence_kind */
    uint8_t unit;
    bool quarantined;     /* timed out: blocked, ATS off, fenced until device_added */
    bool quarantine_done; /* the quarantine fence completed (block + caches flushed) */
    bool has_ats;         /* ATS capability found in config space */
    bool ats_enabled;
    uint8_t ats_verdict;   /* enum iommu_ats_verdict: the platform's word, decided on arrival */
    bool ats_refusal_said; /* env.ats_refused was called for this occupant */
    uint8_t ats_qdep;
    struct pci_ats ats;
    uint32_t generation;
    int owner;  /* client index, -1 */
    int domain; /* domain index, -1 */
    int rmrr;   /* first RMRR index for this device, -1 */
};

struct iommu_mapping {
    uint64_t iova, size, pa;
    uint64_t cookie; /* frame capability slot (grant == IOMMU_GRANT_CAP) */
    uint16_t grant;  /* memory grant index, IOMMU_GRANT_CAP or IOMMU_GRANT_RESERVED */
    uint8_t rights;
    bool stuck;    /* removed from the page table, invalidation not confirmed */
    uint32_t pend; /* the request whose invalidation is in flight for it (0: none) */
};
#define IOMMU_GRANT_CAP 0xfffeu
#define IOMMU_GRANT_RESERVED 0xffffu

struct iommu_domain {
    bool used;
    uint8_t unit;
    int owner;     /* client index, -1 for a server-owned (RMRR identity) domain */
    unsigned refs; /* holders: owner + attached devices */
    struct vtd_domain vd;
    unsigned n_maps;
    struct iommu_mapping maps[IOMMU_MAPS_PER_DOMAIN]; /* sorted by iova, disjoint */
};

struct iommu_mem_grant {
    bool used;
    bool revoked; /* the root task took it back: maps naming it get IOMMU_ERR_REVOKED */
    uint8_t rights;
    uint64_t pa, size;
    uint32_t pins; /* mappings of this grant */
};

/* A vector the root task allowed a client to use for one of its devices. */
struct iommu_vec_grant {
    bool used;
    uint8_t vector;
    uint16_t sid;
};

/*
 * One remapped interrupt: an IRTE the server wrote. LIVE: present, source-id validated for sid.
 * CLEARED: the device was fenced; the entry is not present (IEC flushed) but its index stays
 * allocated until the device is removed or the holder frees it, so a late MSI from the old
 * occupant finds a not-present entry, never someone else's.
 */
enum iommu_irq_state { IOMMU_IRQ_FREE = 0, IOMMU_IRQ_LIVE, IOMMU_IRQ_CLEARED };
struct iommu_irq {
    uint8_t state; /* enum iommu_irq_state */
    uint8_t unit;
    uint8_t vector;
    uint16_t index; /* IRTE index in the unit's table */
    uint16_t sid;
    uint16_t grant;      /* the client's vector grant, or IOMMU_IRQ_ROOT_GRANT */
    int client;          /* -1: routed by the root task for a trusted server (root ports) */
    uint32_t generation; /* of the device at sid when written (0 for root routes) */
    uint32_t serial;     /* handle uniqueness: a freed slot's old handles stay stale */
};
#define IOMMU_IRQ_ROOT_GRANT 0xffffu

struct iommu_client {
    bool used;
    uint64_t badge;
    int domain;
    unsigned n_dev_grants;
    uint16_t dev_grants[IOMMU_CLIENT_DEVICES];
    struct iommu_mem_grant mem[IOMMU_CLIENT_MEMORY];
    struct iommu_vec_grant vec[IOMMU_CLIENT_VECTORS];
    /* Physical ranges the root task took back (revoke_frames): a frame capability inside one
     * is refused to map (REVOKED) for as long as the client is registered. */
    unsigned n_revoked;
    struct {
        uint64_t pa, size;
    } revoked[IOMMU_CLIENT_REVOKED];
    /* fault ring */
    struct iommu_fault_rec ring[IOMMU_FAULT_RING];
    unsigned ring_head, ring_count;
    uint64_t dropped; /* since the last fault_read */
    bool notified;    /* notification sent, not yet read */
    bool has_notify;  /* client_add brought a notification: notify_cookie names it */
    uint64_t notify_cookie;
    uint64_t window_start_ns;
    unsigned window_count;
};

enum iommu_pasid_state { IOMMU_PASID_FREE = 0, IOMMU_PASID_BOUND, IOMMU_PASID_DRAINING };
struct iommu_pasid {
    uint8_t state;
    uint16_t sid;
    uint16_t did; /* domain the PASID translated through (for its drain) */
    int client;
    uint32_t generation;
};

struct iommu_rmrr {
    uint16_t sid;
    uint8_t unit;
    uint64_t base, size;
};

struct iommu_unit {
    bool used;
    struct vtd_unit vu;
    unsigned n_scopes;
    struct {
        uint16_t first, last;
    } scope[IOMMU_MAX_SCOPES];
    bool include_all;
    int rmrr_domain;         /* identity domain for RMRR devices, -1 */
    uint64_t did_used[1024]; /* bitmap of domain ids (up to 65536) */
    struct iommu_pasid pasid[IOMMU_MAX_PASIDS];
    struct vtd_prg_tracker prg;
    /* page groups of other PASIDs completed while a drain owned the queue: answered after it */
    unsigned n_deferred;
    struct {
        uint16_t sid, prgi;
        uint32_t pasid;
    } deferred[16];
};

/* Leak and activity accounting, exported for tests and the hotplug cycle test. */
struct iommu_counts {
    unsigned domains;     /* live domains */
    unsigned mappings;    /* mapping records, reserved ones included */
    uint64_t table_pages; /* page-table pages of live domains */
    unsigned pins;        /* client memory pins (non-reserved mappings) */
    unsigned stuck;       /* mappings whose invalidation the hardware never confirmed */
    unsigned devices_present, devices_fenced, devices_quarantined;
    unsigned pasids_bound, pasids_draining;
    unsigned irtes; /* interrupt-remapping entries held (live or cleared) */
};
struct iommu_stats {
    uint64_t messages, errors;
    uint64_t faults_routed, faults_dropped, faults_unowned, fault_overflows;
    uint64_t page_requests, page_groups_answered, prq_overflows;
    uint64_t quarantines, fences_orderly, fences_surprise;
    uint64_t submissions; /* invalidation batches the core submitted */
    uint64_t irq_allocs, irq_frees, irq_fence_clears, ir_faults;
};

struct iommu_server {
    struct iommu_env env;
    uint64_t hotplug_badge;
    bool started;
    unsigned n_units;
    struct iommu_unit units[IOMMU_MAX_UNITS];
    struct iommu_device devices[IOMMU_MAX_DEVICES];
    unsigned n_dev_slots; /* devices[] entries ever used: loops stop here */
    struct iommu_client clients[IOMMU_MAX_CLIENTS];
    struct iommu_domain domains[IOMMU_MAX_DOMAINS];
    unsigned n_rmrr;
    struct iommu_rmrr rmrr[IOMMU_MAX_RMRR];
    /* faults nobody owns (unattached devices), newest kept */
    struct iommu_fault_rec unowned[8];
    unsigned unowned_count;
    struct iommu_irq irqs[IOMMU_MAX_IRQS];
    uint32_t irq_serial;
    struct iommu_ats_policy ats; /* empty (every device refused) until set */
    /* vectors the root task granted the hotplug server's ports: irq = handle once routed */
    struct {
        bool used;
        uint8_t vector;
        uint16_t sid;
        uint64_t irq;
    } port_vec[IOMMU_PORT_VECTORS];
    struct iommu_stats stats;
    uint32_t pend_serial; /* last id given to a request's in-flight mappings */
};

/* ---- Set-up by init / the root task (not reachable over IPC) ------------------------------ */
/*
 * Errors of the set-up calls are plain IOMMU_ERR_* values: BAD_ARG (argument), NO_SLOTS (table
 * full), BAD_LABEL never, HW (the unit failed).
 */
void iommu_server_init(struct iommu_server *s, const struct iommu_env *env, uint64_t hotplug_badge);
/*
 * Take over one remapping unit (a DRHD): probe, root table (empty = all DMA blocked), QI,
 * translation on. Fail-closed from here: every source-id the unit covers is blocked until it is
 * attached or has an RMRR. include_all = DRHD INCLUDE_PCI_ALL. *index = unit index.
 */
enum iommu_err iommu_server_add_unit(struct iommu_server *s, const struct vtd_hw *hw,
                                     const struct vtd_unit_config *cfg, bool include_all,
                                     unsigned *index);
/* A DRHD device scope: [first, last] source-ids (one endpoint, or a bridge's bus range). */
enum iommu_err iommu_server_add_scope(struct iommu_server *s, unsigned unit, uint16_t first,
                                      uint16_t last);
/* An RMRR: sid keeps an identity map of [base, base+size) whenever it is not attached. */
enum iommu_err iommu_server_add_rmrr(struct iommu_server *s, uint16_t sid, uint64_t base,
                                     uint64_t size);
/*
 * The platform's ATS reporting (iommu_ats_policy_from_dmar). Until it is set no device gets ATS.
 * Present devices are decided again under the new policy; ATS already enabled stays until their
 * next detach. Each device is decided when it arrives, from where it sits: on the root bus of
 * env.ecam (integrated) or below the root port pci_root_port_find names. Errors: BAD_ARG (NULL).
 */
enum iommu_err iommu_server_set_ats_policy(struct iommu_server *s,
                                           const struct iommu_ats_policy *p);
/* A device found by enumeration at boot (device_added is the hotplug path). */
enum iommu_err iommu_server_add_device(struct iommu_server *s, uint16_t sid);
/* Clients and what the root task granted them. badge != 0, != hotplug badge. */
enum iommu_err iommu_client_register(struct iommu_server *s, uint64_t badge, unsigned unit);
enum iommu_err iommu_client_grant_device(struct iommu_server *s, uint64_t badge, uint16_t sid);
enum iommu_err iommu_client_grant_memory(struct iommu_server *s, uint64_t badge, uint64_t pa,
                                         uint64_t size, unsigned rights, unsigned *grant);
/*
 * Interrupt policy of the root task. grant_vector: client `badge` may have remapped interrupts
 * on `vector` (a vector the root task holds an IRQ handler for, >= IOMMU_IRQ_MIN_VECTOR) for its
 * granted device `sid`; *grant = the index irq_alloc names it by. Errors: BAD_ARG (badge, vector,
 * sid not granted to the client), NO_SLOTS.
 * irq_route: an entry for a device that is not a client's (a trusted server's, e.g. a hotplug
 * root port), written at once: *irq, *msi_addr, *msi_data as irq_alloc returns them. Errors:
 * BAD_ARG (sid, vector), UNIT (no unit covers sid), UNSUPPORTED (the unit has no interrupt
 * remapping), NO_IRTE, HW. irq_unroute frees such an entry: BAD_ARG, STALE, HW.
 */
enum iommu_err iommu_client_grant_vector(struct iommu_server *s, uint64_t badge, uint16_t sid,
                                         uint64_t vector, unsigned *grant);
enum iommu_err iommu_irq_route(struct iommu_server *s, uint16_t sid, uint64_t vector, uint64_t *irq,
                               uint64_t *msi_addr, uint64_t *msi_data);
enum iommu_err iommu_irq_unroute(struct iommu_server *s, uint64_t irq);
/* The hotplug server's port `sid` may have its interrupt on `vector` (port_irq writes the entry).
 * Errors: BAD_ARG (vector, or sid already granted), NO_SLOTS. */
enum iommu_err iommu_port_grant_vector(struct iommu_server *s, uint16_t sid, uint64_t vector);

/*
 * Revocation by the root task. revoke_memory: every mapping of grant `grant` is unmapped strictly
 * (IOTLB and live device-TLBs invalidated, or a device that does not answer quarantined) and the
 * grant is withdrawn; from then on a map naming it gets IOMMU_ERR_REVOKED. *pins_left = mappings
 * whose invalidation was not confirmed (they stay pinned: the memory must not be reused until it
 * is 0; the client's retried unmap, or client_remove, releases them). Errors: BAD_ARG (badge,
 * grant), DEVICE_TIMEOUT / HW (some unmap not confirmed: see *pins_left).
 * revoke_device: the client loses device `sid`: detached first if it is attached (blocked and
 * flushed, its interrupts and PASIDs gone), then the grant and the vector grants for it are
 * dropped; attach gets NOT_GRANTED, its old handle NOT_ATTACHED. Errors: BAD_ARG (badge, sid
 * not granted), DEVICE_TIMEOUT / HW (the detach's; the grant is dropped all the same).
 */
enum iommu_err iommu_client_revoke_memory(struct iommu_server *s, uint64_t badge, unsigned grant,
                                          uint64_t *status, unsigned *pins_left);
enum iommu_err iommu_client_revoke_device(struct iommu_server *s, uint64_t badge, uint16_t sid,
                                          uint64_t *status);
/*
 * revoke_frames: the root task takes back physical memory [pa, pa + size) that the client may
 * have mapped through transferred frame capabilities (the server's copies pin it). Every mapping
 * of a frame capability of the client whose physical range intersects it is unmapped strictly
 * (as revoke_memory's), the server's copy of each capability is deleted only once its
 * invalidation completed, and the range is recorded: a later map of a frame intersecting it gets
 * IOMMU_ERR_REVOKED. Revoking a range inside one already recorded takes no new record, so a
 * revoke whose invalidation did not complete can be retried. *pins_left = such mappings still
 * pinned (invalidation not confirmed): the root task must not revoke the kernel capabilities nor
 * reuse the memory while it is not 0. Errors (nothing changed): BAD_ARG (badge), ALIGN (pa or
 * size not 4 KiB aligned, size 0), RANGE (size > IOMMU_REVOKE_FRAMES_MAX, or the range wraps),
 * NO_SLOTS (IOMMU_CLIENT_REVOKED ranges recorded already); then DEVICE_TIMEOUT / HW (some unmap
 * not confirmed: see *pins_left; the range is recorded all the same).
 */
enum iommu_err iommu_client_revoke_frames(struct iommu_server *s, uint64_t badge, uint64_t pa,
                                          uint64_t size, uint64_t *status, unsigned *pins_left);

/*
 * The client is gone (the root task says so): its devices are detached, its mappings unmapped
 * (strictly), its PASIDs unbound, its domain destroyed, its grants dropped.
 */
enum iommu_err iommu_client_unregister(struct iommu_server *s, uint64_t badge);

/* ---- Messages: one core, three protocols, two phases -------------------------------------
 *
 * Every message goes through iommu_begin: the badge says which protocol it is (root task,
 * hotplug server, or a registered client), decode checks it against a const server, perform
 * carries it out. A request whose hardware wait may be long (an unmap or ats_flush that sends
 * device-TLB work) can be left pending in a struct iommu_pending the transport owns: the tables
 * changed and the invalidation batch is queued, and iommu_complete finishes it once the unit
 * reports completion or the deadline passed (pins of confirmed unmaps released, devices that did
 * not answer quarantined, reply built). A synchronous request is the same code with the wait
 * done at once: begin submits and waits, complete finds the batch finished.
 *
 * While a request is pending its mapping records stay in the domain marked stuck with the
 * request's id: the range cannot be mapped again (overlap), a second unmap of it retries with a
 * domain-wide invalidation, and completion releases exactly the records still carrying its id.
 */
struct iommu_pending {
    bool used;      /* in flight: set by iommu_begin (pending), cleared by iommu_complete */
    uint64_t label; /* IOMMU_LABEL_UNMAP or IOMMU_LABEL_ATS_FLUSH */
    int client, domain, device;
    unsigned unit;
    uint32_t id;             /* unmap left pending: the records it took out carry it in pend */
    bool unmap_failed;       /* unmap: the page-table walk refused (nothing changed) */
    unsigned map_lo, map_hi; /* unmap: where they were at begin (valid until the next message) */
    uint64_t status;         /* unmap: the reply's status as of begin */
    uint64_t quarantines;    /* stats.quarantines at begin: changed = compute status again */
    struct vtd_unmap_result res;
    struct vtd_batch batch; /* in flight: libvtd holds a pointer to it, it must not move */
};

enum iommu_step {
    IOMMU_STEP_DONE = 0, /* *r holds the reply */
    IOMMU_STEP_PENDING,  /* p holds the request: call iommu_complete until it returns true */
};
/* iommu_begin flags */
#define IOMMU_BEGIN_ASYNC (1u << 0) /* p may be left pending when device-TLB work is queued */
#define IOMMU_BEGIN_FORCE                                                                          \
    (1u << 1) /* with ASYNC: leave every unmap/ats_flush with work pending                         \
               */

/*
 * Handle one message of any protocol. p (may be NULL without IOMMU_BEGIN_ASYNC) is a free record
 * the request may stay in; timeout_ns bounds its wait (0 = the unit's default). Never fails to
 * reply: a refused message gets its error in *r and changed nothing.
 */
enum iommu_step iommu_begin(struct iommu_server *s, const struct iommu_msg *m,
                            struct iommu_reply *r, struct iommu_pending *p, unsigned flags,
                            uint64_t timeout_ns);
/*
 * Finish a pending request: false while its batch is in flight and its deadline has not passed;
 * true when *r holds the reply (then p->used is false again).
 */
bool iommu_complete(struct iommu_server *s, struct iommu_pending *p, struct iommu_reply *r);
/* A pending request's absolute deadline in the unit's clock (ns; 0 = nothing queued). */
uint64_t iommu_pending_deadline(const struct iommu_pending *p);
/* The unit's invalidation-completion interrupt: acknowledge it and advance the queue. */
unsigned iommu_completion_event(struct iommu_server *s, unsigned unit);

/* Synchronous shorthands for one protocol each (tests, fuzzers): begin + complete. */
void iommu_handle_client(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r);
void iommu_handle_hotplug(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r);
void iommu_handle_root(struct iommu_server *s, const struct iommu_msg *m, struct iommu_reply *r);

/* A fully validated client request: what decode hands to perform. */
struct iommu_request {
    uint64_t label;
    int client;
    int device;              /* device index, -1 */
    int irq;                 /* irq_free / irq_retarget: slot in irqs[], -1 */
    int domain;              /* the client's domain */
    unsigned map_lo, map_hi; /* unmap: mapping records [map_lo, map_hi) */
    uint64_t pa;             /* map: physical address */
    uint16_t grant;          /* map: grant index or IOMMU_GRANT_CAP */
    uint64_t cookie;
    const uint64_t *vec; /* map_vec: the range words (the message's, valid while it is) */
    unsigned n_vec;
    union {
        struct iommu_attach_args attach;
        struct iommu_detach_args detach;
        struct iommu_map_args map;
        struct iommu_map_pool_args map_pool;
        struct iommu_unmap_args unmap;
        struct iommu_ats_flush_args ats_flush;
        struct iommu_fault_read_args fault_read;
        struct iommu_pasid_bind_args pasid_bind;
        struct iommu_pasid_unbind_args pasid_unbind;
        struct iommu_irq_alloc_args irq_alloc;
        struct iommu_irq_free_args irq_free;
        struct iommu_irq_retarget_args irq_retarget;
        struct iommu_map_vec_args map_vec;
        struct iommu_device_fence_args device_fence;
        struct iommu_device_removed_args device_removed;
        struct iommu_device_added_args device_added;
        struct iommu_port_irq_args port_irq;
    } a;
};
/* Validate everything; no side effects. IOMMU_OK: *req may be performed. */
enum iommu_err iommu_decode_client(const struct iommu_server *s, const struct iommu_msg *m,
                                   struct iommu_request *req);
enum iommu_hp_err iommu_decode_hotplug(const struct iommu_server *s, const struct iommu_msg *m,
                                       struct iommu_request *req);
/* Perform a decoded request; fills the reply (results and err). */
void iommu_perform_client(struct iommu_server *s, const struct iommu_request *req,
                          struct iommu_reply *r);
void iommu_perform_hotplug(struct iommu_server *s, const struct iommu_request *req,
                           struct iommu_reply *r);

/* ---- Interrupt-driven work ------------------------------------------------------------------ */
/*
 * Fault event of a unit: read at most IOMMU_FAULT_BUDGET records, route each to the client
 * owning the source-id (ring + rate limit, notification through env.notify_client), count the
 * rest. Returns true if records may remain (call again after serving other work).
 */
bool iommu_fault_service(struct iommu_server *s, unsigned unit);
/*
 * Page request event: read the queue; each completed page group is answered "invalid" (all
 * client memory is pinned and mapped up front, so a page request is a device bug). Groups for
 * PASIDs being drained are left to the drain. Returns true if requests may remain.
 */
bool iommu_prq_service(struct iommu_server *s, unsigned unit);

/*
 * Retry what the hardware left unfinished: quarantine fences that did not complete and PASID
 * drains that did not complete (those PASIDs stay unusable until this succeeds). Call from
 * the event loop's idle path or a timer.
 */
void iommu_server_retry(struct iommu_server *s);

/* ---- Introspection ------------------------------------------------------------------------ */
void iommu_server_counts(const struct iommu_server *s, struct iommu_counts *c);
/* A hash of all protocol-visible state (devices, clients, grants, mappings, PASIDs, rings). */
uint64_t iommu_server_fingerprint(const struct iommu_server *s);
/* Device index lookup: -1 if the source-id was never seen. */
int iommu_device_find(const struct iommu_server *s, uint16_t sid);
const struct iommu_device *iommu_device_get(const struct iommu_server *s, uint16_t sid);
/* The unit libvtd object (for the glue's interrupt setup and for tests). */
struct vtd_unit *iommu_server_vtd_unit(struct iommu_server *s, unsigned unit);

#endif /* IOMMU_SERVER_H */
