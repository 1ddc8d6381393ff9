/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvirtio against a small model of a modern virtio-pci function: config space with QEMU's
 * capability layout (common/ISR/device/notify in BAR4, MSI-X in BAR1) and a common configuration
 * structure with a device side that can misbehave (never finishes reset, refuses FEATURES_OK,
 * refuses the MSI-X vector, writes impossible used elements). Every test names the behaviour it
 * protects; the run ends with a count line and a non-zero status on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio/virtio.h>

static unsigned g_fail, g_pass;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                               \
            g_fail++;                                                                              \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define RUN(t)                                                                                     \
    do {                                                                                           \
        unsigned before_ = g_fail;                                                                 \
        model_reset();                                                                             \
        t();                                                                                       \
        printf("%s %s\n", g_fail == before_ ? "PASS" : "FAIL", #t);                                \
        g_pass += g_fail == before_;                                                               \
    } while (0)

/* ---- the model ---- */
static uint8_t g_cfg[4096];
static uint8_t g_bar4[0x4000];
static struct {
    uint64_t features;
    bool stuck_reset, refuse_features, refuse_msix;
    uint64_t now;
    unsigned notifies;
} g_dev;

static void put8(uint8_t *b, unsigned off, uint8_t v)
{
    b[off] = v;
}
static void put32(uint8_t *b, unsigned off, uint32_t v)
{
    memcpy(b + off, &v, 4);
}

/* A vendor capability at `off` (cap_len 16, or 20 with the notify multiplier). */
static void vcap(unsigned off, unsigned next, uint8_t type, uint8_t bar, uint32_t o, uint32_t len)
{
    put8(g_cfg, off, VIRTIO_PCI_CAP_VNDR);
    put8(g_cfg, off + 1, (uint8_t)next);
    put8(g_cfg, off + 2, type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16);
    put8(g_cfg, off + 3, type);
    put8(g_cfg, off + 4, bar);
    put32(g_cfg, off + 8, o);
    put32(g_cfg, off + 12, len);
    if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
        put32(g_cfg, off + 16, 4);
    }
}

static void model_reset(void)
{
    memset(g_cfg, 0, sizeof(g_cfg));
    memset(g_bar4, 0, sizeof(g_bar4));
    memset(&g_dev, 0, sizeof(g_dev));
    put32(g_cfg, 0, 0x10441af4u);
    put8(g_cfg, 6, 0x10); /* status: capability list */
    put8(g_cfg, 0x34, 0x98);
    /* QEMU 7.2 order: MSI-X at 0x98, then the vendor caps */
    put8(g_cfg, 0x98, 0x11);
    put8(g_cfg, 0x99, 0x84);
    vcap(0x84, 0x70, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x0000, 0x1000);
    vcap(0x70, 0x60, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000); /* 20 bytes: to 0x83 */
    vcap(0x60, 0x50, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000);
    vcap(0x50, 0x40, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000);
    vcap(0x40, 0x00, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0);
    g_dev.features =
        1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_ACCESS_PLATFORM | 1ull << VIRTIO_F_EVENT_IDX;
    put32(g_bar4, VIRTIO_COMMON_Q_SIZE, 64); /* low half of the dword: queue 0 size */
    g_bar4[VIRTIO_COMMON_NUMQ] = 1;
}

static uint32_t cfg_read(void *ctx, uint64_t off, unsigned width)
{
    (void)ctx;
    uint32_t v = 0;
    memcpy(&v, g_cfg + off, width);
    return v;
}
static void cfg_write(void *ctx, uint64_t off, unsigned width, uint32_t val)
{
    (void)ctx;
    memcpy(g_cfg + off, &val, width);
}

static uint32_t bar_read(void *ctx, unsigned bar, uint64_t off, unsigned width)
{
    (void)ctx;
    if (bar != 4 || off + width > sizeof(g_bar4)) {
        return 0xffffffffu;
    }
    if (off == VIRTIO_COMMON_DF) {
        uint32_t sel;
        memcpy(&sel, g_bar4 + VIRTIO_COMMON_DFSELECT, 4);
        return sel == 0   ? (uint32_t)g_dev.features
               : sel == 1 ? (uint32_t)(g_dev.features >> 32)
                          : 0;
    }
    uint32_t v = 0;
    memcpy(&v, g_bar4 + off, width);
    return v;
}
static void bar_write(void *ctx, unsigned bar, uint64_t off, unsigned width, uint32_t val)
{
    (void)ctx;
    if (bar != 4 || off + width > sizeof(g_bar4)) {
        return;
    }
    if (off == VIRTIO_COMMON_STATUS) {
        if (val == 0 && g_dev.stuck_reset) {
            return;
        }
        if ((val & VIRTIO_STATUS_FEATURES_OK) && g_dev.refuse_features) {
            val &= ~VIRTIO_STATUS_FEATURES_OK;
        }
    }
    if (off == VIRTIO_COMMON_Q_MSIX && g_dev.refuse_msix) {
        val = VIRTIO_MSI_NO_VECTOR;
    }
    if (off >= 0x3000 && off < 0x4000) {
        g_dev.notifies++;
        return;
    }
    memcpy(g_bar4 + off, &val, width);
}
static uint64_t now_us(void *ctx)
{
    (void)ctx;
    return g_dev.now += 10; /* time passes with every look at the clock */
}

