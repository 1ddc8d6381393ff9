/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hotplug server's part of the IOMMU protocol, played by a test task: it drives the
 * ATS-capable virtio device as an ordinary client (attach, map, unmap) and also holds the
 * hotplug badge, so it can fence, remove and re-add that device. It checks what a driver sees
 * (unmap after a surprise fence succeeds and says the device is gone; a stale handle after
 * re-plug is refused; the new occupant attaches fresh) and prints marker lines the trace check
 * (tests/qemu/iommu/fence_check.py) uses to prove from QEMU's own log that no device-TLB
 * descriptor for the fenced source-id was processed between the fence and the re-add.
 *
 * Role `iommu_hp_test`: the virtio function's config page, a client endpoint, the hotplug
 * endpoint (badge IOMMU_SRV_BADGE_HOTPLUG), memory for one buffer.
 */
#include <stdio.h>
#include <string.h>

#include "iommu_test.h"

#define IOVA 0x10000ull

static pc_cptr_t g_ep, g_hp;

static uint64_t cl(const struct iommu_msg *m, pc_cptr_t cap, struct iommu_reply *r)
{
    return it_call(g_ep, m, cap, r);
}

static uint64_t hp(const struct iommu_msg *m, struct iommu_reply *r)
{
    return it_call(g_hp, m, 0, r);
}

/* map + unmap of one page; returns the unmap error, *status its status word. */
static uint64_t map_unmap(const struct it_frame *f, uint64_t *status)
{
    struct iommu_msg m;
    struct iommu_reply r;
    iommu_encode_map(&m, IOVA, IOMMU_MEM_CAP, 0, 4096, IOMMU_READ | IOMMU_WRITE);
    uint64_t e = cl(&m, f->cap, &r);
    if (e != IOMMU_OK) {
        *status = ~0ull;
        return e;
    }
    iommu_encode_unmap(&m, IOVA, 4096);
    e = cl(&m, 0, &r);
    struct iommu_unmap_rets u;
    iommu_reply_unmap(&r, &u);
    *status = u.status;
    return e;
}

static void mark(const char *what, pci_sid_t sid)
{
    char line[96];
    snprintf(line, sizeof(line), "iommu_test: %s %02x:%02x.%x", what, sid >> 8, (sid >> 3) & 0x1f,
             sid & 7);
    task_log(line);
}

