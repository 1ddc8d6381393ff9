# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of the edu driver's removal and re-plug (mode=serve replug): device_del presses the
# attention button; the hotplug server fences the device and tells the driver it is going; the
# driver unmaps, detaches and answers; the slot is powered off and QEMU deletes the device. Then
# device_add puts a new edu in the same slot: the driver must attach it under a new generation,
# see its old handle refused, and move data through the IOMMU again.


def run(ctx):
    ctx.wait_console(r"edu: serving hotplug events", timeout=40)
    ctx.qmp.execute("device_del", id="edu0")
    ctx.wait_console(r"TEST edu_going_answered_detached: (PASS|FAIL)", timeout=20)
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "edu0")
    ctx.log(f"edu0 deleted after {ctx.elapsed():.2f}s")
    ctx.qmp.execute("device_add", driver="edu", bus="rp2", id="edu0",
                    dma_mask=0xffffffffffffffff)
    ctx.wait_console(r"TEST edu_replug_dma_round_trip_through_iommu_verified: (PASS|FAIL)",
                     timeout=30)
    ctx.wait_console(r"^SUMMARY:", timeout=30)
