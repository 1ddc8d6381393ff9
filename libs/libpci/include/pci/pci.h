/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpci: PCI Express configuration space through ECAM, for the root task, the hotplug server,
 * the IOMMU server and drivers. Config space belongs to the device, so nothing read from it is
 * trusted: capability walks are bounded and loop-checked, every capability must fit in config
 * space, and an absent or vanished function (reads of all-ones) gives an error rather than
 * garbage. The library never dereferences an address itself: config space is reached through a
 * struct pci_mmio (the real ECAM window on the target; captured images or a fake device in host
 * tests), and MSI-X tables through another one over the BAR. Allocation-free; outputs go into
 * caller-provided storage.
 */
#ifndef PCI_PCI_H
#define PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pci/bdf.h>
#include <pci/regs.h>

/* One error enum for the library; 0 is success. */
enum pci_err {
    PCI_OK = 0,
    PCI_ERR_ABSENT,    /* function not present (vendor id reads all-ones) or outside the window */
    PCI_ERR_NOT_FOUND, /* capability / structure not implemented by the function */
    PCI_ERR_MALFORMED, /* config space contradicts the spec (pointer into header, bad size...) */
    PCI_ERR_LOOP,      /* capability list or bridge topology revisits itself */
    PCI_ERR_INVALID,   /* bad argument from the caller */
    PCI_ERR_NOSPACE,   /* caller-provided output array too small (partial output is valid) */
    PCI_ERR_BUSY,      /* state does not allow the operation (e.g. PRI enabled, not stopped) */
    PCI_ERR_TIMEOUT,   /* a hardware wait passed its deadline */
};

const char *pci_err_str(int err);

/*
 * Raw access to a memory-mapped window (ECAM, or an MSI-X table in a BAR). `off` is a byte
 * offset into the window and is always naturally aligned for `width` (1, 2 or 4) and inside
 * the window when libpci calls these.
 */
struct pci_mmio {
    void *ctx;
    uint32_t (*read)(void *ctx, uint64_t off, unsigned width);
    void (*write)(void *ctx, uint64_t off, unsigned width, uint32_t val);
};

/* A pci_mmio over a directly addressable mapping (the target's mapped ECAM or BAR frames). */
struct pci_mmio_direct {
    volatile void *base;
    uint64_t size;
};
void pci_mmio_direct_init(struct pci_mmio *mmio, struct pci_mmio_direct *d, volatile void *base,
                          uint64_t size);

/*
 * One ECAM window (PCIe 7.2.2): bus_start..bus_end of `segment`, 1 MiB per bus, mapped from the
 * MCFG entry's base. Offsets are relative to bus_start's config space.
 */
struct pci_ecam {
    const struct pci_mmio *mmio;
    uint16_t segment;
    uint8_t bus_start;
    uint8_t bus_end;
};

/* Returns PCI_ERR_INVALID if bus_end < bus_start or mmio lacks read/write. */
int pci_ecam_init(struct pci_ecam *ecam, const struct pci_mmio *mmio, uint16_t segment,
                  uint8_t bus_start, uint8_t bus_end);

/*
 * Config reads. A read outside the window's buses, at off >= 4096 or misaligned for the width
 * returns all-ones of the width (what hardware gives for an absent function); writes there are
 * dropped.
 */
uint8_t pci_cfg_read8(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off);
uint16_t pci_cfg_read16(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off);
uint32_t pci_cfg_read32(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off);
void pci_cfg_write8(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off, uint8_t val);
void pci_cfg_write16(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off, uint16_t val);
void pci_cfg_write32(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t off, uint32_t val);

/*
 * Same shape as libacpi's config reader callback (acpi_cfg_read32_fn): `ctx` is a
 * struct pci_ecam *. A segment other than the window's reads all-ones.
 */
uint32_t pci_ecam_read32_cb(void *ctx, uint16_t segment, pci_sid_t sid, uint16_t off);

/* Vendor ID is neither 0xffff (nothing answered) nor 0x0000. */
bool pci_present(const struct pci_ecam *ecam, pci_sid_t sid);

