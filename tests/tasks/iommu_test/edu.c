/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal edu DMA client of the IOMMU server, checking the server's core promises end to end
 * on QEMU: an unattached device cannot DMA at all; after attach + map, DMA moves the right
 * bytes in both directions; after unmap the same DMA faults and the fault reaches this task
 * (notification + fault_read with the device's source-id, the page and the reason); a client
 * cannot attach a device it was not granted, nor map memory it does not hold.
 *
 * Role `iommu_edu_test` (init/src/policy.c): edu's config page and BAR0, a client endpoint
 * to the IOMMU server, 1 MiB of untyped memory and its own CNode and VSpace for DMA buffers.
 */
#include <stdio.h>
#include <string.h>

#include "iommu_test.h"

#define IOVA_SRC 0x100000ull
#define IOVA_DST 0x200000ull
#define LEN 1024u

static pc_cptr_t g_ep;

static uint64_t call(const struct iommu_msg *m, pc_cptr_t cap, struct iommu_reply *r)
{
    return it_call(g_ep, m, cap, r);
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    g_ep = kt_cap("iommu", TASK_CAP_ENDPOINT);
    pci_sid_t sid = 0;
    const struct pci_ecam *ecam = it_config(si, &sid);
    struct it_frame a, b;
    bool ok = g_ep != 0 && ecam != NULL && it_edu_init(si) && it_frame_new(12, &a) &&
              it_frame_new(12, &b);
    if (!kt_result("edu_client_has_device_and_buffers", ok, "(edu at %02x:%02x.%x)", sid >> 8,
                   (sid >> 3) & 0x1f, sid & 7)) {
        kt_finish();
    }
    (void)pci_set_bus_master(ecam, sid, true);
    struct iommu_msg m;
    struct iommu_reply r;

    /* Fail-closed: before attach the device reaches nothing, not even at physical addresses. */
    it_fill(a.va, LEN, 0x11);
    memset((void *)b.va, 0, LEN);
    bool done = it_edu_dma(a.pa, 0, LEN, false) && it_edu_dma(b.pa, 0, LEN, true);
    kt_result("unattached_device_cannot_dma", done && it_all_byte(b.va, LEN, 0),
              "(transfers %s, target %s)", done ? "ran" : "timed out",
              it_all_byte(b.va, LEN, 0) ? "untouched" : "WRITTEN");

    /* Authority: only the granted device, only memory we hold. */
    iommu_encode_attach(&m, sid ^ 0x0100u);
    uint64_t e1 = call(&m, 0, &r);
    iommu_encode_map(&m, IOVA_SRC, IOMMU_MEM_CAP, 0, 4096, IOMMU_READ);
    uint64_t e2 = call(&m, 0, &r); /* no frame capability with it */
    iommu_encode_map(&m, IOVA_SRC, 0, 0, 4096, IOMMU_READ);
    uint64_t e3 = call(&m, 0, &r); /* memory grant 0: none was granted */
    iommu_encode_map(&m, IOVA_SRC, IOMMU_MEM_CAP, 4096, 4096, IOMMU_READ);
    uint64_t e4 = call(&m, a.cap, &r); /* beyond the frame */
    kt_result("client_cannot_attach_ungranted_device_nor_map_memory_it_does_not_hold",
              e1 == IOMMU_ERR_NOT_GRANTED && e2 == IOMMU_ERR_BAD_MEMORY &&
                  e3 == IOMMU_ERR_BAD_MEMORY && e4 == IOMMU_ERR_RANGE,
              "(attach other %s, map no cap %s, map grant 0 %s, map past frame %s)",
              iommu_errname((unsigned)e1), iommu_errname((unsigned)e2), iommu_errname((unsigned)e3),
              iommu_errname((unsigned)e4));

    iommu_encode_attach(&m, sid);
    uint64_t err = call(&m, 0, &r);
    struct iommu_attach_rets at;
    iommu_reply_attach(&r, &at);
    if (!kt_result("attach_granted_device", err == IOMMU_OK, "(%s, handle %#llx flags %#llx)",
                   iommu_errname((unsigned)err), (unsigned long long)at.handle,
                   (unsigned long long)at.flags)) {
        kt_finish();
    }

    iommu_encode_map(&m, IOVA_SRC, IOMMU_MEM_CAP, 0, 4096, IOMMU_READ);
    uint64_t m1 = call(&m, a.cap, &r);
    iommu_encode_map(&m, IOVA_DST, IOMMU_MEM_CAP, 0, 4096, IOMMU_READ | IOMMU_WRITE);
    uint64_t m2 = call(&m, b.cap, &r);
    iommu_encode_map(&m, IOVA_DST, IOMMU_MEM_CAP, 0, 4096, IOMMU_READ);
    uint64_t m3 = call(&m, a.cap, &r);
    kt_result("map_frames_held_by_the_client",
              m1 == IOMMU_OK && m2 == IOMMU_OK && m3 == IOMMU_ERR_OVERLAP,
              "(src %s, dst %s, overlapping %s)", iommu_errname((unsigned)m1),
              iommu_errname((unsigned)m2), iommu_errname((unsigned)m3));

    /* DMA through the IOMMU: RAM (IOVA_SRC) -> edu buffer -> RAM (IOVA_DST). */
    it_fill(a.va, LEN, 0x5a);
    memset((void *)b.va, 0, LEN);
    done = it_edu_dma(IOVA_SRC, 0, LEN, false) && it_edu_dma(IOVA_DST, 0, LEN, true);
    kt_result("dma_to_mapped_memory_moves_the_right_bytes", done && it_same(a.va, b.va, LEN),
              "(%u bytes %s, first %02x/%02x)", LEN, done ? "moved" : "timed out", a.va[0],
              b.va[0]);
    /* A read-only mapping refuses the device's writes. */
    memset((void *)a.va + 2048, 0xee, 512);
    done = it_edu_dma(IOVA_SRC + 2048, 0, 512, true);
    kt_result("device_cannot_write_read_only_mapping", done && a.va[2048] == 0xee,
              "(target byte %02x)", a.va[2048]);
    (void)it_wait_fault(200000);
    iommu_encode_fault_read(&m, IOMMU_FAULTS_PER_REPLY);
    (void)call(&m, 0, &r); /* drain what that write left */

    /* Strict unmap: the very next DMA to that IOVA faults, and the fault reaches us. */
    iommu_encode_unmap(&m, IOVA_DST, 4096);
    err = call(&m, 0, &r);
    struct iommu_unmap_rets un;
    iommu_reply_unmap(&r, &un);
    kt_result("unmap_returns_after_invalidation", err == IOMMU_OK && un.unmapped == 4096,
              "(%s, %llu bytes, status %#llx)", iommu_errname((unsigned)err),
              (unsigned long long)un.unmapped, (unsigned long long)un.status);
    memset((void *)b.va, 0, LEN);
    done = it_edu_dma(IOVA_DST, 0, LEN, true);
    bool signalled = it_wait_fault(2000000);
    iommu_encode_fault_read(&m, IOMMU_FAULTS_PER_REPLY);
    err = call(&m, 0, &r);
    struct iommu_fault_read_rets fr;
    iommu_reply_fault_read(&r, &fr);
    struct iommu_fault_rec rec;
    memset(&rec, 0, sizeof(rec));
    bool found = false;
    for (unsigned i = 0; i < fr.count && 2 + 2 * i + 1 < r.len; i++) {
        iommu_fault_unpack(&r.w[2 + 2 * i], &rec);
        if (rec.sid == sid && rec.addr == IOVA_DST && rec.write) {
            found = true;
            break;
        }
    }
    kt_result("unmap_then_dma_faults", done && it_all_byte(b.va, LEN, 0), "(target %s)",
              it_all_byte(b.va, LEN, 0) ? "untouched" : "WRITTEN after unmap");
    kt_result("fault_reaches_owning_driver_with_sid_address_reason",
              signalled && err == IOMMU_OK && found && rec.reason != 0,
              "(notified %s, %llu record(s), sid %04x addr %#llx reason %u write %u)",
              signalled ? "yes" : "no", (unsigned long long)fr.count, rec.sid,
              (unsigned long long)rec.addr, rec.reason, rec.write);
    char line[128];
    snprintf(line, sizeof(line),
             "iommu_test: DMA fault caught: %02x:%02x.%x wrote %#llx: reason %u", sid >> 8,
             (sid >> 3) & 0x1f, sid & 7, (unsigned long long)rec.addr, rec.reason);
    task_log(line);

    /* The source mapping still works (nothing else was disturbed), then clean up. */
    memset((void *)b.va, 0, LEN);
    iommu_encode_map(&m, IOVA_DST, IOMMU_MEM_CAP, 0, 4096, IOMMU_READ | IOMMU_WRITE);
    err = call(&m, b.cap, &r);
    done = err == IOMMU_OK && it_edu_dma(IOVA_SRC, 0, LEN, false) &&
           it_edu_dma(IOVA_DST, 0, LEN, true);
    kt_result("remap_after_unmap_works_again", done && it_same(a.va, b.va, LEN), "(%s)",
              iommu_errname((unsigned)err));
    iommu_encode_unmap(&m, 0, 0x400000);
    uint64_t u = call(&m, 0, &r);
    iommu_encode_detach(&m, at.handle);
    uint64_t d = call(&m, 0, &r);
    iommu_encode_detach(&m, at.handle);
    uint64_t d2 = call(&m, 0, &r);
    kt_result("unmap_all_and_detach",
              u == IOMMU_OK && d == IOMMU_OK && d2 == IOMMU_ERR_NOT_ATTACHED,
              "(unmap %s, detach %s, again %s)", iommu_errname((unsigned)u),
              iommu_errname((unsigned)d), iommu_errname((unsigned)d2));
    kt_finish();
}
