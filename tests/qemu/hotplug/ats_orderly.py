# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "ats_orderly": device_del of vrng0 (virtio: DEVICE_DELETED comes twice).

import re


def seen_or_wait(ctx, rx, timeout):
    """A console line matching rx, whether it came already or comes within timeout."""
    if not any(re.search(rx, line) for line in ctx.console_lines()):
        ctx.wait_console(rx, timeout=timeout)


def run(ctx):
    ctx.wait_console(r"hotplug_test: ready for device_del vrng0", timeout=30)
    seen_or_wait(ctx, r"serving hotplug events", 30)
    ctx.qmp.execute("device_del", id="vrng0")
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "vrng0")
    ctx.log("vrng0 deleted after the guest powered its slot off")
    ctx.wait_console(r"^SUMMARY:", timeout=60)
