# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "system": edu0 removed with the attention button while its driver
# holds mappings, then re-plugged at the same slot (same bus/id).

import re


def seen_or_wait(ctx, rx, timeout):
    """A console line matching rx, whether it came already or comes within timeout."""
    if not any(re.search(rx, line) for line in ctx.console_lines()):
        ctx.wait_console(rx, timeout=timeout)


def run(ctx):
    ctx.wait_console(r"hotplug: .*slots ready", timeout=30)
    ctx.wait_console(r"hotplug_test: ready for device_del edu0", timeout=30)
    # The driver holds its mappings and waits for events once its self test is done.
    seen_or_wait(ctx, r"serving hotplug events", 30)
    ctx.qmp.execute("device_del", id="edu0")
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "edu0")
    ctx.log("edu0 deleted by QEMU after the guest powered the slot off")
    ctx.qmp.execute("device_add", driver="edu", bus="rp2", id="edu0",
                    dma_mask=0xffffffffffffffff)
    ctx.wait_console(r"device_added\(02:00\.0\) = 0", timeout=20)
    ctx.log("edu0 re-plugged; the guest added it")
    ctx.wait_console(r"^SUMMARY:", timeout=60)
