/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libacpi: the firmware tables the root task and the IOMMU server need (ACPI 6.5 RSDP, RSDT,
 * XSDT, MADT, MCFG; Intel VT-d 4.x chapter 8 DMAR). Tables come from firmware and are not
 * trusted: every length, checksum, offset and count is validated before use, malformed input
 * gives an error and never an out-of-bounds read. Physical memory is reached only through the
 * caller's acpi_phys callback (the root task maps frames, host tests serve captured blobs); the
 * parsers themselves work on (pointer, length) buffers, which is what the fuzzers drive.
 * Allocation-free: outputs go into caller-provided arrays with capacities.
 */
#ifndef ACPI_ACPI_H
#define ACPI_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pci/bdf.h>

enum acpi_err {
    ACPI_OK = 0,
    ACPI_ERR_NOT_FOUND, /* no RSDP / no table with that signature */
    ACPI_ERR_MAP,       /* the map callback refused the range */
    ACPI_ERR_SIGNATURE, /* wrong signature */
    ACPI_ERR_CHECKSUM,  /* bytes do not sum to zero */
    ACPI_ERR_LENGTH,    /* length field too small, larger than the buffer, or overflowing */
    ACPI_ERR_MALFORMED, /* sub-structure inconsistent (bad type length, bad path, ...) */
    ACPI_ERR_NOSPACE,   /* caller's output array too small; counts are totals (see each parser) */
    ACPI_ERR_INVALID,   /* bad argument */
    ACPI_ERR_UNRESOLVED, /* device-scope path crosses a bridge that is absent or not a bridge */
    ACPI_ERR_LOOP,       /* device-scope path revisits a bus (bus numbers must increase) */
};

const char *acpi_err_str(int err);

/*
 * Access to physical memory. map returns a CPU pointer to [pa, pa + len) or NULL if the range
 * cannot be mapped; unmap releases it (may be NULL if mappings are free). libacpi never keeps a
 * mapping past the call that made it, except those returned in struct acpi_table.
 */
struct acpi_phys {
    void *ctx;
    const void *(*map)(void *ctx, uint64_t pa, size_t len);
    void (*unmap)(void *ctx, const void *va, size_t len);
};

#define ACPI_HEADER_SIZE 36                      /* System Description Table Header (ACPI 5.2.6) */
#define ACPI_TABLE_MAX_LEN (16u * 1024u * 1024u) /* refuse anything larger */

/* ---- RSDP and root tables ---- */

struct acpi_rsdp {
    uint64_t pa;
    uint8_t revision; /* 0 = ACPI 1.0 (RSDT only), >= 2 has XSDT */
    char oem_id[7];
    uint32_t rsdt_pa;
    uint64_t xsdt_pa; /* 0 when absent */
};

/* Validates an RSDP held in buf: signature, v1 checksum over 20 bytes, and for revision >= 2 the
 * length (36..len) and extended checksum. */
int acpi_rsdp_parse(const void *buf, size_t len, uint64_t pa, struct acpi_rsdp *out);

/* Scans the BIOS area 0xE0000-0xFFFFF (16-byte steps) for a valid RSDP (ACPI 5.2.5.1). */
int acpi_rsdp_find(const struct acpi_phys *phys, struct acpi_rsdp *out);

/* Checks a table in buf: len >= header, length field within [36, len], checksum, signature
 * (sig may be NULL to accept any). On success *table_len is the length field. */
int acpi_table_check(const void *buf, size_t len, const char *sig, uint32_t *table_len);

/* One table referenced from the RSDT/XSDT. err is the result of validating it (ACPI_OK or why
 * it is unusable); the walk itself goes on past bad tables. */
struct acpi_table_ref {
    char sig[5];
    uint64_t pa;
    uint32_t len;
    int err;
};

/*
 * Walks the XSDT (revision >= 2 and present) or else the RSDT, validating each entry's header
 * and checksum. Fills up to cap refs; *count is the number of entries. ACPI_ERR_NOSPACE if
 * cap < *count. Errors in the root table itself are returned as such.
 */
int acpi_root_walk(const struct acpi_phys *phys, const struct acpi_rsdp *rsdp,
                   struct acpi_table_ref *refs, size_t cap, size_t *count);

/* Index of the n-th (0-based) valid ref with signature sig, or -1. */
int acpi_find_ref(const struct acpi_table_ref *refs, size_t count, const char *sig, unsigned n);

