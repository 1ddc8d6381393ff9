/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtio driver: a modern (virtio 1.x, no legacy interface) PCI driver for virtio-rng as an
 * unprivileged client of the IOMMU server. It finds the virtio structures through the function's
 * vendor capabilities, resets the device, negotiates VIRTIO_F_VERSION_1 and
 * VIRTIO_F_ACCESS_PLATFORM (the device's DMA goes through the IOMMU), builds one split virtqueue
 * whose descriptor table, rings and buffers are frames it mapped through the IOMMU server at IOVAs
 * of its choice, takes the queue interrupt through an MSI-X table entry, and checks the entropy
 * it receives is plausibly random (a DMA the IOMMU blocked would leave zeros).
 *
 * Command line:
 *   mode=selftest (default)  entropy fetched and checked, ATS flush, then reset, unmap, detach
 *   mode=serve               the self test, then wait for device-gone messages (serve_ms)
 *   mode=serve replug        after the removal, wait for the new occupant of the slot
 *                            (device_new): attach it under its new generation, see the old
 *                            handle refused, map the queue memory again at the same IOVAs, set
 *                            the queue up again and fetch entropy (checks named virtio_replug_...)
 *   tag=X                    lines named "virtio_X_..." (several instances in one image)
 *   iommu=off                bring-up only: physical addresses, no IOMMU server (see drv/dma.h)
 */
#include <stdio.h>
#include <string.h>

#include <drv/dma.h>
#include <drv/drv.h>
#include <drv/events.h>
#include <drv/iommu.h>
#include <virtio/virtio.h>

#define VIO_RESET_TIMEOUT_US 100000u
#define VIO_IRQ_TIMEOUT_US 2000000u
#define VIO_QUEUE_MAX 16u
#define VIO_REQUESTS 4u
#define VIO_REQ_BYTES 256u

struct vio_driver {
    const task_start_info_t *si;
    struct drv_cfg cfg;
    struct drv_region bar[6];
    bool have_bar[6];
    struct pci_msix msix;
    struct pci_mmio msix_table;
    struct pci_mmio_direct msix_direct;
    pc_cptr_t irq_handler, irq_ntfn;
    struct virtio_dev dev;
    struct virtq q;
    struct drv_iommu iommu;
    struct drv_dma dma;
    struct drv_events ev;
    bool bringup, attached;
    uint64_t handle, attach_flags;
    uint64_t irq;          /* remapped interrupt handle from irq_alloc (0: none) */
    hp_handle_t hp_handle; /* the hotplug server's handle for our device (0: not told yet) */
    struct drv_buf ring_desc, ring_avail, ring_used, data;
};

static struct vio_driver g;

/* ---- register access for libvirtio: BAR index -> the granted mapping ---- */

static bool bar_ok(unsigned bar, uint64_t off, unsigned width)
{
    return bar < 6 && g.have_bar[bar] && off < g.bar[bar].size && width <= g.bar[bar].size - off;
}

static uint32_t io_read(void *ctx, unsigned bar, uint64_t off, unsigned width)
{
    (void)ctx;
    if (!bar_ok(bar, off, width)) {
        return 0xffffffffu;
    }
    volatile uint8_t *a = g.bar[bar].va + off;
    return width == 1 ? *a : width == 2 ? *(volatile uint16_t *)a : *(volatile uint32_t *)a;
}

static void io_write(void *ctx, unsigned bar, uint64_t off, unsigned width, uint32_t val)
{
    (void)ctx;
    if (!bar_ok(bar, off, width)) {
        return;
    }
    volatile uint8_t *a = g.bar[bar].va + off;
    if (width == 1) {
        *a = (uint8_t)val;
    } else if (width == 2) {
        *(volatile uint16_t *)a = (uint16_t)val;
    } else {
        *(volatile uint32_t *)a = val;
    }
}

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return drv_now_us();
}

static void io_relax(void *ctx)
{
    (void)ctx;
    pc_yield();
}

/* The BAR a granted region covers: start-info arg1 is the BAR index. */
static void take_bars(void)
{
    static const char *const names[] = {"bar0", "bar1", "bar2", "bar3", "bar4", "bar5"};
    for (unsigned i = 0; i < 6; i++) {
        const task_cap_t *c = task_cap_find(g.si, names[i]);
        if (c != NULL && c->arg1 == i && drv_region_get(g.si, names[i], 1, &g.bar[i])) {
            g.have_bar[i] = true;
        }
    }
}

