/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Virtio 1.x modern PCI transport and split virtqueues (see virtio/virtio.h). Everything read
 * from the device (capabilities, queue size, used ring) is checked before it is used: a
 * malicious or vanished device gets an error, never an out-of-bounds access. Barriers: the
 * avail ring entry is written before avail->idx, and avail->idx before the notify write (2.7.13).
 */
#include <string.h>

#include <virtio/virtio.h>

const char *virtio_errname(int err)
{
    static const char *const names[] = {
        [VIRTIO_OK] = "ok",
        [VIRTIO_ERR_INVALID] = "invalid argument",
        [VIRTIO_ERR_NOT_FOUND] = "required capability missing",
        [VIRTIO_ERR_MALFORMED] = "capability or register contradicts the spec",
        [VIRTIO_ERR_FEATURES] = "feature negotiation failed",
        [VIRTIO_ERR_TIMEOUT] = "bounded wait expired",
        [VIRTIO_ERR_FULL] = "no free descriptors",
        [VIRTIO_ERR_DEVICE] = "device wrote an impossible used element, or is gone",
        [VIRTIO_ERR_EMPTY] = "used ring empty",
    };
    return err >= 0 && (size_t)err < sizeof(names) / sizeof(names[0]) ? names[err] : "?";
}

/* ---- capabilities ---- */

int virtio_pci_find_caps(const struct pci_ecam *ecam, pci_sid_t sid, struct virtio_pci_caps *out)
{
    if (ecam == NULL || out == NULL) {
        return VIRTIO_ERR_INVALID;
    }
    struct virtio_pci_caps caps;
    memset(&caps, 0, sizeof(caps));
    struct pci_cap_iter it;
    pci_cap_iter_init(&it, ecam, sid, false);
    uint16_t off, id;
    int err;
    while ((err = pci_cap_iter_next(&it, &off, &id, NULL)) == PCI_OK) {
        if (id != VIRTIO_PCI_CAP_VNDR) {
            continue;
        }
        uint8_t cap_len = pci_cfg_read8(ecam, sid, (uint16_t)(off + 2));
        if (cap_len < VIRTIO_PCI_CAP_LEN_MIN || off + cap_len > 0x100) {
            return VIRTIO_ERR_MALFORMED;
        }
        uint8_t type = pci_cfg_read8(ecam, sid, (uint16_t)(off + VIRTIO_PCI_CAP_CFG_TYPE));
        struct virtio_pci_region r = {
            .present = true,
            .bar = pci_cfg_read8(ecam, sid, (uint16_t)(off + VIRTIO_PCI_CAP_BAR)),
            .offset = pci_cfg_read32(ecam, sid, (uint16_t)(off + VIRTIO_PCI_CAP_OFFSET)),
            .length = pci_cfg_read32(ecam, sid, (uint16_t)(off + VIRTIO_PCI_CAP_LENGTH)),
        };
        struct virtio_pci_region *slot = NULL;
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            slot = &caps.common;
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            slot = &caps.notify;
            break;
        case VIRTIO_PCI_CAP_ISR_CFG:
            slot = &caps.isr;
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            slot = &caps.device;
            break;
        default:
            continue; /* PCI cfg access, shared memory, vendor: not used */
        }
        if (slot->present) {
            continue; /* the first one of a type wins */
        }
        if (r.bar > 5) {
            continue; /* 4.1.4: reserved BAR values: the driver ignores the capability */
        }
        if ((uint64_t)r.offset + r.length > 0xffffffffull) {
            return VIRTIO_ERR_MALFORMED;
        }
        if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
            if (cap_len < VIRTIO_PCI_NOTIFY_CAP_LEN_MIN) {
                return VIRTIO_ERR_MALFORMED;
            }
            caps.notify_off_multiplier =
                pci_cfg_read32(ecam, sid, (uint16_t)(off + VIRTIO_PCI_NOTIFY_CAP_MULT));
        }
        *slot = r;
    }
    if (err != PCI_ERR_NOT_FOUND) {
        return err == PCI_ERR_ABSENT ? VIRTIO_ERR_DEVICE : VIRTIO_ERR_MALFORMED;
    }
    if (!caps.common.present || !caps.notify.present || !caps.isr.present) {
        return VIRTIO_ERR_NOT_FOUND;
    }
    if (caps.common.length < VIRTIO_COMMON_SIZE || caps.isr.length < 1 || caps.notify.length < 2) {
        return VIRTIO_ERR_MALFORMED;
    }
    *out = caps;
    return VIRTIO_OK;
}

/* ---- register access ---- */

static uint32_t cread(const struct virtio_dev *d, unsigned off, unsigned width)
{
    return d->io.read(d->io.ctx, d->caps.common.bar, d->caps.common.offset + off, width);
}

static void cwrite(struct virtio_dev *d, unsigned off, unsigned width, uint32_t val)
{
    d->io.write(d->io.ctx, d->caps.common.bar, d->caps.common.offset + off, width, val);
}

