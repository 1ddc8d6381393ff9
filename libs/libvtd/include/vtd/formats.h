/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * In-memory formats the remapping hardware reads or writes: root and context entries (legacy
 * and scalable mode), PASID directory and table entries, second-level paging entries,
 * invalidation descriptors, page request descriptors. Plain shifts and masks (never C bitfields)
 * so the layout is the spec's, whatever the compiler; encoders are pure functions so the fuzzer
 * and the unit tests can exercise them without hardware.
 */
#ifndef VTD_FORMATS_H
#define VTD_FORMATS_H

#include <stdbool.h>
#include <stdint.h>

#include <vtd/regs.h>

/* Field tables keep the spec layout. */
/* clang-format off */
#define VTD_PAGE_SHIFT 12
#define VTD_PAGE_SIZE  4096ull
#define VTD_ADDR_MASK  VTD_MASK(51, 12)   /* 4 KiB-aligned physical address field */

/* ---- Root and context entries (VT-d 9.1-9.4) ------------------------------------------- */
struct vtd_root_entry {
    uint64_t lo, hi;
};
_Static_assert(sizeof(struct vtd_root_entry) == 16, "root entry is 128 bits");
#define VTD_RE_P              VTD_BIT(0)         /* lo: Present (scalable: LP, lower half) */
#define VTD_RE_CTP(pa)        ((pa) & VTD_ADDR_MASK)
#define VTD_SRE_UP            VTD_BIT(0)         /* hi: upper context table present */

struct vtd_context_entry {       /* legacy mode, 128 bits */
    uint64_t lo, hi;
};
_Static_assert(sizeof(struct vtd_context_entry) == 16, "context entry is 128 bits");
#define VTD_CE_LO_P           VTD_BIT(0)
#define VTD_CE_LO_FPD         VTD_BIT(1)         /* Fault Processing Disable */
#define VTD_CE_LO_TT(t)       ((uint64_t)(t) << 2)
#define   VTD_CE_TT_SL          0u               /* untranslated requests only */
#define   VTD_CE_TT_SL_DT       1u               /* + translation requests (device-TLB) */
#define   VTD_CE_TT_PT          2u               /* pass-through */
#define VTD_CE_LO_TT_GET(v)   VTD_GET(v, 3, 2)
#define VTD_CE_HI_AW(aw)      ((uint64_t)(aw) & 7)   /* 1: 39-bit, 2: 48-bit, 3: 57-bit */
#define VTD_CE_HI_DID(d)      ((uint64_t)(d) << 8)
#define VTD_CE_HI_DID_GET(v)  VTD_GET(v, 23, 8)

struct vtd_sm_context_entry {    /* scalable mode, 256 bits */
    uint64_t qw[4];
};
_Static_assert(sizeof(struct vtd_sm_context_entry) == 32, "scalable context entry is 256 bits");
#define VTD_SCE_P             VTD_BIT(0)         /* qw0 */
#define VTD_SCE_FPD           VTD_BIT(1)
#define VTD_SCE_DTE           VTD_BIT(2)         /* Device-TLB Enable */
#define VTD_SCE_PASIDE        VTD_BIT(3)         /* PASID Enable */
#define VTD_SCE_PRE           VTD_BIT(4)         /* Page Request Enable */
#define VTD_SCE_PDTS(n)       ((uint64_t)(n) << 9)   /* PASID dir size 2^(n+7) entries */
#define VTD_SCE_RID_PASID(p)  ((uint64_t)(p) & 0xfffff) /* qw1 */

/* ---- PASID directory / table entries (VT-d 9.5, 9.6) -------------------------------------- */
#define VTD_PASID_DIR_P       VTD_BIT(0)
#define VTD_PASID_DIR_FPD     VTD_BIT(1)
#define VTD_PASID_PER_TABLE   64u                /* PASID[5:0] indexes a table page */
struct vtd_pasid_entry {
    uint64_t qw[8];
};
_Static_assert(sizeof(struct vtd_pasid_entry) == 64, "PASID table entry is 512 bits");
#define VTD_PE0_P             VTD_BIT(0)
#define VTD_PE0_FPD           VTD_BIT(1)
#define VTD_PE0_AW(aw)        (((uint64_t)(aw) & 7) << 2)
#define VTD_PE0_PGTT(t)       ((uint64_t)(t) << 6)
#define   VTD_PGTT_FL           1u
#define   VTD_PGTT_SL           2u
#define   VTD_PGTT_NESTED       3u
#define   VTD_PGTT_PT           4u
#define VTD_PE0_PGTT_GET(v)   VTD_GET(v, 8, 6)
#define VTD_PE1_DID(d)        ((uint64_t)(d) & 0xffff)

