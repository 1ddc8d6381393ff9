/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private state of the VT-d model and its own register/format table, written from the VT-d
 * specification (rev. 3.x) independently of libvtd so that the two check each other. Names
 * carry a VTDM_ prefix so that a test may include both this model and libvtd's headers.
 */
#ifndef VTD_MODEL_INTERNAL_H
#define VTD_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vtd_model.h"

/* ---- Register table (VT-d 3.x chapter 11), byte offsets in the register page ---- */
#define VTDM_VER_REG        0x000   /* Version */
#define VTDM_CAP_REG        0x008   /* Capability */
#define   VTDM_CAP_ND(c)        ((c) & 0x7)                 /* Number of domains */
#define   VTDM_CAP_RWBF         (1ull << 4)                 /* Required write-buffer flushing */
#define   VTDM_CAP_CM           (1ull << 7)                 /* Caching mode */
#define   VTDM_CAP_SAGAW(c)     (((c) >> 8) & 0x1f)         /* Supported adjusted guest AW */
#define   VTDM_CAP_MGAW(c)      ((((c) >> 16) & 0x3f) + 1)  /* Maximum guest address width */
#define   VTDM_CAP_FRO(c)       ((((c) >> 24) & 0x3ff) * 16) /* Fault-recording register offset */
#define   VTDM_CAP_SLLPS(c)     (((c) >> 34) & 0xf)         /* Second-level large page support */
#define   VTDM_CAP_PSI          (1ull << 39)                /* Page-selective invalidation */
#define   VTDM_CAP_NFR(c)       ((((c) >> 40) & 0xff) + 1)  /* Number of fault-recording regs */
#define   VTDM_CAP_MAMV(c)      (((c) >> 48) & 0x3f)        /* Maximum address mask value */
#define VTDM_ECAP_REG       0x010   /* Extended Capability */
#define   VTDM_ECAP_C           (1ull << 0)                 /* Page-walk coherency */
#define   VTDM_ECAP_QI          (1ull << 1)                 /* Queued invalidation */
#define   VTDM_ECAP_DT          (1ull << 2)                 /* Device-TLB */
#define   VTDM_ECAP_IR          (1ull << 3)                 /* Interrupt remapping */
#define   VTDM_ECAP_EIM         (1ull << 4)                 /* Extended interrupt mode */
#define   VTDM_ECAP_PT          (1ull << 6)                 /* Pass through */
#define   VTDM_ECAP_SC          (1ull << 7)                 /* Snoop control */
#define   VTDM_ECAP_IRO(e)      ((((e) >> 8) & 0x3ff) * 16) /* IOTLB register offset */
#define   VTDM_ECAP_MHMV(e)     (((e) >> 20) & 0xf)
#define   VTDM_ECAP_NEST        (1ull << 26)                /* Nested translation */
#define   VTDM_ECAP_PRS         (1ull << 29)                /* Page requests */
#define   VTDM_ECAP_PSS(e)      (((e) >> 35) & 0x1f)        /* PASID size supported */
#define   VTDM_ECAP_PASID       (1ull << 40)                /* Process address space ID */
#define   VTDM_ECAP_SMTS        (1ull << 43)                /* Scalable mode translation */
#define   VTDM_ECAP_SLTS        (1ull << 46)                /* Second-level translation */
#define   VTDM_ECAP_FLTS        (1ull << 47)                /* First-level translation */
#define   VTDM_ECAP_ADMS        (1ull << 52)                /* Abort DMA mode */
#define VTDM_GCMD_REG       0x018   /* Global Command (write-only) */
#define   VTDM_GCMD_TE          (1u << 31)  /* Translation enable */
#define   VTDM_GCMD_SRTP        (1u << 30)  /* Set root table pointer */
#define   VTDM_GCMD_SFL         (1u << 29)  /* Set fault log */
#define   VTDM_GCMD_EAFL        (1u << 28)  /* Enable advanced fault logging */
#define   VTDM_GCMD_WBF         (1u << 27)  /* Write buffer flush */
#define   VTDM_GCMD_QIE         (1u << 26)  /* Queued invalidation enable */
#define   VTDM_GCMD_IRE         (1u << 25)  /* Interrupt remapping enable */
#define   VTDM_GCMD_SIRTP       (1u << 24)  /* Set interrupt remap table pointer */
#define   VTDM_GCMD_CFI         (1u << 23)  /* Compatibility format interrupt */
#define VTDM_GSTS_REG       0x01c   /* Global Status (same bit positions, ...S) */
#define VTDM_RTADDR_REG     0x020   /* Root Table Address */
#define   VTDM_RTADDR_TTM(r)    (((r) >> 10) & 0x3) /* Translation table mode */
#define   VTDM_TTM_LEGACY       0
#define   VTDM_TTM_SCALABLE     1
#define   VTDM_TTM_ABORT        3
#define VTDM_CCMD_REG       0x028   /* Context Command (64-bit) */
#define   VTDM_CCMD_ICC         (1ull << 63)
#define   VTDM_CCMD_CIRG(c)     (((c) >> 61) & 3)
#define   VTDM_CCMD_CAIG_SHIFT  59
#define   VTDM_CCMD_FM(c)       (((c) >> 32) & 3)
#define   VTDM_CCMD_SID(c)      (((c) >> 16) & 0xffff)
#define   VTDM_CCMD_DID(c)      ((c) & 0xffff)
#define VTDM_FSTS_REG       0x034   /* Fault Status */
#define   VTDM_FSTS_PFO         (1u << 0)   /* Primary fault overflow (W1C) */
#define   VTDM_FSTS_PPF         (1u << 1)   /* Primary pending fault (RO) */
#define   VTDM_FSTS_AFO         (1u << 2)
#define   VTDM_FSTS_APF         (1u << 3)
#define   VTDM_FSTS_IQE         (1u << 4)   /* Invalidation queue error (W1C) */
#define   VTDM_FSTS_ICE         (1u << 5)   /* Invalidation completion error (W1C) */
#define   VTDM_FSTS_ITE         (1u << 6)   /* Invalidation time-out error (W1C) */
#define   VTDM_FSTS_FRI_SHIFT   8           /* Fault record index (RO) */
#define VTDM_FECTL_REG      0x038   /* Fault Event Control */
#define   VTDM_XECTL_IM         (1u << 31)  /* Interrupt mask (FECTL, IECTL, PECTL) */
#define   VTDM_XECTL_IP         (1u << 30)  /* Interrupt pending (RO) */
#define VTDM_FEDATA_REG     0x03c
#define VTDM_FEADDR_REG     0x040
#define VTDM_FEUADDR_REG    0x044
#define VTDM_AFLOG_REG      0x058
#define VTDM_PMEN_REG       0x064
#define VTDM_IQH_REG        0x080   /* Invalidation Queue Head (RO) */
#define VTDM_IQT_REG        0x088   /* Invalidation Queue Tail */
#define   VTDM_IQ_OFF_MASK      0x7fff0ull  /* QH/QT: bits 18:4, a byte offset */
#define VTDM_IQA_REG        0x090   /* Invalidation Queue Address */
#define   VTDM_IQA_DW           (1ull << 11) /* 256-bit descriptors */
#define   VTDM_IQA_QS(a)        ((a) & 7)
#define VTDM_ICS_REG        0x09c   /* Invalidation Completion Status */
#define   VTDM_ICS_IWC          (1u << 0)
#define VTDM_IECTL_REG      0x0a0   /* Invalidation Event Control */
#define VTDM_IEDATA_REG     0x0a4
#define VTDM_IEADDR_REG     0x0a8
#define VTDM_IEUADDR_REG    0x0ac
#define VTDM_IQERCD_REG     0x0b0   /* Invalidation Queue Error Record (RO) */
#define   VTDM_IQERCD_ITESID_SHIFT 32
#define   VTDM_IQERCD_ICESID_SHIFT 48
#define VTDM_IRTA_REG       0x0b8   /* Interrupt Remapping Table Address (64-bit) */
#define   VTDM_IRTA_ADDR        0xfffffffffffff000ull   /* IRTA: table base, bits 63:12 */
#define   VTDM_IRTA_EIME        (1ull << 11)            /* Extended interrupt mode enable */
#define   VTDM_IRTA_S(a)        ((a) & 0xf)             /* 2^(S+1) entries */
#define VTDM_PQH_REG        0x0c0   /* Page Request Queue Head */
#define VTDM_PQT_REG        0x0c8   /* Page Request Queue Tail (RO) */
#define   VTDM_PQ_OFF_MASK      0x7ffe0ull  /* PQH/PQT: bits 18:5 */
#define VTDM_PQA_REG        0x0d0   /* Page Request Queue Address */
#define VTDM_PRS_REG        0x0dc   /* Page Request Status */
#define   VTDM_PRS_PPR          (1u << 0)   /* Pending page request (W1C) */
#define   VTDM_PRS_PRO          (1u << 1)   /* Page request overflow (W1C) */
#define VTDM_PECTL_REG      0x0e0   /* Page Request Event Control */
#define VTDM_PEDATA_REG     0x0e4
#define VTDM_PEADDR_REG     0x0e8
#define VTDM_PEUADDR_REG    0x0ec
/* At ECAP.IRO: */
#define VTDM_IVA_OFF        0x0     /* Invalidate Address */
#define VTDM_IOTLB_OFF      0x8     /* IOTLB Invalidate (64-bit) */
#define   VTDM_IOTLB_IVT        (1ull << 63)
#define   VTDM_IOTLB_IIRG(v)    (((v) >> 60) & 3)
#define   VTDM_IOTLB_IAIG_SHIFT 57
#define   VTDM_IOTLB_DID(v)     (((v) >> 32) & 0xffff)
/* At CAP.FRO: NFR records of 128 bits. */
#define VTDM_FRCD_F         (1ull << 63)    /* in the high quadword */
#define VTDM_FRCD_T1        (1ull << 62)    /* 1 = read */
#define VTDM_FRCD_PP        (1ull << 31)
#define VTDM_FRCD_FR_SHIFT  32
#define VTDM_FRCD_PV_SHIFT  40