static bool region_granted(const struct virtio_pci_region *r)
{
    return r->present && bar_ok(r->bar, r->offset, 1) &&
           r->length <= g.bar[r->bar].size - r->offset;
}

static bool setup_device(void)
{
    const task_cap_t *msi = task_cap_find(g.si, "msi");
    take_bars();
    bool have = drv_cfg_open(&g.cfg, g.si, "config") == PCI_OK && msi != NULL &&
                msi->kind == TASK_CAP_MSI && msi->slot != 0 && msi->aux_slot != 0;
    if (!drv_check("has_its_grants", have, "(config page, msi; bars granted:%s%s%s)",
                   g.have_bar[1] ? " 1" : "", g.have_bar[4] ? " 4" : "",
                   g.have_bar[0] ? " 0" : "")) {
        return false;
    }
    g.irq_handler = msi->slot;
    g.irq_ntfn = msi->aux_slot;
    uint32_t id = pci_cfg_read32(&g.cfg.ecam, g.cfg.sid, 0);
    bool modern = (id & 0xffff) == VIRTIO_PCI_VENDOR_ID &&
                  (id >> 16) == VIRTIO_PCI_MODERN_DEVICE + VIRTIO_ID_RNG;
    if (!drv_check("identified_modern_rng", modern, "(%04x:%04x at %02x:%02x.%x)", id & 0xffff,
                   id >> 16, PCI_SID_BUS(g.cfg.sid), PCI_SID_DEV(g.cfg.sid),
                   PCI_SID_FN(g.cfg.sid))) {
        return false;
    }
    struct virtio_pci_caps caps;
    int verr = virtio_pci_find_caps(&g.cfg.ecam, g.cfg.sid, &caps);
    bool in_bars = verr == VIRTIO_OK && region_granted(&caps.common) &&
                   region_granted(&caps.notify) && region_granted(&caps.isr);
    if (!drv_check("virtio_caps_found_in_granted_bars", in_bars,
                   "(%s; common bar%u+%#x notify bar%u+%#x x%u isr bar%u+%#x)",
                   virtio_errname(verr), caps.common.bar, caps.common.offset, caps.notify.bar,
                   caps.notify.offset, caps.notify_off_multiplier, caps.isr.bar, caps.isr.offset)) {
        return false;
    }
    struct virtio_io io = {
        .ctx = NULL, .read = io_read, .write = io_write, .now_us = io_now, .relax = io_relax};
    virtio_dev_init(&g.dev, &io, &caps);

    /* MSI-X: entry 0 carries the MSI the root task allocated; the config vector stays off */
    int perr = pci_msix_probe(&g.cfg.ecam, g.cfg.sid, &g.msix);
    if (perr == PCI_OK &&
        (!g.have_bar[g.msix.table_bir] ||
         pci_msix_check_bar(&g.msix, g.msix.table_bir, g.bar[g.msix.table_bir].size) != PCI_OK)) {
        perr = PCI_ERR_MALFORMED;
    }
    if (perr == PCI_OK) {
        pci_mmio_direct_init(&g.msix_table, &g.msix_direct, g.bar[g.msix.table_bir].va,
                             g.bar[g.msix.table_bir].size);
    }
    return drv_check("msix_found", perr == PCI_OK, "(%s; table bar%u+%#x, %u entries)",
                     pci_err_str(perr), g.msix.table_bir, g.msix.table_offset, g.msix.table_size);
}

/*
 * MSI-X entry 0. With an IOMMU server the "msi" entry holds a vector grant's index (arg1 = 0):
 * the server writes a remapping entry for our attached device and returns the remappable
 * address/data; without one (bring-up) the root task gave the direct pair.
 */
