/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Virtio 1.x over PCI (modern transport only) and split virtqueues, as pure logic: register
 * tables named as in the Virtio 1.2 specification, the walk over the function's virtio vendor
 * capabilities (4.1.4), the device-status handshake with bounded waits (3.1.1), and a split
 * virtqueue (2.7) whose memory the caller provides together with the device addresses (IOVAs) of
 * that memory. Register access goes through a small accessor so the same code runs against a
 * mapped BAR on the target and against a model in host tests.
 */
#ifndef VIRTIO_VIRTIO_H
#define VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pci/pci.h>

/* ---- PCI capabilities (Virtio 1.2, 4.1.4) ----------------------------------------------------- */
#define VIRTIO_PCI_VENDOR_ID     0x1af4u
#define VIRTIO_PCI_MODERN_DEVICE 0x1040u /* + virtio device id (rng: 4 -> 0x1044) */
#define VIRTIO_ID_RNG            4u

#define VIRTIO_PCI_CAP_VNDR      0x09u /* cap_vndr: PCI vendor-specific capability */
#define VIRTIO_PCI_CAP_CFG_TYPE  0x03u /* byte offsets inside struct virtio_pci_cap */
#define VIRTIO_PCI_CAP_BAR       0x04u
#define VIRTIO_PCI_CAP_OFFSET    0x08u
#define VIRTIO_PCI_CAP_LENGTH    0x0cu
#define VIRTIO_PCI_NOTIFY_CAP_MULT 0x10u /* notify_off_multiplier (notify cap only) */
#define VIRTIO_PCI_CAP_LEN_MIN   16u
#define VIRTIO_PCI_NOTIFY_CAP_LEN_MIN 20u

enum virtio_pci_cfg_type {
    VIRTIO_PCI_CAP_COMMON_CFG = 1,
    VIRTIO_PCI_CAP_NOTIFY_CFG = 2,
    VIRTIO_PCI_CAP_ISR_CFG = 3,
    VIRTIO_PCI_CAP_DEVICE_CFG = 4,
    VIRTIO_PCI_CAP_PCI_CFG = 5,
};

/* ---- common configuration structure (4.1.4.3), offsets in the structure --------------------- */
#define VIRTIO_COMMON_DFSELECT      0x00 /* le32 device_feature_select */
#define VIRTIO_COMMON_DF            0x04 /* le32 device_feature */
#define VIRTIO_COMMON_GFSELECT      0x08 /* le32 driver_feature_select */
#define VIRTIO_COMMON_GF            0x0c /* le32 driver_feature */
#define VIRTIO_COMMON_MSIX          0x10 /* le16 config_msix_vector */
#define VIRTIO_COMMON_NUMQ          0x12 /* le16 num_queues */
#define VIRTIO_COMMON_STATUS        0x14 /* u8 device_status */
#define VIRTIO_COMMON_CFGGEN        0x15 /* u8 config_generation */
#define VIRTIO_COMMON_Q_SELECT      0x16 /* le16 queue_select */
#define VIRTIO_COMMON_Q_SIZE        0x18 /* le16 queue_size */
#define VIRTIO_COMMON_Q_MSIX        0x1a /* le16 queue_msix_vector */
#define VIRTIO_COMMON_Q_ENABLE      0x1c /* le16 queue_enable */
#define VIRTIO_COMMON_Q_NOFF        0x1e /* le16 queue_notify_off */
#define VIRTIO_COMMON_Q_DESCLO      0x20 /* le64 queue_desc */
#define VIRTIO_COMMON_Q_DESCHI      0x24
#define VIRTIO_COMMON_Q_AVAILLO     0x28 /* le64 queue_driver */
#define VIRTIO_COMMON_Q_AVAILHI     0x2c
#define VIRTIO_COMMON_Q_USEDLO      0x30 /* le64 queue_device */
#define VIRTIO_COMMON_Q_USEDHI      0x34
#define VIRTIO_COMMON_SIZE          0x38
#define VIRTIO_MSI_NO_VECTOR        0xffffu

/* device_status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE      0x01u
#define VIRTIO_STATUS_DRIVER           0x02u
#define VIRTIO_STATUS_DRIVER_OK        0x04u
#define VIRTIO_STATUS_FEATURES_OK      0x08u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED           0x80u

/* ISR status (4.1.4.5) */
#define VIRTIO_ISR_QUEUE  0x01u
#define VIRTIO_ISR_CONFIG 0x02u

/* feature bits (6) */
#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED     34

/* ---- split virtqueue (2.7) -------------------------------------------------------------------- */
#define VIRTQ_DESC_F_NEXT  1u
#define VIRTQ_DESC_F_WRITE 2u /* device writes (otherwise reads) the buffer */