int main(void)
{
    const task_start_info_t *si = kt_start();
    g_ep = kt_cap("iommu", TASK_CAP_ENDPOINT);
    g_hp = kt_cap("hotplug", TASK_CAP_ENDPOINT);
    pci_sid_t sid = 0;
    struct it_frame f;
    bool ok = g_ep && g_hp && it_config(si, &sid) != NULL && it_frame_new(12, &f);
    if (!kt_result("hotplug_role_has_device_endpoints_and_buffer", ok, "(sid %04x)", sid)) {
        kt_finish();
    }
    struct iommu_msg m;
    struct iommu_reply r;
    uint64_t st = 0;

    iommu_encode_attach(&m, sid);
    uint64_t e = cl(&m, 0, &r);
    struct iommu_attach_rets at;
    iommu_reply_attach(&r, &at);
    kt_result("attach_enables_ats_on_ats_device", e == IOMMU_OK && (at.flags & IOMMU_ATTACH_ATS),
              "(%s, handle %#llx flags %#llx)", iommu_errname((unsigned)e),
              (unsigned long long)at.handle, (unsigned long long)at.flags);
    e = map_unmap(&f, &st);
    kt_result("unmap_with_live_ats_device", e == IOMMU_OK && st == 0, "(%s, status %#llx)",
              iommu_errname((unsigned)e), (unsigned long long)st);
    mark("unmap with live ATS done for", sid);

    /* Only the hotplug badge may fence: the same message from a client badge is refused. */
    iommu_encode_device_fence(&m, sid, IOMMU_FENCE_SURPRISE);
    uint64_t as_client = cl(&m, 0, &r);
    kt_result("only_hotplug_badge_may_fence", as_client == IOMMU_ERR_BAD_LABEL, "(%s)",
              iommu_errname((unsigned)as_client));

    mark("fencing (surprise)", sid);
    iommu_encode_device_fence(&m, sid, IOMMU_FENCE_SURPRISE);
    e = hp(&m, &r);
    struct iommu_device_fence_rets fe;
    iommu_reply_device_fence(&r, &fe);
    kt_result("surprise_fence_accepted", e == IOMMU_HP_OK, "(%s, status %#llx)",
              iommu_hp_errname((unsigned)e), (unsigned long long)fe.status);
    iommu_encode_device_fence(&m, sid, IOMMU_FENCE_SURPRISE);
    e = hp(&m, &r);
    iommu_reply_device_fence(&r, &fe);
    kt_result("fence_is_idempotent", e == IOMMU_HP_OK && (fe.status & IOMMU_STATUS_ALREADY),
              "(%s, status %#llx)", iommu_hp_errname((unsigned)e), (unsigned long long)fe.status);

    e = map_unmap(&f, &st);
    kt_result("unmap_after_surprise_fence_succeeds_and_says_device_gone",
              e == IOMMU_OK && st != ~0ull && (st & IOMMU_STATUS_DEVICE_GONE), "(%s, status %#llx)",
              iommu_errname((unsigned)e), (unsigned long long)st);
    iommu_encode_ats_flush(&m, at.handle, 0, 0);
    uint64_t fl = cl(&m, 0, &r);
    struct iommu_ats_flush_rets af;
    iommu_reply_ats_flush(&r, &af);
    kt_result("ats_flush_of_fenced_device_completes_locally",
              fl == IOMMU_OK && (af.status & IOMMU_STATUS_DEVICE_GONE), "(%s, status %#llx)",
              iommu_errname((unsigned)fl), (unsigned long long)af.status);

    iommu_encode_device_removed(&m, sid);
    e = hp(&m, &r);
    iommu_encode_detach(&m, at.handle);
    uint64_t d = cl(&m, 0, &r);
    struct iommu_detach_rets dr;
    iommu_reply_detach(&r, &dr);
    kt_result("late_detach_after_removal_succeeds_locally",
              e == IOMMU_HP_OK && d == IOMMU_OK && (dr.status & IOMMU_STATUS_DEVICE_GONE),
              "(removed %s, detach %s status %#llx)", iommu_hp_errname((unsigned)e),
              iommu_errname((unsigned)d), (unsigned long long)dr.status);

    mark("re-adding", sid);
    iommu_encode_device_added(&m, sid);
    e = hp(&m, &r);
    struct iommu_device_added_rets ad;
    iommu_reply_device_added(&r, &ad);
    iommu_encode_device_added(&m, sid);
    uint64_t again = hp(&m, &r);
    iommu_encode_detach(&m, at.handle);
    uint64_t stale = cl(&m, 0, &r);
    iommu_encode_attach(&m, sid);
    uint64_t e2 = cl(&m, 0, &r);
    struct iommu_attach_rets at2;
    iommu_reply_attach(&r, &at2);
    kt_result("replug_fresh_generation_stale_handle_refused",
              e == IOMMU_HP_OK && again == IOMMU_HP_ERR_PRESENT && stale == IOMMU_ERR_STALE &&
                  e2 == IOMMU_OK && IOMMU_HANDLE_GEN(at2.handle) == ad.generation &&
                  at2.handle != at.handle,
              "(added %s gen %llu, again %s, old handle %s, attach %s handle %#llx)",
              iommu_hp_errname((unsigned)e), (unsigned long long)ad.generation,
              iommu_hp_errname((unsigned)again), iommu_errname((unsigned)stale),
              iommu_errname((unsigned)e2), (unsigned long long)at2.handle);
    e = map_unmap(&f, &st);
    kt_result("new_occupant_maps_and_unmaps_with_ats", e == IOMMU_OK && st == 0,
              "(%s, status %#llx)", iommu_errname((unsigned)e), (unsigned long long)st);

    /* Orderly fence of the live new occupant: ATS Enable cleared in its config space, entry
     * blocked, its device-TLB flushed (the trace check sees that flush after the marker). */
    const struct pci_ecam *ecam = it_config(si, &sid);
    struct pci_ats ats_before, ats_after;
    int p1 = pci_ats_probe(ecam, sid, &ats_before);
    mark("fencing (orderly)", sid);
    iommu_encode_device_fence(&m, sid, IOMMU_FENCE_ORDERLY);
    e = hp(&m, &r);
    iommu_reply_device_fence(&r, &fe);
    mark("orderly fence done for", sid);
    int p2 = pci_ats_probe(ecam, sid, &ats_after);
    kt_result("orderly_fence_disables_ats_in_config_space",
              e == IOMMU_HP_OK && p1 == PCI_OK && p2 == PCI_OK && ats_before.enabled &&
                  !ats_after.enabled,
              "(%s, ATS enable %d -> %d)", iommu_hp_errname((unsigned)e), ats_before.enabled,
              ats_after.enabled);
    iommu_encode_attach(&m, sid);
    uint64_t busy = cl(&m, 0, &r);
    e = map_unmap(&f, &st);
    kt_result("fenced_device_refuses_attach_and_unmap_completes_locally",
              e == IOMMU_OK && (st & IOMMU_STATUS_DEVICE_GONE) && busy != IOMMU_OK,
              "(attach %s, unmap %s status %#llx)", iommu_errname((unsigned)busy),
              iommu_errname((unsigned)e), (unsigned long long)st);
    iommu_encode_detach(&m, at2.handle);
    (void)cl(&m, 0, &r);
    kt_finish();
}
