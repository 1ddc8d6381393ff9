/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A behavioural model of one Intel VT-d remapping unit and the PCIe devices behind it, for host
 * tests. It exists because QEMU never raises ITE/ICE, has no page request queue and no device
 * with a real ATC: the model can inject all of those, and its caches really cache, so a missing
 * or misordered invalidation makes a test fail.
 *
 * The model owns a block of simulated physical memory starting at physical address 0; libvtd
 * reaches registers, that memory and a virtual clock through the struct vtd_hw returned by
 * vtd_model_hw(). Time only moves when libvtd calls now_ns()/relax() or a test calls
 * vtd_model_advance(), so every test is deterministic.
 */
#ifndef VTD_MODEL_H
#define VTD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtd/hw.h>

#define VTD_MODEL_NO_PASID 0xffffffffu

struct vtd_model;

struct vtd_model_config {
    uint64_t cap;        /* CAP_REG as reported; 0 = QEMU 7.2 q35 default (0x00d2008c22260206) */
    uint64_t ecap;       /* ECAP_REG as reported; 0 = QEMU-like default with QI, DT, IR */
    size_t mem_bytes;    /* simulated physical memory; 0 = 64 MiB */
    uint64_t ite_timeout_ns;  /* an unresponsive device's device-TLB invalidation times out (ITE)
                                 after this long; 0 = 1 ms */
    unsigned iotlb_entries;   /* 0 = 64 */
    /* Additions (zero = default): */
    uint64_t cmd_delay_ns;    /* GCMD/CCMD/IOTLB-register handshakes complete after this long;
                                 0 = 1 us, i.e. software must poll at least once */
    uint64_t devtlb_latency_ns; /* a present device answers a device-TLB invalidation after this
                                   long; 0 = 2 us */
    bool no_ir;               /* clear ECAP.IR and ECAP.EIM (no interrupt remapping) */
};

struct vtd_model *vtd_model_create(const struct vtd_model_config *cfg);
void vtd_model_destroy(struct vtd_model *m);

/*
 * Snapshots, for harnesses that run many inputs from one set-up state: the whole model (registers,
 * caches, devices, queues, logs, clock, statistics) and every page of simulated memory that was
 * handed out, written by the unit, or reached through phys_to_virt / vtd_model_phys /
 * flush_cache since creation. Restoring puts those pages back and zeroes every page touched
 * after the snapshot, which is exactly the state of a fresh model given the same calls. With
 * full = true the snapshot also keeps a copy of all memory, for vtd_model_matches_snapshot
 * (which checks that no write escaped that tracking).
 */
struct vtd_model_snapshot;
struct vtd_model_snapshot *vtd_model_snapshot(const struct vtd_model *m, bool full);
void vtd_model_restore(struct vtd_model *m, const struct vtd_model_snapshot *s);
bool vtd_model_matches_snapshot(const struct vtd_model *m, const struct vtd_model_snapshot *s);
void vtd_model_snapshot_free(struct vtd_model_snapshot *s);

/* The accessor libvtd uses: registers, simulated memory, virtual clock. */
const struct vtd_hw *vtd_model_hw(struct vtd_model *m);
/* Host pointer to simulated physical memory [pa, pa + len), or NULL if out of range. */
void *vtd_model_phys(struct vtd_model *m, uint64_t pa, size_t len);
/* Move the virtual clock forward and let the unit make progress. */
void vtd_model_advance(struct vtd_model *m, uint64_t ns);
/* The virtual clock, without advancing it. */
uint64_t vtd_model_now(const struct vtd_model *m);
/*
 * Pages handed out by hw->alloc_page and not yet freed (leak checks). alloc_page serves the
 * upper half of simulated memory; tests put DMA buffers in the lower half. With ECAP.C = 0 the
 * unit walks tables through its own view of memory, which only hw->flush_cache updates: a
 * page zeroed by alloc_page still holds its old contents (all ones after a free) for the unit
 * until software flushes it, as on real hardware.
 */
size_t vtd_model_pages_in_use(const struct vtd_model *m);
uint64_t vtd_model_alloc_base(const struct vtd_model *m);

/* Devices behind the unit, by source-id (bus << 8 | dev << 3 | fn). */
#define VTD_MODEL_DEV_ATS   (1u << 0) /* has an ATS capability and an ATC */
#define VTD_MODEL_DEV_PASID (1u << 1)
#define VTD_MODEL_DEV_PRI   (1u << 2)
int vtd_model_add_device(struct vtd_model *m, uint16_t sid, unsigned flags);
/* Absent/unresponsive: device-TLB invalidations to it end in ITE after ite_timeout_ns. */
void vtd_model_set_device_present(struct vtd_model *m, uint16_t sid, bool present);
/* The ATS Enable bit of the device's ATS control register (the server writes config space). */
void vtd_model_set_ats_enabled(struct vtd_model *m, uint16_t sid, bool enabled);