/* ---- Second-level paging entries (VT-d 9.8) ---------------------------------------------- */
#define VTD_SL_R              VTD_BIT(0)
#define VTD_SL_W              VTD_BIT(1)
#define VTD_SL_X              VTD_BIT(2)
#define VTD_SL_PS             VTD_BIT(7)         /* Page Size: leaf at level 2 or 3 */
#define VTD_SL_SNP            VTD_BIT(11)
/*
 * Bits 61:52 are ignored by hardware in every second-level entry (VT-d 9.8). libvtd keeps the
 * number of present entries of a table in the entry that points to it, so an emptied table is
 * found and reclaimed without scanning its 512 slots.
 */
#define VTD_SL_CNT_SHIFT      52
#define VTD_SL_CNT_MASK       VTD_MASK(61, 52)
#define VTD_SL_ENTRIES        512u

/* ---- Invalidation descriptors (VT-d 6.5.2) ------------------------------------------------ */
struct vtd_desc {
    uint64_t qw[4];              /* 128-bit descriptors use qw[0..1] */
};
_Static_assert(sizeof(struct vtd_desc) == 32, "descriptor slot is 256 bits");

#define VTD_DESC_TYPE(t)      (((uint64_t)(t) & 0xf) | (((uint64_t)(t) >> 4) << 9))
#define VTD_DESC_TYPE_GET(q0) ((unsigned)(((q0) & 0xf) | (((q0) >> 9) & 7) << 4))
#define VTD_DESC_CC           1u   /* Context-cache Invalidate */
#define VTD_DESC_IOTLB        2u   /* IOTLB Invalidate */
#define VTD_DESC_DEVTLB       3u   /* Device-TLB Invalidate */
#define VTD_DESC_IEC          4u   /* Interrupt Entry Cache Invalidate */
#define VTD_DESC_WAIT         5u   /* Invalidation Wait */
#define VTD_DESC_PIOTLB       6u   /* PASID-based IOTLB Invalidate */
#define VTD_DESC_PC           7u   /* PASID-cache Invalidate */
#define VTD_DESC_PDEVTLB      8u   /* PASID-based Device-TLB Invalidate */
#define VTD_DESC_PGRP_RESP    9u   /* Page Group Response */