static bool enable_msix(void)
{
    uint64_t addr = 0;
    uint32_t data = 0;
    bool remapped = false;
    uint64_t err = drv_iommu_msi_pair(&g.iommu, task_cap_find(g.si, "msi"), g.attached, g.handle,
                                      &g.irq, &addr, &data, &remapped);
    int perr = err == IOMMU_OK ? pci_msix_set_entry(&g.msix_table, &g.msix, 0, addr, data, false)
                               : PCI_ERR_INVALID;
    if (perr == PCI_OK) {
        perr = pci_msix_enable(&g.cfg.ecam, g.cfg.sid, &g.msix, true);
    }
    if (perr == PCI_OK) {
        perr = pci_set_bus_master(&g.cfg.ecam, g.cfg.sid, true);
    }
    (void)pc_irq_handler_ack(g.irq_handler);
    return drv_check("msix_enabled", perr == PCI_OK, "(%s%s%s; %s, address %#llx data %#x)",
                     pci_err_str(perr), err != IOMMU_OK ? ": irq_alloc " : "",
                     err != IOMMU_OK ? drv_iommu_errname(err) : "",
                     remapped ? "remapped by the IOMMU server" : "direct (no IOMMU server)",
                     (unsigned long long)addr, data);
}

static bool negotiate(void)
{
    int err = virtio_reset(&g.dev, VIO_RESET_TIMEOUT_US);
    if (err == VIRTIO_OK) {
        virtio_set_status(&g.dev, VIRTIO_STATUS_ACKNOWLEDGE);
        virtio_set_status(&g.dev, VIRTIO_STATUS_DRIVER);
        uint64_t required = 1ull << VIRTIO_F_VERSION_1;
        if (!g.bringup) {
            required |= 1ull << VIRTIO_F_ACCESS_PLATFORM;
        }
        err = virtio_negotiate(&g.dev, required, 1ull << VIRTIO_F_ACCESS_PLATFORM);
    }
    return drv_check("features_version1_and_access_platform", err == VIRTIO_OK,
                     "(%s; device %#llx, driver %#llx)", virtio_errname(err),
                     (unsigned long long)g.dev.device_features,
                     (unsigned long long)g.dev.driver_features);
}

static bool attach(void)
{
    if (g.bringup) {
        return true;
    }
    uint64_t err = drv_iommu_attach(&g.iommu, g.cfg.sid, &g.handle, &g.attach_flags);
    g.attached = err == IOMMU_OK;
    return drv_check("iommu_attach", g.attached, "(%s, handle %#llx, ATS %s)",
                     drv_iommu_errname(err), (unsigned long long)g.handle,
                     (g.attach_flags & IOMMU_ATTACH_ATS) ? "enabled" : "off");
}

/* `again`: the queue memory was allocated before (a re-plugged device): map it again at the
 * same IOVAs instead of allocating. */
static bool setup_queue(bool again)
{
    /* the device reads the descriptor table and the available ring, writes (and reads back the
     * flags of) the used ring, and writes the entropy into the data pages */
    int rc;
    if (again) {
        /* the rings still hold the old device's indices (a used index of 4 would read as four
         * completions at once): start from zeroed rings as a fresh allocation does */
        memset(g.ring_desc.va, 0, 4096);
        memset(g.ring_avail.va, 0, 4096);
        memset(g.ring_used.va, 0, 4096);
        rc = drv_dma_remap(&g.dma, &g.ring_desc);
        rc = rc == DRV_DMA_OK ? drv_dma_remap(&g.dma, &g.ring_avail) : rc;
        rc = rc == DRV_DMA_OK ? drv_dma_remap(&g.dma, &g.ring_used) : rc;
        rc = rc == DRV_DMA_OK ? drv_dma_remap(&g.dma, &g.data) : rc;
    } else {
        rc = drv_dma_alloc(&g.dma, 1, IOMMU_READ, &g.ring_desc);
        if (rc == DRV_DMA_OK) {
            rc = drv_dma_alloc(&g.dma, 1, IOMMU_READ, &g.ring_avail);
        }
        if (rc == DRV_DMA_OK) {
            rc = drv_dma_alloc(&g.dma, 1, IOMMU_READ | IOMMU_WRITE, &g.ring_used);
        }
        if (rc == DRV_DMA_OK) {
            rc = drv_dma_alloc(&g.dma, 1, IOMMU_WRITE, &g.data);
        }
    }
    if (!drv_check("queue_memory_mapped", rc == DRV_DMA_OK,
                   "(%s%s%s; desc %#llx avail %#llx used %#llx data %#llx, %s)",
                   drv_dma_errname(rc), rc == DRV_DMA_ERR_IOMMU ? ": " : "",
                   rc == DRV_DMA_ERR_IOMMU ? drv_iommu_errname(g.dma.last_iommu_err) : "",
                   (unsigned long long)g.ring_desc.dev, (unsigned long long)g.ring_avail.dev,
                   (unsigned long long)g.ring_used.dev, (unsigned long long)g.data.dev,
                   g.bringup ? "PHYSICAL (bring-up)" : "IOVAs")) {
        return false;
    }
    int err = virtq_setup(&g.dev, &g.q, 0, VIO_QUEUE_MAX, g.ring_desc.va, g.ring_desc.dev,
                          g.ring_avail.va, g.ring_avail.dev, g.ring_used.va, g.ring_used.dev, 0);
    if (err == VIRTIO_OK) {
        /* 4.1.5.1.2: no configuration-change interrupt wanted */
        g.dev.io.write(NULL, g.dev.caps.common.bar, g.dev.caps.common.offset + VIRTIO_COMMON_MSIX,
                       2, VIRTIO_MSI_NO_VECTOR);
        virtq_enable(&g.dev, &g.q);
        virtio_set_status(&g.dev, VIRTIO_STATUS_DRIVER_OK);
        if (virtio_status(&g.dev) & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)) {
            err = VIRTIO_ERR_DEVICE;
        }
    }
    return drv_check("virtqueue_ready", err == VIRTIO_OK, "(%s; %u entries, status %#x)",
                     virtio_errname(err), g.q.size, virtio_status(&g.dev));
}

