/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The edu driver: an ordinary unprivileged task that drives QEMU's edu DMA engine through the
 * IOMMU server. It holds the function's config page (MSI), BAR0, one MSI vector, RAM for its
 * buffers and a client endpoint to the IOMMU server; it attaches its device, maps its own frames
 * at IOVAs it chooses and gives the device only those IOVAs. Every check prints one TEST line.
 *
 * Command line (module arguments):
 *   mode=selftest          (default) RAM -> device -> RAM round trips of several sizes, verified;
 *                          then everything unmapped and detached
 *   mode=fault-after-unmap a DMA to mapped memory moves the right bytes; after unmap the same
 *                          DMA faults, the memory is untouched, and the fault reaches this driver
 *   mode=serve             the self test, then serve the hotplug server's events (device_going,
 *                          device_gone) until `removals` (default 1) removals and `replug=M`
 *                          re-plugs (bare `replug`: one per removal) were served, or serve_ms
 *                          (default 30000) passed. A re-plugged device (device_new) is attached
 *                          under its new generation and self-tested again. An optional "ready"
 *                          notification is signalled whenever the device works.
 *   mode=serve cycles=N    the self test, then N removal/re-plug cycles (bare `cycles`: until
 *                          serve_ms): every going answered after unmap and detach (a gone:
 *                          released without touching the device), every new
 *                          occupant attached under its new generation, the old handle refused,
 *                          the self test run. Per-cycle checks are counted, not printed; one line
 *                          "<name>: cycle K verified|FAILED" per cycle and one summary TEST line
 *                          (replug_cycles_all_verified) at the end.
 *   mode=revoke-target     the self test, then transfers into the destination buffer while the
 *                          root task takes things back (its init.revoke scenario, one step per
 *                          "ready" signal): after the frames, the transfers fault (reported to
 *                          us, decoded) and land nowhere, and mapping that RAM again is refused
 *                          (REVOKED); after the device, its handle and attach are refused. Then
 *                          the report, and transfers go on until the root task kills us.
 *                          With `restarted` (the instance started again): attached in a fresh
 *                          domain, the previous instance's IOVA faults, the self test passes.
 *   hold_ms=T              with cycles=N: stay attached and mapped T ms after the last cycle
 *   inflight               mode=serve: keep a 512-byte transfer running while waiting for
 *                          events, so removals find DMA in flight (the soak)
 *   tag=X                  test and log lines are named "edu_X_..." instead of "edu_..." (two
 *                          instances in one image, fresh instances started for hot-added devices)
 *   iommu=off              bring-up only: no IOMMU server, the device gets physical addresses
 *                          (the IOMMU must not be translating); never used by the final tests
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drv/dma.h>
#include <drv/drv.h>
#include <drv/events.h>
#include <drv/iommu.h>

#include "edu.h"

#define EDU_DMA_TIMEOUT_US 2000000u /* a transfer takes ~100 ms of virtual time */
#define EDU_FAULT_TIMEOUT_US 2000000u
#define EDU_INFLIGHT_SLICE_US 120000u /* a transfer takes 100 ms: re-armed about as it ends */

struct edu_driver {
    const task_start_info_t *si;
    struct drv_cfg cfg;
    struct pci_msi msi;
    struct edu edu;
    struct drv_iommu iommu;
    struct drv_dma dma;
    struct drv_events ev;
    bool bringup;
    bool attached;
    uint64_t handle;       /* IOMMU device handle: generation << 16 | sid */
    uint64_t irq;          /* remapped interrupt handle from irq_alloc (0: none) */
    uint64_t old_irq;      /* the released occupant's handle: a re-plug checks it is refused */
    hp_handle_t hp_handle; /* the hotplug server's handle for our device (0: not told yet) */
    struct drv_buf src;    /* the device reads it (RAM -> device) */
    struct drv_buf dst;    /* the device writes it (device -> RAM) */
    uint64_t cycles;       /* mode=serve cycles=N: 0 off, UINT64_MAX until serve_ms */
    bool inflight;         /* mode=serve inflight: keep a transfer running while waiting */
    bool dma_armed;        /* a transfer was started and not reaped yet */
    uint64_t removals_in_flight; /* removals that found a transfer of ours running */
};

static struct edu_driver g;

/* A deterministic pattern that differs per round, so a stale buffer never matches. */
static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