struct virtq_desc {
    uint64_t addr; /* le64 device address */
    uint32_t len;  /* le32 */
    uint16_t flags;
    uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes (2.7.5)");

struct virtq_used_elem {
    uint32_t id;  /* head descriptor index of the chain */
    uint32_t len; /* bytes written into the chain */
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem is 8 bytes (2.7.8)");

/* Bytes each part needs for a queue of n entries (without event-index fields' use). */
#define VIRTQ_DESC_BYTES(n)  ((size_t)(n) * 16u)
#define VIRTQ_AVAIL_BYTES(n) (6u + 2u * (size_t)(n))
#define VIRTQ_USED_BYTES(n)  (6u + 8u * (size_t)(n))

enum virtio_err {
    VIRTIO_OK = 0,
    VIRTIO_ERR_INVALID,   /* bad argument */
    VIRTIO_ERR_NOT_FOUND, /* a required capability is missing */
    VIRTIO_ERR_MALFORMED, /* capability or register contents contradict the spec */
    VIRTIO_ERR_FEATURES,  /* the device lacks a required feature or refused FEATURES_OK */
    VIRTIO_ERR_TIMEOUT,   /* a bounded wait expired (reset) */
    VIRTIO_ERR_FULL,      /* no free descriptors */
    VIRTIO_ERR_DEVICE,    /* the device wrote something impossible (used ring), or reads all-ones */
    VIRTIO_ERR_EMPTY,     /* nothing in the used ring */
};
const char *virtio_errname(int err);

/* One virtio structure: where it lives (BAR index, offset, length). */
struct virtio_pci_region {
    bool present;
    uint8_t bar;
    uint32_t offset;
    uint32_t length;
};
struct virtio_pci_caps {
    struct virtio_pci_region common, notify, isr, device;
    uint32_t notify_off_multiplier;
};
/*
 * Walks the standard capability list for virtio vendor capabilities; the first of each type
 * counts (4.1.4: the driver uses the first it can). Requires common, notify and ISR; each must
 * name a BAR 0..5 and a range that does not overflow; common must hold VIRTIO_COMMON_SIZE bytes.
 */
int virtio_pci_find_caps(const struct pci_ecam *ecam, pci_sid_t sid, struct virtio_pci_caps *out);

/* ---- the transport ------------------------------------------------------------------------------ */
/* Register access to the BAR(s) holding the structures: offsets are BAR offsets. */
struct virtio_io {
    void *ctx;
    uint32_t (*read)(void *ctx, unsigned bar, uint64_t off, unsigned width);
    void (*write)(void *ctx, unsigned bar, uint64_t off, unsigned width, uint32_t val);
    uint64_t (*now_us)(void *ctx);
    void (*relax)(void *ctx);
};

struct virtio_dev {
    struct virtio_io io;
    struct virtio_pci_caps caps;
    uint64_t device_features;
    uint64_t driver_features;
};

void virtio_dev_init(struct virtio_dev *d, const struct virtio_io *io,
                     const struct virtio_pci_caps *caps);
/* Writes 0 to device_status and waits (until timeout_us) for it to read back 0 (4.1.4.3.2). */
int virtio_reset(struct virtio_dev *d, uint64_t timeout_us);
uint8_t virtio_status(const struct virtio_dev *d);
void virtio_set_status(struct virtio_dev *d, uint8_t bits); /* ORs bits into device_status */
/*
 * Feature negotiation (3.1.1 steps 4-6): reads the 64 device feature bits, requires every bit of
 * `required`, accepts those of `wanted` the device offers, writes them, sets FEATURES_OK and
 * checks the device kept it. VIRTIO_ERR_FEATURES (status FAILED set) otherwise.
 */
int virtio_negotiate(struct virtio_dev *d, uint64_t required, uint64_t wanted);
uint8_t virtio_isr_read(const struct virtio_dev *d); /* reading clears it */
uint16_t virtio_num_queues(const struct virtio_dev *d);

/* A split virtqueue. The caller provides the three parts, zeroed, and their device addresses. */
#define VIRTQ_MAX 256u
struct virtq {
    uint16_t index;
    uint16_t size;        /* power of two, <= VIRTQ_MAX */
    volatile struct virtq_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
    volatile uint8_t *used;   /* flags, idx, ring[size] of virtq_used_elem, avail_event */
    uint64_t desc_dev, avail_dev, used_dev;
    uint64_t notify_off; /* BAR offset of this queue's notify register */
    uint16_t free_head;
    uint16_t num_free;
    uint16_t last_used;
    uint16_t avail_idx;
    uint32_t buf_len[VIRTQ_MAX]; /* length offered per head (0 = free) */
};

/*
 * Selects queue `index`, takes min(device size, max_size) entries (a power of two), programs the
 * addresses and `msix_vector` (VIRTIO_MSI_NO_VECTOR: none), and checks the vector was accepted.
 * The memory must hold VIRTQ_DESC_BYTES/AVAIL/USED of the chosen size (*size on return, at most
 * max_size) and be aligned 16/2/4. Does not enable the queue.
 */
int virtq_setup(struct virtio_dev *d, struct virtq *q, uint16_t index, uint16_t max_size,
                void *desc, uint64_t desc_dev, void *avail, uint64_t avail_dev, void *used,
                uint64_t used_dev, uint16_t msix_vector);
void virtq_enable(struct virtio_dev *d, struct virtq *q);
/* Offers one device-writable buffer (dev address, len); *head = its descriptor. */
int virtq_add_inbuf(struct virtq *q, uint64_t dev_addr, uint32_t len, uint16_t *head);
/* Tells the device about new buffers (notify register of the queue). */
void virtq_kick(struct virtio_dev *d, struct virtq *q);
/*
 * Takes one used element: *head and *len (bytes written). VIRTIO_ERR_EMPTY if none;
 * VIRTIO_ERR_DEVICE if the device named a descriptor that was not offered or claims more bytes
 * than the buffer holds (the element is consumed, the descriptor is not freed twice).
 */
int virtq_get_used(struct virtq *q, uint16_t *head, uint32_t *len);

#endif /* VIRTIO_VIRTIO_H */