#define VTD_DESC_G(g)         ((uint64_t)(g) << 4)  /* granularity, qw0 bits 5:4 */
#define VTD_DESC_G_GET(q0)    ((unsigned)VTD_GET(q0, 5, 4))
#define   VTD_G_GLOBAL          1u
#define   VTD_G_DOMAIN          2u
#define   VTD_G_PAGE            3u   /* IOTLB: page-selective; CC: device-selective */
#define   VTD_G_PASID_ALL       2u   /* PASID-IOTLB: all mappings of (DID, PASID) */
#define   VTD_G_PASID_PAGE      3u   /* PASID-IOTLB: page-selective within PASID */
#define   VTD_G_PC_DOMAIN       0u   /* PASID-cache: domain-selective */
#define   VTD_G_PC_PASID        1u   /* PASID-cache: PASID-selective */
#define   VTD_G_PC_GLOBAL       3u
#define VTD_DESC_DID(d)       ((uint64_t)(d) << 16)
#define VTD_DESC_DID_GET(q0)  ((uint16_t)VTD_GET(q0, 31, 16))
#define VTD_DESC_CC_SID(s)    ((uint64_t)(s) << 32)
#define VTD_DESC_CC_FM(m)     ((uint64_t)(m) << 48)
#define VTD_DESC_IOTLB_DW     VTD_BIT(6)
#define VTD_DESC_IOTLB_DR     VTD_BIT(7)
#define VTD_DESC_ADDR_AM(am)  ((uint64_t)(am) & 0x3f)   /* qw1 */
#define VTD_DESC_ADDR_IH      VTD_BIT(6)
#define VTD_DESC_DEVTLB_SID(s)    ((uint64_t)(s) << 32)
#define VTD_DESC_DEVTLB_SID_GET(q0) ((uint16_t)VTD_GET(q0, 47, 32))
#define VTD_DESC_DEVTLB_MIP(q)    (((uint64_t)(q) & 0x1f) << 16)
#define VTD_DESC_DEVTLB_S         VTD_BIT(0)    /* qw1: size encoded in the address */
#define VTD_DESC_PASID(p)     (((uint64_t)(p) & 0xfffff) << 32)
#define VTD_DESC_PASID_GET(q0) ((uint32_t)VTD_GET(q0, 51, 32))
#define VTD_DESC_PDEVTLB_SID(s)   ((uint64_t)(s) << 16)
#define VTD_DESC_PDEVTLB_SID_GET(q0) ((uint16_t)VTD_GET(q0, 31, 16))
#define VTD_DESC_PDEVTLB_MIP(q)   (((uint64_t)(q) & 0x1f) << 4)
#define VTD_DESC_PDEVTLB_G        VTD_BIT(0)    /* qw1: global (all PASIDs' global pages) */
#define VTD_DESC_PDEVTLB_S        VTD_BIT(11)   /* qw1 */
#define VTD_DESC_WAIT_IF      VTD_BIT(4)    /* Interrupt Flag */
#define VTD_DESC_WAIT_SW      VTD_BIT(5)    /* Status Write */
#define VTD_DESC_WAIT_FN      VTD_BIT(6)    /* Fence */
#define VTD_DESC_WAIT_PD      VTD_BIT(7)    /* Page-request Drain */
#define VTD_DESC_WAIT_DATA(d) ((uint64_t)(uint32_t)(d) << 32)
#define VTD_DESC_WAIT_ADDR(a) ((uint64_t)(a) & ~3ull)       /* qw1 */
#define VTD_DESC_PGRP_PP      VTD_BIT(4)    /* PASID Present */
#define VTD_DESC_PGRP_PDP     VTD_BIT(5)    /* Private Data Present */
#define VTD_DESC_PGRP_RC(c)   (((uint64_t)(c) & 0xf) << 12) /* Response Code */
#define VTD_DESC_PGRP_RID(r)  ((uint64_t)(r) << 16)
#define VTD_DESC_PGRP_LPIG    VTD_BIT(2)    /* qw1 */
#define VTD_DESC_PGRP_PRGI(i) (((uint64_t)(i) & 0x1ff) << 3)

/* Page group response codes (PCIe PRG Response) */
#define VTD_PRG_SUCCESS       0u
#define VTD_PRG_INVALID       1u
#define VTD_PRG_FAILURE       0xfu

/* ---- Page request descriptor (VT-d 7.5.1), 256 bits in the page request queue ------------- */
#define VTD_PRQ_DESC_SIZE     32u
#define VTD_PRQ0_TYPE(v)      VTD_GET(v, 7, 0)      /* 1 = page request */
#define VTD_PRQ0_PP           VTD_BIT(8)            /* PASID Present */
#define VTD_PRQ0_PDP          VTD_BIT(9)            /* Private Data Present */
#define VTD_PRQ0_RID(v)       VTD_GET(v, 31, 16)
#define VTD_PRQ0_PASID(v)     VTD_GET(v, 51, 32)
#define VTD_PRQ0_ERR          VTD_BIT(52)           /* Execute Requested */
#define VTD_PRQ0_PMR          VTD_BIT(53)           /* Privilege Mode Requested */
#define VTD_PRQ1_RD           VTD_BIT(0)
#define VTD_PRQ1_WR           VTD_BIT(1)
#define VTD_PRQ1_LPIG         VTD_BIT(2)            /* Last Page In Group */
#define VTD_PRQ1_PRGI(v)      VTD_GET(v, 11, 3)
#define VTD_PRQ1_ADDR(v)      ((v) & VTD_MASK(63, 12))

