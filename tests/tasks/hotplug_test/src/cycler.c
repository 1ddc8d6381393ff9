/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An edu client that lives through many unplug/re-plug cycles of its device (role
 * hp_edu_cycler, mode=cycler n=N): DMA through the IOMMU server, then on every device_going it
 * unmaps, detaches and answers detached; on every device_new (the root task re-granted the new
 * occupant) it attaches under the new generation, checks the previous handle is refused, maps
 * its buffers again and verifies a RAM -> device -> RAM round trip. It uses the drivers' support
 * library (libs/libdrv) for DMA buffers and the IOMMU client protocol; completion is polled
 * with a deadline (edu's transfers take ~100 ms of virtual time).
 */
#include <stdio.h>
#include <string.h>

#include <drv/dma.h>
#include <drv/drv.h>
#include <drv/events.h>
#include <drv/iommu.h>
#include <hotplug/gone.h>
#include <hpsrv/protocol.h>
#include <pci/pci.h>

#include "hptest.h"

/* edu (QEMU docs/specs/edu.rst) */
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_RUN (1u << 0)
#define EDU_CMD_TO_RAM (1u << 1)
#define EDU_BUF 0x40000u
#define XFER 1024u /* below 4096: QEMU 7.2 aborts on a full window */
#define XFER_TIMEOUT_MS 3000u

static struct {
    const task_start_info_t *si;
    struct drv_cfg cfg;
    struct drv_region bar;
    struct drv_iommu iommu;
    struct drv_dma dma;
    struct drv_buf src, dst;
    pc_cptr_t irq_ntfn, hp_ep;
    uint64_t handle; /* IOMMU device handle of the current occupant (0: detached) */
    uint64_t hp_handle;
    unsigned round;
} g;

/* One transfer, polled with a deadline. */
static bool xfer(uint64_t src, uint64_t dst, bool to_ram)
{
    drv_wr64(&g.bar, EDU_DMA_SRC, src);
    drv_wr64(&g.bar, EDU_DMA_DST, dst);
    drv_wr32(&g.bar, EDU_DMA_COUNT, XFER);
    drv_wr32(&g.bar, EDU_DMA_CMD, EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0));
    uint64_t end = hpt_now_ms() + XFER_TIMEOUT_MS;
    while (drv_rd32(&g.bar, EDU_DMA_CMD) & EDU_CMD_RUN) {
        if (hpt_now_ms() > end) {
            return false;
        }
        /* A 5 ms sleep; a hotplug signal consumed here is harmless: events stay queued at the
         * server and the main loop asks for them every turn. */
        (void)pc_wait(g.irq_ntfn, 5000, NULL);
    }
    return true;
}

/* RAM -> device -> RAM with a pattern that differs every round; true if the bytes came back. */
static bool round_trip(void)
{
    uint8_t *s = g.src.va, *d = g.dst.va;
    g.round++;
    for (unsigned i = 0; i < XFER; i++) {
        s[i] = (uint8_t)(i * 7u + g.round);
        d[i] = 0xcc;
    }
    if (!xfer(g.src.dev, EDU_BUF, false) || !xfer(EDU_BUF, g.dst.dev, true)) {
        return false;
    }
    return memcmp(s, d, XFER) == 0;
}

/* Attach the current occupant and give it the buffers (mapped again after a re-plug). */
static bool bring_up(bool remap)
{
    uint64_t flags = 0;
    (void)pci_set_bus_master(&g.cfg.ecam, g.cfg.sid, true);
    if (drv_iommu_attach(&g.iommu, g.cfg.sid, &g.handle, &flags) != IOMMU_OK) {
        g.handle = 0;
        return false;
    }
    if (remap && (drv_dma_remap(&g.dma, &g.src) != DRV_DMA_OK ||
                  drv_dma_remap(&g.dma, &g.dst) != DRV_DMA_OK)) {
        return false;
    }
    return true;
}

static bool release(void)
{
    bool gone = false; /* a gone device's unmaps succeed locally: fine either way */
    int rc = drv_dma_unmap_all(&g.dma, &gone);
    uint64_t status = 0;
    uint64_t e = drv_iommu_detach(&g.iommu, g.handle, &status);
    return rc == DRV_DMA_OK && e == IOMMU_OK;
}

/* One event from the hotplug server (checked by hps_event_decode), or label HPS_EVENT_NONE. */
static uint64_t next_event(hp_handle_t *h)
{
    struct hps_msg q;
    struct hps_event e;
    hps_encode_next_event(&q);
    pc_msg_t m;
    memset(&m, 0, sizeof(m));
    m.info = pc_msginfo(q.label, 0, 0, q.len);
    if (pc_call(g.hp_ep, &m) != PC_OK ||
        hps_event_decode(pc_msginfo_label(m.info), m.mr, pc_msginfo_length(m.info), &e) !=
            HP_GONE_OK) {
        return HPS_EVENT_NONE;
    }
    *h = e.handle;
    return e.label;
}