/* Waits (bounded) until `want` used elements arrived; returns how many did. */
static unsigned collect(unsigned want, uint32_t *lens, unsigned *bad)
{
    unsigned got = 0;
    uint64_t deadline = drv_deadline(VIO_IRQ_TIMEOUT_US);
    while (got < want) {
        uint16_t head;
        uint32_t len;
        int err = virtq_get_used(&g.q, &head, &len);
        if (err == VIRTIO_OK || err == VIRTIO_ERR_DEVICE) {
            if (err == VIRTIO_OK && head < VIO_QUEUE_MAX) {
                lens[got] = len;
            } else {
                (*bad)++;
            }
            got++;
            continue;
        }
        uint64_t left = drv_left_us(deadline);
        if (left == 0) {
            break;
        }
        pc_word_t word = 0;
        if (pc_wait(g.irq_ntfn, left, &word) == PC_OK) {
            drv_events_note(&g.ev, word); /* a hotplug signal shares the notification */
            (void)pc_irq_handler_ack(g.irq_handler);
        }
    }
    return got;
}

static bool fetch_entropy(void)
{
    uint8_t *data = g.data.va;
    memset(data, 0, 4096);
    uint16_t heads[VIO_REQUESTS];
    int err = VIRTIO_OK;
    for (unsigned i = 0; i < VIO_REQUESTS && err == VIRTIO_OK; i++) {
        err = virtq_add_inbuf(&g.q, g.data.dev + i * VIO_REQ_BYTES, VIO_REQ_BYTES, &heads[i]);
    }
    uint64_t t0 = drv_now_us();
    if (err == VIRTIO_OK) {
        virtq_kick(&g.dev, &g.q);
    }
    uint32_t lens[VIO_REQUESTS] = {0};
    unsigned bad = 0;
    unsigned got = err == VIRTIO_OK ? collect(VIO_REQUESTS, lens, &bad) : 0;
    uint64_t took = drv_now_us() - t0;
    uint32_t total = 0;
    for (unsigned i = 0; i < got; i++) {
        total += lens[i];
    }
    drv_check("entropy_requests_completed", err == VIRTIO_OK && got == VIO_REQUESTS && bad == 0,
              "(%s; %u of %u used, %u bad, %u bytes, %llu us)", virtio_errname(err), got,
              VIO_REQUESTS, bad, total, (unsigned long long)took);

    /* plausibly random: not all zeros (a blocked DMA reads zeros), many distinct byte values,
     * and the requests differ from each other */
    unsigned zeros = 0, distinct = 0;
    bool seen[256] = {false};
    for (unsigned i = 0; i < VIO_REQUESTS * VIO_REQ_BYTES; i++) {
        zeros += data[i] == 0;
        if (!seen[data[i]]) {
            seen[data[i]] = true;
            distinct++;
        }
    }
    bool differ = memcmp(data, data + VIO_REQ_BYTES, VIO_REQ_BYTES) != 0;
    bool random = total > 0 && zeros < 64 && distinct >= 128 && differ;
    return drv_check(g.bringup ? "entropy_plausibly_random_physical_bringup"
                               : "entropy_through_iommu_plausibly_random",
                     random, "(%u zero bytes, %u distinct values in %u bytes, requests %s)", zeros,
                     distinct, VIO_REQUESTS * VIO_REQ_BYTES, differ ? "differ" : "EQUAL");
}