#define VTDM_REG_SPACE      0x2000  /* registers the model decodes */

/* ---- In-memory structure fields (VT-d 9.x) ---- */
#define VTDM_PTE_R          (1ull << 0)
#define VTDM_PTE_W          (1ull << 1)
#define VTDM_PTE_PS         (1ull << 7)
#define VTDM_PTE_ADDR       0x000ffffffffff000ull
/* Reserved: address bits 51:48, beyond the modelled 48-bit host address width. Bits 61:52 and 63
   are ignored (available to software) and 62 (TM) is ignored by second-level walks (VT-d 9.8). */
#define VTDM_PTE_RSVD       0x000f000000000000ull

/* ---- Interrupt remapping table entry, remapped format (VT-d 9.10), low quadword ---- */
#define VTDM_IRTE_P         (1ull << 0)
#define VTDM_IRTE_FPD       (1ull << 1)
#define VTDM_IRTE_DM        (1ull << 2)     /* 1 = logical destination */
#define VTDM_IRTE_RH        (1ull << 3)
#define VTDM_IRTE_TM        (1ull << 4)     /* 1 = level */
#define VTDM_IRTE_DLM(l)    (((l) >> 5) & 7)
#define VTDM_IRTE_IM        (1ull << 15)    /* 1 = posted format (not supported: reserved) */
#define VTDM_IRTE_V(l)      (((l) >> 16) & 0xff)
#define VTDM_IRTE_DST(l)    ((uint32_t)((l) >> 32))
#define VTDM_IRTE_LO_RSVD   0x00000000ff007000ull   /* bits 31:24, 14:12 */
#define VTDM_IRTE_XAPIC_RSVD 0xffff00ff00000000ull  /* DST bits other than 15:8, EIME = 0 */
/* High quadword. */
#define VTDM_IRTE_SID(h)    ((uint16_t)((h) & 0xffff))
#define VTDM_IRTE_SQ(h)     (((h) >> 16) & 3)
#define VTDM_IRTE_SVT(h)    (((h) >> 18) & 3)
#define VTDM_IRTE_HI_RSVD   0xfffffffffff00000ull   /* bits 63:20 */