/* ---- Interrupt remapping table entry (VT-d 9.10), remapped format ------------------------- */
struct vtd_irte {
    uint64_t lo, hi;
};
_Static_assert(sizeof(struct vtd_irte) == 16, "IRTE is 128 bits");
#define VTD_IRTE_SIZE         16u
#define VTD_IRTE_P            VTD_BIT(0)         /* lo: Present */
#define VTD_IRTE_FPD          VTD_BIT(1)         /* Fault Processing Disable */
#define VTD_IRTE_DM           VTD_BIT(2)         /* Destination Mode: 1 = logical */
#define VTD_IRTE_RH           VTD_BIT(3)         /* Redirection Hint */
#define VTD_IRTE_TM           VTD_BIT(4)         /* Trigger Mode: 1 = level */
#define VTD_IRTE_DLM(m)       (((uint64_t)(m) & 7) << 5) /* Delivery Mode */
#define VTD_IRTE_DLM_GET(v)   ((unsigned)VTD_GET(v, 7, 5))
#define   VTD_IRTE_DLM_FIXED    0u
#define   VTD_IRTE_DLM_LOWPRI   1u
#define VTD_IRTE_AVAIL_MASK   VTD_MASK(11, 8)    /* available to software */
#define VTD_IRTE_IM           VTD_BIT(15)        /* IRTE Mode: 0 = remapped, 1 = posted */
#define VTD_IRTE_V(v)         ((uint64_t)(uint8_t)(v) << 16) /* Vector */
#define VTD_IRTE_V_GET(v)     ((uint8_t)VTD_GET(v, 23, 16))
#define VTD_IRTE_DST(d)       ((uint64_t)(uint32_t)(d) << 32) /* Destination ID */
#define VTD_IRTE_DST_GET(v)   ((uint32_t)VTD_GET(v, 63, 32))
#define VTD_IRTE_XAPIC_DST(id) ((uint32_t)(uint8_t)(id) << 8) /* xAPIC: APIC id in DST 15:8 */
#define VTD_IRTE_XAPIC_DST_GET(d) (((d) >> 8) & 0xffu)
#define VTD_IRTE_LO_RSVD      (VTD_MASK(14, 12) | VTD_MASK(31, 24))
#define VTD_IRTE_XAPIC_DST_RSVD (VTD_MASK(63, 48) | VTD_MASK(39, 32)) /* lo, when EIME = 0 */
#define VTD_IRTE_SID(s)       ((uint64_t)(uint16_t)(s))  /* hi: Source Identifier */
#define VTD_IRTE_SID_GET(v)   ((uint16_t)VTD_GET(v, 15, 0))
#define VTD_IRTE_SQ(q)        (((uint64_t)(q) & 3) << 16) /* Source-id Qualifier */
#define VTD_IRTE_SQ_GET(v)    ((unsigned)VTD_GET(v, 17, 16))
#define VTD_IRTE_SVT(t)       (((uint64_t)(t) & 3) << 18) /* Source Validation Type */
#define VTD_IRTE_SVT_GET(v)   ((unsigned)VTD_GET(v, 19, 18))
#define   VTD_IRTE_SVT_NONE     0u               /* no source validation */
#define   VTD_IRTE_SVT_SID      1u               /* requester id, masked by SQ */
#define   VTD_IRTE_SVT_BUS      2u               /* bus number in [SID 15:8, SID 7:0] */
#define VTD_IRTE_HI_RSVD      VTD_MASK(63, 20)

/* Remappable-format MSI address (VT-d 5.1.5.2) and the IEC descriptor (6.5.2.7) */
#define VTD_IR_MSI_BASE       0xfee00000u        /* bits 31:20 = 0xFEE */
#define VTD_IR_MSI_HANDLE_LO(h) (((uint64_t)(h) & 0x7fff) << 5) /* handle[14:0] in 19:5 */
#define VTD_IR_MSI_HANDLE_HI(h) ((((uint64_t)(h) >> 15) & 1) << 2) /* handle[15] in bit 2 */
#define VTD_IR_MSI_IF         VTD_BIT(4)         /* Interrupt Format: 1 = remappable */
#define VTD_IR_MSI_SHV        VTD_BIT(3)         /* SubHandle Valid: data[15:0] added */
#define VTD_DESC_IEC_G_INDEX  VTD_BIT(4)         /* G: 0 = global, 1 = index-selective */
#define VTD_DESC_IEC_IM(m)    (((uint64_t)(m) & 0x1f) << 27) /* Index Mask: 2^IM entries */
#define VTD_DESC_IEC_IM_GET(q0) ((unsigned)VTD_GET(q0, 31, 27))
#define VTD_DESC_IEC_IIDX(i)  ((uint64_t)(uint16_t)(i) << 32) /* Interrupt Index */
#define VTD_DESC_IEC_IIDX_GET(q0) ((uint16_t)VTD_GET(q0, 47, 32))