static bool setup_device(void)
{
    uint32_t id = 0, live = 0;
    const task_cap_t *msi = task_cap_find(g.si, "msi");
    bool have = drv_region_get(g.si, "bar0", EDU_BAR_MIN_SIZE, &g.edu.bar) &&
                drv_cfg_open(&g.cfg, g.si, "config") == PCI_OK && msi != NULL &&
                msi->kind == TASK_CAP_MSI && msi->slot != 0 && msi->aux_slot != 0;
    if (!drv_check("has_its_grants", have, "(bar0, config page, msi)")) {
        return false;
    }
    g.edu.irq_handler = msi->slot;
    g.edu.irq_ntfn = msi->aux_slot;
    g.edu.irq_badge = msi->badge;
    bool is_edu = edu_identify(&g.edu, &id);
    bool ok = drv_check("identified", is_edu, "(id %#x at %02x:%02x.%x)", id,
                        PCI_SID_BUS(g.cfg.sid), PCI_SID_DEV(g.cfg.sid), PCI_SID_FN(g.cfg.sid));
    bool alive = edu_liveness(&g.edu, 0x5a5aa5a5u, &live);
    ok &= drv_check("liveness", alive, "(wrote 0x5a5aa5a5, read %#x)", live);
    int perr = pci_msi_probe(&g.cfg.ecam, g.cfg.sid, &g.msi);
    if (perr == PCI_OK) {
        perr = pci_set_bus_master(&g.cfg.ecam, g.cfg.sid, true);
    }
    ok &= drv_check("msi_found", perr == PCI_OK, "(%s)", pci_err_str(perr));
    return ok;
}

/*
 * The device's MSI. With an IOMMU server the "msi" entry carries no address (arg1 = 0) but the
 * index of a vector grant: the server writes a remapping entry for our device (attached, this
 * generation) and tells us the remappable address/data to program. Without one (bring-up on a
 * machine without the server) the root task gave the direct pair.
 */
static bool enable_msi(void)
{
    uint64_t addr = 0;
    uint32_t data = 0;
    bool remapped = false;
    uint64_t err = drv_iommu_msi_pair(&g.iommu, task_cap_find(g.si, "msi"), g.attached, g.handle,
                                      &g.irq, &addr, &data, &remapped);
    int perr = err == IOMMU_OK
                   ? pci_msi_enable(&g.cfg.ecam, g.cfg.sid, &g.msi, addr, (uint16_t)data, 1)
                   : PCI_ERR_INVALID;
    (void)pc_irq_handler_ack(g.edu.irq_handler);
    return drv_check("msi_enabled", perr == PCI_OK, "(%s%s%s; %s, address %#llx data %#x)",
                     pci_err_str(perr), err != IOMMU_OK ? ": irq_alloc " : "",
                     err != IOMMU_OK ? drv_iommu_errname(err) : "",
                     remapped ? "remapped by the IOMMU server" : "direct (no IOMMU server)",
                     (unsigned long long)addr, data);
}

static bool attach(void)
{
    uint64_t flags = 0;
    if (g.bringup) {
        return true;
    }
    uint64_t err = drv_iommu_attach(&g.iommu, g.cfg.sid, &g.handle, &flags);
    g.attached = err == IOMMU_OK;
    return drv_check("iommu_attach", g.attached, "(%s, handle %#llx, flags %#llx)",
                     drv_iommu_errname(err), (unsigned long long)g.handle,
                     (unsigned long long)flags);
}

static bool alloc_buffers(void)
{
    int rc = drv_dma_alloc(&g.dma, 1, IOMMU_READ, &g.src);
    if (rc == DRV_DMA_OK) {
        rc = drv_dma_alloc(&g.dma, 1, IOMMU_WRITE, &g.dst);
    }
    return drv_check("buffers_mapped", rc == DRV_DMA_OK, "(%s%s%s; src dev %#llx, dst dev %#llx)",
                     drv_dma_errname(rc), rc == DRV_DMA_ERR_IOMMU ? ": " : "",
                     rc == DRV_DMA_ERR_IOMMU ? drv_iommu_errname(g.dma.last_iommu_err) : "",
                     (unsigned long long)g.src.dev, (unsigned long long)g.dst.dev);
}

/* RAM -> device buffer -> RAM for one size; compares every byte and the bytes after it. */
static bool round_trip(uint32_t count, uint32_t dev_off, uint32_t seed, char *why, size_t why_len)
{
    uint8_t *src = g.src.va, *dst = g.dst.va;
    fill(src, count, seed);
    memset(dst, 0xcc, 4096);
    int rc = edu_dma(&g.edu, g.src.dev, dev_off, count, false, EDU_DMA_TIMEOUT_US);
    if (rc == EDU_OK) {
        rc = edu_dma(&g.edu, g.dst.dev, dev_off, count, true, EDU_DMA_TIMEOUT_US);
    }
    if (rc != EDU_OK) {
        snprintf(why, why_len, "count %u: %s", count, edu_errname(rc));
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (dst[i] != src[i]) {
            snprintf(why, why_len, "count %u: byte %u is %#x, expected %#x", count, i, dst[i],
                     src[i]);
            return false;
        }
    }
    for (uint32_t i = count; i < 4096; i++) {
        if (dst[i] != 0xcc) {
            snprintf(why, why_len, "count %u: byte %u past the transfer changed", count, i);
            return false;
        }
    }
    return true;
}