static void ats_flush(void)
{
    if (g.bringup) {
        return;
    }
    uint64_t status = 0;
    uint64_t err = drv_iommu_ats_flush(&g.iommu, g.handle, 0, 0, &status);
    bool ats = (g.attach_flags & IOMMU_ATTACH_ATS) != 0;
    drv_check("ats_flush", ats ? err == IOMMU_OK : err == IOMMU_ERR_NOT_ATS,
              "(ATS %s: %s, status %#llx)", ats ? "enabled" : "off", drv_iommu_errname(err),
              (unsigned long long)status);
}

static void release(bool gone, const char *check)
{
    int verr = VIRTIO_OK;
    if (!gone && g.dev.io.read != NULL) {
        /* the device stops using the queue before its memory goes away (reset, bounded) */
        verr = virtio_reset(&g.dev, VIO_RESET_TIMEOUT_US);
        (void)pci_msix_enable(&g.cfg.ecam, g.cfg.sid, &g.msix, false);
        (void)pci_set_bus_master(&g.cfg.ecam, g.cfg.sid, false);
    }
    bool gone_seen = false;
    int rc = drv_dma_unmap_all(&g.dma, &gone_seen);
    uint64_t status = 0, derr = IOMMU_OK;
    if (g.attached) {
        derr = drv_iommu_detach(&g.iommu, g.handle, &status);
        g.attached = false;
    }
    drv_check(check,
              verr == VIRTIO_OK && rc == DRV_DMA_OK && (derr == IOMMU_OK || gone) &&
                  drv_dma_mapped_pages(&g.dma) == 0,
              "(reset %s, unmap %s%s%s, detach %s, status %#llx%s, %u pages still mapped)",
              gone ? "skipped" : virtio_errname(verr), drv_dma_errname(rc),
              rc == DRV_DMA_ERR_IOMMU ? ": " : "",
              rc == DRV_DMA_ERR_IOMMU ? drv_iommu_errname(g.dma.last_iommu_err) : "",
              drv_iommu_errname(derr), (unsigned long long)status,
              gone_seen ? ", unmap said DEVICE_GONE" : "", drv_dma_mapped_pages(&g.dma));
}

/*
 * The new occupant of our slot (device_new after a removal): set it up again, attach under the
 * new generation, check the old handle is refused, map the queue memory again, negotiate, build
 * the queue and fetch entropy. Check names start with "replug_".
 */
static bool replugged(hp_handle_t h)
{
    uint64_t old = g.handle;
    drv_set_phase("replug_");
    drv_log("new occupant (handle %#llx): setting up again", (unsigned long long)h);
    g.irq = 0; /* the removed occupant's entry went with it */
    bool ok = setup_device() && attach() && enable_msix();
    if (ok && !g.bringup) {
        drv_check("new_generation",
                  IOMMU_HANDLE_GEN(g.handle) != IOMMU_HANDLE_GEN(old) &&
                      IOMMU_HANDLE_GEN(g.handle) == HP_HANDLE_GEN(h),
                  "(old handle %#llx, new %#llx, hotplug handle %#llx)", (unsigned long long)old,
                  (unsigned long long)g.handle, (unsigned long long)h);
        uint64_t status = 0;
        uint64_t err = drv_iommu_detach(&g.iommu, old, &status);
        drv_check("old_handle_refused", err == IOMMU_ERR_STALE, "(detach with the old handle: %s)",
                  drv_iommu_errname(err));
    }
    g.hp_handle = h;
    ok = ok && negotiate() && setup_queue(true) && fetch_entropy();
    if (ok) {
        ats_flush();
    }
    return ok;
}

/*
 * Serves hotplug events until the deadline: going: reset the device (it stops using the queue),
 * unmap, detach, answer detached; gone: unmap and detach without touching the device. Without
 * `replug` a re-plugged device is left to a fresh instance (this driver reports and ends: true,
 * nothing left to release); with it the driver waits for the new occupant and works with it
 * (false: the new device is attached and must be released).
 */
