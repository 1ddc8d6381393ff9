/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvtd: everything the IOMMU server needs to drive one Intel VT-d remapping unit, with the
 * hardware reached only through struct vtd_hw. A unit object owns the root/context/PASID
 * tables, the invalidation queue and the page request queue; domains own second-level page
 * tables; batches carry invalidations to the queue and complete them with a deadline, by
 * polling or by the completion interrupt. The library never loops on hardware: every wait is
 * bounded, an invalidation time-out is turned into a report of the guilty source-ids, and no
 * device-TLB invalidation is ever queued for a fenced source-id.
 *
 * Storage for units, domains and batches belongs to the caller (static or malloc'd); libvtd
 * allocates only hardware pages, through vtd_hw.alloc_page. Nothing here is thread-safe: the
 * server serialises calls per unit. The call order is described in docs/libvtd.md.
 */
#ifndef VTD_VTD_H
#define VTD_VTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtd/formats.h>
#include <vtd/hw.h>
#include <vtd/regs.h>

/* ---- Errors ------------------------------------------------------------------------------ */
#define VTD_ERRORS(X)                                                                              \
    X(VTD_OK, "success")                                                                           \
    X(VTD_ERR_INVAL, "invalid argument")                                                           \
    X(VTD_ERR_ALIGN, "address or size not aligned")                                                \
    X(VTD_ERR_RANGE, "address range beyond the domain or the hardware")                            \
    X(VTD_ERR_OVERLAP, "range overlaps an existing mapping")                                       \
    X(VTD_ERR_SPLIT, "range would split a superpage")                                              \
    X(VTD_ERR_NOMEM, "out of hardware pages")                                                      \
    X(VTD_ERR_UNSUPPORTED, "the unit does not support this")                                       \
    X(VTD_ERR_STATE, "call not valid in the unit's current state")                                 \
    X(VTD_ERR_FULL, "batch or queue full")                                                         \
    X(VTD_ERR_PENDING, "submission still in flight")                                               \
    X(VTD_ERR_TIMEOUT, "hardware did not complete before the deadline")                            \
    X(VTD_ERR_ITE, "device-TLB invalidation timed out; source-ids reported")                       \
    X(VTD_ERR_IQE, "invalidation queue rejected a descriptor")                                     \
    X(VTD_ERR_ICE, "invalidation completion error; source-ids reported")                           \
    X(VTD_ERR_HW, "hardware reported an inconsistent state")
#define VTD_ERR_ENUM_(name, text) name,
enum vtd_err { VTD_ERRORS(VTD_ERR_ENUM_) VTD_ERR_COUNT_ };
#undef VTD_ERR_ENUM_
/* "No free entries": interrupt-remapping index allocation reports it as VTD_ERR_FULL. */
#define VTD_ERR_NOSPACE VTD_ERR_FULL

/* Name of an error; "unknown error" for values outside the enum. Never NULL. */
const char *vtd_strerror(enum vtd_err e);
/* The enumerator's identifier ("VTD_ERR_ITE"); "VTD_ERR_?" outside the enum. */
const char *vtd_errname(enum vtd_err e);

/* ---- Capabilities --------------------------------------------------------------------------- */
struct vtd_features {
    uint64_t cap, ecap;
    unsigned version;    /* VER_REG: major << 4 | minor */
    unsigned nd_bits;    /* domain-id width: domains = 1 << nd_bits */
    unsigned sagaw;      /* SAGAW bit set */
    unsigned mgaw;       /* maximum guest address width in bits */
    unsigned max_levels; /* deepest supported second-level table (3, 4 or 0 if none) */
    unsigned min_levels; /* shallowest */
    uint32_t fro;        /* byte offset of the first fault recording register */
    unsigned nfr;        /* number of fault recording registers (NFR + 1) */
    uint32_t iro;        /* byte offset of IVA_REG */
    bool psi;            /* page-selective invalidation */
    unsigned mamv;       /* maximum address mask value for PSI */
    bool sp_2m, sp_1g;   /* second-level superpages */
    bool caching_mode;   /* CM: not-present entries may be cached */
    bool rwbf;           /* write buffer flush required */
    bool coherent;       /* ECAP.C: page walks snoop CPU caches */
    bool qi, dt, ir, pt, sc;
    bool eim;            /* ECAP.EIM: x2APIC destinations (IRTA.EIME) supported */
    unsigned mhmv;       /* ECAP.MHMV: largest index mask of an IEC invalidation */
    bool pasid;          /* ECAP.PASID */
    unsigned pasid_bits; /* PSS + 1 */
    bool prs, pds, ers, srs, nest;
    bool smts, slts, flts; /* scalable mode, second-level and first-level in scalable mode */
    bool smpwc;            /* scalable-mode page-walk coherency */
    bool dit;
};
/*
 * Decode CAP_REG/ECAP_REG values. Returns VTD_ERR_UNSUPPORTED (with *f still filled) when the
 * values describe a unit libvtd cannot drive: no 3- or 4-level second-level table, an FRO/IRO
 * beyond the register window, or MGAW narrower than 30 bits.
 */
enum vtd_err vtd_features_decode(uint64_t cap, uint64_t ecap, struct vtd_features *f);

/* ---- Unit ------------------------------------------------------------------------------------ */
#define VTD_NO_SID 0xffffffffu
#define VTD_NO_PASID 0xffffffffu
#define VTD_BATCH_OPS 64u       /* invalidation operations per batch */
#define VTD_MAX_INFLIGHT 16u    /* asynchronous batches in flight per unit */
#define VTD_STATUS_SLOTS 1000u  /* 4-byte wait status words in the status page */
#define VTD_REPORT_SIDS 8u      /* source-ids a batch can report as failed */
#define VTD_IR_MAX_ORDER 12u    /* at most 2^12 IRTEs per unit (64 KiB table) */
#define VTD_IR_DEFAULT_ORDER 8u /* 256 entries: one page */

enum vtd_mode {
    VTD_MODE_LEGACY = 0,
    VTD_MODE_SCALABLE = 1,
};

struct vtd_unit_config {
    enum vtd_mode mode;  /* VTD_MODE_SCALABLE needs ECAP.SMTS and SLTS */
    uint64_t timeout_ns; /* bound on any submission and handshake; 0 = 1 s (as Xen) */
    unsigned qi_order;   /* invalidation queue: 2^qi_order pages (0..7) */
    bool qi_256;         /* 256-bit descriptors; forced on in scalable mode */
    unsigned prq_order;  /* page request queue: 2^prq_order pages (0..7) */
    /*
     * Optional fence predicate consulted together with the unit's own fenced set: true means
     * "never send this source-id a device-TLB invalidation".
     */
    bool (*fenced)(void *ctx, uint16_t sid);
    void *fenced_ctx;
    /*
     * Keep second-level entries free of software bits: find emptied tables by scanning them
     * instead of counting in the ignored bits 61:52 (for walkers that wrongly treat those bits
     * as reserved). Slower unmaps; same results.
     */
    bool no_sw_bits;
};

struct vtd_batch;

/* Everything below is private to libvtd; fields may change. */
struct vtd_unit {
    const struct vtd_hw *hw;
    struct vtd_features f;
    struct vtd_unit_config cfg;
    uint32_t gcmd; /* persistent GCMD bits (TE, QIE, IRE, ...) */
    bool probed, tables_set, qi_on, te_on, prq_on;
    /* root table */
    void *root_va;
    uint64_t root_pa;
    /* invalidation queue */
    void *iq_va;
    uint64_t iq_pa;
    uint32_t iq_entries, iq_tail, iq_shift;
    uint32_t iq_head_seen; /* IQH as last read: the hardware head is at or past it */
    void *status_va;
    uint64_t status_pa;
    uint32_t seq;
    struct vtd_batch *inflight[VTD_MAX_INFLIGHT];
    unsigned n_inflight;
    /* page request queue */
    void *prq_va;
    uint64_t prq_pa;
    uint32_t prq_size;
    /* interrupt remapping table: 2^irt_order entries, allocated ones marked in ir_map */
    bool ir_on;
    unsigned irt_order;
    void *irt_va;
    uint64_t irt_pa;
    uint32_t ir_used;
    uint64_t ir_map[(1u << VTD_IR_MAX_ORDER) / 64];
    /* device-TLB targets of batches abandoned at their deadline: an ITE naming one later is
     * attributed to it */
    uint16_t suspect[VTD_REPORT_SIDS];
    unsigned n_suspect;
    /* fault recording: the record the next vtd_fault_read starts at (fault_cursor: valid) */
    uint32_t fault_next;
    bool fault_cursor;
    /* source-ids whose context entry was made non-present but whose invalidation did not
     * complete: the next vtd_dev_block for them invalidates again */
    uint64_t unflushed[65536 / 64];
    /* fenced set, one bit per source-id */
    uint64_t fenced[65536 / 64];
    /* diagnostics */
    struct vtd_unit_stats {
        uint64_t submissions, tail_writes, descriptors, waits;
        uint64_t ite, iqe, ice, timeouts, resubmits;
        uint64_t devtlb_skipped_fenced;
        uint64_t faults_read, fault_overflows;
        uint64_t page_requests, prq_overflows;
    } stats;
    struct vtd_iqe_report {
        uint32_t index;       /* queue slot of the rejected descriptor */
        uint32_t iqei;        /* IQERCD.IQEI */
        struct vtd_desc desc; /* the descriptor as it was in the queue */
    } last_iqe;
};

/*
 * Probe the unit: read VER/CAP/ECAP, decode them, check the unit is quiescent enough to take
 * over (translation may be on from firmware: it is left alone until vtd_unit_enable_*).
 * u is caller storage; cfg may be NULL for defaults. Errors: VTD_ERR_INVAL (NULL hw or callbacks
 * missing, bad config), VTD_ERR_UNSUPPORTED (capabilities, or scalable mode requested without
 * SMTS/SLTS, or 256-bit descriptors without SMTS).
 */
enum vtd_err vtd_unit_probe(struct vtd_unit *u, const struct vtd_hw *hw,
                            const struct vtd_unit_config *cfg);
/* Allocate the root table (empty: every DMA blocked) and make the unit use it (SRTP). */
enum vtd_err vtd_unit_set_root_table(struct vtd_unit *u);
/* Allocate the invalidation queue and status page, enable QI (QIE handshake). */
enum vtd_err vtd_unit_enable_qi(struct vtd_unit *u);
/* Disable QI (waits for the queue to drain, bounded). VTD_ERR_STATE while interrupt remapping is
   on (its entry cache is invalidated only through the queue): vtd_ir_disable first. */
enum vtd_err vtd_unit_disable_qi(struct vtd_unit *u);
/* Fault event MSI: address/data, unmasked. The server's handler calls vtd_fault_read. */
enum vtd_err vtd_unit_fault_event_setup(struct vtd_unit *u, uint64_t msi_addr, uint32_t msi_data);
/* Invalidation completion event MSI, unmasked (for asynchronous batches). */
enum vtd_err vtd_unit_qi_event_setup(struct vtd_unit *u, uint64_t msi_addr, uint32_t msi_data);
/*
 * Translation enable/disable (TE handshake). Enable first invalidates the context cache and
 * IOTLB globally (queued when QI is on, register-based otherwise) so nothing cached from
 * firmware survives. Requires vtd_unit_set_root_table.
 */
enum vtd_err vtd_unit_enable_translation(struct vtd_unit *u);
enum vtd_err vtd_unit_disable_translation(struct vtd_unit *u);
/* Write-buffer flush, when CAP.RWBF requires it (no-op otherwise). */
enum vtd_err vtd_unit_flush_write_buffer(struct vtd_unit *u);
/*
 * Register-based global invalidation of context cache and IOTLB. Only while QI is off
 * (VTD_ERR_STATE otherwise: with QI on, hardware ignores the registers and they never clear).
 */
enum vtd_err vtd_unit_reg_invalidate_global(struct vtd_unit *u);
/* Release every page the unit allocated. Translation, QI, PRQ and interrupt remapping must be off
   (VTD_ERR_STATE). */
enum vtd_err vtd_unit_destroy(struct vtd_unit *u);

/* Fence: after vtd_unit_fence(u, sid) no device-TLB descriptor for sid is queued again. */
void vtd_unit_fence(struct vtd_unit *u, uint16_t sid);
void vtd_unit_unfence(struct vtd_unit *u, uint16_t sid);
bool vtd_unit_is_fenced(const struct vtd_unit *u, uint16_t sid);

/* ---- Domains and second-level page tables ------------------------------------------------ */
#define VTD_R 1u
#define VTD_W 2u

struct vtd_domain {
    struct vtd_unit *unit;
    uint16_t did;
    unsigned levels; /* 3 or 4 */
    unsigned aw;     /* context/PASID entry AW field */
    uint64_t limit;  /* first IOVA beyond the domain */
    void *top_va;
    uint64_t top_pa;
    uint64_t mapped_bytes;
    uint64_t table_pages;  /* every table page of the domain, spares included */
    unsigned spare_limit;  /* emptied tables that may stay linked (vtd_domain_set_spare_limit) */
    unsigned spare_tables; /* tables linked with no present entry (count 0) */
};

/* Freed table pages, threaded through the pages; free with vtd_page_list_release. */
struct vtd_page_list {
    uint64_t head_pa; /* 0 = empty */
    uint64_t count;
};

struct vtd_unmap_result {
    uint64_t unmapped;          /* bytes whose translation was removed */
    uint64_t inv_start;         /* IOVA range to invalidate: [inv_start, inv_end) */
    uint64_t inv_end;           /* inv_end == inv_start: nothing to invalidate */
    bool tables_freed;          /* paging-structure caches must go too (no IH) */
    struct vtd_page_list freed; /* release only after the invalidation completed */
};

/*
 * Create a domain with `levels` (0 = deepest the unit supports, else 3 or 4). did must be < the
 * number of domains and not 0 when CM is set (DID 0 is reserved then). Errors: VTD_ERR_INVAL,
 * VTD_ERR_UNSUPPORTED (levels), VTD_ERR_NOMEM.
 */
enum vtd_err vtd_domain_init(struct vtd_domain *d, struct vtd_unit *u, uint16_t did,
                             unsigned levels);
/*
 * Lazy reclamation: up to `limit` tables emptied by an unmap stay linked (as spares, with no
 * present entry) instead of being unlinked and returned in res->freed, so the next map of the
 * same region needs no allocation and the unmap no paging-structure invalidation. A table is
 * still reclaimed at once when the unmap covers its whole span (the caller is done with the
 * region) or when the domain already holds `limit` spares; spares go on vtd_domain_destroy.
 * Default 0 (every emptied table is reclaimed). Ignored when the unit keeps no software counts
 * (cfg.no_sw_bits). The spares are counted in table_pages (real memory) and spare_tables.
 */
void vtd_domain_set_spare_limit(struct vtd_domain *d, unsigned limit);
/*
 * Map [iova, iova+size) to [pa, pa+size) with rights VTD_R|VTD_W, using 2 MiB / 1 GiB leaves
 * where alignment and the unit allow. All or nothing: on any error nothing changed.
 * Errors: VTD_ERR_INVAL (rights, size 0), VTD_ERR_ALIGN, VTD_ERR_RANGE (beyond the domain or
 * 2^52, or overflow), VTD_ERR_OVERLAP, VTD_ERR_NOMEM. A new mapping needs no invalidation unless
 * the unit has CM (then add an IOTLB range for it to a batch: vtd_domain_map_needs_flush).
 */
enum vtd_err vtd_domain_map(struct vtd_domain *d, uint64_t iova, uint64_t pa, uint64_t size,
                            unsigned rights);
bool vtd_domain_map_needs_flush(const struct vtd_domain *d);
/*
 * Unmap [iova, iova+size). Unmapped holes are skipped (res->unmapped tells how much was
 * mapped). Emptied tables are unlinked and returned in res->freed, except the spares kept under
 * vtd_domain_set_spare_limit (res->tables_freed stays false for those). Errors (nothing changed):
 * VTD_ERR_INVAL, VTD_ERR_ALIGN, VTD_ERR_RANGE, VTD_ERR_SPLIT.
 */
enum vtd_err vtd_domain_unmap(struct vtd_domain *d, uint64_t iova, uint64_t size,
                              struct vtd_unmap_result *res);
/* Look up one IOVA: physical address and rights, or VTD_ERR_RANGE / VTD_ERR_INVAL (unmapped). */
enum vtd_err vtd_domain_lookup(const struct vtd_domain *d, uint64_t iova, uint64_t *pa,
                               unsigned *rights);
/*
 * Free every table page of the domain. The caller must have detached it from every device and
 * completed a domain-selective IOTLB invalidation.
 */
void vtd_domain_destroy(struct vtd_domain *d);
/* Give freed table pages back to the allocator (after their invalidation completed). */
void vtd_page_list_release(struct vtd_unit *u, struct vtd_page_list *l);

/* ---- Device (context / PASID entry) management ------------------------------------------- */
#define VTD_DEV_ATS                                                                                \
    (1u << 0)                   /* device has ATS enabled: allow translation requests and          \
                                   flush its device-TLB when the entry changes */
#define VTD_DEV_PASID (1u << 1) /* scalable mode: enable PASID-tagged requests */
#define VTD_DEV_PRI (1u << 2)   /* scalable mode: enable page requests */

/*
 * Point source-id `sid` at domain d (legacy: context entry with TT 0 or 1; scalable: context
 * entry + PASID table with the RID_PASID (0) entry using second-level translation). If the
 * source-id already had an entry it is first cleared and invalidated (context cache, IOTLB of
 * the old domain, its device-TLB unless fenced), synchronously with the unit's deadline.
 * ats_qdep is the ATS Invalidate Queue Depth (0 = 32). Errors: VTD_ERR_INVAL, VTD_ERR_STATE
 * (no root table), VTD_ERR_UNSUPPORTED (ATS without ECAP.DT, PASID without ECAP.PASID),
 * VTD_ERR_NOMEM, and the batch errors of the invalidation.
 */
enum vtd_err vtd_dev_attach(struct vtd_unit *u, uint16_t sid, struct vtd_domain *d, unsigned flags,
                            unsigned ats_qdep);
/* Pass-through for sid (legacy TT=2 / scalable PGTT=4), tagged with did. Needs ECAP.PT. */
enum vtd_err vtd_dev_passthrough(struct vtd_unit *u, uint16_t sid, uint16_t did, unsigned flags,
                                 unsigned ats_qdep);
/*
 * Block sid: entry not present (fault reporting kept), caches invalidated; the device-TLB flush
 * is skipped when sid is fenced or has no ATS. Always clears the entry, even if the
 * invalidation then fails (the error is returned).
 */
enum vtd_err vtd_dev_block(struct vtd_unit *u, uint16_t sid);
/* Current entry of sid: attached (did) / passthrough / blocked. */
enum vtd_dev_state { VTD_DEV_BLOCKED, VTD_DEV_TRANSLATED, VTD_DEV_PASSTHROUGH };
enum vtd_err vtd_dev_query(const struct vtd_unit *u, uint16_t sid, enum vtd_dev_state *st,
                           uint16_t *did);

/*
 * Scalable mode, PASID granularity: set PASID `pasid` of sid (attached with VTD_DEV_PASID) to
 * second-level translation through d, pass-through (d == NULL, VTD_PASID_PT) or blocked
 * (vtd_pasid_block). A present entry is first cleared and invalidated (PASID cache,
 * PASID-IOTLB, PASID device-TLB unless fenced).
 */
enum vtd_err vtd_pasid_set_sl(struct vtd_unit *u, uint16_t sid, uint32_t pasid,
                              struct vtd_domain *d);
enum vtd_err vtd_pasid_set_pt(struct vtd_unit *u, uint16_t sid, uint32_t pasid, uint16_t did);
enum vtd_err vtd_pasid_block(struct vtd_unit *u, uint16_t sid, uint32_t pasid);

/* ---- Invalidation batches ---------------------------------------------------------------- */
enum vtd_op_kind {
    VTD_OP_IOTLB_GLOBAL,
    VTD_OP_IOTLB_DOMAIN,
    VTD_OP_IOTLB_RANGE,
    VTD_OP_CC_GLOBAL,
    VTD_OP_CC_DOMAIN,
    VTD_OP_CC_DEVICE,
    VTD_OP_DEVTLB,
    VTD_OP_PIOTLB_PASID,
    VTD_OP_PIOTLB_RANGE,
    VTD_OP_PC_PASID,
    VTD_OP_PC_DOMAIN,
    VTD_OP_PC_GLOBAL,
    VTD_OP_PDEVTLB,
    VTD_OP_IEC_GLOBAL,
    VTD_OP_PGRP_RESP,
    VTD_OP_IEC_INDEX, /* entries [start, end) of the interrupt remapping table */
};

struct vtd_op {
    uint8_t kind;
    uint8_t flags; /* VTD_OPF_* */
    uint16_t did;
    uint16_t sid;
    uint16_t qdep_or_code; /* device-TLB queue depth / page response code */
    uint32_t pasid;
    uint16_t prgi;
    uint64_t start, end; /* IOVA range [start, end) */
};
#define VTD_OPF_IH (1u << 0)      /* leaf-only change: paging-structure caches may stay */
#define VTD_OPF_DROPPED (1u << 1) /* device-TLB op not sent (fenced or failed) */
#define VTD_OPF_PP (1u << 2)      /* page response: PASID present */

enum vtd_batch_state { VTD_BATCH_OPEN, VTD_BATCH_INFLIGHT, VTD_BATCH_DONE };

struct vtd_batch {
    struct vtd_unit *unit;
    uint8_t state;
    uint8_t attempts; /* submissions so far (bounded: see vtd_batch_submit) */
    bool drain;       /* wait with page-drain (PASID drain sequence) */
    bool irq;         /* asynchronous: completion interrupt requested */
    unsigned n;
    struct vtd_op ops[VTD_BATCH_OPS]; /* in the order they are written to the queue */
    /* building: indices into ops[] of the range operations sorted by (kind, did, sid, pasid,
       start), ranges of one tag never overlapping or touching; and of the operations that can
       make a later one redundant (global, domain- and PASID-wide) */
    uint8_t by_range[VTD_BATCH_OPS];
    uint8_t broad[VTD_BATCH_OPS];
    uint8_t n_range, n_broad;
    bool has_devtlb; /* a device-TLB operation was added (cache-ordering check, batch.c) */
    /* in flight */
    uint32_t seq;         /* unique number the wait writes (never reused while in flight) */
    uint32_t slot;        /* status word the wait writes */
    uint32_t first_index; /* queue slots [first_index, end_index) */
    uint32_t wait_index;  /* queue slot of the status-writing wait */
    uint32_t end_index;
    uint64_t deadline_ns;
    bool iqe, ice; /* a descriptor was rejected / a completion error was seen */
    enum vtd_err result;
    /* results */
    unsigned n_failed; /* source-ids whose device-TLB invalidation failed (ITE/ICE) */
    uint16_t failed_sid[VTD_REPORT_SIDS];
    unsigned n_skipped; /* device-TLB operations not sent because the sid was fenced */
    unsigned descs;     /* descriptors written by the last submission */
};

/* Start an empty batch for unit u. */
void vtd_batch_init(struct vtd_batch *b, struct vtd_unit *u);
/*
 * Add operations. Adjacent or overlapping ranges of the same kind and tag are merged; when the
 * batch is full, IOTLB ranges collapse to a domain-selective (then global) invalidation and
 * device-TLB ranges to the whole device. Errors: VTD_ERR_INVAL (bad range, did, qdep),
 * VTD_ERR_STATE (batch in flight), VTD_ERR_FULL (no room even after collapsing: submit first),
 * VTD_ERR_UNSUPPORTED (PASID ops without ECAP.PASID/256-bit queue, device-TLB without DT).
 */
enum vtd_err vtd_batch_add_iotlb_global(struct vtd_batch *b);
enum vtd_err vtd_batch_add_iotlb_domain(struct vtd_batch *b, uint16_t did);
enum vtd_err vtd_batch_add_iotlb_range(struct vtd_batch *b, uint16_t did, uint64_t iova,
                                       uint64_t size, bool leaf_only);
/* Convenience: the IOTLB range an unmap result asks for (nothing if it is empty). */
enum vtd_err vtd_batch_add_unmap(struct vtd_batch *b, const struct vtd_domain *d,
                                 const struct vtd_unmap_result *r);
enum vtd_err vtd_batch_add_cc_global(struct vtd_batch *b);
enum vtd_err vtd_batch_add_cc_domain(struct vtd_batch *b, uint16_t did);
enum vtd_err vtd_batch_add_cc_device(struct vtd_batch *b, uint16_t did, uint16_t sid);
/* Device-TLB of sid (ATS queue depth qdep, 0 = 32) for [iova, iova+size); size 0 = all. */
enum vtd_err vtd_batch_add_devtlb(struct vtd_batch *b, uint16_t sid, unsigned qdep, uint64_t iova,
                                  uint64_t size);
enum vtd_err vtd_batch_add_piotlb(struct vtd_batch *b, uint16_t did, uint32_t pasid, uint64_t iova,
                                  uint64_t size); /* size 0 = all of the PASID */
/* PASID cache of (did, pasid); pasid VTD_NO_PASID = every PASID of did. */
enum vtd_err vtd_batch_add_pasid_cache(struct vtd_batch *b, uint16_t did, uint32_t pasid);
enum vtd_err vtd_batch_add_pasid_cache_global(struct vtd_batch *b);
enum vtd_err vtd_batch_add_pdevtlb(struct vtd_batch *b, uint16_t sid, uint32_t pasid, unsigned qdep,
                                   uint64_t iova, uint64_t size);
enum vtd_err vtd_batch_add_iec_global(struct vtd_batch *b);
/*
 * Interrupt entry cache of the 2^im entries from `index` (index aligned to 2^im, im <= 16).
 * Adjacent or overlapping index ops merge into the smallest aligned block covering them; a block
 * wider than ECAP.MHMV allows, or a full batch, becomes a global IEC invalidation. Errors:
 * VTD_ERR_UNSUPPORTED (no ECAP.IR), VTD_ERR_INVAL (im, alignment, index beyond 16 bits).
 */
enum vtd_err vtd_batch_add_iec_index(struct vtd_batch *b, uint32_t index, unsigned im);
enum vtd_err vtd_batch_add_page_response(struct vtd_batch *b, uint16_t sid, uint32_t pasid,
                                         uint16_t prgi, unsigned code);

/*
 * Submit and wait (polling) until done or `timeout_ns` (0 = the unit's timeout) passed.
 * One tail write and one status-writing wait carry the whole batch. Returns VTD_OK, or
 * VTD_ERR_ITE / VTD_ERR_ICE with b->failed_sid[] listing the devices whose device-TLB
 * invalidation failed (everything else in the batch completed; the failed source-ids are put in
 * the unit's fenced set: quarantine them, then vtd_unit_unfence), VTD_ERR_IQE (a descriptor was
 * rejected and skipped; see u->last_iqe), VTD_ERR_TIMEOUT, VTD_ERR_STATE (QI off), VTD_ERR_FULL
 * (queue full of earlier asynchronous work). After an ITE the aborted batch is resubmitted
 * without the failed device(s); every time-out removes at least one device, the last permitted
 * attempt sends no device-TLB work at all, and total time never exceeds the deadline.
 */
enum vtd_err vtd_batch_submit(struct vtd_batch *b, uint64_t timeout_ns);
/*
 * Asynchronous: queue the batch followed by a wait with the interrupt flag (a separate wait,
 * never Status-Write and Interrupt-Flag together) and return VTD_OK at once. Then call
 * vtd_unit_qi_event() from the completion interrupt and vtd_batch_poll(b) to reap; the deadline
 * is now + timeout_ns (0 = unit default).
 */
enum vtd_err vtd_batch_submit_async(struct vtd_batch *b, uint64_t timeout_ns);
/* VTD_ERR_PENDING while in flight (and the deadline is not reached); else the final result. */
enum vtd_err vtd_batch_poll(struct vtd_batch *b);
/*
 * The invalidation completion interrupt: acknowledges ICS.IWC, processes queue errors and
 * completes finished batches. Returns the number of batches that completed (reap them with
 * vtd_batch_poll).
 */
unsigned vtd_unit_qi_event(struct vtd_unit *u);
/* Reset a completed batch for reuse. */
void vtd_batch_reset(struct vtd_batch *b);

/* ---- Faults ----------------------------------------------------------------------------- */
struct vtd_fault {
    uint16_t sid;
    bool pasid_present;
    uint32_t pasid;
    uint64_t addr; /* page address */
    bool write;    /* false: read (T1 = 1) */
    bool exec, priv;
    unsigned type;     /* T2:T1 */
    unsigned at;       /* address type */
    unsigned reason;   /* fault reason code */
    bool ir;           /* interrupt-remapping fault (reason 0x20..0x26): addr is 0 */
    uint16_t ir_index; /* its interrupt index (FI bits 63:48) */
};
/* Decode one fault recording register (both quadwords). Returns false if F is clear. */
bool vtd_fault_decode(uint64_t lo, uint64_t hi, struct vtd_fault *out);
/* Name of a fault reason code ("unknown fault reason" if unassigned). Never NULL. */
const char *vtd_fault_reason_name(unsigned reason);
/* Is `reason` an interrupt-remapping fault (0x20..0x26)? */
bool vtd_fault_is_ir(unsigned reason);
/*
 * Read and clear up to `max` pending primary fault records (at most NFR + 1 per call, starting
 * at FSTS.FRI), then clear PFO. *n = records returned, *overflow = PFO was set (faults lost).
 */
enum vtd_err vtd_fault_read(struct vtd_unit *u, struct vtd_fault *out, size_t max, size_t *n,
                            bool *overflow);

/* ---- Interrupt remapping (VT-d 5.1, 9.10) ---------------------------------------------------- */
struct vtd_irte_spec {
    uint8_t vector;    /* 16..255 */
    uint32_t dest;     /* APIC id (xAPIC: 0..255) */
    bool level;        /* trigger mode: level (else edge) */
    bool logical;      /* destination mode: logical (else physical) */
    unsigned delivery; /* 0 fixed, 1 lowest priority (RH set with it) */
    unsigned svt, sq;  /* source validation: VTD_IRTE_SVT_*, SQ 0..3 (used with SVT_SID) */
    uint16_t sid;      /* SVT_SID: requester id; SVT_BUS: start bus << 8 | end bus */
};
/*
 * Build a present, remapped-format IRTE from s. With SVT_NONE the SID and SQ fields are written
 * 0, with SVT_BUS the SQ field is. VTD_ERR_INVAL (and *out untouched) for vector < 16, svt 3,
 * sq > 3, delivery not 0/1, a bus range with start > end, dest > 255 when !x2apic.
 */
enum vtd_err vtd_irte_encode(const struct vtd_irte_spec *s, bool x2apic, struct vtd_irte *out);
/* Decode (tests, diagnostics). false if P is clear or the entry is in posted format (IM = 1). */
bool vtd_irte_decode(const struct vtd_irte *e, bool x2apic, struct vtd_irte_spec *out);

/*
 * Allocate a zeroed table (every entry not present) of 2^order entries (order 1..VTD_IR_MAX_ORDER;
 * 0 = VTD_IR_DEFAULT_ORDER), program IRTA (EIME = 0: xAPIC destinations), set the pointer (SIRTP,
 * GSTS.IRTPS with a deadline), invalidate the interrupt entry cache globally through the queue,
 * then set IRE (GSTS.IRES, deadline) with CFI clear, and check GSTS.CFIS reads 0 (compatibility-
 * format interrupts blocked). Needs QI on. Errors: VTD_ERR_INVAL (NULL/unprobed unit, order, QI
 * off, IR already on), VTD_ERR_UNSUPPORTED (no ECAP.IR, or no contiguous pages), VTD_ERR_NOMEM,
 * VTD_ERR_TIMEOUT (a handshake or the IEC invalidation), VTD_ERR_HW (CFIS still set); on any error
 * IRE is off again and the table is freed (kept only if IRE could not be seen off: the hardware
 * may still read it; vtd_unit_destroy frees it).
 */
enum vtd_err vtd_ir_enable(struct vtd_unit *u, unsigned order);
/* IRE off (deadline: VTD_ERR_TIMEOUT keeps everything on), a global IEC invalidation (its error
   is returned with IR off and the table kept until the next enable or vtd_unit_destroy), then
   the table and index map freed. VTD_OK when already off. */
enum vtd_err vtd_ir_disable(struct vtd_unit *u);
bool vtd_ir_enabled(const struct vtd_unit *u);
uint32_t vtd_ir_size(const struct vtd_unit *u); /* entries, 0 when off */
/*
 * Allocate `count` consecutive entries (a power of two <= 32) aligned to count: multi-message
 * MSI needs aligned blocks. VTD_ERR_FULL (= VTD_ERR_NOSPACE) when no block is free, VTD_ERR_INVAL
 * for a bad count, VTD_ERR_STATE when IR is off. The map tracks entries, not blocks.
 */
enum vtd_err vtd_ir_alloc(struct vtd_unit *u, unsigned count, uint32_t *index);
/* Free entries [index, index + count): every one allocated and not present, else VTD_ERR_INVAL
   (not allocated, bad count/alignment) or VTD_ERR_STATE (an entry still present); no change. */
enum vtd_err vtd_ir_free(struct vtd_unit *u, uint32_t index, unsigned count);
uint32_t vtd_ir_in_use(const struct vtd_unit *u); /* allocated entries (leak checks) */
/*
 * Write an allocated entry (remapped format, xAPIC destination, no reserved bit set: else
 * VTD_ERR_INVAL, nothing written). Then invalidate the IEC for it (vtd_batch_add_iec_index)
 * before relying on it. The hardware never sees a torn entry: a not-present entry gets its high
 * half first, then the low half holding P in one 64-bit store; a present entry is replaced by one
 * 128-bit store (lock cmpxchg16b on x86_64). Builds without a 128-bit store (other architectures,
 * or VTD_NO_CMPXCHG16B) clear P, invalidate the entry's IEC synchronously (errors of that
 * submission are returned with the entry left not present) and then write as from not present.
 * Errors: VTD_ERR_INVAL (IR off, index out of range or not allocated, bad entry).
 */
enum vtd_err vtd_ir_set(struct vtd_unit *u, uint32_t index, const struct vtd_irte *e);
/* P = 0 (the low half written in one store, then the high half zeroed). Invalidate afterwards. */
enum vtd_err vtd_ir_clear(struct vtd_unit *u, uint32_t index);
/* Copy of entry `index` (allocated or not). VTD_ERR_INVAL: IR off or index out of range. */
enum vtd_err vtd_ir_get(const struct vtd_unit *u, uint32_t index, struct vtd_irte *out);

/* ---- Page requests ---------------------------------------------------------------------- */
struct vtd_page_req {
    uint16_t sid;
    bool pasid_present;
    uint32_t pasid;
    uint64_t addr;
    uint16_t prgi;
    bool read, write, exec, priv, last;
    bool priv_data;
    uint64_t priv_data_qw[2];
};
/* Decode one 256-bit page request descriptor. Returns false if it is not a page request. */
bool vtd_page_req_decode(const uint64_t qw[4], struct vtd_page_req *out);
/* Allocate the page request queue, program PQA/PQH/PQT. Needs ECAP.PRS (VTD_ERR_UNSUPPORTED). */
enum vtd_err vtd_prq_enable(struct vtd_unit *u);
enum vtd_err vtd_prq_event_setup(struct vtd_unit *u, uint64_t msi_addr, uint32_t msi_data);
/*
 * Read up to max requests from PQH to PQT and advance PQH past them; clear PRS.PPR when the
 * queue is empty. *overflow = PRS.PRO was set (cleared here: requests were lost; their devices
 * get no response and must time out / be reset by the server's policy).
 */
enum vtd_err vtd_prq_read(struct vtd_unit *u, struct vtd_page_req *out, size_t max, size_t *n,
                          bool *overflow);

/* Grouping: requests with the same (sid, PASID, PRG index) up to the one with LPIG. */
#define VTD_PRG_OPEN_MAX 32u
struct vtd_prg {
    uint16_t sid;
    bool pasid_present;
    uint32_t pasid;
    uint16_t prgi;
    unsigned pages; /* requests seen in the group */
    uint64_t first_addr;
    bool write;   /* any request asked for write */
    bool drained; /* its PASID was drained: respond, do not service */
};
struct vtd_prg_tracker {
    unsigned n;
    struct vtd_prg open[VTD_PRG_OPEN_MAX];
};
void vtd_prg_init(struct vtd_prg_tracker *t);
/*
 * Feed one request. Returns true and fills *done when it completed a group (LPIG); the group
 * then needs one page group response. VTD_ERR_FULL when too many groups are open (the request
 * is then answered at once by the caller with VTD_PRG_FAILURE).
 */
enum vtd_err vtd_prg_add(struct vtd_prg_tracker *t, const struct vtd_page_req *r, bool *complete,
                         struct vtd_prg *done);
/* Mark open groups of (sid, pasid) drained (PASID teardown); returns how many. */
unsigned vtd_prg_mark_drained(struct vtd_prg_tracker *t, uint16_t sid, uint32_t pasid);

/*
 * The PASID drain of VT-d 7.10 for (sid, pasid) in domain did, after its PASID entry was
 * cleared: requests already in the queue for that PASID are answered (response `VTD_PRG_INVALID`
 * on their last page) and others are passed to `other` (may be NULL: then they get
 * VTD_PRG_FAILURE); then a fenced wait, PASID-IOTLB and PASID device-TLB invalidations (unless
 * fenced) and a page-drain wait are submitted, repeated while PRS.PRO shows an overflow, at most
 * 4 times. Needs ECAP.PRS (VTD_ERR_UNSUPPORTED, nothing sent). Bounded by the unit timeout.
 */
enum vtd_err vtd_pasid_drain(struct vtd_unit *u, uint16_t sid, uint32_t pasid, uint16_t did,
                             unsigned qdep, bool ats,
                             void (*other)(void *ctx, const struct vtd_page_req *r), void *ctx);

#endif /* VTD_VTD_H */