static bool selftest(void)
{
    static const uint32_t sizes[] = {1, 8, 100, 1024, EDU_DMA_MAX_COUNT};
    char why[96] = "";
    bool ok = true;
    uint64_t t0 = drv_now_us();
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && ok; i++) {
        ok = round_trip(sizes[i], 0, i + 1, why, sizeof(why));
    }
    if (ok) {
        ok = round_trip(200, 3000, 77, why, sizeof(why)); /* not at the start of the window */
    }
    drv_check(g.bringup ? "dma_round_trip_physical_bringup"
                        : "dma_round_trip_through_iommu_verified",
              ok, "(%s; %llu transfers, %s addresses, last wait %llu us, total %llu us)",
              ok ? "sizes 1..4095 and an offset" : why, (unsigned long long)g.edu.transfers,
              g.bringup ? "PHYSICAL (bring-up)" : "IOVA", (unsigned long long)g.edu.last_wait_us,
              (unsigned long long)(drv_now_us() - t0));
    int full = edu_dma(&g.edu, g.src.dev, 0, 4096, false, 1000);
    drv_check("dma_rejects_full_window", full == EDU_ERR_ARG,
              "(%s: 4096 bytes would abort QEMU 7.2, refused before any register write)",
              edu_errname(full));
    return ok;
}

/*
 * BENCH lines (printed, never judged): one 4 KiB map + unmap through the IOMMU server as this
 * driver sees it (two IPC round trips, the server's page-table update and strict invalidation),
 * in TSC ticks - guest instructions under -icount shift=0.
 */
static void bench_map_unmap(void)
{
    enum { ROUNDS = 64 };
    static uint64_t t[ROUNDS];
    struct drv_buf b;
    if (g.bringup || drv_dma_alloc(&g.dma, 1, IOMMU_READ | IOMMU_WRITE, &b) != DRV_DMA_OK) {
        return;
    }
    unsigned n = 0;
    for (unsigned i = 0; i < ROUNDS; i++) {
        uint64_t t0 = task_rdtsc();
        if (drv_dma_unmap(&g.dma, &b) != DRV_DMA_OK || drv_dma_remap(&g.dma, &b) != DRV_DMA_OK) {
            break;
        }
        t[n++] = task_rdtsc() - t0;
    }
    for (unsigned i = 1; i < n; i++) { /* insertion sort: 64 values */
        uint64_t v = t[i];
        unsigned j = i;
        for (; j > 0 && t[j - 1] > v; j--) {
            t[j] = t[j - 1];
        }
        t[j] = v;
    }
    if (n > 0) {
        char line[160];
        snprintf(line, sizeof(line),
                 "BENCH driver_iommu_unmap_map_4k median=%llu min=%llu p90=%llu rounds=%u",
                 (unsigned long long)t[n / 2], (unsigned long long)t[0],
                 (unsigned long long)t[(n * 9) / 10], n);
        task_log(line);
    }
}

static void print_faults(unsigned *n_out, bool *match_out, uint64_t want_addr)
{
    struct iommu_fault_rec rec[IOMMU_FAULTS_PER_REPLY];
    unsigned n = 0;
    uint64_t dropped = 0;
    uint64_t err = drv_iommu_fault_read(&g.iommu, rec, IOMMU_FAULTS_PER_REPLY, &n, &dropped);
    if (err != IOMMU_OK) {
        drv_log("fault_read failed: %s", drv_iommu_errname(err));
    }
    for (unsigned i = 0; i < n; i++) {
        drv_log("DMA fault: sid %02x:%02x.%x addr %#llx reason %u %s%s", PCI_SID_BUS(rec[i].sid),
                PCI_SID_DEV(rec[i].sid), PCI_SID_FN(rec[i].sid), (unsigned long long)rec[i].addr,
                rec[i].reason, rec[i].write ? "write" : "read",
                rec[i].pasid_present ? " (PASID)" : "");
        if (rec[i].sid == g.cfg.sid && (rec[i].addr & ~0xfffull) == (want_addr & ~0xfffull)) {
            *match_out = true;
        }
    }
    if (dropped) {
        drv_log("%llu fault records dropped", (unsigned long long)dropped);
    }
    *n_out += n;
}

