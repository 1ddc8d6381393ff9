/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PCI / PCI Express configuration-space register layouts, named as in the PCI Local Bus 3.0 and
 * PCI Express Base 6.x specifications (section numbers refer to PCIe 6.0). One table per
 * structure: register offsets relative to the header or to the capability, bit fields indented
 * underneath. Pure definitions; the code that uses them is in libs/libpci/src.
 */
#ifndef PCI_REGS_H
#define PCI_REGS_H

/* ---- Type 0/1 common header (PCIe 7.5.1.1) ---- */
#define PCI_VENDOR_ID          0x00 /* Vendor ID (16) */
#define   PCI_VENDOR_ID_NONE   0xffffu /* what a read of an absent function returns */
#define PCI_DEVICE_ID          0x02 /* Device ID (16) */
#define PCI_COMMAND            0x04 /* Command (16) */
#define   PCI_COMMAND_IO            (1u << 0)  /* I/O Space Enable */
#define   PCI_COMMAND_MEMORY        (1u << 1)  /* Memory Space Enable */
#define   PCI_COMMAND_BUS_MASTER    (1u << 2)  /* Bus Master Enable */
#define   PCI_COMMAND_PARITY        (1u << 6)  /* Parity Error Response */
#define   PCI_COMMAND_SERR          (1u << 8)  /* SERR# Enable */
#define   PCI_COMMAND_INTX_DISABLE  (1u << 10) /* Interrupt Disable */
#define PCI_STATUS             0x06 /* Status (16) */
#define   PCI_STATUS_INTX           (1u << 3)  /* Interrupt Status */
#define   PCI_STATUS_CAP_LIST       (1u << 4)  /* Capabilities List */
#define PCI_REVISION_ID        0x08 /* Revision ID (8) */
#define PCI_CLASS_PROG         0x09 /* Programming Interface (8) */
#define PCI_CLASS_DEVICE       0x0a /* Sub-Class (8) and Base Class (8) */
#define PCI_CACHE_LINE_SIZE    0x0c
#define PCI_LATENCY_TIMER      0x0d
#define PCI_HEADER_TYPE        0x0e /* Header Type (8) */
#define   PCI_HEADER_TYPE_MASK      0x7fu
#define   PCI_HEADER_TYPE_NORMAL    0x00u
#define   PCI_HEADER_TYPE_BRIDGE    0x01u
#define   PCI_HEADER_TYPE_CARDBUS   0x02u
#define   PCI_HEADER_TYPE_MULTIFN   0x80u /* Multi-Function Device */
#define PCI_BIST               0x0f
#define PCI_BASE_ADDRESS_0     0x10 /* Base Address Registers: 6 (type 0) or 2 (type 1) dwords */
#define   PCI_BAR_SPACE_IO          (1u << 0)  /* Memory Space Indicator: 1 = I/O */
#define   PCI_BAR_MEM_TYPE_MASK     (3u << 1)  /* Memory type */
#define   PCI_BAR_MEM_TYPE_32       (0u << 1)
#define   PCI_BAR_MEM_TYPE_64       (2u << 1)
#define   PCI_BAR_MEM_PREFETCH      (1u << 3)  /* Prefetchable */
#define   PCI_BAR_MEM_MASK          0xfffffff0u
#define   PCI_BAR_IO_MASK           0xfffffffcu
#define PCI_CAPABILITY_LIST    0x34 /* Capabilities Pointer (8) */
#define PCI_INTERRUPT_LINE     0x3c
#define PCI_INTERRUPT_PIN      0x3d
#define PCI_STD_HEADER_END     0x40 /* capabilities live in [0x40, 0x100) */
#define PCI_CFG_SPACE_SIZE     0x100
#define PCI_CFG_SPACE_EXP_SIZE 0x1000

/* Type 0 only */
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30

/* ---- Type 1 (bridge) header (PCIe 7.5.1.3) ---- */
#define PCI_PRIMARY_BUS        0x18 /* Primary Bus Number (8) */
#define PCI_SECONDARY_BUS      0x19 /* Secondary Bus Number (8) */
#define PCI_SUBORDINATE_BUS    0x1a /* Subordinate Bus Number (8) */
#define PCI_SEC_LATENCY_TIMER  0x1b
#define PCI_IO_BASE            0x1c
#define PCI_IO_LIMIT           0x1d
#define PCI_SEC_STATUS         0x1e
#define PCI_MEMORY_BASE        0x20
#define PCI_MEMORY_LIMIT       0x22
#define PCI_PREF_MEMORY_BASE   0x24
#define PCI_PREF_MEMORY_LIMIT  0x26
#define PCI_PREF_BASE_UPPER32  0x28
#define PCI_PREF_LIMIT_UPPER32 0x2c
#define PCI_BRIDGE_CONTROL     0x3e
#define   PCI_BRIDGE_CTL_SEC_BUS_RESET (1u << 6) /* Secondary Bus Reset */