static const struct virtio_io g_io = {
    .ctx = NULL, .read = bar_read, .write = bar_write, .now_us = now_us, .relax = NULL};

static struct pci_mmio g_mmio = {.ctx = NULL, .read = cfg_read, .write = cfg_write};
static struct pci_ecam g_ecam;

static int find(struct virtio_pci_caps *caps)
{
    pci_ecam_init(&g_ecam, &g_mmio, 0, 0, 0);
    return virtio_pci_find_caps(&g_ecam, 0, caps);
}

static void open_dev(struct virtio_dev *d)
{
    struct virtio_pci_caps caps;
    int rc = find(&caps);
    if (rc != VIRTIO_OK) {
        printf("  model caps not found: %s\n", virtio_errname(rc));
        abort();
    }
    virtio_dev_init(d, &g_io, &caps);
}

/* ---- capabilities ---- */

static void test_caps_found_in_qemu_layout(void)
{
    struct virtio_pci_caps c;
    CHECK(find(&c) == VIRTIO_OK);
    CHECK(c.common.present && c.common.bar == 4 && c.common.offset == 0);
    CHECK(c.isr.present && c.isr.offset == 0x1000);
    CHECK(c.device.present && c.device.offset == 0x2000);
    CHECK(c.notify.present && c.notify.offset == 0x3000 && c.notify_off_multiplier == 4);
}

static void test_caps_without_notify_not_found(void)
{
    put8(g_cfg, 0x70 + 3, 9); /* notify becomes a vendor-data capability */
    struct virtio_pci_caps c;
    CHECK(find(&c) == VIRTIO_ERR_NOT_FOUND);
}

static void test_caps_short_common_is_malformed(void)
{
    put32(g_cfg, 0x84 + 12, 0x20); /* common cfg shorter than its registers */
    struct virtio_pci_caps c;
    CHECK(find(&c) == VIRTIO_ERR_MALFORMED);
}

static void test_caps_overflowing_range_is_malformed(void)
{
    put32(g_cfg, 0x60 + 8, 0xfffff000u); /* ISR */
    put32(g_cfg, 0x60 + 12, 0x2000);
    struct virtio_pci_caps c;
    CHECK(find(&c) == VIRTIO_ERR_MALFORMED);
}

static void test_caps_reserved_bar_ignored_first_valid_wins(void)
{
    /* an ISR capability naming BAR 7 first: ignored, the next ISR capability is used */
    vcap(0x60, 0xb0, VIRTIO_PCI_CAP_ISR_CFG, 7, 0x1000, 0x1000);
    vcap(0xb0, 0x50, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1800, 0x10);
    struct virtio_pci_caps c;
    CHECK(find(&c) == VIRTIO_OK);
    CHECK(c.isr.bar == 4 && c.isr.offset == 0x1800);
}

static void test_caps_loop_is_refused(void)
{
    put8(g_cfg, 0x40 + 1, 0x84); /* the last capability points back into the list */
    struct virtio_pci_caps c;
    CHECK(find(&c) == VIRTIO_ERR_MALFORMED);
}

/* ---- status and features ---- */

static void test_reset_waits_for_zero_and_is_bounded(void)
{
    struct virtio_dev d;
    open_dev(&d);
    g_bar4[VIRTIO_COMMON_STATUS] = VIRTIO_STATUS_DRIVER_OK;
    CHECK(virtio_reset(&d, 1000) == VIRTIO_OK);
    g_bar4[VIRTIO_COMMON_STATUS] = VIRTIO_STATUS_DRIVER_OK;
    g_dev.stuck_reset = true;
    uint64_t t0 = g_dev.now;
    CHECK(virtio_reset(&d, 1000) == VIRTIO_ERR_TIMEOUT);
    CHECK(g_dev.now - t0 < 2000); /* gave up at its deadline */
}