/* Waits (bounded) for a fault record naming want_addr; true if one arrived. */
static bool wait_fault(uint64_t want_addr, unsigned *records)
{
    bool match = false;
    uint64_t deadline = drv_deadline(EDU_FAULT_TIMEOUT_US);
    while (!match && drv_left_us(deadline) > 0) {
        if (g.ev.fault_ntfn != 0) {
            pc_word_t w = 0;
            (void)pc_wait(g.ev.fault_ntfn, drv_left_us(deadline) ? drv_left_us(deadline) : 1, &w);
        } else {
            pc_word_t w = 0;
            /* no fault signal granted: poll every 10 ms (sleeping on our own notification) */
            if (pc_wait(g.edu.irq_ntfn, 10000, &w) == PC_OK) {
                drv_events_note(&g.ev, w);
            }
        }
        print_faults(records, &match, want_addr);
    }
    return match;
}

static bool fault_after_unmap(void)
{
    char why[96] = "";
    bool ok = round_trip(512, 0, 9, why, sizeof(why));
    drv_check("dma_to_mapped_memory_moves_the_right_bytes", ok, "(%s)", ok ? "512 bytes" : why);
    if (g.bringup) {
        drv_check("fault_after_unmap_needs_iommu", false, "(iommu=off: nothing to unmap)");
        return false;
    }
    /* the device buffer holds a fresh pattern; the destination page is then unmapped */
    fill(g.src.va, 512, 1234);
    int rc = edu_dma(&g.edu, g.src.dev, 0, 512, false, EDU_DMA_TIMEOUT_US);
    memset(g.dst.va, 0x5e, 4096);
    int urc = drv_dma_unmap(&g.dma, &g.dst);
    drv_check("unmap_succeeds", urc == DRV_DMA_OK && rc == EDU_OK, "(%s%s%s; status %#llx)",
              drv_dma_errname(urc), urc == DRV_DMA_ERR_IOMMU ? ": " : "",
              urc == DRV_DMA_ERR_IOMMU ? drv_iommu_errname(g.dma.last_iommu_err) : "",
              (unsigned long long)g.dma.last_status);
    /* the same DMA again: the engine completes (it cannot tell), the write must not land */
    rc = edu_dma(&g.edu, g.dst.dev, 0, 512, true, EDU_DMA_TIMEOUT_US);
    bool untouched = true;
    for (unsigned i = 0; i < 4096; i++) {
        untouched &= ((const uint8_t *)g.dst.va)[i] == 0x5e;
    }
    drv_check("dma_after_unmap_does_not_reach_memory", rc == EDU_OK && untouched,
              "(transfer %s, memory %s)", edu_errname(rc), untouched ? "untouched" : "CHANGED");
    unsigned records = 0;
    bool got = wait_fault(g.dst.dev, &records);
    drv_check("dma_after_unmap_fault_reaches_driver", got,
              "(%u record(s); wanted sid %02x:%02x.%x write at %#llx)", records,
              PCI_SID_BUS(g.cfg.sid), PCI_SID_DEV(g.cfg.sid), PCI_SID_FN(g.cfg.sid),
              (unsigned long long)g.dst.dev);
    return got && untouched;
}

/*
 * Unmaps every buffer and detaches. `gone`: the device vanished: its registers and config space
 * are not touched, a detach error is tolerated (and printed), and the IOMMU server must have said
 * DEVICE_GONE for the unmaps (it sent nothing to the device).
 */
static void release(bool gone, const char *check)
{
    bool gone_seen = false;
    unsigned before = drv_dma_mapped_pages(&g.dma);
    int rc = g.bringup ? DRV_DMA_OK : drv_dma_unmap_all(&g.dma, &gone_seen);
    uint64_t status = 0, derr = IOMMU_OK;
    if (!gone) {
        (void)pci_set_bus_master(&g.cfg.ecam, g.cfg.sid, false);
        (void)pci_msi_disable(&g.cfg.ecam, g.cfg.sid, &g.msi);
    }
    if (g.attached) {
        /* detach frees our interrupt entries too; an earlier free makes it explicit */
        if (g.irq != 0 && !gone) {
            (void)drv_iommu_irq_free(&g.iommu, g.irq);
        }
        derr = drv_iommu_detach(&g.iommu, g.handle, &status);
        g.attached = false;
    }
    g.old_irq = g.irq;
    g.irq = 0;
    bool ok = rc == DRV_DMA_OK && (derr == IOMMU_OK || gone) && drv_dma_mapped_pages(&g.dma) == 0;
    if (gone && !g.bringup && before > 0) {
        ok &= gone_seen;
    }
    drv_check(check, ok, "(unmap of %u pages %s%s%s%s, detach %s, status %#llx)", before,
              drv_dma_errname(rc), rc == DRV_DMA_ERR_IOMMU ? ": " : "",
              rc == DRV_DMA_ERR_IOMMU ? drv_iommu_errname(g.dma.last_iommu_err) : "",
              gone_seen ? " (DEVICE_GONE: done locally)" : "", drv_iommu_errname(derr),
              (unsigned long long)status);
}