void virtio_dev_init(struct virtio_dev *d, const struct virtio_io *io,
                     const struct virtio_pci_caps *caps)
{
    memset(d, 0, sizeof(*d));
    d->io = *io;
    d->caps = *caps;
}

uint8_t virtio_status(const struct virtio_dev *d)
{
    return (uint8_t)cread(d, VIRTIO_COMMON_STATUS, 1);
}

void virtio_set_status(struct virtio_dev *d, uint8_t bits)
{
    cwrite(d, VIRTIO_COMMON_STATUS, 1, virtio_status(d) | bits);
}

int virtio_reset(struct virtio_dev *d, uint64_t timeout_us)
{
    cwrite(d, VIRTIO_COMMON_STATUS, 1, 0);
    uint64_t start = d->io.now_us(d->io.ctx);
    for (;;) {
        uint32_t st = cread(d, VIRTIO_COMMON_STATUS, 1);
        if (st == 0) {
            return VIRTIO_OK;
        }
        if (st == 0xffu && cread(d, VIRTIO_COMMON_DFSELECT, 4) == 0xffffffffu) {
            return VIRTIO_ERR_DEVICE; /* all-ones: the device is not there */
        }
        if (d->io.now_us(d->io.ctx) - start >= timeout_us) {
            return VIRTIO_ERR_TIMEOUT;
        }
        if (d->io.relax) {
            d->io.relax(d->io.ctx);
        }
    }
}

int virtio_negotiate(struct virtio_dev *d, uint64_t required, uint64_t wanted)
{
    cwrite(d, VIRTIO_COMMON_DFSELECT, 4, 0);
    uint64_t lo = cread(d, VIRTIO_COMMON_DF, 4);
    cwrite(d, VIRTIO_COMMON_DFSELECT, 4, 1);
    uint64_t hi = cread(d, VIRTIO_COMMON_DF, 4);
    d->device_features = hi << 32 | lo;
    if ((d->device_features & required) != required) {
        virtio_set_status(d, VIRTIO_STATUS_FAILED);
        return VIRTIO_ERR_FEATURES;
    }
    d->driver_features = required | (wanted & d->device_features);
    cwrite(d, VIRTIO_COMMON_GFSELECT, 4, 0);
    cwrite(d, VIRTIO_COMMON_GF, 4, (uint32_t)d->driver_features);
    cwrite(d, VIRTIO_COMMON_GFSELECT, 4, 1);
    cwrite(d, VIRTIO_COMMON_GF, 4, (uint32_t)(d->driver_features >> 32));
    virtio_set_status(d, VIRTIO_STATUS_FEATURES_OK);
    if ((virtio_status(d) & VIRTIO_STATUS_FEATURES_OK) == 0) {
        virtio_set_status(d, VIRTIO_STATUS_FAILED);
        return VIRTIO_ERR_FEATURES;
    }
    return VIRTIO_OK;
}

uint8_t virtio_isr_read(const struct virtio_dev *d)
{
    return (uint8_t)d->io.read(d->io.ctx, d->caps.isr.bar, d->caps.isr.offset, 1);
}

uint16_t virtio_num_queues(const struct virtio_dev *d)
{
    return (uint16_t)cread(d, VIRTIO_COMMON_NUMQ, 2);
}

/* ---- split virtqueue ---- */

#define AVAIL_FLAGS 0
#define AVAIL_IDX 1
#define AVAIL_RING 2
#define USED_IDX_OFF 2
#define USED_RING_OFF 4