/* A table mapped and validated in full: data points at the header, len = its length field. */
struct acpi_table {
    const uint8_t *data;
    uint32_t len;
    size_t mapped_len;
};
int acpi_table_map(const struct acpi_phys *phys, uint64_t pa, const char *sig,
                   struct acpi_table *out);
void acpi_table_unmap(const struct acpi_phys *phys, struct acpi_table *t);

/* ---- MADT (ACPI 5.2.12) ---- */

#define ACPI_MADT_PCAT_COMPAT (1u << 0) /* dual 8259 present */

struct acpi_madt_lapic {
    uint32_t apic_id; /* 8-bit for type 0, 32-bit x2APIC id for type 9 */
    uint32_t uid;     /* ACPI Processor UID */
    bool enabled;
    bool online_capable;
    bool x2apic;
};

struct acpi_madt_ioapic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};

struct acpi_madt_iso {
    uint8_t bus;    /* 0 = ISA */
    uint8_t source; /* bus-relative IRQ */
    uint32_t gsi;
    uint16_t flags; /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
};

struct acpi_madt {
    uint64_t lapic_address; /* from the header, or the 64-bit override (type 5) */
    uint32_t flags;
    struct acpi_madt_lapic *lapics;
    size_t lapic_cap, lapic_count;
    struct acpi_madt_ioapic *ioapics;
    size_t ioapic_cap, ioapic_count;
    struct acpi_madt_iso *isos;
    size_t iso_cap, iso_count;
    size_t nmi_count;     /* NMI source / local APIC NMI / x2APIC NMI entries: counted, skipped */
    size_t unknown_count; /* other entry types, skipped by their length */
};

/* Caller sets the array pointers and caps (may be 0); the parser sets everything else. Counts
 * are totals found; ACPI_ERR_NOSPACE if any array overflowed (the rest of the output is valid). */
int acpi_madt_parse(const void *buf, size_t len, struct acpi_madt *out);

/* ---- MCFG (PCI Firmware 3.2, 4.1.2) ---- */

struct acpi_mcfg_seg {
    uint64_t base; /* physical address of bus_start's config space (table base + bus_start MiB) */
    uint16_t segment;
    uint8_t bus_start;
    uint8_t bus_end;
};
/* Entries must have bus_end >= bus_start and a 1 MiB-aligned base with no 64-bit overflow. */
int acpi_mcfg_parse(const void *buf, size_t len, struct acpi_mcfg_seg *out, size_t cap,
                    size_t *count);

/* ---- DMAR (VT-d 8.1 - 8.10) ---- */

#define ACPI_DMAR_INTR_REMAP (1u << 0)      /* DMAR Flags: INTR_REMAP */
#define ACPI_DMAR_X2APIC_OPT_OUT (1u << 1)  /*   X2APIC_OPT_OUT */
#define ACPI_DMAR_DMA_CTRL_OPT_IN (1u << 2) /*   DMA_CTRL_PLATFORM_OPT_IN */

#define ACPI_DMAR_TYPE_DRHD 0 /* DMA Remapping Hardware Unit Definition */
#define ACPI_DMAR_TYPE_RMRR 1 /* Reserved Memory Region Reporting */
#define ACPI_DMAR_TYPE_ATSR 2 /* Root Port ATS Capability Reporting */
#define ACPI_DMAR_TYPE_RHSA 3 /* Remapping Hardware Static Affinity */
#define ACPI_DMAR_TYPE_ANDD 4 /* ACPI Name-space Device Declaration */
#define ACPI_DMAR_TYPE_SATC 5 /* SoC Integrated Address Translation Cache */

#define ACPI_DMAR_DRHD_INCLUDE_PCI_ALL (1u << 0)
#define ACPI_DMAR_ATSR_ALL_PORTS (1u << 0)
#define ACPI_DMAR_SATC_ATC_REQUIRED (1u << 0)

/* Device Scope types (VT-d 8.3.1) */
#define ACPI_DMAR_SCOPE_ENDPOINT 1 /* PCI Endpoint Device */
#define ACPI_DMAR_SCOPE_BRIDGE 2   /* PCI Sub-hierarchy */
#define ACPI_DMAR_SCOPE_IOAPIC 3
#define ACPI_DMAR_SCOPE_HPET 4      /* MSI Capable HPET */
#define ACPI_DMAR_SCOPE_NAMESPACE 5 /* ACPI Name-space Device */

#define ACPI_DMAR_PATH_MAX 8 /* hops below the start bus we accept */