/* The hotplug event names our device: its source-id, and the generation we attached (or were
 * told of by device_new). */
static bool ours(hp_handle_t h)
{
    if (HP_HANDLE_SID(h) != g.cfg.sid) {
        return false;
    }
    return g.bringup || h == g.hp_handle || HP_HANDLE_GEN(h) == IOMMU_HANDLE_GEN(g.handle);
}

/* A re-plugged device at the same function: set it up again, attach under the new generation,
 * check the old handle is refused, map the buffers again at their IOVAs and run the self test. */
static bool replugged(hp_handle_t h)
{
    uint64_t old = g.handle, old_irq = g.old_irq;
    drv_log("new occupant (handle %#llx): setting up again", (unsigned long long)h);
    g.irq = 0;
    bool ok = setup_device() && attach() && enable_msi();
    if (ok && !g.bringup && old_irq != 0) {
        uint64_t err = drv_iommu_irq_free(&g.iommu, old_irq);
        drv_check("old_irq_refused", err == IOMMU_ERR_STALE,
                  "(the removed occupant's interrupt handle: %s)", drv_iommu_errname(err));
    }
    if (ok && !g.bringup) {
        drv_check("new_generation", IOMMU_HANDLE_GEN(g.handle) != IOMMU_HANDLE_GEN(old),
                  "(old handle %#llx, new %#llx, hotplug handle %#llx)", (unsigned long long)old,
                  (unsigned long long)g.handle, (unsigned long long)h);
        uint64_t status = 0;
        uint64_t err = drv_iommu_detach(&g.iommu, old, &status);
        drv_check("old_handle_refused", err == IOMMU_ERR_STALE, "(detach with the old handle: %s)",
                  drv_iommu_errname(err));
        int rc = drv_dma_remap(&g.dma, &g.src);
        if (rc == DRV_DMA_OK) {
            rc = drv_dma_remap(&g.dma, &g.dst);
        }
        ok = drv_check("buffers_mapped_again", rc == DRV_DMA_OK, "(%s%s%s)", drv_dma_errname(rc),
                       rc == DRV_DMA_ERR_IOMMU ? ": " : "",
                       rc == DRV_DMA_ERR_IOMMU ? drv_iommu_errname(g.dma.last_iommu_err) : "");
    }
    g.hp_handle = h;
    return ok && selftest();
}

/* Tells a supervisor (an optional "ready" notification) that the device works. */
static void signal_ready(void)
{
    pc_cptr_t ready = task_cap_slot(g.si, "ready", TASK_CAP_NOTIFICATION);
    if (ready != 0) {
        pc_signal(ready);
    }
}

/* One device -> RAM transfer of 512 bytes into the destination buffer: did it land? */
static bool transfer_lands(uint32_t seed, int *rc)
{
    fill(g.src.va, 512, seed);
    *rc = edu_dma(&g.edu, g.src.dev, 0, 512, false, EDU_DMA_TIMEOUT_US);
    memset(g.dst.va, 0x5e, 512);
    if (*rc == EDU_OK) {
        *rc = edu_dma(&g.edu, g.dst.dev, 0, 512, true, EDU_DMA_TIMEOUT_US);
    }
    return *rc == EDU_OK && memcmp(g.dst.va, g.src.va, 512) == 0;
}

#define REVOKE_WAIT_US 20000000u /* how long the root task's next step may take to come */