int hpt_cycler_main(const task_start_info_t *si)
{
    g.si = si;
    uint64_t n = 0;
    (void)task_cmdline_get_u64(si->cmdline, "n", &n);
    const task_cap_t *irq = task_cap_find(si, "msi");
    g.irq_ntfn = irq != NULL ? irq->aux_slot : 0;
    g.hp_ep = task_cap_slot(si, "hotplug", TASK_CAP_ENDPOINT);
    g.iommu.ep = task_cap_slot(si, "iommu", TASK_CAP_ENDPOINT);
    bool ok = drv_cfg_open(&g.cfg, si, "config") == PCI_OK &&
              drv_region_get(si, "bar0", 4096, &g.bar) && g.irq_ntfn && g.hp_ep && g.iommu.ep &&
              drv_dma_init(&g.dma, si, DRV_DMA_IOMMU, &g.iommu) == DRV_DMA_OK && bring_up(false) &&
              drv_dma_alloc(&g.dma, 1, IOMMU_READ, &g.src) == DRV_DMA_OK &&
              drv_dma_alloc(&g.dma, 1, IOMMU_WRITE, &g.dst) == DRV_DMA_OK;
    ok = ok && round_trip();
    hpt_result("cycler_boot_dma_through_iommu_verified", ok, "(sid %02x:%02x.%x, handle %#llx)",
               g.cfg.sid >> 8, (g.cfg.sid >> 3) & 0x1f, g.cfg.sid & 7,
               (unsigned long long)g.handle);
    if (!ok) {
        return hpt_finish();
    }
    char line[96];
    snprintf(line, sizeof(line), "cycler: cycle 0 verified");
    task_log(line);

    unsigned going = 0, answered = 0, fresh = 0, verified = 0, stale = 0;
    uint64_t deadline = hpt_now_ms() + 600000u; /* guest time; the ctest deadline bounds it too */
    while (fresh < n && hpt_now_ms() < deadline) {
        hp_handle_t h = 0;
        uint64_t ev = next_event(&h);
        if (ev == HPS_EVENT_NONE) {
            pc_word_t word = 0;
            (void)pc_wait(g.irq_ntfn, 100000, &word);
            continue;
        }
        if (ev == HP_GONE_DEVICE_GOING && HP_HANDLE_SID(h) == g.cfg.sid) {
            going++;
            bool rel = release();
            struct drv_events hp = {.hotplug_ep = g.hp_ep};
            answered += rel && drv_events_detached(&hp, h) == HP_GONE_OK;
        } else if (ev == HP_GONE_DEVICE_GONE && HP_HANDLE_SID(h) == g.cfg.sid) {
            (void)release();
        } else if (ev == HPS_EVENT_DEVICE_NEW && HP_HANDLE_SID(h) == g.cfg.sid) {
            if (g.hp_handle == 0 && going == 0) {
                g.hp_handle = h; /* the boot-time assignment of the device we have */
                continue;
            }
            g.hp_handle = h;
            uint64_t old = g.handle, status = 0;
            fresh++;
            bool up = bring_up(true);
            stale += drv_iommu_detach(&g.iommu, old, &status) == IOMMU_ERR_STALE;
            bool good = up && IOMMU_HANDLE_GEN(g.handle) == HP_HANDLE_GEN(h) && round_trip();
            verified += good;
            snprintf(line, sizeof(line), "cycler: cycle %u %s (handle %#llx)", fresh,
                     good ? "verified" : "FAILED", (unsigned long long)g.handle);
            task_log(line);
        }
    }
    if (n == 0) {
        (void)release(); /* n=0: the boot round trip was the whole job (a fresh instance) */
        return hpt_finish();
    }
    /* Keep the mappings a while: the control task compares the IOMMU server's counts with
     * those of the first cycle. */
    (void)pc_wait(g.irq_ntfn, 3000000, NULL);
    hpt_result("cycler_every_going_answered_after_unmap_and_detach",
               going == n && answered == going, "(%u going, %u answered detached)", going,
               answered);
    hpt_result("cycler_dma_verified_after_every_replug", verified == n && fresh == n,
               "(%u of %llu re-plugs: attached under the hotplug generation, data verified)",
               verified, (unsigned long long)n);
    hpt_result("cycler_previous_handle_refused_after_every_replug", stale == n,
               "(%u of %llu old handles STALE)", stale, (unsigned long long)n);
    (void)release();
    return hpt_finish();
}