/* ---- Descriptor types (VT-d 6.5.2) ---- */
enum {
    VTDM_DESC_CC = 1, VTDM_DESC_IOTLB = 2, VTDM_DESC_DEVTLB = 3, VTDM_DESC_IEC = 4,
    VTDM_DESC_WAIT = 5, VTDM_DESC_PIOTLB = 6, VTDM_DESC_PC = 7, VTDM_DESC_PDEVTLB = 8,
    VTDM_DESC_PGRP = 9,
};

/* ---- Model state ---- */
#define VTDM_PAGE           4096ull
#define VTDM_CTX_CACHE      32
#define VTDM_PASID_CACHE    32
#define VTDM_ATC_ENTRIES    32
#define VTDM_MAX_DEVICES    64
#define VTDM_MAX_OUTSTANDING 256
#define VTDM_MAX_WAITS      256
#define VTDM_LOG_ENTRIES    4096
#define VTDM_MAX_RESPONSES  256
#define VTDM_IEC_ENTRIES    64

struct vtdm_iec_entry {     /* interrupt entry cache: an IRTE as the unit read it */
    bool valid;
    uint32_t index;
    uint64_t lo, hi;
};

struct vtdm_ctx_entry {     /* context cache: what the unit latched for a source-id */
    bool valid;
    bool scalable;
    uint16_t sid;
    uint16_t did;           /* legacy */
    uint8_t tt;             /* legacy translation type */
    uint8_t aw;             /* legacy address width code */
    bool fpd;
    uint64_t slptptr;       /* legacy */
    uint64_t pasid_dir;     /* scalable */
    unsigned pdts;
    uint32_t rid_pasid;
    bool dte, pre, paside;
    uint64_t table_pa;      /* the context table page it came from */
};