/* Read-modify-write of the Command register: bits in `clear` cleared, then `set` set. */
int pci_command_update(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t clear, uint16_t set);
int pci_set_bus_master(const struct pci_ecam *ecam, pci_sid_t sid, bool on);
int pci_set_memory_space(const struct pci_ecam *ecam, pci_sid_t sid, bool on);

/* ---- capability walks ---- */

/*
 * Iterator over the standard (ext = false) or extended (ext = true) capability list. Each
 * pointer is masked (bits 1:0 reserved), must lie in [0x40, 0x100) resp. [0x100, 0x1000) and
 * leave room for its header; each dword may be visited once, and at most 48 resp. 960 entries
 * are followed. A violation ends the walk with PCI_ERR_MALFORMED or PCI_ERR_LOOP.
 */
struct pci_cap_iter {
    const struct pci_ecam *ecam;
    pci_sid_t sid;
    bool ext;
    uint8_t state; /* 0 = not started, 1 = walking, 2 = finished (result sticky in err) */
    int err;
    uint16_t next;
    uint16_t hops;
    uint32_t visited[PCI_CFG_SPACE_EXP_SIZE / 4 / 32];
};

void pci_cap_iter_init(struct pci_cap_iter *it, const struct pci_ecam *ecam, pci_sid_t sid,
                       bool ext);
/* PCI_OK with *off, *id (and *version for extended caps; may be NULL) set; PCI_ERR_NOT_FOUND at
 * the end of the list; PCI_ERR_ABSENT, PCI_ERR_MALFORMED or PCI_ERR_LOOP on bad lists. */
int pci_cap_iter_next(struct pci_cap_iter *it, uint16_t *off, uint16_t *id, uint8_t *version);

/* First capability with the given id. PCI_ERR_NOT_FOUND if the (well-formed) list lacks it;
 * errors of the walk otherwise. A capability found before a later defect is still returned. */
int pci_cap_find(const struct pci_ecam *ecam, pci_sid_t sid, uint8_t cap_id, uint16_t *off);
int pci_ext_cap_find(const struct pci_ecam *ecam, pci_sid_t sid, uint16_t cap_id, uint16_t *off);

/* ---- PCI Express capability ---- */

struct pci_pcie {
    uint16_t off;      /* of the capability */
    uint8_t version;   /* Capability Version */
    uint8_t port_type; /* Device/Port Type, PCI_EXP_TYPE_* */
    bool slot;         /* Slot Implemented (only valid for root/downstream ports) */
    uint32_t devcap;
    uint32_t lnkcap;
    uint32_t sltcap; /* 0 unless slot */
};

/* Finds and decodes the PCIe capability; PCI_ERR_MALFORMED if it does not fit in config space. */
int pci_pcie_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_pcie *out);

/* Decoded Slot Capabilities. */
struct pci_slot_caps {
    bool abp, pcp, mrlsp, aip, pip, hps, hpc, eip, nccs;
    uint16_t psn; /* Physical Slot Number */
};
void pci_slot_caps_decode(uint32_t sltcap, struct pci_slot_caps *out);

/* Slot registers. All fail with PCI_ERR_NOT_FOUND when the port has no slot. */
int pci_slot_status(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                    uint16_t *sltsta);
/* Clears (RW1C) the given event bits only; other bits in `events` outside PCI_EXP_SLTSTA_EVENTS
 * are PCI_ERR_INVALID. */
int pci_slot_ack(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                 uint16_t events);
int pci_slot_control(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                     uint16_t *sltctl);

/* A monotonic clock for deadlines (TSC on the target, a virtual clock in tests). relax() is
 * called once per poll iteration (pause, or let a fake device make progress); may be NULL. */
struct pci_clock {
    void *ctx;
    uint64_t (*now_ns)(void *ctx);
    void (*relax)(void *ctx);
};

