/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VT-d remapping unit register page (Intel VT-d specification, chapter 11), named as in the
 * spec. One table: each register offset, with its bit fields indented under it. libvtd, the
 * host model's tests and debugging tools all read the same names.
 */
#ifndef VTD_REGS_H
#define VTD_REGS_H

#include <stdint.h>

/* One register table, fields indented under their register. */
/* clang-format off */
#define VTD_BIT(n)         (1ull << (n))
#define VTD_MASK(hi, lo)   ((~0ull >> (63 - (hi))) & ~((1ull << (lo)) - 1))
#define VTD_GET(v, hi, lo) (((uint64_t)(v) & VTD_MASK(hi, lo)) >> (lo))

#define VTD_VER_REG         0x000   /* Version */
#define VTD_CAP_REG         0x008   /* Capability */
#define   VTD_CAP_ND(c)        VTD_GET(c, 2, 0)     /* Number of domains: 2^(4 + 2*ND) */
#define   VTD_CAP_AFL          VTD_BIT(3)           /* Advanced Fault Logging */
#define   VTD_CAP_RWBF         VTD_BIT(4)           /* Required Write-Buffer Flushing */
#define   VTD_CAP_PLMR         VTD_BIT(5)           /* Protected Low-Memory Region */
#define   VTD_CAP_PHMR         VTD_BIT(6)           /* Protected High-Memory Region */
#define   VTD_CAP_CM           VTD_BIT(7)           /* Caching Mode */
#define   VTD_CAP_SAGAW(c)     VTD_GET(c, 12, 8)    /* Supported Adjusted Guest Address Widths */
#define     VTD_SAGAW_39          VTD_BIT(1)        /* 3-level table */
#define     VTD_SAGAW_48          VTD_BIT(2)        /* 4-level table */
#define     VTD_SAGAW_57          VTD_BIT(3)        /* 5-level table */
#define   VTD_CAP_MGAW(c)      VTD_GET(c, 21, 16)   /* Maximum Guest Address Width - 1 */
#define   VTD_CAP_ZLR          VTD_BIT(22)          /* Zero Length Read */
#define   VTD_CAP_FRO(c)       VTD_GET(c, 33, 24)   /* Fault-recording Register Offset / 16 */
#define   VTD_CAP_SLLPS(c)     VTD_GET(c, 37, 34)   /* Second Level Large Page Support */
#define     VTD_SLLPS_2M          VTD_BIT(0)
#define     VTD_SLLPS_1G          VTD_BIT(1)
#define   VTD_CAP_PSI          VTD_BIT(39)          /* Page Selective Invalidation */
#define   VTD_CAP_NFR(c)       VTD_GET(c, 47, 40)   /* Number of Fault-recording Registers - 1 */
#define   VTD_CAP_MAMV(c)      VTD_GET(c, 53, 48)   /* Maximum Address Mask Value */
#define   VTD_CAP_DWD          VTD_BIT(54)          /* Write Draining */
#define   VTD_CAP_DRD          VTD_BIT(55)          /* Read Draining */
#define   VTD_CAP_FL1GP        VTD_BIT(56)          /* First Level 1-GByte Page Support */
#define   VTD_CAP_PI           VTD_BIT(59)          /* Posted Interrupts */
#define   VTD_CAP_FL5LP        VTD_BIT(60)          /* First Level 5-level Paging */
#define   VTD_CAP_ESIRTPS      VTD_BIT(62)          /* Enhanced SIRTP Support */
#define   VTD_CAP_ESRTPS       VTD_BIT(63)          /* Enhanced SRTP Support */
#define VTD_ECAP_REG        0x010   /* Extended Capability */
#define   VTD_ECAP_C           VTD_BIT(0)           /* Page-walk Coherency */
#define   VTD_ECAP_QI          VTD_BIT(1)           /* Queued Invalidation */
#define   VTD_ECAP_DT          VTD_BIT(2)           /* Device-TLB */
#define   VTD_ECAP_IR          VTD_BIT(3)           /* Interrupt Remapping */
#define   VTD_ECAP_EIM         VTD_BIT(4)           /* Extended Interrupt Mode */
#define   VTD_ECAP_PT          VTD_BIT(6)           /* Pass Through */
#define   VTD_ECAP_SC          VTD_BIT(7)           /* Snoop Control */
#define   VTD_ECAP_IRO(e)      VTD_GET(e, 17, 8)    /* IOTLB Register Offset / 16 */
#define   VTD_ECAP_MHMV(e)     VTD_GET(e, 23, 20)   /* Maximum Handle Mask Value */
#define   VTD_ECAP_MTS         VTD_BIT(25)          /* Memory Type Support */
#define   VTD_ECAP_NEST        VTD_BIT(26)          /* Nested Translation */
#define   VTD_ECAP_PRS         VTD_BIT(29)          /* Page Request Support */
#define   VTD_ECAP_ERS         VTD_BIT(30)          /* Execute Request Support */
#define   VTD_ECAP_SRS         VTD_BIT(31)          /* Supervisor Request Support */
#define   VTD_ECAP_NWFS        VTD_BIT(33)          /* No Write Flag Support */
#define   VTD_ECAP_EAFS        VTD_BIT(34)          /* Extended Accessed Flag */
#define   VTD_ECAP_PSS(e)      VTD_GET(e, 39, 35)   /* PASID Size Supported - 1 */
#define   VTD_ECAP_PASID       VTD_BIT(40)          /* Process Address Space ID */
#define   VTD_ECAP_DIT         VTD_BIT(41)          /* Device-TLB Invalidation Throttle */
#define   VTD_ECAP_PDS         VTD_BIT(42)          /* Page-request Drain Support */
#define   VTD_ECAP_SMTS        VTD_BIT(43)          /* Scalable Mode Translation Support */
#define   VTD_ECAP_VCS         VTD_BIT(44)          /* Virtual Command Support */
#define   VTD_ECAP_SLADS       VTD_BIT(45)          /* Second-Level A/D Support */
#define   VTD_ECAP_SLTS        VTD_BIT(46)          /* Second-Level Translation Support */
#define   VTD_ECAP_FLTS        VTD_BIT(47)          /* First-Level Translation Support */
#define   VTD_ECAP_SMPWCS      VTD_BIT(48)          /* Scalable-Mode Page-walk Coherency */
#define   VTD_ECAP_RPS         VTD_BIT(49)          /* RID-PASID Support */
#define VTD_GCMD_REG        0x018   /* Global Command (write-only) */
#define   VTD_GCMD_CFI         VTD_BIT(23)          /* Compatibility Format Interrupt */
#define   VTD_GCMD_SIRTP       VTD_BIT(24)          /* Set Interrupt Remap Table Pointer */
#define   VTD_GCMD_IRE         VTD_BIT(25)          /* Interrupt Remapping Enable */
#define   VTD_GCMD_QIE         VTD_BIT(26)          /* Queued Invalidation Enable */
#define   VTD_GCMD_WBF         VTD_BIT(27)          /* Write Buffer Flush */
#define   VTD_GCMD_EAFL        VTD_BIT(28)          /* Enable Advanced Fault Logging */
#define   VTD_GCMD_SFL         VTD_BIT(29)          /* Set Fault Log */
#define   VTD_GCMD_SRTP        VTD_BIT(30)          /* Set Root Table Pointer */
#define   VTD_GCMD_TE          VTD_BIT(31)          /* Translation Enable */
#define VTD_GSTS_REG        0x01c   /* Global Status */
#define   VTD_GSTS_CFIS        VTD_BIT(23)
#define   VTD_GSTS_IRTPS       VTD_BIT(24)
#define   VTD_GSTS_IRES        VTD_BIT(25)
#define   VTD_GSTS_QIES        VTD_BIT(26)
#define   VTD_GSTS_WBFS        VTD_BIT(27)
#define   VTD_GSTS_AFLS        VTD_BIT(28)
#define   VTD_GSTS_FLS         VTD_BIT(29)
#define   VTD_GSTS_RTPS        VTD_BIT(30)
#define   VTD_GSTS_TES         VTD_BIT(31)
/* One-shot commands: the status bit that reports completion, never kept in the GCMD copy. */
#define   VTD_GCMD_ONE_SHOT    (VTD_GCMD_SRTP | VTD_GCMD_SFL | VTD_GCMD_WBF | VTD_GCMD_SIRTP)
#define VTD_RTADDR_REG      0x020   /* Root Table Address */
#define   VTD_RTADDR_TTM_LEGACY   (0ull << 10)      /* Translation Table Mode */
#define   VTD_RTADDR_TTM_SCALABLE (1ull << 10)
#define   VTD_RTADDR_TTM_ABORT    (3ull << 10)      /* abort-DMA mode */
#define VTD_CCMD_REG        0x028   /* Context Command */
#define   VTD_CCMD_ICC         VTD_BIT(63)          /* Invalidate Context-Cache */
#define   VTD_CCMD_CIRG_GLOBAL (1ull << 61)         /* Context Invalidation Request Granularity */
#define   VTD_CCMD_CIRG_DOMAIN (2ull << 61)
#define   VTD_CCMD_CIRG_DEVICE (3ull << 61)
#define   VTD_CCMD_CAIG(v)     VTD_GET(v, 60, 59)   /* Actual Invalidation Granularity */
#define   VTD_CCMD_FM(m)       ((uint64_t)(m) << 32) /* Function Mask */
#define   VTD_CCMD_SID(s)      ((uint64_t)(s) << 16)
#define   VTD_CCMD_DID(d)      ((uint64_t)(d))
#define VTD_FSTS_REG        0x034   /* Fault Status */
#define   VTD_FSTS_PFO         VTD_BIT(0)           /* Primary Fault Overflow (W1C) */
#define   VTD_FSTS_PPF         VTD_BIT(1)           /* Primary Pending Fault (RO) */
#define   VTD_FSTS_IQE         VTD_BIT(4)           /* Invalidation Queue Error (W1C) */
#define   VTD_FSTS_ICE         VTD_BIT(5)           /* Invalidation Completion Error (W1C) */
#define   VTD_FSTS_ITE         VTD_BIT(6)           /* Invalidation Time-out Error (W1C) */
#define   VTD_FSTS_FRI(v)      VTD_GET(v, 15, 8)    /* Fault Record Index */
#define VTD_FECTL_REG       0x038   /* Fault Event Control */
#define   VTD_FECTL_IP         VTD_BIT(30)          /* Interrupt Pending */
#define   VTD_FECTL_IM         VTD_BIT(31)          /* Interrupt Mask */
#define VTD_FEDATA_REG      0x03c   /* Fault Event Data */
#define VTD_FEADDR_REG      0x040   /* Fault Event Address */
#define VTD_FEUADDR_REG     0x044   /* Fault Event Upper Address */
#define VTD_AFLOG_REG       0x058   /* Advanced Fault Log */
#define VTD_PMEN_REG        0x064   /* Protected Memory Enable */
#define   VTD_PMEN_EPM         VTD_BIT(31)
#define   VTD_PMEN_PRS         VTD_BIT(0)
#define VTD_IQH_REG         0x080   /* Invalidation Queue Head */
#define VTD_IQT_REG         0x088   /* Invalidation Queue Tail */
#define   VTD_IQ_QH_MASK       VTD_MASK(18, 4)      /* byte offset of a 128-bit slot */
#define VTD_IQA_REG         0x090   /* Invalidation Queue Address */
#define   VTD_IQA_ADDR_MASK    VTD_MASK(63, 12)
#define   VTD_IQA_DW           VTD_BIT(11)          /* Descriptor Width: 1 = 256-bit */
#define   VTD_IQA_QS(n)        ((uint64_t)(n) & 7)  /* Queue Size: 2^QS pages */
#define VTD_ICS_REG         0x09c   /* Invalidation Completion Status */
#define   VTD_ICS_IWC          VTD_BIT(0)           /* Invalidation Wait Descriptor Complete (W1C) */
#define VTD_IECTL_REG       0x0a0   /* Invalidation Event Control */
#define   VTD_IECTL_IP         VTD_BIT(30)
#define   VTD_IECTL_IM         VTD_BIT(31)
#define VTD_IEDATA_REG      0x0a4   /* Invalidation Event Data */
#define VTD_IEADDR_REG      0x0a8   /* Invalidation Event Address */
#define VTD_IEUADDR_REG     0x0ac   /* Invalidation Event Upper Address */
#define VTD_IQERCD_REG      0x0b0   /* Invalidation Queue Error Record */
#define   VTD_IQERCD_IQEI(v)   VTD_GET(v, 3, 0)     /* Invalidation Queue Error Info */
#define   VTD_IQERCD_ITESID(v) VTD_GET(v, 47, 32)   /* Invalidation Time-out Error Source-id */
#define   VTD_IQERCD_ICESID(v) VTD_GET(v, 63, 48)   /* Invalidation Completion Error Source-id */
#define VTD_IRTA_REG        0x0b8   /* Interrupt Remapping Table Address */
#define   VTD_IRTA_ADDR_MASK   VTD_MASK(63, 12)     /* IRTA: table base, 4 KiB aligned */
#define   VTD_IRTA_EIME        VTD_BIT(11)          /* Extended Interrupt Mode Enable (x2APIC) */
#define   VTD_IRTA_S(n)        ((uint64_t)(n) & 0xf) /* Size: 2^(S+1) entries */
#define   VTD_IRTA_S_GET(v)    VTD_GET(v, 3, 0)
#define VTD_PQH_REG         0x0c0   /* Page Request Queue Head */
#define VTD_PQT_REG         0x0c8   /* Page Request Queue Tail */
#define   VTD_PQ_QH_MASK       VTD_MASK(18, 5)      /* byte offset of a 256-bit request */
#define VTD_PQA_REG         0x0d0   /* Page Request Queue Address */
#define   VTD_PQA_ADDR_MASK    VTD_MASK(63, 12)
#define   VTD_PQA_PQS(n)       ((uint64_t)(n) & 7)  /* 2^PQS pages */
#define VTD_PRS_REG         0x0dc   /* Page Request Status */
#define   VTD_PRS_PPR          VTD_BIT(0)           /* Pending Page Request (W1C) */
#define   VTD_PRS_PRO          VTD_BIT(1)           /* Page Request Overflow (W1C) */
#define VTD_PECTL_REG       0x0e0   /* Page Request Event Control */
#define   VTD_PECTL_IP         VTD_BIT(30)
#define   VTD_PECTL_IM         VTD_BIT(31)
#define VTD_PEDATA_REG      0x0e4   /* Page Request Event Data */
#define VTD_PEADDR_REG      0x0e8   /* Page Request Event Address */
#define VTD_PEUADDR_REG     0x0ec   /* Page Request Event Upper Address */