/* clang-format on */

/* ---- Pure encoders ------------------------------------------------------------------------ */

/* Smallest address mask (log2 pages) of a naturally aligned block covering [addr, addr+size). */
static inline unsigned vtd_cover_order(uint64_t addr, uint64_t size)
{
    uint64_t first = addr >> VTD_PAGE_SHIFT;
    uint64_t last = (addr + size - 1) >> VTD_PAGE_SHIFT;
    uint64_t diff = first ^ last;
    return diff ? 64u - (unsigned)__builtin_clzll(diff) : 0u;
}

static inline struct vtd_desc vtd_desc_iotlb(unsigned g, uint16_t did, uint64_t addr, unsigned am,
                                             bool ih)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_IOTLB) | VTD_DESC_G(g) | VTD_DESC_IOTLB_DR |
              VTD_DESC_IOTLB_DW | (g == VTD_G_GLOBAL ? 0 : VTD_DESC_DID(did));
    if (g == VTD_G_PAGE) {
        d.qw[1] = (addr & VTD_MASK(63, 12)) | VTD_DESC_ADDR_AM(am) | (ih ? VTD_DESC_ADDR_IH : 0);
    }
    return d;
}

static inline struct vtd_desc vtd_desc_cc(unsigned g, uint16_t did, uint16_t sid, unsigned fm)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_CC) | VTD_DESC_G(g);
    if (g != VTD_G_GLOBAL) {
        d.qw[0] |= VTD_DESC_DID(did);
    }
    if (g == VTD_G_PAGE) {
        d.qw[0] |= VTD_DESC_CC_SID(sid) | VTD_DESC_CC_FM(fm & 3);
    }
    return d;
}

/*
 * Device-TLB address with the S bit: the range is 2^(12 + order) bytes, naturally aligned; the
 * lowest zero bit of ADDR[63:12] marks it (VT-d 6.5.2.5). order 0 = one page; order >= 52 =
 * the whole address space.
 */
static inline uint64_t vtd_devtlb_addr(uint64_t addr, unsigned order, uint64_t *s_bit_out)
{
    if (order == 0) {
        *s_bit_out = 0;
        return addr & VTD_MASK(63, 12);
    }
    if (order >= 52) {
        *s_bit_out = 1;
        return VTD_MASK(62, 12);
    }
    uint64_t base = addr & ~((1ull << (VTD_PAGE_SHIFT + order)) - 1);
    *s_bit_out = 1;
    /* bits 12 .. 12+order-2 set, bit 12+order-1 clear */
    return base | (((1ull << (order - 1)) - 1) << VTD_PAGE_SHIFT);
}

static inline struct vtd_desc vtd_desc_devtlb(uint16_t sid, unsigned qdep, uint64_t addr,
                                              unsigned order)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    uint64_t s;
    uint64_t a = vtd_devtlb_addr(addr, order, &s);
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_DEVTLB) | VTD_DESC_DEVTLB_SID(sid) | VTD_DESC_DEVTLB_MIP(qdep);
    d.qw[1] = a | (s ? VTD_DESC_DEVTLB_S : 0);
    return d;
}

static inline struct vtd_desc vtd_desc_piotlb(unsigned g, uint16_t did, uint32_t pasid,
                                              uint64_t addr, unsigned am, bool ih)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    d.qw[0] =
        VTD_DESC_TYPE(VTD_DESC_PIOTLB) | VTD_DESC_G(g) | VTD_DESC_DID(did) | VTD_DESC_PASID(pasid);
    if (g == VTD_G_PASID_PAGE) {
        d.qw[1] = (addr & VTD_MASK(63, 12)) | VTD_DESC_ADDR_AM(am) | (ih ? VTD_DESC_ADDR_IH : 0);
    }
    return d;
}

static inline struct vtd_desc vtd_desc_pc(unsigned g, uint16_t did, uint32_t pasid)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_PC) | VTD_DESC_G(g) | VTD_DESC_DID(did);
    if (g == VTD_G_PC_PASID) {
        d.qw[0] |= VTD_DESC_PASID(pasid);
    }
    return d;
}