/* ---- Capability IDs (PCI Code and ID Assignment 1.11, chapter 2) ---- */
#define PCI_CAP_ID_PM          0x01 /* Power Management */
#define PCI_CAP_ID_MSI         0x05 /* Message Signalled Interrupts */
#define PCI_CAP_ID_VNDR        0x09 /* Vendor Specific */
#define PCI_CAP_ID_SSVID       0x0d /* Bridge Subsystem Vendor ID */
#define PCI_CAP_ID_EXP         0x10 /* PCI Express */
#define PCI_CAP_ID_MSIX        0x11 /* MSI-X */
#define PCI_CAP_ID_SATA        0x12

/* Standard capability header */
#define PCI_CAP_ID             0x00 /* Capability ID (8) */
#define PCI_CAP_NEXT           0x01 /* Next Capability Pointer (8); bits 1:0 reserved, masked */
#define   PCI_CAP_PTR_MASK     0xfcu

/* ---- Extended capability header (PCIe 7.6.3), starting at 0x100 ---- */
#define PCI_EXT_CAP_START      0x100
#define PCI_EXT_CAP_ID(h)      ((h) & 0xffffu)           /* PCI Express Extended Capability ID */
#define PCI_EXT_CAP_VER(h)     (((h) >> 16) & 0xfu)      /* Capability Version */
#define PCI_EXT_CAP_NEXT(h)    (((h) >> 20) & 0xffcu)    /* Next Capability Offset, bits 1:0 masked */

#define PCI_EXT_CAP_ID_AER     0x0001 /* Advanced Error Reporting */
#define PCI_EXT_CAP_ID_ACS     0x000d /* Access Control Services */
#define PCI_EXT_CAP_ID_ARI     0x000e /* Alternative Routing-ID Interpretation */
#define PCI_EXT_CAP_ID_ATS     0x000f /* Address Translation Services */
#define PCI_EXT_CAP_ID_PRI     0x0013 /* Page Request Interface */
#define PCI_EXT_CAP_ID_PASID   0x001b /* Process Address Space ID */
#define PCI_EXT_CAP_ID_DPC     0x001d /* Downstream Port Containment */

