# SPDX-License-Identifier: BSD-2-Clause
# The unplug/re-plug of `./portcullis run` (image default): testdev0 (pci-testdev on the spare
# port rp7, no driver) is removed with its attention button (QMP device_del) and re-plugged at
# the same slot (device_add, same bus and id). Each step is narrated here; the hotplug server
# prints its side ("hotplug: [ms] ...") on the guest console.
import re


def seen_or_wait(ctx, rx, timeout):
    """A console line matching rx, whether it came already or comes within timeout."""
    if not any(re.search(rx, line) for line in ctx.console_lines()):
        ctx.wait_console(rx, timeout=timeout)


def run(ctx):
    seen_or_wait(ctx, r"hotplug: .*slot 00:03\.0 dev 03:00\.0 \[ON\] device added", 40)
    ctx.log("step 1: testdev0 (03:00.0) is up; pressing its attention button (device_del)")
    ctx.qmp.execute("device_del", id="testdev0")
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "testdev0")
    seen_or_wait(ctx, r"device_removed\(03:00\.0\) = 0", 10)
    ctx.log("step 2: fenced at the IOMMU server, slot powered off, QEMU deleted testdev0, "
            "the IOMMU server told it is removed")
    ctx.qmp.execute("device_add", driver="pci-testdev", bus="rp7", id="testdev0")
    ctx.log("step 3: testdev0 plugged in again at rp7")
    seen_or_wait(ctx, r"device_added\(03:00\.0\) = 0 generation=\d+", 20)
    ctx.log("step 4: powered on, answered config reads, fresh IOMMU state under a new generation")
