# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "no_detach": device_del of edu0 once its driver has finished and
# exited; the removal still completes (at the detach deadline).
import re


def seen_or_wait(ctx, rx, timeout):
    """A console line matching rx, whether it came already or comes within timeout."""
    if not any(re.search(rx, line) for line in ctx.console_lines()):
        ctx.wait_console(rx, timeout=timeout)


def run(ctx):
    seen_or_wait(ctx, r"hotplug_test: ready for device_del edu0", 30)
    seen_or_wait(ctx, r"edu: done: ", 30)
    ctx.qmp.execute("device_del", id="edu0")
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "edu0")
    seen_or_wait(ctx, r"driver did not detach before its deadline", 5)
    ctx.log("edu0 deleted at the detach deadline of its silent driver")