/*
 * A DMA by device `sid` (PASID or VTD_MODEL_NO_PASID) at `iova`. With ATS enabled, the device
 * first consults its ATC and fills it through a translation request; otherwise the unit
 * translates (IOTLB, context cache, then a table walk). Returns 0 and the physical address, or
 * a VT-d fault reason (> 0) which the unit has recorded in its fault registers.
 */
#define VTD_MODEL_ERR_BUS (-1) /* translated fine but the address is outside simulated memory */

/* Fault reasons (VT-d 3.x 7.1.3, Table 26), as recorded in FRCD.FR. */
enum vtd_model_fault_reason {
    VTD_MODEL_FR_ROOT_NOT_PRESENT = 0x01,      /* root entry P = 0 */
    VTD_MODEL_FR_CTX_NOT_PRESENT = 0x02,       /* context entry P = 0 */
    VTD_MODEL_FR_CTX_INVALID = 0x03,           /* invalid programming of a context entry */
    VTD_MODEL_FR_ADDR_BEYOND_AGAW = 0x04,      /* input address above min(MGAW, AGAW) */
    VTD_MODEL_FR_WRITE = 0x05,                 /* write without write permission */
    VTD_MODEL_FR_READ = 0x06,                  /* read without read permission */
    VTD_MODEL_FR_PTE_ACCESS = 0x07,            /* error accessing a paging entry */
    VTD_MODEL_FR_ROOT_ACCESS = 0x08,           /* error accessing the root entry */
    VTD_MODEL_FR_CTX_ACCESS = 0x09,            /* error accessing the context entry */
    VTD_MODEL_FR_ROOT_RSVD = 0x0a,             /* reserved field set in a root entry */
    VTD_MODEL_FR_CTX_RSVD = 0x0b,              /* reserved field set in a context entry */
    VTD_MODEL_FR_PTE_RSVD = 0x0c,              /* reserved field set in a paging entry */
    VTD_MODEL_FR_TT_BLOCKED = 0x0d,            /* translation request blocked by TT/DTE */
    VTD_MODEL_FR_IR_REQ_RSVD = 0x20,           /* reserved field set in an interrupt request */
    VTD_MODEL_FR_IR_INDEX_OVER = 0x21,         /* interrupt index beyond IRTA.S */
    VTD_MODEL_FR_IR_NOT_PRESENT = 0x22,        /* IRTE P = 0 */
    VTD_MODEL_FR_IR_ROOT_INVAL = 0x23,         /* error accessing the IRTE */
    VTD_MODEL_FR_IR_IRTE_RSVD = 0x24,          /* reserved field set in the IRTE */
    VTD_MODEL_FR_IR_COMPAT_BLOCKED = 0x25,     /* compatibility format while GSTS.CFIS = 0 */
    VTD_MODEL_FR_IR_SID_ERR = 0x26,            /* requester fails the IRTE's SID/SQ/SVT check */
    VTD_MODEL_FR_RTA_INVALID_TTM = 0x30,       /* RTA.1: invalid translation table mode */
    VTD_MODEL_FR_SRT_ACCESS = 0x38,            /* SRT.1 */
    VTD_MODEL_FR_SRT_NOT_PRESENT = 0x39,       /* SRT.2: scalable root half not present */
    VTD_MODEL_FR_SRT_RSVD = 0x3a,              /* SRT.3 */
    VTD_MODEL_FR_SCT_ACCESS = 0x40,            /* SCT.1 */
    VTD_MODEL_FR_SCT_NOT_PRESENT = 0x41,       /* SCT.2: scalable context entry P = 0 */
    VTD_MODEL_FR_SCT_RSVD = 0x42,              /* SCT.3 */
    VTD_MODEL_FR_SCT_INVALID = 0x43,           /* SCT.4: e.g. PASID beyond directory size */
    VTD_MODEL_FR_SPD_ACCESS = 0x50,            /* SPD.1 */
    VTD_MODEL_FR_SPD_NOT_PRESENT = 0x51,       /* SPD.2: PASID directory entry P = 0 */
    VTD_MODEL_FR_SPD_RSVD = 0x52,              /* SPD.3 */
    VTD_MODEL_FR_SPT_ACCESS = 0x58,            /* SPT.1 */
    VTD_MODEL_FR_SPT_NOT_PRESENT = 0x59,       /* SPT.2: PASID entry P = 0 (blocked) */
    VTD_MODEL_FR_SPT_RSVD = 0x5a,              /* SPT.3 */
    VTD_MODEL_FR_SPT_INVALID = 0x5b,           /* SPT.4: bad PGTT/AW/DID */
    VTD_MODEL_FR_SSL_ACCESS = 0x78,            /* SSS.1 */
    VTD_MODEL_FR_SSL_NOT_PRESENT = 0x79,       /* SSS.2: R = W = 0 */
    VTD_MODEL_FR_SSL_RSVD = 0x7a,              /* SSS.3 */
    VTD_MODEL_FR_SGN_ADDR_BEYOND_AGAW = 0x84,  /* SGN.5 */
    VTD_MODEL_FR_SGN_WRITE = 0x85,             /* SGN.6 */
    VTD_MODEL_FR_SGN_READ = 0x86,              /* SGN.7 */
};
/* Spec name of a fault reason ("root entry not present", ...), or "unknown". */
const char *vtd_model_fault_reason_name(unsigned reason);

