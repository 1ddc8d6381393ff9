# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of the virtio driver's re-attach (mode=serve replug): device_del vrng0 (orderly
# removal: the driver resets, unmaps, detaches and answers), wait for QEMU to delete it, then
# device_add a new virtio-rng (ATS, iommu_platform) in the same slot. The driver must attach it
# under the new generation, see the old handle refused and fetch entropy through the IOMMU again.


def run(ctx):
    ctx.wait_console(r"virtio: serving hotplug events", timeout=40)
    ctx.qmp.execute("device_del", id="vrng0")
    ctx.wait_console(r"TEST virtio_going_answered_detached: (PASS|FAIL)", timeout=20)
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "vrng0")
    ctx.qmp.execute("device_add", driver="virtio-rng-pci", bus="rp1", id="vrng0",
                    **{"disable-legacy": "on", "ats": "on", "iommu_platform": "on"})
    ctx.wait_console(r"TEST virtio_replug_entropy_through_iommu_plausibly_random: (PASS|FAIL)",
                     timeout=30)
    ctx.wait_console(r"^SUMMARY:", timeout=30)