/*
 * Writes Slot Control as (old & ~clear) | set. If the slot reports command completion
 * (NCCS = 0) and the write touches a command field (indicators, PCC, EIC), waits for Command
 * Completed until timeout_ns has passed and clears it; PCI_ERR_TIMEOUT if it never comes (the
 * write itself has happened). PCIe 6.7.3.2: software must wait for completion before the next
 * command, so the hotplug server calls this for every command write.
 */
int pci_slot_update_control(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                            uint16_t clear, uint16_t set, const struct pci_clock *clk,
                            uint64_t timeout_ns);
/* Power controller: on = PCC 0. Indicators: PCI_EXP_SLTCTL_IND_{ON,BLINK,OFF}. */
int pci_slot_set_power(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                       bool on, const struct pci_clock *clk, uint64_t timeout_ns);
int pci_slot_set_indicators(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                            unsigned power_ind, unsigned attn_ind, const struct pci_clock *clk,
                            uint64_t timeout_ns);
/* Link Status (e.g. PCI_EXP_LNKSTA_DLLLA). */
int pci_link_status(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pcie *pcie,
                    uint16_t *lnksta);

/* ---- ATS / PASID / PRI ---- */

struct pci_ats {
    uint16_t off;
    uint8_t queue_depth; /* Invalidate Queue Depth, 1..32 */
    bool page_aligned;
    bool global_inv;
    bool enabled;
    uint8_t stu; /* current STU */
};
int pci_ats_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_ats *out);
/* Enables ATS with Smallest Translation Unit 2^(12+stu) bytes (stu <= 31). */
int pci_ats_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_ats *ats,
                   uint8_t stu);
int pci_ats_disable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_ats *ats);

struct pci_pasid {
    uint16_t off;
    uint8_t max_width; /* Max PASID Width: PASIDs 0 .. 2^width - 1 */
    bool exec, priv;   /* supported */
    bool enabled;
};
int pci_pasid_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_pasid *out);
/* Enabling an unsupported exec/priv mode is PCI_ERR_INVALID. */
int pci_pasid_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pasid *p,
                     bool exec, bool priv);
int pci_pasid_disable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pasid *p);

struct pci_pri {
    uint16_t off;
    uint32_t max_requests; /* Outstanding Page Request Capacity */
    bool enabled;
    bool stopped;
    bool pasid_required; /* PRG Response PASID Required */
};
int pci_pri_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_pri *out);
/* Resets and enables PRI with `requests` outstanding requests (1..capacity). Requires PRI
 * disabled and stopped (PCI_ERR_BUSY otherwise). */
int pci_pri_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pri *p,
                   uint32_t requests);
/* Clears Enable, then waits (deadline) until Stopped: all outstanding page requests answered. */
int pci_pri_disable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_pri *p,
                    const struct pci_clock *clk, uint64_t timeout_ns);

/* ---- MSI / MSI-X ---- */

struct pci_msi {
    uint16_t off;
    bool is64;
    bool maskable;
    uint8_t max_vectors; /* 1..32 (Multiple Message Capable) */
};
int pci_msi_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_msi *out);
/*
 * Programs address/data for `vectors` (power of two <= max_vectors) vectors and enables MSI
 * (INTx is disabled in the Command register). A 32-bit-only function rejects addresses >= 4 GiB
 * with PCI_ERR_INVALID. Vectors are unmasked if maskable.
 */
int pci_msi_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_msi *msi,
                   uint64_t addr, uint16_t data, unsigned vectors);
int pci_msi_disable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_msi *msi);
/* Per-vector mask (PCI_ERR_NOT_FOUND without per-vector masking). */
int pci_msi_mask(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_msi *msi,
                 unsigned vector, bool masked);

struct pci_msix {
    uint16_t off;
    uint16_t table_size; /* entries, 1..2048 */
    uint8_t table_bir;   /* BAR index holding the table */
    uint32_t table_offset;
    uint8_t pba_bir;
    uint32_t pba_offset;
};
int pci_msix_probe(const struct pci_ecam *ecam, pci_sid_t sid, struct pci_msix *out);
/* PCI_ERR_MALFORMED unless the table (and PBA) lie inside a BAR of bar_size bytes. */
int pci_msix_check_bar(const struct pci_msix *msix, uint8_t bir, uint64_t bar_size);
/*
 * Table entries through `table`, a pci_mmio over the BAR that holds the table (offsets are BAR
 * offsets). set_entry masks the entry, writes address and data, then applies `masked`.
 */