/* ---- PCI Express Capability (PCIe 7.5.3) ---- */
#define PCI_EXP_FLAGS          0x02 /* PCI Express Capabilities Register (16) */
#define   PCI_EXP_FLAGS_VERS_MASK   0x000fu         /* Capability Version */
#define   PCI_EXP_FLAGS_TYPE_SHIFT  4               /* Device/Port Type */
#define   PCI_EXP_FLAGS_TYPE_MASK   (0xfu << 4)
#define   PCI_EXP_FLAGS_SLOT        (1u << 8)       /* Slot Implemented */
#define   PCI_EXP_FLAGS_IRQ_SHIFT   9               /* Interrupt Message Number */
#define PCI_EXP_DEVCAP         0x04 /* Device Capabilities (32) */
#define   PCI_EXP_DEVCAP_PAYLOAD_MASK 0x7u          /* Max_Payload_Size Supported */
#define   PCI_EXP_DEVCAP_FLR        (1u << 28)      /* Function Level Reset Capability */
#define PCI_EXP_DEVCTL         0x08 /* Device Control (16) */
#define   PCI_EXP_DEVCTL_BCR_FLR    (1u << 15)      /* Initiate Function Level Reset */
#define PCI_EXP_DEVSTA         0x0a /* Device Status (16) */
#define   PCI_EXP_DEVSTA_TRPND      (1u << 5)       /* Transactions Pending */
#define PCI_EXP_LNKCAP         0x0c /* Link Capabilities (32) */
#define   PCI_EXP_LNKCAP_SLS_MASK   0xfu            /* Max Link Speed */
#define   PCI_EXP_LNKCAP_MLW_SHIFT  4               /* Maximum Link Width */
#define   PCI_EXP_LNKCAP_MLW_MASK   (0x3fu << 4)
#define   PCI_EXP_LNKCAP_DLLLARC    (1u << 20)      /* Data Link Layer Link Active Reporting Capable */
#define   PCI_EXP_LNKCAP_PN_SHIFT   24              /* Port Number */
#define PCI_EXP_LNKCTL         0x10 /* Link Control (16) */
#define   PCI_EXP_LNKCTL_LD         (1u << 4)       /* Link Disable */
#define   PCI_EXP_LNKCTL_RL         (1u << 5)       /* Retrain Link */
#define PCI_EXP_LNKSTA         0x12 /* Link Status (16) */
#define   PCI_EXP_LNKSTA_CLS_MASK   0xfu            /* Current Link Speed */
#define   PCI_EXP_LNKSTA_NLW_SHIFT  4               /* Negotiated Link Width */
#define   PCI_EXP_LNKSTA_NLW_MASK   (0x3fu << 4)
#define   PCI_EXP_LNKSTA_LT         (1u << 11)      /* Link Training */
#define   PCI_EXP_LNKSTA_DLLLA      (1u << 13)      /* Data Link Layer Link Active */
#define PCI_EXP_SLTCAP         0x14 /* Slot Capabilities (32) */
#define   PCI_EXP_SLTCAP_ABP        (1u << 0)       /* Attention Button Present */
#define   PCI_EXP_SLTCAP_PCP        (1u << 1)       /* Power Controller Present */
#define   PCI_EXP_SLTCAP_MRLSP      (1u << 2)       /* MRL Sensor Present */
#define   PCI_EXP_SLTCAP_AIP        (1u << 3)       /* Attention Indicator Present */
#define   PCI_EXP_SLTCAP_PIP        (1u << 4)       /* Power Indicator Present */
#define   PCI_EXP_SLTCAP_HPS        (1u << 5)       /* Hot-Plug Surprise */
#define   PCI_EXP_SLTCAP_HPC        (1u << 6)       /* Hot-Plug Capable */
#define   PCI_EXP_SLTCAP_EIP        (1u << 17)      /* Electromechanical Interlock Present */
#define   PCI_EXP_SLTCAP_NCCS       (1u << 18)      /* No Command Completed Support */
#define   PCI_EXP_SLTCAP_PSN_SHIFT  19              /* Physical Slot Number */
#define   PCI_EXP_SLTCAP_PSN_MASK   (0x1fffu << 19)
#define PCI_EXP_SLTCTL         0x18 /* Slot Control (16) */
#define   PCI_EXP_SLTCTL_ABPE       (1u << 0)       /* Attention Button Pressed Enable */
#define   PCI_EXP_SLTCTL_PFDE       (1u << 1)       /* Power Fault Detected Enable */
#define   PCI_EXP_SLTCTL_MRLSCE     (1u << 2)       /* MRL Sensor Changed Enable */
#define   PCI_EXP_SLTCTL_PDCE       (1u << 3)       /* Presence Detect Changed Enable */
#define   PCI_EXP_SLTCTL_CCIE       (1u << 4)       /* Command Completed Interrupt Enable */
#define   PCI_EXP_SLTCTL_HPIE       (1u << 5)       /* Hot-Plug Interrupt Enable */
#define   PCI_EXP_SLTCTL_AIC_MASK   (3u << 6)       /* Attention Indicator Control */
#define   PCI_EXP_SLTCTL_PIC_MASK   (3u << 8)       /* Power Indicator Control */
#define     PCI_EXP_SLTCTL_IND_ON    1u             /*   indicator encodings (field value) */
#define     PCI_EXP_SLTCTL_IND_BLINK 2u
#define     PCI_EXP_SLTCTL_IND_OFF   3u
#define   PCI_EXP_SLTCTL_AIC_SHIFT  6
#define   PCI_EXP_SLTCTL_PIC_SHIFT  8
#define   PCI_EXP_SLTCTL_PCC        (1u << 10)      /* Power Controller Control: 1 = power off */
#define   PCI_EXP_SLTCTL_EIC        (1u << 11)      /* Electromechanical Interlock Control */
#define   PCI_EXP_SLTCTL_DLLSCE     (1u << 12)      /* Data Link Layer State Changed Enable */
#define PCI_EXP_SLTSTA         0x1a /* Slot Status (16); change bits are RW1C */
#define   PCI_EXP_SLTSTA_ABP        (1u << 0)       /* Attention Button Pressed */
#define   PCI_EXP_SLTSTA_PFD        (1u << 1)       /* Power Fault Detected */
#define   PCI_EXP_SLTSTA_MRLSC      (1u << 2)       /* MRL Sensor Changed */
#define   PCI_EXP_SLTSTA_PDC        (1u << 3)       /* Presence Detect Changed */
#define   PCI_EXP_SLTSTA_CC         (1u << 4)       /* Command Completed */
#define   PCI_EXP_SLTSTA_MRLSS      (1u << 5)       /* MRL Sensor State */
#define   PCI_EXP_SLTSTA_PDS        (1u << 6)       /* Presence Detect State */
#define   PCI_EXP_SLTSTA_EIS        (1u << 7)       /* Electromechanical Interlock Status */
#define   PCI_EXP_SLTSTA_DLLSC      (1u << 8)       /* Data Link Layer State Changed */
#define   PCI_EXP_SLTSTA_EVENTS     0x011fu         /* every RW1C event bit above */
#define PCI_EXP_RTCTL          0x1c /* Root Control (16) */
#define PCI_EXP_RTSTA          0x20 /* Root Status (32) */
#define PCI_EXP_DEVCAP2        0x24 /* Device Capabilities 2 (32) */
#define PCI_EXP_DEVCTL2        0x28 /* Device Control 2 (16) */
#define PCI_EXP_LNKCAP2        0x2c
#define PCI_EXP_LNKCTL2        0x30
#define PCI_EXP_LNKSTA2        0x32
#define PCI_EXP_SLTCAP2        0x34
#define PCI_EXP_SLTCTL2        0x38
#define PCI_EXP_SLTSTA2        0x3a
#define PCI_EXP_CAP_SIZEOF_V2  0x3c /* size of a version-2 PCIe capability structure */
#define PCI_EXP_CAP_SIZEOF_V1  0x24 /* version 1: registers up to Root Status */

