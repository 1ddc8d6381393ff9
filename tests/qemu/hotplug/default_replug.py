# SPDX-License-Identifier: BSD-2-Clause
# The unplug/re-plug of `./portcullis run` (image default): edu1 on rp7, whose driver serves
# hotplug events, is removed with the attention button (QMP device_del) and re-plugged at the
# same slot (device_add, same bus and id). Each step is narrated here and on the guest console.
import re


def seen_or_wait(ctx, rx, timeout):
    """A console line matching rx, whether it came already or comes within timeout."""
    if not any(re.search(rx, line) for line in ctx.console_lines()):
        ctx.wait_console(rx, timeout=timeout)


def run(ctx):
    seen_or_wait(ctx, r"hotplug: .*slots ready", 30)
    seen_or_wait(ctx, r"edu: serving hotplug events for handle 0x\w+0300", 40)
    ctx.log("step 1: edu1 (03:00.0) works through the IOMMU; pressing its attention button")
    ctx.qmp.execute("device_del", id="edu1")
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "edu1")
    ctx.log("step 2: fenced, driver detached, slot powered off: QEMU deleted edu1")
    ctx.qmp.execute("device_add", driver="edu", bus="rp7", id="edu1",
                    dma_mask=0xffffffffffffffff)
    ctx.log("step 3: edu1 plugged in again at rp7")
    seen_or_wait(ctx, r"device_added\(03:00\.0\) = 0", 20)
    ctx.log("step 4: powered on, answered config reads, fresh IOMMU state, given to its driver")
    seen_or_wait(ctx, r"TEST edu_replug_dma_round_trip_through_iommu_verified: (PASS|FAIL)", 30)
    ctx.log("step 5: the driver attached the new occupant and moved data through the IOMMU")