int pci_msix_set_entry(const struct pci_mmio *table, const struct pci_msix *msix, unsigned idx,
                       uint64_t addr, uint32_t data, bool masked);
int pci_msix_mask_entry(const struct pci_mmio *table, const struct pci_msix *msix, unsigned idx,
                        bool masked);
/* MSI-X Enable (with Function Mask cleared) / disable; enabling also sets INTx Disable. */
int pci_msix_enable(const struct pci_ecam *ecam, pci_sid_t sid, const struct pci_msix *msix,
                    bool on);

/* ---- BARs ---- */

enum pci_bar_kind { PCI_BAR_NONE = 0, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };
struct pci_bar {
    enum pci_bar_kind kind;
    bool prefetchable;
    uint64_t base;
    uint64_t size; /* 0 if not implemented */
};
/*
 * Sizes BAR `index` (0..5 for type 0, 0..1 for bridges) by the write-all-ones protocol with
 * memory and I/O decode disabled meanwhile; restores the BAR and the Command register. A 64-bit
 * BAR consumes index+1 too (*slots = 2). PCI_ERR_MALFORMED for a 64-bit BAR in the last slot or
 * a size mask that is not a contiguous power of two.
 */
int pci_bar_probe(const struct pci_ecam *ecam, pci_sid_t sid, unsigned index, struct pci_bar *out,
                  unsigned *slots);

/* ---- enumeration ---- */

struct pci_func {
    pci_sid_t sid;
    pci_sid_t parent; /* bridge above it; == sid for functions on the window's first bus */
    uint16_t vendor;
    uint16_t device;
    uint32_t class_rev;  /* class code << 8 | revision */
    uint8_t header_type; /* without the multi-function bit */
    uint8_t secondary;   /* bridges: secondary/subordinate as programmed by firmware */
    uint8_t subordinate;
    uint8_t depth;   /* bridges crossed from the first bus */
    bool unassigned; /* bridge whose secondary bus is 0 / not below it: not descended */
};

/*
 * Depth-first enumeration from the window's first bus through bridges, using the bus numbers
 * firmware assigned (it does not assign any; see pci_bridge_set_buses). Bridges whose secondary
 * bus is unassigned, outside the window, not greater than their own bus, outside their parent's
 * range or already visited are reported but not descended (flag `unassigned`; a revisited bus is
 * also counted in *loops if loops != NULL). Writes at most `cap` entries; PCI_ERR_NOSPACE if more
 * exist (*count then says how many were found in total).
 */
int pci_enumerate(const struct pci_ecam *ecam, struct pci_func *out, size_t cap, size_t *count,
                  unsigned *loops);

/*
 * The PCI Express Root Port above function sid: the Root Port on the window's first bus (the root
 * bus) whose secondary..subordinate range holds sid's bus. Root ports are the only bridges on the
 * root bus whose ranges cover the hierarchies below them, so one scan of that bus answers for any
 * depth. Errors: PCI_ERR_INVALID (NULL argument, sid outside the window), PCI_ERR_NOT_FOUND (sid
 * is on the root bus itself, i.e. integrated, or no Root Port claims its bus), PCI_ERR_MALFORMED
 * (two Root Ports claim it: the bus numbers firmware left contradict each other).
 */
int pci_root_port_find(const struct pci_ecam *ecam, pci_sid_t sid, pci_sid_t *port);

/*
 * Assigns bus numbers to a (hot-added) bridge: primary = its bus, secondary..subordinate inside
 * the window and strictly above the bridge's bus. The caller picks them from the range of the
 * port above it; nothing is assigned automatically.
 */
int pci_bridge_set_buses(const struct pci_ecam *ecam, pci_sid_t bridge, uint8_t secondary,
                         uint8_t subordinate);

#endif /* PCI_PCI_H */