struct vtdm_pasid_entry {   /* PASID cache */
    bool valid;
    uint16_t sid;
    uint32_t pasid;
    uint16_t did;
    uint8_t pgtt;
    uint8_t aw;
    bool fpd;
    uint64_t slptptr;
    uint64_t table_pa;      /* PASID table page */
};

struct vtdm_tlb_entry {     /* IOTLB and ATC entries */
    bool valid;
    uint16_t did;           /* IOTLB only */
    uint32_t pasid;         /* VTD_MODEL_NO_PASID for requests without PASID */
    uint64_t iova;          /* aligned to 1 << shift */
    unsigned shift;         /* 12, 21 or 30 */
    uint64_t pa;
    bool r, w;
    uint64_t path[4];       /* table pages walked (IOTLB only) */
};

struct vtdm_device {
    bool used;
    uint16_t sid;
    unsigned flags;
    bool present;
    bool ats_enabled;
    bool ice_pending;       /* next invalidation completion carries a bad ITag */
    struct vtdm_tlb_entry atc[VTDM_ATC_ENTRIES];
    unsigned atc_next;
};

struct vtdm_devtlb_inv {    /* an ATS invalidation request in flight to a device */
    uint16_t sid;
    uint32_t pasid;         /* VTD_MODEL_NO_PASID for type 3 */
    bool global;            /* type 8 G: all PASIDs */
    uint64_t base, size;
    uint64_t seq;           /* fetch order */
    uint64_t done_at;       /* completion arrives (responsive device) */
    uint64_t timeout_at;
    bool responsive;
    uint32_t desc_off;
};

struct vtdm_wait {
    uint64_t qw0, qw1;
    uint64_t seq;
    uint64_t prq_seq;       /* PD: page requests issued up to this one must land first */
    uint32_t desc_off;
};

struct vtdm_prq_inflight {
    struct vtd_model_page_request req;
    uint64_t arrive_at;
    uint64_t seq;
};

struct vtd_model {
    struct vtd_hw hw;
    struct vtd_model_config cfg;
    uint64_t cap, ecap;

    /* Memory: CPU view, and the hardware's view of remapping structures when ECAP.C = 0. */
    uint8_t *mem;
    uint8_t *hwview;        /* NULL when page walks are coherent */
    size_t mem_bytes;
    uint64_t alloc_base;    /* alloc_page hands out [alloc_base, mem_bytes) */
    uint8_t *page_used;     /* one byte per allocatable page */
    uint8_t *dirty;         /* one byte per page of mem: may differ from a fresh model's */
    uint32_t *dirty_list;   /* the dirty pages, in the order they were first touched */
    size_t n_dirty;
    size_t alloc_pages, alloc_next, pages_in_use;

    uint64_t now;

    uint32_t regs[VTDM_REG_SPACE / 4];   /* plain storage registers and fault records */
    uint32_t gsts;
    uint32_t fsts_sticky;   /* PFO/IQE/ICE/ITE/... */
    unsigned fri;
    unsigned fault_next;
    uint32_t fectl, iectl, pectl, ics, prs;
    uint64_t iqercd;

    /* Latched by SRTP. */
    uint64_t root_pa;
    unsigned ttm;

    /* One in-flight global command, completing at gcmd_done_at. */
    bool gcmd_busy;
    uint32_t gcmd_val, gcmd_changed;
    uint64_t gcmd_done_at;
    bool cmd_stuck;
    bool queue_stalled; /* the queue fetches nothing (vtd_model_set_queue_stalled) */
    bool ccmd_busy, iotlbreg_busy;
    uint64_t ccmd_done_at, iotlbreg_done_at;