/* mode=revoke-target, before the report: the frames, then the device, taken back. */
static void revoke_target(void)
{
    /* transfers land until the root task revoked the frames; then they fault */
    unsigned landed = 0, records = 0;
    bool faulted = false;
    int rc = EDU_OK;
    uint64_t deadline = drv_deadline(REVOKE_WAIT_US);
    while (!faulted && drv_left_us(deadline) > 0) {
        bool ok = transfer_lands(landed + 100, &rc);
        if (ok && landed++ == 0) {
            drv_log("transfers into %#llx running: ready for the root task",
                    (unsigned long long)g.dst.dev);
            signal_ready();
        }
        print_faults(&records, &faulted, g.dst.dev);
    }
    drv_check("revoked_frames_dma_fault_reported", faulted && landed > 0,
              "(%u transfers landed before, %u fault record(s) for %#llx)", landed, records,
              (unsigned long long)g.dst.dev);
    bool lands = transfer_lands(7, &rc);
    drv_check("revoked_frames_dma_lands_nowhere", rc == EDU_OK && !lands,
              "(transfer %s, memory %s)", edu_errname(rc), lands ? "CHANGED" : "untouched");
    uint64_t err =
        drv_iommu_map_frame(&g.iommu, g.dst.dev, g.dma.page[g.dst.first].frame, 4096, IOMMU_WRITE);
    drv_check("revoked_frames_map_again_refused", err == IOMMU_ERR_REVOKED, "(%s)",
              drv_iommu_errname(err));
    struct drv_buf b;
    int arc = drv_dma_alloc(&g.dma, 1, IOMMU_WRITE, &b);
    drv_check("revoked_frames_new_buffer_refused",
              arc == DRV_DMA_ERR_IOMMU && g.dma.last_iommu_err == IOMMU_ERR_REVOKED, "(%s%s%s)",
              drv_dma_errname(arc), arc == DRV_DMA_ERR_IOMMU ? ": " : "",
              arc == DRV_DMA_ERR_IOMMU ? drv_iommu_errname(g.dma.last_iommu_err) : "");
    /* the device next: a request with its handle says when it is gone */
    signal_ready();
    uint64_t status = 0;
    deadline = drv_deadline(REVOKE_WAIT_US);
    do {
        err = drv_iommu_ats_flush(&g.iommu, g.handle, 0, 0, &status);
        if (err != IOMMU_ERR_NOT_ATTACHED) {
            pc_word_t w = 0;
            (void)pc_wait(g.edu.irq_ntfn, 20000, &w); /* 20 ms between looks */
        }
    } while (err != IOMMU_ERR_NOT_ATTACHED && drv_left_us(deadline) > 0);
    drv_check("revoked_device_handle_refused", err == IOMMU_ERR_NOT_ATTACHED, "(ats_flush: %s)",
              drv_iommu_errname(err));
    uint64_t h = 0, flags = 0;
    err = drv_iommu_attach(&g.iommu, g.cfg.sid, &h, &flags);
    drv_check("revoked_device_attach_refused", err == IOMMU_ERR_NOT_GRANTED, "(%s)",
              drv_iommu_errname(err));
    g.attached = false;
}

/* After the report: transfers keep being started (the device is blocked now) until the root task
 * kills this task; "ready" says it may. */
static void run_until_killed(uint64_t serve_ms)
{
    signal_ready();
    uint64_t until = drv_deadline(serve_ms * 1000u);
    while (drv_left_us(until) > 0) {
        if (!edu_dma_busy(&g.edu)) {
            (void)edu_dma_start(&g.edu, g.dst.dev, 0, 512, true);
        }
        pc_word_t w = 0;
        (void)pc_wait(g.edu.irq_ntfn, 20000, &w);
    }
}

/* The instance started again: nothing of the previous one's domain is there before it maps. */
static void restarted_fresh_domain(void)
{
    uint64_t old = DRV_DMA_IOVA_BASE; /* where every instance maps its first buffer */
    /* the killed instance may have left a transfer running: it ends (blocked) on its own */
    int q = edu_dma_quiesce(&g.edu, EDU_DMA_TIMEOUT_US);
    drv_log("previous instance's transfer: %s", q == EDU_OK ? "none left running" : edu_errname(q));
    int rc = edu_dma(&g.edu, old, 0, 512, true, EDU_DMA_TIMEOUT_US);
    unsigned records = 0;
    bool got = rc == EDU_OK && wait_fault(old, &records);
    drv_check("restarted_old_iova_faults", got, "(transfer to %#llx: %s, %u fault record(s))",
              (unsigned long long)old, edu_errname(rc), records);
}

enum serve_end {
    SERVE_ACTIVE,   /* the device is attached and mapped (deadline passed, or re-plugged) */
    SERVE_RELEASED, /* the last removal was handled: nothing is left to release */
};

/*
 * Serves hotplug events until `removals` removals were handled or the deadline passed.
 * going: wait (bounded) for the transfer in flight, unmap, detach, answer detached. gone: the
 * device vanished: unmap and detach without touching it (errors reported, tolerated). After a
 * removal, while fewer than `replugs` re-plugs were served, it waits for the new occupant and
 * works with it again (check names of the k-th new occupant start with "replug_", "replug2_"...).
 * Ends once `removals` removals and `replugs` re-plugs were served.
 */