static inline struct vtd_desc vtd_desc_pdevtlb(uint16_t sid, uint32_t pasid, unsigned qdep,
                                               uint64_t addr, unsigned order)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    uint64_t s;
    uint64_t a = vtd_devtlb_addr(addr, order, &s);
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_PDEVTLB) | VTD_DESC_PDEVTLB_SID(sid) |
              VTD_DESC_PDEVTLB_MIP(qdep) | VTD_DESC_PASID(pasid);
    d.qw[1] = a | (s ? VTD_DESC_PDEVTLB_S : 0);
    return d;
}

/* Never both SW and IF in one wait: QEMU aborts on it (see docs/libvtd.md). */
static inline struct vtd_desc vtd_desc_wait_status(uint64_t status_pa, uint32_t data, bool fence,
                                                   bool drain)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_WAIT) | VTD_DESC_WAIT_SW | VTD_DESC_WAIT_DATA(data) |
              (fence ? VTD_DESC_WAIT_FN : 0) | (drain ? VTD_DESC_WAIT_PD : 0);
    d.qw[1] = VTD_DESC_WAIT_ADDR(status_pa);
    return d;
}

static inline struct vtd_desc vtd_desc_wait_irq(void)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_WAIT) | VTD_DESC_WAIT_IF;
    return d;
}

static inline struct vtd_desc vtd_desc_pgrp_resp(uint16_t rid, bool pasid_present, uint32_t pasid,
                                                 uint16_t prgi, unsigned code)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_PGRP_RESP) | VTD_DESC_PGRP_RC(code) | VTD_DESC_PGRP_RID(rid) |
              (pasid_present ? VTD_DESC_PGRP_PP | VTD_DESC_PASID(pasid) : 0);
    d.qw[1] = VTD_DESC_PGRP_LPIG | VTD_DESC_PGRP_PRGI(prgi);
    return d;
}

/* Interrupt Entry Cache invalidation: global, or 2^im entries from index (aligned to 2^im). */
static inline struct vtd_desc vtd_desc_iec(bool global, uint16_t index, unsigned im)
{
    struct vtd_desc d = {{0, 0, 0, 0}};
    d.qw[0] = VTD_DESC_TYPE(VTD_DESC_IEC);
    if (!global) {
        d.qw[0] |= VTD_DESC_IEC_G_INDEX | VTD_DESC_IEC_IM(im) | VTD_DESC_IEC_IIDX(index);
    }
    return d;
}

/*
 * MSI address/data of a remappable interrupt using IRTE `index`. SHV is set and the data is 0:
 * the entry used is handle + data[15:0] = index for a single message, and a multi-message MSI
 * device that puts the message number into the low data bits reaches index + n, the n-th entry of
 * the block vtd_ir_alloc handed out. Bits 63:32 of the address are 0.
 */
static inline uint64_t vtd_ir_msi_addr(uint32_t index)
{
    return VTD_IR_MSI_BASE | VTD_IR_MSI_HANDLE_LO(index) | VTD_IR_MSI_IF | VTD_IR_MSI_SHV |
           VTD_IR_MSI_HANDLE_HI(index);
}

static inline uint32_t vtd_ir_msi_data(void)
{
    return 0; /* subhandle 0 */
}

/* Second-level entry pointing to a next-level table (R and W set: permissions live in leaves). */
static inline uint64_t vtd_sl_table_entry(uint64_t table_pa, unsigned count)
{
    return (table_pa & VTD_ADDR_MASK) | VTD_SL_R | VTD_SL_W | ((uint64_t)count << VTD_SL_CNT_SHIFT);
}

static inline uint64_t vtd_sl_leaf_entry(uint64_t pa, unsigned rights, bool superpage)
{
    return (pa & VTD_ADDR_MASK) | (rights & (VTD_SL_R | VTD_SL_W)) | (superpage ? VTD_SL_PS : 0);
}

static inline bool vtd_sl_present(uint64_t e)
{
    return (e & (VTD_SL_R | VTD_SL_W)) != 0;
}

static inline unsigned vtd_sl_count(uint64_t e)
{
    return (unsigned)((e & VTD_SL_CNT_MASK) >> VTD_SL_CNT_SHIFT);
}

#endif /* VTD_FORMATS_H */