static void test_negotiate_accepts_version1_and_access_platform(void)
{
    struct virtio_dev d;
    open_dev(&d);
    uint64_t req = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_ACCESS_PLATFORM;
    CHECK(virtio_negotiate(&d, req, 1ull << VIRTIO_F_INDIRECT_DESC) == VIRTIO_OK);
    CHECK(d.driver_features == req); /* INDIRECT not offered: not taken; EVENT_IDX not wanted */
    uint32_t gf;
    memcpy(&gf, g_bar4 + VIRTIO_COMMON_GF, 4); /* the model keeps the last write: high half */
    CHECK(gf == (uint32_t)(req >> 32));
    CHECK(virtio_status(&d) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_negotiate_without_access_platform_fails_device(void)
{
    struct virtio_dev d;
    open_dev(&d);
    g_dev.features &= ~(1ull << VIRTIO_F_ACCESS_PLATFORM);
    uint64_t req = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_ACCESS_PLATFORM;
    CHECK(virtio_negotiate(&d, req, 0) == VIRTIO_ERR_FEATURES);
    CHECK(virtio_status(&d) & VIRTIO_STATUS_FAILED);
}

static void test_negotiate_refused_features_ok_fails(void)
{
    struct virtio_dev d;
    open_dev(&d);
    g_dev.refuse_features = true;
    CHECK(virtio_negotiate(&d, 1ull << VIRTIO_F_VERSION_1, 0) == VIRTIO_ERR_FEATURES);
    CHECK(virtio_status(&d) & VIRTIO_STATUS_FAILED);
}

/* ---- virtqueue ---- */

static _Alignas(4096) uint8_t g_ring[3][4096];

static int setup_q(struct virtio_dev *d, struct virtq *q, uint16_t max)
{
    memset(g_ring, 0, sizeof(g_ring));
    return virtq_setup(d, q, 0, max, g_ring[0], 0x10000000, g_ring[1], 0x10002000, g_ring[2],
                       0x10004000, 0);
}

/* The device side: uses the next available buffer, writing `len` and naming `id`. */
static void device_use(struct virtq *q, uint32_t id, uint32_t len)
{
    uint16_t *uidx = (uint16_t *)(g_ring[2] + 2);
    struct virtq_used_elem *e = (struct virtq_used_elem *)(g_ring[2] + 4) + (*uidx & (q->size - 1));
    e->id = id;
    e->len = len;
    (*uidx)++;
}

static void test_virtq_programs_addresses_and_clamps_size(void)
{
    struct virtio_dev d;
    open_dev(&d);
    struct virtq q;
    CHECK(setup_q(&d, &q, 16) == VIRTIO_OK);
    CHECK(q.size == 16);
    uint32_t lo;
    memcpy(&lo, g_bar4 + VIRTIO_COMMON_Q_DESCLO, 4);
    CHECK(lo == 0x10000000);
    memcpy(&lo, g_bar4 + VIRTIO_COMMON_Q_USEDLO, 4);
    CHECK(lo == 0x10004000);
    CHECK(q.notify_off == 0x3000); /* queue_notify_off 0 * multiplier */
}

static void test_virtq_refused_msix_vector_reported(void)
{
    struct virtio_dev d;
    open_dev(&d);
    g_dev.refuse_msix = true;
    struct virtq q;
    CHECK(setup_q(&d, &q, 16) == VIRTIO_ERR_DEVICE);
}

static void test_virtq_misaligned_ring_refused(void)
{
    struct virtio_dev d;
    open_dev(&d);
    struct virtq q;
    CHECK(virtq_setup(&d, &q, 0, 16, g_ring[0], 0x10000008, g_ring[1], 0x10002000, g_ring[2],
                      0x10004000, 0) == VIRTIO_ERR_INVALID);
    CHECK(virtq_setup(&d, &q, 1, 16, g_ring[0], 0x10000000, g_ring[1], 0x10002000, g_ring[2],
                      0x10004000, 0) == VIRTIO_ERR_NOT_FOUND); /* only one queue */
}

static void test_virtq_buffer_round_trip_and_kick(void)
{
    struct virtio_dev d;
    open_dev(&d);
    struct virtq q;
    CHECK(setup_q(&d, &q, 8) == VIRTIO_OK);
    uint16_t h1, h2, head;
    uint32_t len;
    CHECK(virtq_add_inbuf(&q, 0x20000000, 64, &h1) == VIRTIO_OK);
    CHECK(virtq_add_inbuf(&q, 0x20001000, 32, &h2) == VIRTIO_OK);
    virtq_kick(&d, &q);
    CHECK(g_dev.notifies == 1);
    const struct virtq_desc *desc = (const struct virtq_desc *)g_ring[0];
    CHECK(desc[h1].addr == 0x20000000 && desc[h1].len == 64 &&
          desc[h1].flags == VIRTQ_DESC_F_WRITE);
    CHECK(((uint16_t *)g_ring[1])[1] == 2); /* avail->idx */
    CHECK(virtq_get_used(&q, &head, &len) == VIRTIO_ERR_EMPTY);
    device_use(&q, h2, 32);
    CHECK(virtq_get_used(&q, &head, &len) == VIRTIO_OK && head == h2 && len == 32);
    CHECK(q.num_free == 7);
}

static void test_virtq_full_queue_refuses_more(void)
{
    struct virtio_dev d;
    open_dev(&d);
    struct virtq q;
    CHECK(setup_q(&d, &q, 4) == VIRTIO_OK);
    uint16_t h;
    for (int i = 0; i < 4; i++) {
        CHECK(virtq_add_inbuf(&q, 0x20000000 + i * 0x1000, 16, &h) == VIRTIO_OK);
    }
    CHECK(virtq_add_inbuf(&q, 0x20009000, 16, &h) == VIRTIO_ERR_FULL);
}

static void test_virtq_used_naming_unoffered_descriptor_is_device_error(void)
{
    struct virtio_dev d;
    open_dev(&d);
    struct virtq q;
    CHECK(setup_q(&d, &q, 8) == VIRTIO_OK);
    uint16_t h, head;
    uint32_t len;
    CHECK(virtq_add_inbuf(&q, 0x20000000, 64, &h) == VIRTIO_OK);
    device_use(&q, (uint32_t)(h + 3) % 8, 8); /* never offered */
    CHECK(virtq_get_used(&q, &head, &len) == VIRTIO_ERR_DEVICE);
    CHECK(q.num_free == 7);  /* nothing freed that was not in use */
    device_use(&q, 1000, 8); /* out of range */
    CHECK(virtq_get_used(&q, &head, &len) == VIRTIO_ERR_DEVICE);
    device_use(&q, h, 8);
    CHECK(virtq_get_used(&q, &head, &len) == VIRTIO_OK && head == h);
    device_use(&q, h, 8); /* the same descriptor twice */
    CHECK(virtq_get_used(&q, &head, &len) == VIRTIO_ERR_DEVICE);
    CHECK(q.num_free == 8);
}

static void test_virtq_used_length_beyond_buffer_clamped(void)
{
    struct virtio_dev d;
    open_dev(&d);
    struct virtq q;
    CHECK(setup_q(&d, &q, 8) == VIRTIO_OK);
    uint16_t h, head;
    uint32_t len;
    CHECK(virtq_add_inbuf(&q, 0x20000000, 64, &h) == VIRTIO_OK);
    device_use(&q, h, 4096);
    CHECK(virtq_get_used(&q, &head, &len) == VIRTIO_ERR_DEVICE);
    CHECK(len == 64 && q.num_free == 8);
}

static void test_virtq_used_index_jump_refused(void)
{
    struct virtio_dev d;
    open_dev(&d);
    struct virtq q;
    CHECK(setup_q(&d, &q, 8) == VIRTIO_OK);
    uint16_t h, head;
    uint32_t len;
    CHECK(virtq_add_inbuf(&q, 0x20000000, 64, &h) == VIRTIO_OK);
    *(uint16_t *)(g_ring[2] + 2) = 5; /* five used, one offered */
    CHECK(virtq_get_used(&q, &head, &len) == VIRTIO_ERR_DEVICE);
    CHECK(q.num_free == 7 && q.last_used == 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_caps_found_in_qemu_layout);
    RUN(test_caps_without_notify_not_found);
    RUN(test_caps_short_common_is_malformed);
    RUN(test_caps_overflowing_range_is_malformed);
    RUN(test_caps_reserved_bar_ignored_first_valid_wins);
    RUN(test_caps_loop_is_refused);
    RUN(test_reset_waits_for_zero_and_is_bounded);
    RUN(test_negotiate_accepts_version1_and_access_platform);
    RUN(test_negotiate_without_access_platform_fails_device);
    RUN(test_negotiate_refused_features_ok_fails);
    RUN(test_virtq_programs_addresses_and_clamps_size);
    RUN(test_virtq_refused_msix_vector_reported);
    RUN(test_virtq_misaligned_ring_refused);
    RUN(test_virtq_buffer_round_trip_and_kick);
    RUN(test_virtq_full_queue_refuses_more);
    RUN(test_virtq_used_naming_unoffered_descriptor_is_device_error);
    RUN(test_virtq_used_length_beyond_buffer_clamped);
    RUN(test_virtq_used_index_jump_refused);
    printf("test_virtio: %u passed, %u failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