/* cycles=N: the one summary check of all cycles (the per-cycle checks were quiet). */
static void cycles_summary(uint64_t done, uint64_t verified, uint64_t handled)
{
    const char *first = "";
    unsigned bad = drv_quiet_failed(&first);
    drv_set_quiet(false);
    bool want_all = g.cycles != UINT64_MAX;
    drv_check("replug_cycles_all_verified",
              bad == 0 && verified == done && handled == done && done > 0 &&
                  (!want_all || done == g.cycles),
              "(%llu of %llu cycles: removals handled %llu, %llu with a transfer in flight, "
              "re-plug verified %llu; %u failed checks%s%s)",
              (unsigned long long)done, want_all ? (unsigned long long)g.cycles : 0ull,
              (unsigned long long)handled, (unsigned long long)g.removals_in_flight,
              (unsigned long long)verified, bad, bad ? ", first: " : "", first);
}

/* hold_ms=T after the last cycle: keep the device attached and mapped a while (a supervisor
 * compares the IOMMU server's accounting with that of the first cycle). Faults are printed. */
static void hold(uint64_t ms)
{
    uint64_t until = drv_deadline(ms * 1000u);
    while (drv_left_us(until) > 0) {
        struct drv_event e = drv_events_wait(&g.ev, drv_left_us(until));
        if (e.kind == DRV_EVENT_FAULT) {
            unsigned n = 0;
            bool m = false;
            print_faults(&n, &m, 0);
        } else if (e.kind != DRV_EVENT_NONE) {
            drv_log("hotplug event %s (handle %#llx) while holding: ignored",
                    drv_event_name(e.kind), (unsigned long long)e.handle);
        }
    }
}