/* Device/Port Type values (PCI_EXP_FLAGS_TYPE) */
#define PCI_EXP_TYPE_ENDPOINT     0x0 /* PCI Express Endpoint */
#define PCI_EXP_TYPE_LEG_END      0x1 /* Legacy PCI Express Endpoint */
#define PCI_EXP_TYPE_RC_END       0x9 /* Root Complex Integrated Endpoint */
#define PCI_EXP_TYPE_RC_EC        0xa /* Root Complex Event Collector */
#define PCI_EXP_TYPE_ROOT_PORT    0x4 /* Root Port of PCI Express Root Complex */
#define PCI_EXP_TYPE_UPSTREAM     0x5 /* Upstream Port of PCI Express Switch */
#define PCI_EXP_TYPE_DOWNSTREAM   0x6 /* Downstream Port of PCI Express Switch */
#define PCI_EXP_TYPE_PCIE_BRIDGE  0x7 /* PCI Express to PCI/PCI-X Bridge */
#define PCI_EXP_TYPE_PCI_BRIDGE   0x8 /* PCI/PCI-X to PCI Express Bridge */

/* ---- MSI Capability (PCIe 7.7.1) ---- */
#define PCI_MSI_FLAGS          0x02 /* Message Control (16) */
#define   PCI_MSI_FLAGS_ENABLE      (1u << 0)       /* MSI Enable */
#define   PCI_MSI_FLAGS_QMASK       (7u << 1)       /* Multiple Message Capable (log2) */
#define   PCI_MSI_FLAGS_QSIZE       (7u << 4)       /* Multiple Message Enable (log2) */
#define   PCI_MSI_FLAGS_QSIZE_SHIFT 4
#define   PCI_MSI_FLAGS_64BIT       (1u << 7)       /* 64 bit address capable */
#define   PCI_MSI_FLAGS_MASKBIT     (1u << 8)       /* Per-Vector Masking Capable */
#define PCI_MSI_ADDRESS_LO     0x04 /* Message Address (32) */
#define PCI_MSI_ADDRESS_HI     0x08 /* Message Upper Address (64-bit capable only) */
#define PCI_MSI_DATA_32        0x08 /* Message Data, 32-bit layout */
#define PCI_MSI_MASK_32        0x0c /* Mask Bits, 32-bit layout */
#define PCI_MSI_PENDING_32     0x10
#define PCI_MSI_DATA_64        0x0c /* Message Data, 64-bit layout */
#define PCI_MSI_MASK_64        0x10 /* Mask Bits, 64-bit layout */
#define PCI_MSI_PENDING_64     0x14