static bool serve(uint64_t serve_ms, bool replug)
{
    if (!drv_check("serve_has_hotplug_endpoint", g.ev.hotplug_ep != 0, "(\"hotplug\" endpoint)")) {
        return false;
    }
    /* the hotplug server assigns the device it took over (device_new): from then on it can
     * tell us about removal; wait for that (bounded) before saying we serve */
    uint64_t assigned_by = drv_deadline(DRV_ASSIGN_TIMEOUT_US);
    while (g.hp_handle == 0 && drv_left_us(assigned_by) > 0) {
        struct drv_event e = drv_events_wait(&g.ev, drv_left_us(assigned_by));
        if (e.kind == DRV_EVENT_NEW && HP_HANDLE_SID(e.handle) == g.cfg.sid) {
            g.hp_handle = e.handle;
        }
    }
    drv_log("serving hotplug events for handle %#llx (hotplug handle %#llx%s)",
            (unsigned long long)g.handle, (unsigned long long)g.hp_handle,
            g.hp_handle ? "" : ": not assigned by the hotplug server yet");
    uint64_t deadline = drv_deadline(serve_ms * 1000u);
    bool removed = false;
    for (;;) {
        uint64_t left = drv_left_us(deadline);
        if (left == 0) {
            drv_check("serve_scenario_completed", false, "(deadline passed: %s)",
                      removed ? "no new occupant" : "no removal");
            return removed;
        }
        struct drv_event e = drv_events_wait(&g.ev, left);
        if (e.kind == DRV_EVENT_NEW && removed && HP_HANDLE_SID(e.handle) == g.cfg.sid) {
            (void)replugged(e.handle);
            return false;
        }
        if (e.kind == DRV_EVENT_NEW && !removed && g.hp_handle == 0 &&
            HP_HANDLE_SID(e.handle) == g.cfg.sid) {
            g.hp_handle = e.handle; /* the assignment of the device we already drive */
            continue;
        }
        if (e.kind == DRV_EVENT_NONE || e.kind == DRV_EVENT_FAULT || e.kind == DRV_EVENT_NEW ||
            removed) {
            continue;
        }
        bool ours = HP_HANDLE_SID(e.handle) == g.cfg.sid &&
                    (g.bringup || HP_HANDLE_GEN(e.handle) == IOMMU_HANDLE_GEN(g.handle));
        drv_log("hotplug event %s (handle %#llx)%s", drv_event_name(e.kind),
                (unsigned long long)e.handle, ours ? "" : ": not ours, ignored");
        if (!ours) {
            continue;
        }
        if (e.kind == DRV_EVENT_GOING) {
            release(false, "going_unmapped_and_detached");
            int r = drv_events_detached(&g.ev, e.handle);
            if (r >= 0) {
                drv_check("going_answered_detached", r == HP_GONE_OK, "(%s)", hp_gone_err_str(r));
            } else {
                drv_check("going_answered_detached", false, "(call failed: %d)", r);
            }
        } else {
            release(true, "gone_released_without_touching_device");
        }
        removed = true;
        g.hp_handle = 0;
        if (!replug) {
            return true;
        }
    }
}

int main(void)
{
    g.si = drv_start("virtio");
    if (g.si == NULL) {
        return 1;
    }
    char mode[24];
    g.bringup = drv_mode(g.si, mode, sizeof(mode));
    uint64_t serve_ms = 30000;
    (void)task_cmdline_get_u64(g.si->cmdline, "serve_ms", &serve_ms);
    if (strcmp(mode, "selftest") != 0 && strcmp(mode, "serve") != 0) {
        drv_check("known_mode", false, "(mode=%s: selftest or serve)", mode);
        drv_report();
        return 1;
    }
    bool ok = drv_dma_start(g.si, g.bringup, &g.iommu, &g.ev, &g.dma);
    /* attach before the device can be told any address: until then it cannot DMA at all */
    ok = ok && setup_device() && attach() && enable_msix() && negotiate() && setup_queue(false);
    if (ok) {
        ok = fetch_entropy();
        ats_flush();
    }
    if (!(ok && strcmp(mode, "serve") == 0 &&
          serve(serve_ms, task_cmdline_has(g.si->cmdline, "replug")))) {
        release(false, "released");
    }
    drv_log("done: %u passed, %u failed; %llu IOMMU calls", drv_passed(), drv_failed(),
            (unsigned long long)g.iommu.calls);
    drv_report();
    return drv_failed() ? 1 : 0;
}
