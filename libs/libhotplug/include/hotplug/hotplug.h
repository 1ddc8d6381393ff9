/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libhotplug: the PCIe native hotplug slot state machine of the hotplug server, one per slot
 * (as Linux's pciehp, but with every wait bounded). Everything that can be decided without the
 * kernel lives here; servers/pcie-hotplug is the event loop around it.
 *
 * The library is driven by events - a slot interrupt (it reads and acknowledges Slot Status
 * itself through libpci's ECAM accessor), timer expiries, a driver's detached() and control
 * requests from the root task - and each entry point takes the caller's clock `now_ns`. It never
 * sleeps or polls in a loop: every wait (command completed, the cancel window, a driver's
 * detach, a device answering config reads) is a deadline that hp_server_next_deadline()
 * reports, so the server bounds its receive with that timeout and calls hp_server_timer().
 *
 * Side effects leave through three ops tables: the IOMMU server's hotplug role (device_fence,
 * device_removed, device_added), the device-gone protocol to drivers plus the root task's
 * assignment policy, and a log sink. The ordering rules are the point of the library:
 *  - orderly removal: fence(orderly) -> device_going -> detach awaited (deadline) -> power off
 *    -> device_removed;
 *  - surprise removal (presence or link lost, or a control request powering a populated slot
 *    off): fence(surprise) is the very first call, then device_gone, then power off and
 *    device_removed;
 *  - insertion: power on -> config reads answer (deadline) -> device_added -> assign.
 * See docs/hotplug.md for the state x event table.
 *
 * Allocation-free: a server holds up to HP_MAX_SLOTS slots in caller-provided storage.
 */
#ifndef HOTPLUG_HOTPLUG_H
#define HOTPLUG_HOTPLUG_H

#include <stdbool.h>
#include <stdint.h>

#include <hotplug/gone.h>
#include <pci/bdf.h>
#include <pci/pci.h>

/* ---- errors of the library API ---- */

#define HP_ERRORS(X)                                                                               \
    X(HP_OK, 0, "ok")                                                                              \
    X(HP_ERR_INVALID, 1,                                                                           \
      "bad argument (NULL, zero timeout, unknown request) or a malformed message")                 \
    X(HP_ERR_NOT_SLOT, 2, "the port has no hot-plug capable slot")                                 \
    X(HP_ERR_PORT_ABSENT, 3, "the port does not answer config reads")                              \
    X(HP_ERR_FULL, 4, "the server's slot table is full")                                           \
    X(HP_ERR_EXISTS, 5, "the port (or its secondary bus) is already owned by a slot")              \
    X(HP_ERR_NOT_OWNED, 6, "no slot of this server is behind that port")                           \
    X(HP_ERR_BUSY, 7, "the slot is in a transition that this request cannot interrupt")            \
    X(HP_ERR_NO_DEVICE, 8, "the slot holds no device (or none is present)")

enum hp_err {
#define HP_ERR_ENUM_(name, value, text) name = value,
    HP_ERRORS(HP_ERR_ENUM_)
#undef HP_ERR_ENUM_
        HP_ERR_COUNT_
};
const char *hp_err_str(int err);

/* ---- the IOMMU server's hotplug role (libiommu's protocol), called through this table ---- */

/* Values as the IOMMU protocol's device_fence modes (IOMMU_FENCE_ORDERLY/SURPRISE). */
enum hp_fence_kind {
    HP_FENCE_ORDERLY = 1,  /* device still there: ATS shutdown, then block */
    HP_FENCE_SURPRISE = 2, /* device gone: block without ever touching its ATC */
};

struct hp_iommu_ops {
    void *ctx;
    /* Each returns 0 on success or the IOMMU protocol's error code; a failure is logged
     * (HP_LOG_IOMMU_FAILED) and the sequence goes on - a device the IOMMU could not fence in
     * order is fenced as surprise instead, and one it could not add is not given a driver. */
    int (*device_fence)(void *ctx, pci_sid_t sid, enum hp_fence_kind kind);
    int (*device_removed)(void *ctx, pci_sid_t sid);
    /* On success *generation (preset to 0) may receive the IOMMU's generation of the new
     * occupant; the device-gone handle carries it when it is ahead of the slot's own count
     * (handles of a slot only grow), otherwise the slot's count plus one. */
    int (*device_added)(void *ctx, pci_sid_t sid, uint32_t *generation);
};

/* ---- drivers: the device-gone protocol (server side) and the root task's policy ---- */

struct hp_driver_ops {
    void *ctx;
    /* Send device_going / device_gone to the driver the device was assigned to. Non-zero: the
     * message could not be delivered (driver dead); logged, and the server stops waiting. */
    int (*device_going)(void *ctx, hp_handle_t h);
    int (*device_gone)(void *ctx, hp_handle_t h);
    /* The root task's policy: give the new device to a driver. 0 = a driver took it (it will be
     * told going/gone and is waited for on removal); non-zero = no driver (logged). */
    int (*assign)(void *ctx, hp_handle_t h, uint16_t vendor, uint16_t device);
};

/* ---- log: every timeout, ignored event and refused input leaves one record ---- */

/* X(name, value, text) */
#define HP_LOGS(X)                                                                                 \
    X(HP_LOG_SLOT_READY, 0, "slot taken over")                                                     \
    X(HP_LOG_ADDED, 1, "device added")                                                             \
    X(HP_LOG_REMOVED, 2, "device removed")                                                         \
    X(HP_LOG_SURPRISE, 3, "surprise removal: device fenced first")                                 \
    X(HP_LOG_BUTTON, 4, "attention button: orderly removal requested")                             \
    X(HP_LOG_CANCELLED, 5,                                                                         \
      "attention button pressed again inside the cancel window: removal cancelled")                \
    X(HP_LOG_DETACH_TIMEOUT, 6,                                                                    \
      "driver did not detach before its deadline: powering off anyway (device already fenced)")    \
    X(HP_LOG_CC_TIMEOUT, 7, "no command completed before the deadline: proceeding (PCIe 6.7.3.2)") \
    X(HP_LOG_CONFIG_TIMEOUT, 8,                                                                    \
      "device never answered config reads after power on: slot faulted and powered off")           \
    X(HP_LOG_IGNORED, 9, "event ignored in this state")                                            \
    X(HP_LOG_SPURIOUS_PDC, 10,                                                                     \
      "presence detect changed but the same device still answers: ignored")                        \
    X(HP_LOG_NOT_OWNED, 11, "event for a port this server does not own: ignored")                  \
    X(HP_LOG_UNKNOWN_SID, 12, "message names a source-id no slot holds: refused")                  \
    X(HP_LOG_STALE_HANDLE, 13, "message carries a stale handle: refused")                          \
    X(HP_LOG_IOMMU_FAILED, 14, "IOMMU server call failed (arg = op << 16 | error)")                \
    X(HP_LOG_DRIVER_UNREACHABLE, 15, "driver message could not be delivered: not waiting for it")  \
    X(HP_LOG_NO_DRIVER, 16, "policy assigned no driver to the new device")                         \
    X(HP_LOG_PORT_UNREADABLE, 17, "slot status reads all-ones: port gone, treating slot as empty") \
    X(HP_LOG_POWER_FAULT, 18, "power fault detected")                                              \
    X(HP_LOG_BRINGUP_ABORTED, 19, "device left (or power-off requested) before it was added")      \
    X(HP_LOG_REQUEST, 20, "control request (arg = enum hp_request)")                               \
    X(HP_LOG_EVENT_STORM, 21,                                                                      \
      "slot status kept changing while being acknowledged: bounded re-read gave up")

enum hp_log_code {
#define HP_LOG_ENUM_(name, value, text) name = value,
    HP_LOGS(HP_LOG_ENUM_)
#undef HP_LOG_ENUM_
        HP_LOG_COUNT_
};
const char *hp_log_str(int code);

/* arg of HP_LOG_IOMMU_FAILED: which op failed, in bits 31:16 */
enum hp_iommu_op { HP_IOMMU_OP_FENCE = 1, HP_IOMMU_OP_REMOVED = 2, HP_IOMMU_OP_ADDED = 3 };

struct hp_log_rec {
    enum hp_log_code code;
    pci_sid_t port;   /* the slot's port (or the port/sid named by a refused input) */
    pci_sid_t device; /* the slot's device sid, or the sid in a refused message */
    int state;        /* enum hp_state of the slot, -1 when no slot is involved */
    uint64_t now_ns;
    uint64_t arg; /* per code: elapsed ns for timeouts, error codes, the ignored event */
};

struct hp_log_ops {
    void *ctx;
    void (*log)(void *ctx, const struct hp_log_rec *rec);
};

/* ---- slots ---- */

/* X(name, value, text) */
#define HP_STATES(X)                                                                               \
    X(HP_ST_OFF, 0, "off: empty, or a card waiting for a button/request")                          \
    X(HP_ST_POWERING_ON, 1, "power-on command issued, waiting for command completed")              \
    X(HP_ST_WAIT_CONFIG, 2, "powered: polling config reads until the device answers")              \
    X(HP_ST_ON, 3, "device added (and assigned if the policy found a driver)")                     \
    X(HP_ST_BUTTON_WAIT, 4, "attention button pressed: cancel window running")                     \
    X(HP_ST_WAIT_DETACH, 5, "fenced (orderly), driver told going: waiting for detached")           \
    X(HP_ST_POWERING_OFF, 6, "power-off command issued, waiting for command completed")            \
    X(HP_ST_FAULTED, 7, "a device that never answered: powered off, attention on")

enum hp_state {
#define HP_STATE_ENUM_(name, value, text) name = value,
    HP_STATES(HP_STATE_ENUM_)
#undef HP_STATE_ENUM_
        HP_STATE_COUNT_
};
const char *hp_state_str(int state);

/* Events of the state machine (after decoding Slot Status, timers, acks and requests). */
#define HP_EVENTS(X)                                                                               \
    X(HP_EV_PRESENT, 0, "presence detected (PDC with PDS=1, or link up)")                          \
    X(HP_EV_ABSENT, 1, "presence lost (PDC with PDS=0) or link down")                              \
    X(HP_EV_BUTTON, 2, "attention button pressed")                                                 \
    X(HP_EV_DEADLINE, 3, "the state's deadline passed")                                            \
    X(HP_EV_DETACHED, 4, "the assigned driver answered detached(handle)")                          \
    X(HP_EV_REQ_POWER_OFF, 5, "control request: power the slot off now (surprise removal)")        \
    X(HP_EV_REQ_REMOVE, 6, "control request: orderly removal, as the button without a window")     \
    X(HP_EV_REQ_POWER_ON, 7, "control request: power on a present card")

enum hp_event {
#define HP_EVENT_ENUM_(name, value, text) name = value,
    HP_EVENTS(HP_EVENT_ENUM_)
#undef HP_EVENT_ENUM_
        HP_EVENT_COUNT_
};
const char *hp_event_str(int ev);

/* Control requests from the root task (the control endpoint). */
enum hp_request {
    HP_REQ_POWER_OFF = 0, /* power a slot off now; a populated slot is a surprise removal */
    HP_REQ_REMOVE = 1,    /* orderly removal without a cancel window */
    HP_REQ_POWER_ON = 2,  /* power on a present card left off (after a removal, or faulted) */
};

/* Defaults (ns). cancel window 0: appliances act on the first press; 5 s is PCIe's advice. */
#define HP_DEFAULT_CANCEL_WINDOW_NS 0ull
#define HP_PCIE_CANCEL_WINDOW_NS 5000000000ull /* PCIe 6.7.1.5: 5 s abort interval */
#define HP_DEFAULT_DETACH_TIMEOUT_NS 1000000000ull
#define HP_DEFAULT_CC_TIMEOUT_NS 1000000000ull /* Linux pciehp waits 1 s too */
#define HP_DEFAULT_SETTLE_NS 100000000ull      /* PCIe 6.6.1: 100 ms before config requests */
#define HP_DEFAULT_CONFIG_TIMEOUT_NS 1000000000ull
#define HP_DEFAULT_CONFIG_POLL_NS 10000000ull

struct hp_slot_config {
    pci_sid_t port;            /* root or downstream port owning the slot */
    uint8_t secondary_bus;     /* its secondary bus: the device is secondary_bus:00.0 */
    uint64_t cancel_window_ns; /* 0 = no window */
    uint64_t detach_timeout_ns;
    uint64_t cc_timeout_ns;
    uint64_t settle_ns;         /* after power-on completed, before the first config read */
    uint64_t config_timeout_ns; /* after power-on completed, until the device must answer */
    uint64_t config_poll_ns;    /* interval between config reads meanwhile */
};

/* Fills every field but port/secondary_bus with the defaults above. */
void hp_slot_config_defaults(struct hp_slot_config *cfg, pci_sid_t port, uint8_t secondary_bus);

struct hp_server;

/* Slot Control bits the library writes as one command. */
struct hp_cmd {
    uint16_t clear, set;
};

/* One slot. Read-only for users of the library (tests inspect it). */
struct hp_slot {
    struct hp_server *srv;
    struct hp_slot_config cfg;
    struct pci_pcie pcie;
    struct pci_slot_caps caps;
    pci_sid_t dev_sid;
    enum hp_state state;
    uint64_t deadline;        /* of the state (window, detach, config poll); UINT64_MAX none */
    uint64_t config_deadline; /* WAIT_CONFIG: give up after this */
    uint64_t state_since;     /* when the state was entered (for elapsed times in logs) */
    /* command layer (PCIe 6.7.3.2): one command in flight, at most one (merged) queued */
    bool cmd_busy;
    uint64_t cmd_deadline;
    uint64_t cmd_issued;
    bool cmd_queued;
    struct hp_cmd queued;
    /* the occupant */
    uint32_t gen;            /* generation of the current/last occupant; never 0 once used */
    bool added;              /* device_added succeeded and device_removed not yet called */
    bool fenced;             /* device_fence called for the current occupant */
    bool fenced_surprise;    /* ... and the last one was a surprise fence */
    bool driver_bound;       /* assign took it and the driver has not detached */
    bool driver_told;        /* device_going or device_gone sent for this occupant */
    uint16_t vendor, device; /* IDs read when it was added (to recognise a spurious PDC) */
    enum hp_state off_next;  /* POWERING_OFF: OFF or FAULTED */
    bool deferred_present;   /* presence seen during a power-off: re-examine afterwards */
    /* counters (bounded by the event count; for tests and the server's statistics) */
    uint32_t n_added, n_removed, n_cc_timeouts, n_ignored;
};

#define HP_MAX_SLOTS 16

struct hp_server {
    const struct pci_ecam *ecam;
    struct hp_iommu_ops iommu;
    struct hp_driver_ops drv;
    struct hp_log_ops log;
    struct hp_slot slots[HP_MAX_SLOTS];
    unsigned n_slots;
};

/*
 * Initialises an empty server. ecam reaches the ports and the devices below them. Every op
 * in iommu and drv must be non-NULL; log.log may be NULL (records are dropped).
 * HP_ERR_INVALID otherwise.
 */
int hp_server_init(struct hp_server *srv, const struct pci_ecam *ecam,
                   const struct hp_iommu_ops *iommu, const struct hp_driver_ops *drv,
                   const struct hp_log_ops *log);

/*
 * Takes over the slot of cfg->port: checks the port (PCIe capability with a hot-plug capable
 * slot), clears stale events, enables the slot's interrupts (ABP/PDC/HPIE, CC unless NCCS,
 * DLLSC if the link reports it) and brings the slot to a defined state: a present powered
 * device is brought up as an insertion (it gets device_added and a driver), a present
 * unpowered card is powered on, an empty powered slot is powered off.
 * Errors: HP_ERR_INVALID (bad cfg: zero timeouts, secondary bus not above the port's bus),
 * HP_ERR_PORT_ABSENT, HP_ERR_NOT_SLOT, HP_ERR_EXISTS, HP_ERR_FULL. On error nothing changed.
 * *out (may be NULL) receives the slot.
 */
int hp_server_add_slot(struct hp_server *srv, const struct hp_slot_config *cfg, uint64_t now_ns,
                       struct hp_slot **out);

/* The slot behind a port / the slot whose device is sid; NULL if none. */
struct hp_slot *hp_server_slot_by_port(struct hp_server *srv, pci_sid_t port);
struct hp_slot *hp_server_slot_by_device(struct hp_server *srv, pci_sid_t sid);

/*
 * The port's interrupt fired: read Slot Status, acknowledge exactly the event bits that were set
 * (re-read a bounded number of times so the edge-triggered interrupt re-arms), complete a pending
 * command on CC, then dispatch presence/link and button events. HP_ERR_NOT_OWNED (logged) for a
 * port the server does not own.
 */
int hp_server_irq(struct hp_server *srv, pci_sid_t port, uint64_t now_ns);

/*
 * Polls every slot as if its interrupt had fired. The slot interrupt is an edge: one lost MSI
 * (or an event that does not interrupt, like DLLSC on QEMU's ports) leaves a status bit set
 * that never interrupts again. The server calls this at a slow interval (HP_POLL_INTERVAL_NS)
 * so such a slot is noticed within a bounded time.
 */
void hp_server_poll(struct hp_server *srv, uint64_t now_ns);
#define HP_POLL_INTERVAL_NS 1000000000ull

/* Runs every deadline that has passed at now_ns. */
void hp_server_timer(struct hp_server *srv, uint64_t now_ns);

/* Earliest deadline of any slot; UINT64_MAX when nothing waits. */
uint64_t hp_server_next_deadline(const struct hp_server *srv);

/*
 * A driver's detached(handle), already decoded by hp_gone_decode. Returns the reply:
 * HP_GONE_ERR_UNKNOWN (sid of no slot), HP_GONE_ERR_STALE (earlier occupant, or the device is
 * no longer assigned) - both logged and changing nothing - or HP_GONE_OK.
 */
enum hp_gone_err hp_server_detached(struct hp_server *srv, hp_handle_t h, uint64_t now_ns);

/*
 * A control request for the slot behind `port`. HP_ERR_NOT_OWNED, HP_ERR_INVALID (unknown
 * request), HP_ERR_NO_DEVICE (power on with no card present), HP_ERR_BUSY (the slot is in a
 * transition this request does not override); HP_OK when the request was acted on or the slot
 * already is where it asks.
 */
int hp_server_request(struct hp_server *srv, pci_sid_t port, enum hp_request req, uint64_t now_ns);

/* Per slot: the same entry points without the routing. */
int hp_slot_irq(struct hp_slot *s, uint64_t now_ns);
void hp_slot_timer(struct hp_slot *s, uint64_t now_ns);
uint64_t hp_slot_next_deadline(const struct hp_slot *s);
int hp_slot_request(struct hp_slot *s, enum hp_request req, uint64_t now_ns);

/*
 * Feeds already-read Slot Status bits (and Link Status, for DLLSC) to the state machine without
 * touching the hardware's status register: for the server's polling fallback and for fuzzing.
 */
void hp_slot_status_event(struct hp_slot *s, uint16_t sltsta, uint16_t lnksta, uint64_t now_ns);

/* The current occupant's handle (0 if the slot never had one). */
hp_handle_t hp_slot_handle(const struct hp_slot *s);

#endif /* HOTPLUG_HOTPLUG_H */