/* ---- MSI-X Capability (PCIe 7.7.2) ---- */
#define PCI_MSIX_FLAGS         0x02 /* Message Control (16) */
#define   PCI_MSIX_FLAGS_QSIZE      0x07ffu         /* Table Size (N-1) */
#define   PCI_MSIX_FLAGS_MASKALL    (1u << 14)      /* Function Mask */
#define   PCI_MSIX_FLAGS_ENABLE     (1u << 15)      /* MSI-X Enable */
#define PCI_MSIX_TABLE         0x04 /* Table Offset/Table BIR (32) */
#define   PCI_MSIX_BIR_MASK         0x7u
#define   PCI_MSIX_OFFSET_MASK      0xfffffff8u
#define PCI_MSIX_PBA           0x08 /* PBA Offset/PBA BIR (32) */
/* MSI-X table entry, in memory space behind a BAR (PCIe 7.7.2.6) */
#define PCI_MSIX_ENTRY_SIZE        16
#define PCI_MSIX_ENTRY_LOWER_ADDR  0x0
#define PCI_MSIX_ENTRY_UPPER_ADDR  0x4
#define PCI_MSIX_ENTRY_DATA        0x8
#define PCI_MSIX_ENTRY_VECTOR_CTRL 0xc
#define   PCI_MSIX_ENTRY_CTRL_MASKBIT (1u << 0)    /* Mask Bit */

/* ---- ATS Extended Capability (PCIe 10.5.1) ---- */
#define PCI_ATS_CAP            0x04 /* ATS Capability (16) */
#define   PCI_ATS_CAP_QDEP_MASK     0x1fu           /* Invalidate Queue Depth (0 = 32) */
#define   PCI_ATS_CAP_PAGE_ALIGNED  (1u << 5)       /* Page Aligned Request */
#define   PCI_ATS_CAP_GLOBAL_INV    (1u << 6)       /* Global Invalidate Supported */
#define   PCI_ATS_CAP_RELAXED_ORDER (1u << 7)       /* Relaxed Ordering Supported */
#define PCI_ATS_CTRL           0x06 /* ATS Control (16) */
#define   PCI_ATS_CTRL_STU_MASK     0x1fu           /* Smallest Translation Unit: 2^(12+STU) */
#define   PCI_ATS_CTRL_ENABLE       (1u << 15)      /* Enable */
#define PCI_ATS_SIZEOF         0x08

/* ---- Page Request Extended Capability (PCIe 10.5.2) ---- */
#define PCI_PRI_CTRL           0x04 /* Page Request Control (16) */
#define   PCI_PRI_CTRL_ENABLE       (1u << 0)       /* Enable */
#define   PCI_PRI_CTRL_RESET        (1u << 1)       /* Reset */
#define PCI_PRI_STATUS         0x06 /* Page Request Status (16) */
#define   PCI_PRI_STATUS_RF         (1u << 0)       /* Response Failure (RW1C) */
#define   PCI_PRI_STATUS_UPRGI      (1u << 1)       /* Unexpected Page Request Group Index (RW1C) */
#define   PCI_PRI_STATUS_STOPPED    (1u << 8)       /* Stopped */
#define   PCI_PRI_STATUS_PASID      (1u << 15)      /* PRG Response PASID Required */
#define PCI_PRI_MAX_REQ        0x08 /* Outstanding Page Request Capacity (32) */
#define PCI_PRI_ALLOC_REQ      0x0c /* Outstanding Page Request Allocation (32) */
#define PCI_PRI_SIZEOF         0x10

/* ---- PASID Extended Capability (PCIe 7.8.9) ---- */
#define PCI_PASID_CAP          0x04 /* PASID Capability (16) */
#define   PCI_PASID_CAP_EXEC        (1u << 1)       /* Execute Permission Supported */
#define   PCI_PASID_CAP_PRIV        (1u << 2)       /* Privileged Mode Supported */
#define   PCI_PASID_CAP_WIDTH_SHIFT 8               /* Max PASID Width */
#define   PCI_PASID_CAP_WIDTH_MASK  (0x1fu << 8)
#define PCI_PASID_CTRL         0x06 /* PASID Control (16) */
#define   PCI_PASID_CTRL_ENABLE     (1u << 0)       /* PASID Enable */
#define   PCI_PASID_CTRL_EXEC       (1u << 1)       /* Execute Permission Enable */
#define   PCI_PASID_CTRL_PRIV       (1u << 2)       /* Privileged Mode Enable */
#define PCI_PASID_SIZEOF       0x08

#endif /* PCI_REGS_H */