struct acpi_dmar_scope {
    uint8_t type;
    uint8_t enum_id; /* IOAPIC/HPET id, ACPI device number */
    uint8_t start_bus;
    uint8_t path_len; /* number of (dev, fn) hops, 1..ACPI_DMAR_PATH_MAX */
    struct {
        uint8_t dev, fn;
    } path[ACPI_DMAR_PATH_MAX];
};

/* A structure with device scopes refers to scopes[scope_first .. scope_first + scope_count). */
struct acpi_dmar_drhd {
    uint8_t flags; /* ACPI_DMAR_DRHD_INCLUDE_PCI_ALL */
    uint8_t size;  /* register set size: 2^size 4 KiB pages */
    uint16_t segment;
    uint64_t base; /* register base address, 4 KiB aligned */
    size_t scope_first, scope_count;
};

struct acpi_dmar_rmrr {
    uint16_t segment;
    uint64_t base;  /* 4 KiB aligned */
    uint64_t limit; /* inclusive, limit + 1 4 KiB aligned */
    size_t scope_first, scope_count;
};

struct acpi_dmar_atsr { /* also used for SATC: flags carry ATC_REQUIRED there */
    uint8_t flags;
    uint16_t segment;
    size_t scope_first, scope_count;
};

struct acpi_dmar_rhsa {
    uint64_t base;
    uint32_t proximity_domain;
};

struct acpi_dmar {
    uint8_t host_addr_width; /* N: DMA physical addressability is N + 1 bits */
    uint8_t flags;
    struct acpi_dmar_drhd *drhds;
    size_t drhd_cap, drhd_count;
    struct acpi_dmar_rmrr *rmrrs;
    size_t rmrr_cap, rmrr_count;
    struct acpi_dmar_atsr *atsrs;
    size_t atsr_cap, atsr_count;
    struct acpi_dmar_atsr *satcs;
    size_t satc_cap, satc_count;
    struct acpi_dmar_rhsa *rhsas;
    size_t rhsa_cap, rhsa_count;
    struct acpi_dmar_scope *scopes;
    size_t scope_cap, scope_count;
    size_t andd_count, unknown_count; /* skipped by length */
};

/*
 * Parses a DMAR table. The caller sets the array pointers and caps. ACPI_ERR_NOSPACE if any
 * array (units or scopes) is too small: then every *_count, scope_count included, is the total
 * the table needs and the arrays' contents are unspecified — call again with arrays that large.
 * A partial answer is never given: a unit missing from the list, or with a cut scope list,
 * would leave devices outside isolation. On ACPI_OK, counts are the numbers stored.
 * Rejected: remapping structures with length 0, shorter than their fixed part or past the end;
 * scopes shorter than 8 bytes, odd path lengths, scopes past their structure, dev > 31, fn > 7,
 * paths longer than ACPI_DMAR_PATH_MAX; DRHD bases not 4 KiB aligned; RMRR with limit < base;
 * an INCLUDE_PCI_ALL DRHD that is not the last for its segment (VT-d 8.3).
 */
int acpi_dmar_parse(const void *buf, size_t len, struct acpi_dmar *out);

/*
 * Config space reader for the scope resolver: 32-bit read at `off` of (segment, sid); all-ones
 * for an absent function. libpci's pci_ecam_read32_cb has this shape.
 */
typedef uint32_t (*acpi_cfg_read32_fn)(void *ctx, uint16_t segment, pci_sid_t sid, uint16_t off);

/*
 * Resolves a PCI device scope (endpoint or sub-hierarchy) to the source-id of its target
 * (VT-d 8.3.1.1): start at start_bus, and for every hop but the last, read the secondary bus
 * number of the bridge at (bus, dev, fn). Errors: ACPI_ERR_INVALID for non-PCI scope types,
 * ACPI_ERR_UNRESOLVED if a hop is absent or not a type-1 bridge, ACPI_ERR_LOOP if a secondary
 * bus is not greater than the current bus. *sid is the target function (for a sub-hierarchy
 * scope, the bridge itself). For a sub-hierarchy scope, *sec_bus and *sub_bus (either may be NULL)
 * receive the bridge's secondary and subordinate bus numbers: the buses the scope covers,
 * including devices hot-added later; ACPI_ERR_UNRESOLVED if the target is not a bridge.
 */
int acpi_dmar_scope_resolve(const struct acpi_dmar_scope *scope, uint16_t segment,
                            acpi_cfg_read32_fn read, void *ctx, pci_sid_t *sid, uint8_t *sec_bus,
                            uint8_t *sub_bus);

#endif /* ACPI_ACPI_H */