static enum serve_end serve(uint64_t serve_ms, uint64_t replugs, uint64_t removals,
                            uint64_t hold_ms)
{
    if (!drv_check("serve_has_hotplug_endpoint", g.ev.hotplug_ep != 0, "(\"hotplug\" endpoint)")) {
        return SERVE_ACTIVE;
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
    signal_ready();
    uint64_t deadline = drv_deadline(serve_ms * 1000u);
    /* handled: removals served (going answered detached, or gone released) */
    uint64_t removed = 0, replugged_n = 0, verified = 0, handled = 0;
    bool attached = true;
    if (g.cycles != 0) {
        drv_log("cycle 0 verified");
        drv_set_quiet(true);
    }
    for (;;) {
        uint64_t left = drv_left_us(deadline);
        if (left == 0 && g.cycles != 0) {
            cycles_summary(replugged_n, verified, handled);
            return attached ? SERVE_ACTIVE : SERVE_RELEASED;
        }
        if (left == 0) {
            drv_check("serve_scenario_completed", false, "(deadline passed after %llu removal(s))",
                      (unsigned long long)removed);
            return attached ? SERVE_ACTIVE : SERVE_RELEASED;
        }
        if (g.inflight && attached && !g.bringup) {
            /* DMA in flight whenever a removal may come: re-arm when the last one finished
             * (RAM -> device, the source buffer stays mapped while attached) */
            if (edu_dma_reap(&g.edu) == EDU_OK) {
                g.dma_armed = edu_dma_start(&g.edu, g.src.dev, 0, 512, false) == EDU_OK;
            }
            left = left < EDU_INFLIGHT_SLICE_US ? left : EDU_INFLIGHT_SLICE_US;
        }
        struct drv_event e = drv_events_wait(&g.ev, left);
        if (e.kind == DRV_EVENT_NONE) {
            continue;
        }
        if (e.kind == DRV_EVENT_FAULT) {
            unsigned n = 0;
            bool m = false;
            print_faults(&n, &m, 0);
            continue;
        }
        drv_log("hotplug event %s (handle %#llx)", drv_event_name(e.kind),
                (unsigned long long)e.handle);
        if (e.kind == DRV_EVENT_NEW) {
            if (attached) {
                if (g.hp_handle == 0 && HP_HANDLE_SID(e.handle) == g.cfg.sid) {
                    g.hp_handle = e.handle; /* the assignment of the device we already drive */
                }
                continue;
            }
            if (HP_HANDLE_SID(e.handle) != g.cfg.sid) {
                continue;
            }
            if (g.cycles == 0) {
                char phase[16];
                snprintf(phase, sizeof(phase), removed == 1 ? "replug_" : "replug%llu_",
                         (unsigned long long)removed);
                drv_set_phase(phase);
            }
            attached = true;
            replugged_n++;
            unsigned bad_before = drv_quiet_failed(NULL);
            bool good = replugged(e.handle);
            if (good) {
                signal_ready();
            }
            if (g.cycles != 0) {
                good = good && drv_quiet_failed(NULL) == bad_before;
                verified += good;
                drv_log("cycle %llu %s (handle %#llx)", (unsigned long long)replugged_n,
                        good ? "verified" : "FAILED", (unsigned long long)g.handle);
                if (replugged_n >= g.cycles) {
                    cycles_summary(replugged_n, verified, handled);
                    hold(hold_ms);
                    return SERVE_ACTIVE;
                }
                continue;
            }
            if (removed >= removals && replugged_n >= replugs) {
                return SERVE_ACTIVE;
            }
            continue;
        }
        if (attached && ours(e.handle) && g.dma_armed) {
            g.removals_in_flight++;
            g.dma_armed = false; /* the new occupant starts idle */
        }
        if (!attached || !ours(e.handle)) {
            drv_log("%s for handle %#llx ignored (ours: %#llx)", drv_event_name(e.kind),
                    (unsigned long long)e.handle, (unsigned long long)g.handle);
            continue;
        }
        if (e.kind == DRV_EVENT_GOING) {
            int q = edu_dma_quiesce(&g.edu, EDU_DMA_TIMEOUT_US);
            drv_check("going_in_flight_dma_finished", q == EDU_OK, "(%s)", edu_errname(q));
            release(false, "going_unmapped_and_detached");
            int r = drv_events_detached(&g.ev, e.handle);
            handled += r == HP_GONE_OK;
            if (r >= 0) {
                drv_check("going_answered_detached", r == HP_GONE_OK, "(%s)", hp_gone_err_str(r));
            } else {
                drv_check("going_answered_detached", false, "(call failed: %d)", r);
            }
        } else {
            release(true, "gone_released_without_touching_device");
            handled++; /* its checks (counted when quiet) say whether the release was clean */
        }
        attached = false;
        g.hp_handle = 0;
        if (++removed >= removals && replugged_n >= replugs && g.cycles == 0) {
            return SERVE_RELEASED;
        }
    }
}

int main(void)
{
    g.si = drv_start("edu");
    if (g.si == NULL) {
        return 1;
    }
    char mode[24];
    g.bringup = drv_mode(g.si, mode, sizeof(mode));
    uint64_t serve_ms = 30000;
    (void)task_cmdline_get_u64(g.si->cmdline, "serve_ms", &serve_ms);
    uint64_t removals = 1, replugs = 0, hold_ms = 0;
    (void)task_cmdline_get_u64(g.si->cmdline, "hold_ms", &hold_ms);
    g.inflight = task_cmdline_has(g.si->cmdline, "inflight");
    (void)task_cmdline_get_u64(g.si->cmdline, "removals", &removals);
    if (task_cmdline_has(g.si->cmdline, "replug") &&
        !task_cmdline_get_u64(g.si->cmdline, "replug", &replugs)) {
        replugs = removals; /* a bare `replug`: every removal is followed by a re-plug */
    }
    if (task_cmdline_has(g.si->cmdline, "cycles") &&
        !task_cmdline_get_u64(g.si->cmdline, "cycles", &g.cycles)) {
        g.cycles = UINT64_MAX; /* a bare `cycles`: until serve_ms */
    }
    bool revoke = strcmp(mode, "revoke-target") == 0;
    bool restarted = revoke && task_cmdline_has(g.si->cmdline, "restarted");
    if (strcmp(mode, "selftest") != 0 && strcmp(mode, "fault-after-unmap") != 0 &&
        strcmp(mode, "serve") != 0 && !revoke) {
        drv_check("known_mode", false,
                  "(mode=%s: selftest, fault-after-unmap, serve or revoke-target)", mode);
        drv_report();
        return 1;
    }

    bool ok = drv_dma_start(g.si, g.bringup, &g.iommu, &g.ev, &g.dma);
    g.edu.ev = &g.ev;
    ok = ok && setup_device() && attach() && enable_msi();
    if (ok && restarted && !g.bringup) {
        restarted_fresh_domain();
    }
    ok = ok && alloc_buffers();
    if (ok && revoke && !restarted && !g.bringup) {
        ok = selftest();
        if (ok) {
            revoke_target();
        }
        drv_report();
        run_until_killed(serve_ms);
        return 0;
    }
    if (ok && strcmp(mode, "fault-after-unmap") == 0) {
        (void)fault_after_unmap();
        release(false, "released");
    } else if (ok) {
        ok = selftest();
        if (ok && strcmp(mode, "selftest") == 0) {
            bench_map_unmap();
        }
        if (strcmp(mode, "serve") != 0 || !ok ||
            serve(serve_ms, replugs, removals, hold_ms) == SERVE_ACTIVE) {
            release(false, "released");
        }
    }
    drv_log("done: %u passed, %u failed; %llu IOMMU calls", drv_passed(), drv_failed(),
            (unsigned long long)g.iommu.calls);
    drv_report();
    return drv_failed() ? 1 : 0;
}