int vtd_model_translate(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t iova,
                        bool write, uint64_t *pa);
/* The same, moving `len` bytes between `buf` and simulated memory page by page. Stops at the
   first page that faults (earlier pages have been transferred) and returns its result.
   A write without PASID into 0xFEE0_0000..0xFEEF_FFFF is not DMA (VT-d 3.14): each aligned
   DWORD is an interrupt request of the device (vtd_model_interrupt with that address and data),
   never translated; the first blocked one's IR fault reason is returned. */
int vtd_model_dma(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t iova, void *buf,
                  size_t len, bool write);

/*
 * Interrupt requests (VT-d chapter 5). An interrupt request is a DWORD write of `data` to `addr`
 * (0xFEEx_xxxx) by requester `sid`: a device MSI, or an IOAPIC message carrying its own
 * source-id. With GSTS.IRES clear it is delivered as it is (compatibility format). With it set,
 * a remappable-format request is translated through the interrupt remapping table latched by
 * SIRTP; the unit caches the entries it uses (interrupt entry cache) until an IEC invalidation
 * descriptor (or SIRTP) drops them. Compatibility-format requests pass only with GSTS.CFIS set
 * (and IRTA.EIME clear).
 */
struct vtd_model_irq {
    uint8_t vector;
    uint32_t dest;      /* APIC id (xAPIC: 8 bits) */
    bool level;         /* trigger mode */
    bool logical;       /* destination mode */
    unsigned delivery;  /* delivery mode */
    bool remapped;      /* false: passed through untranslated (IR off, or CFIS) */
    uint32_t index;     /* IRTE index used (remapped only) */
};
/*
 * Returns 0 when delivered (out filled; out may be NULL) or an interrupt-remapping fault reason
 * (0x20..0x26, VTD_MODEL_FR_IR_*), which the unit has recorded in its fault registers (FRCD.FI
 * bits 63:48 = interrupt index) unless the IRTE's FPD is set.
 */
int vtd_model_interrupt(struct vtd_model *m, uint16_t sid, uint64_t addr, uint32_t data,
                        struct vtd_model_irq *out);
/* GSTS.IRES: interrupt remapping is enabled. */
bool vtd_model_ir_enabled(const struct vtd_model *m);

/* Page requests (PRI): queued into the page request queue, or overflow (PRS.PRO) if full. */
struct vtd_model_page_request {
    uint16_t sid;
    uint32_t pasid;     /* VTD_MODEL_NO_PASID for none */
    uint64_t addr;      /* page address */
    uint16_t prgi;      /* page request group index */
    bool read, write, last;
};
/*
 * Returns 0 when written to the queue, 1 when dropped by overflow (PRS.PRO set; a request with
 * LPIG gets an automatic "success" page group response, as VT-d 7.5 describes), or -1 when the
 * unit has no PRS capability or the request is malformed.
 */
int vtd_model_page_request(struct vtd_model *m, const struct vtd_model_page_request *req);
/*
 * The request is also checked against the unit's context entry for the device (through the
 * context cache): in legacy mode, or with the scalable context entry's PRE bit clear, the unit
 * does not queue it and, if it was the last of its group, answers "invalid request"; this
 * returns 2. A context fault returns 2 as well (the fault is recorded).
 *
 * vtd_model_page_request_delayed: the request is in flight for `delay_ns` before it reaches the
 * unit; a page-drain wait (PD) fetched meanwhile completes only after it has been delivered
 * (VT-d 7.10). Returns 0 when accepted into flight, -1 as above.
 */
int vtd_model_page_request_delayed(struct vtd_model *m, const struct vtd_model_page_request *req,
                                   uint64_t delay_ns);

/* Page group responses the devices received (type 9 descriptors and automatic responses). */
struct vtd_model_page_response {
    uint16_t sid;
    uint32_t pasid;     /* VTD_MODEL_NO_PASID when the response carried none */
    uint16_t prgi;
    uint8_t code;       /* 0 success, 1 invalid request, 0xf response failure */
    bool automatic;     /* generated by the unit on overflow */
};
size_t vtd_model_page_responses(const struct vtd_model *m, struct vtd_model_page_response *out,
                                size_t max);