/* Registers at offsets the capability registers give (CAP.FRO * 16, ECAP.IRO * 16). */
#define VTD_IVA_OFF         0x000   /* Invalidate Address, at IRO */
#define   VTD_IVA_AM(am)       ((uint64_t)(am) & 0x3f)
#define   VTD_IVA_IH           VTD_BIT(6)
#define VTD_IOTLB_OFF       0x008   /* IOTLB Invalidate, at IRO + 8 */
#define   VTD_IOTLB_IVT        VTD_BIT(63)          /* Invalidate IOTLB */
#define   VTD_IOTLB_IIRG_GLOBAL (1ull << 60)        /* Invalidation Request Granularity */
#define   VTD_IOTLB_IIRG_DOMAIN (2ull << 60)
#define   VTD_IOTLB_IIRG_PAGE   (3ull << 60)
#define   VTD_IOTLB_IAIG(v)    VTD_GET(v, 58, 57)   /* Actual Invalidation Granularity */
#define   VTD_IOTLB_DR         VTD_BIT(49)          /* Drain Reads */
#define   VTD_IOTLB_DW         VTD_BIT(48)          /* Drain Writes */
#define   VTD_IOTLB_DID(d)     ((uint64_t)(d) << 32)
#define VTD_FRCD_SIZE       16      /* one Fault Recording register, at FRO + 16 * i */
/* Low quadword */
#define   VTD_FRCD_LO_FI(v)    ((v) & VTD_MASK(63, 12)) /* Fault Info: page address */
#define   VTD_FRCD_LO_IR_INDEX(v) VTD_GET(v, 63, 48) /* FI of an IR fault: interrupt index */
/* High quadword */
#define   VTD_FRCD_HI_SID(v)   VTD_GET(v, 15, 0)    /* Source Identifier */
#define   VTD_FRCD_HI_T2       VTD_BIT(28)          /* Type bit 2 */
#define   VTD_FRCD_HI_PRIV     VTD_BIT(29)          /* Privilege Mode Requested */
#define   VTD_FRCD_HI_EXE      VTD_BIT(30)          /* Execute Permission Requested */
#define   VTD_FRCD_HI_PP       VTD_BIT(31)          /* PASID Present */
#define   VTD_FRCD_HI_FR(v)    VTD_GET(v, 39, 32)   /* Fault Reason */
#define   VTD_FRCD_HI_PV(v)    VTD_GET(v, 59, 40)   /* PASID Value */
#define   VTD_FRCD_HI_AT(v)    VTD_GET(v, 61, 60)   /* Address Type */
#define   VTD_FRCD_HI_T1       VTD_BIT(62)          /* Type bit 1: 1 = read, 0 = write */
#define   VTD_FRCD_HI_F        VTD_BIT(63)          /* Fault (W1C) */

/* clang-format on */

#endif /* VTD_REGS_H */