    /* Latched by SIRTP. */
    uint64_t irt_pa;
    uint32_t irt_entries;
    bool irt_eime;

    /* Caches. */
    struct vtdm_iec_entry iec[VTDM_IEC_ENTRIES];
    unsigned iec_next;
    struct vtdm_ctx_entry ctx[VTDM_CTX_CACHE];
    unsigned ctx_next;
    struct vtdm_pasid_entry pc[VTDM_PASID_CACHE];
    unsigned pc_next;
    struct vtdm_tlb_entry *iotlb;
    unsigned iotlb_n, iotlb_next;

    struct vtdm_device dev[VTDM_MAX_DEVICES];

    /* Invalidation queue engine. */
    uint32_t iq_head, iq_tail;
    uint64_t fetch_seq;
    struct vtdm_devtlb_inv inflight[VTDM_MAX_OUTSTANDING];
    unsigned n_inflight;
    struct vtdm_wait waits[VTDM_MAX_WAITS];
    unsigned n_waits;
    bool fence_blocked;     /* a pending wait with FN stops fetching */
    bool in_run;
    bool ite_valid;
    uint16_t ite_sid;
    uint32_t ite_desc_off;

    /* Page request queue. */
    uint32_t pq_tail;
    struct vtdm_prq_inflight prq_flight[VTDM_MAX_WAITS];
    unsigned n_prq_flight;
    uint64_t prq_seq;
    struct vtd_model_page_response responses[VTDM_MAX_RESPONSES];
    size_t n_responses;

    struct vtd_model_desc_log log[VTDM_LOG_ENTRIES];
    size_t log_start, log_count;

    struct vtd_model_stats st;
};

/* model.c */
bool vtdm_hw_read(struct vtd_model *m, uint64_t pa, void *out, size_t len);
bool vtdm_mem_read(struct vtd_model *m, uint64_t pa, void *out, size_t len);
bool vtdm_mem_write(struct vtd_model *m, uint64_t pa, const void *in, size_t len);
void vtdm_progress(struct vtd_model *m);
void vtdm_fault_event(struct vtd_model *m, uint32_t new_bits);
struct vtdm_device *vtdm_find_device(struct vtd_model *m, uint16_t sid);

/* translate.c */
/* Writes one fault record (FRCD low/high quadwords without F) with the 7.2.1 rules. */
void vtdm_record_fault_raw(struct vtd_model *m, uint64_t lo, uint64_t hi);
void vtdm_record_fault(struct vtd_model *m, uint16_t sid, uint32_t pasid, uint64_t addr,
                       unsigned reason, bool write);
void vtdm_cc_invalidate(struct vtd_model *m, unsigned gran, uint16_t did, uint16_t sid,
                        unsigned fm);
void vtdm_pc_invalidate(struct vtd_model *m, unsigned gran, uint16_t did, uint32_t pasid);
void vtdm_iotlb_invalidate(struct vtd_model *m, unsigned gran, uint16_t did, uint32_t pasid,
                           uint64_t addr, unsigned am);
void vtdm_atc_invalidate(struct vtdm_device *d, uint32_t pasid, bool global, uint64_t base,
                         uint64_t size);
bool vtdm_page_cached(const struct vtd_model *m, uint64_t pa);

/* queue.c */
void vtdm_iq_run(struct vtd_model *m);
void vtdm_iq_disable(struct vtd_model *m);
bool vtdm_iq_idle(const struct vtd_model *m);

bool vtdm_prq_allowed(struct vtd_model *m, uint16_t sid);

/* intremap.c */
void vtdm_irt_latch(struct vtd_model *m);
/* IEC invalidation: global, or the 2^im entries from index (aligned down). */
void vtdm_iec_invalidate(struct vtd_model *m, bool global, uint32_t index, unsigned im);
bool vtdm_iec_page_cached(const struct vtd_model *m, uint64_t pa);

/* prq.c */
void vtdm_prq_event(struct vtd_model *m, uint32_t new_bits);
void vtdm_prq_progress(struct vtd_model *m);
bool vtdm_prq_inflight_upto(const struct vtd_model *m, uint64_t seq);

#endif /* VTD_MODEL_INTERNAL_H */