/* Fault injection. */
/* The next device-TLB invalidation completion from `sid` carries a bad ITag: FSTS.ICE, the
   completion is discarded, so the invalidation later times out (ITE). */
void vtd_model_inject_ice(struct vtd_model *m, uint16_t sid);
/* Global-command and register-invalidation handshakes never complete (deadline tests). */
void vtd_model_set_commands_stuck(struct vtd_model *m, bool stuck);
/* The invalidation queue fetches no descriptor while stalled: every wait times out (software's
   deadline), nothing it queued is executed until the stall ends. */
void vtd_model_set_queue_stalled(struct vtd_model *m, bool stalled);

/*
 * The last invalidation time-out: source-id and byte offset in the queue of the device-TLB
 * descriptor that timed out. Real hardware reports only IQERCD.ITESID; the offset is for
 * assertions. Returns false if no ITE has happened.
 */
bool vtd_model_last_ite(const struct vtd_model *m, uint16_t *sid, uint32_t *desc_off);

/* IQERCD.IQEI values the model reports with FSTS.IQE. */
enum vtd_model_iqei {
    VTD_MODEL_IQEI_NONE = 0,
    VTD_MODEL_IQEI_TAIL = 1,       /* tail beyond the queue, or misaligned for 256-bit */
    VTD_MODEL_IQEI_FETCH = 2,      /* descriptor or status address outside memory */
    VTD_MODEL_IQEI_RSVD = 3,       /* reserved field set / invalid field value (G, AM, SW+IF) */
    VTD_MODEL_IQEI_TYPE = 4,       /* unknown or unsupported descriptor type */
    VTD_MODEL_IQEI_WIDTH = 6,      /* 128-bit queue while the root table is in scalable mode */
};

/* What the unit did, for assertions (the model's counterpart of QEMU's trace). */
struct vtd_model_desc_log {
    uint64_t qw[4];     /* the descriptor as executed (128-bit: qw[2], qw[3] are 0) */
    uint64_t time_ns;
};
struct vtd_model_stats {
    uint64_t tail_writes;       /* writes to IQT_REG */
    uint64_t descriptors;       /* descriptors executed */
    uint64_t waits;             /* invalidation wait descriptors executed */
    uint64_t iotlb_hits, iotlb_misses, walks;
    uint64_t atc_hits;
    uint64_t faults_recorded, faults_dropped;
    uint64_t page_responses;
    /* Additions: */
    uint64_t atc_misses;            /* ATS translation requests */
    uint64_t ctx_hits, ctx_misses, pasid_hits, pasid_misses;
    uint64_t faults_suppressed;     /* FPD set */
    uint64_t fault_interrupts, completion_interrupts, prq_interrupts;
    uint64_t iqe, ite, ice;
    uint64_t waits_aborted;         /* pending waits aborted by ITE */
    uint64_t wait_sw_and_if;        /* waits with both SW and IF (rejected with IQE) */
    uint64_t page_drains;           /* waits with PD */
    uint64_t devtlb_invalidations, devtlb_timeouts;
    uint64_t iotlb_invalidations, cc_invalidations, pc_invalidations;
    uint64_t page_requests, page_requests_dropped, auto_page_responses;
    uint64_t gcmd_writes, gcmd_multi_change; /* GCMD writes changing more than one field */
    uint64_t reg_inv_while_qi;      /* CCMD/IOTLB register invalidation attempted with QI on */
    uint64_t qi_disable_refused;    /* QIE cleared with descriptors pending */
    uint64_t freed_while_cached;    /* free_page of a table page a cache still references */
    uint64_t cache_flushes;         /* hw->flush_cache calls */
    uint64_t bad_reg_access;
    uint64_t page_requests_rejected; /* legacy mode or PRE = 0 */
    uint64_t devtlb_flow_stalls;     /* fetch held: device's invalidation queue depth reached */
    uint64_t irq_delivered;          /* interrupt requests delivered (remapped or passed) */
    uint64_t irq_blocked;            /* interrupt requests blocked with an IR fault */
    uint64_t iec_invalidations;      /* IEC descriptors executed (and SIRTP flushes) */
    uint64_t iec_hits, iec_misses;   /* interrupt entry cache lookups */
};
void vtd_model_get_stats(const struct vtd_model *m, struct vtd_model_stats *st);
/* Executed descriptors, oldest first; returns how many were logged (up to max). */
size_t vtd_model_desc_log(const struct vtd_model *m, struct vtd_model_desc_log *out, size_t max);
void vtd_model_clear_log(struct vtd_model *m);

#endif /* VTD_MODEL_H */
