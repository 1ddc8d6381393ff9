# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of the virtio driver's orderly removal (mode=serve): device_del presses vrng0's
# attention button; the hotplug server fences it (orderly: ATS off, entry blocked, device-TLB
# flushed) and tells the driver it is going; the driver resets the device, unmaps its queue and
# buffers, detaches and answers; the slot is powered off and QEMU deletes the device.


def run(ctx):
    ctx.wait_console(r"virtio: serving hotplug events", timeout=40)
    ctx.qmp.execute("device_del", id="vrng0")
    ctx.wait_console(r"TEST virtio_going_answered_detached: (PASS|FAIL)", timeout=20)
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "vrng0")
    ctx.wait_console(r"^SUMMARY:", timeout=30)