static inline void wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
static inline void rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}
static inline void mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int virtq_setup(struct virtio_dev *d, struct virtq *q, uint16_t index, uint16_t max_size,
                void *desc, uint64_t desc_dev, void *avail, uint64_t avail_dev, void *used,
                uint64_t used_dev, uint16_t msix_vector)
{
    if (q == NULL || desc == NULL || avail == NULL || used == NULL || max_size == 0 ||
        max_size > VIRTQ_MAX || (desc_dev & 15) || (avail_dev & 1) || (used_dev & 3) ||
        ((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) || ((uintptr_t)used & 3)) {
        return VIRTIO_ERR_INVALID;
    }
    if (index >= virtio_num_queues(d)) {
        return VIRTIO_ERR_NOT_FOUND;
    }
    cwrite(d, VIRTIO_COMMON_Q_SELECT, 2, index);
    uint16_t dev_size = (uint16_t)cread(d, VIRTIO_COMMON_Q_SIZE, 2);
    if (dev_size == 0 || dev_size == 0xffffu) {
        return dev_size == 0 ? VIRTIO_ERR_NOT_FOUND : VIRTIO_ERR_DEVICE;
    }
    uint16_t size = 1;
    while ((uint32_t)size * 2 <= dev_size && (uint32_t)size * 2 <= max_size) {
        size = (uint16_t)(size * 2);
    }
    if (cread(d, VIRTIO_COMMON_Q_ENABLE, 2) != 0) {
        return VIRTIO_ERR_MALFORMED; /* enabled before we configured it: not after a reset */
    }
    memset(q, 0, sizeof(*q));
    q->index = index;
    q->size = size;
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->desc_dev = desc_dev;
    q->avail_dev = avail_dev;
    q->used_dev = used_dev;
    for (uint16_t i = 0; i < size; i++) {
        q->desc[i].next = (uint16_t)(i + 1 < size ? i + 1 : 0);
    }
    q->free_head = 0;
    q->num_free = size;

    uint64_t noff =
        (uint64_t)(uint16_t)cread(d, VIRTIO_COMMON_Q_NOFF, 2) * d->caps.notify_off_multiplier;
    if (noff + 2 > d->caps.notify.length) {
        return VIRTIO_ERR_MALFORMED; /* 4.1.4.4: the notify address must lie in the structure */
    }
    q->notify_off = d->caps.notify.offset + noff;

    cwrite(d, VIRTIO_COMMON_Q_SIZE, 2, size);
    cwrite(d, VIRTIO_COMMON_Q_DESCLO, 4, (uint32_t)desc_dev);
    cwrite(d, VIRTIO_COMMON_Q_DESCHI, 4, (uint32_t)(desc_dev >> 32));
    cwrite(d, VIRTIO_COMMON_Q_AVAILLO, 4, (uint32_t)avail_dev);
    cwrite(d, VIRTIO_COMMON_Q_AVAILHI, 4, (uint32_t)(avail_dev >> 32));
    cwrite(d, VIRTIO_COMMON_Q_USEDLO, 4, (uint32_t)used_dev);
    cwrite(d, VIRTIO_COMMON_Q_USEDHI, 4, (uint32_t)(used_dev >> 32));
    cwrite(d, VIRTIO_COMMON_Q_MSIX, 2, msix_vector);
    if ((uint16_t)cread(d, VIRTIO_COMMON_Q_MSIX, 2) != msix_vector) {
        return VIRTIO_ERR_DEVICE; /* 4.1.5.1.2: NO_VECTOR read back = the vector was refused */
    }
    return VIRTIO_OK;
}

void virtq_enable(struct virtio_dev *d, struct virtq *q)
{
    cwrite(d, VIRTIO_COMMON_Q_SELECT, 2, q->index);
    cwrite(d, VIRTIO_COMMON_Q_ENABLE, 2, 1);
}

int virtq_add_inbuf(struct virtq *q, uint64_t dev_addr, uint32_t len, uint16_t *head)
{
    if (len == 0) {
        return VIRTIO_ERR_INVALID;
    }
    if (q->num_free == 0) {
        return VIRTIO_ERR_FULL;
    }
    uint16_t h = q->free_head;
    q->free_head = q->desc[h].next;
    q->num_free--;
    q->desc[h].addr = dev_addr;
    q->desc[h].len = len;
    q->desc[h].flags = VIRTQ_DESC_F_WRITE;
    q->desc[h].next = 0;
    q->buf_len[h] = len;
    q->avail[AVAIL_RING + (q->avail_idx & (q->size - 1))] = h;
    wmb(); /* the ring entry before the index the device reads it by */
    q->avail_idx++;
    q->avail[AVAIL_IDX] = q->avail_idx;
    *head = h;
    return VIRTIO_OK;
}

void virtq_kick(struct virtio_dev *d, struct virtq *q)
{
    mb(); /* avail->idx is visible before the device is told to look */
    d->io.write(d->io.ctx, d->caps.notify.bar, q->notify_off, 2, q->index);
}

int virtq_get_used(struct virtq *q, uint16_t *head, uint32_t *len)
{
    uint16_t used_idx = *(volatile uint16_t *)(q->used + USED_IDX_OFF);
    if (used_idx == q->last_used) {
        return VIRTIO_ERR_EMPTY;
    }
    if ((uint16_t)(used_idx - q->last_used) > q->size - q->num_free) {
        return VIRTIO_ERR_DEVICE; /* more used than were ever offered */
    }
    rmb(); /* the element after the index that announced it */
    const volatile struct virtq_used_elem *e =
        (const volatile struct virtq_used_elem *)(q->used + USED_RING_OFF) +
        (q->last_used & (q->size - 1));
    uint32_t id = e->id, n = e->len;
    q->last_used++;
    if (id >= q->size || q->buf_len[id] == 0) {
        return VIRTIO_ERR_DEVICE;
    }
    if (n > q->buf_len[id]) {
        n = q->buf_len[id]; /* never trust more than was offered */
        q->buf_len[id] = 0;
        q->desc[id].next = q->free_head;
        q->free_head = (uint16_t)id;
        q->num_free++;
        *head = (uint16_t)id;
        *len = n;
        return VIRTIO_ERR_DEVICE;
    }
    q->buf_len[id] = 0;
    q->desc[id].next = q->free_head;
    q->free_head = (uint16_t)id;
    q->num_free++;
    *head = (uint16_t)id;
    *len = n;
    return VIRTIO_OK;
}
