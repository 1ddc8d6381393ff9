# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of the virtio driver's orderly removal (mode=serve): device_del presses vrng0's
# attention button; the hotplug server fences it (orderly: ATS off, entry blocked, device-TLB
# flushed) and tells the driver it is going; the driver resets the device, unmaps its queue and
# buffers, detaches and answers detached.


def run(ctx):
    ctx.wait_console(r"virtio: serving hotplug events", timeout=40)
    ctx.qmp.execute("device_del", id="vrng0")
    ctx.wait_console(r"TEST virtio_going_answered_detached: (PASS|FAIL)", timeout=20)
    # The driver reports once it answered; the run may end before the slot is powered off, so
    # QEMU's DEVICE_DELETED is not waited for here (the edu tests wait for it before re-plugging).
    ctx.wait_console(r"^SUMMARY:", timeout=30)
