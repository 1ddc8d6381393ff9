# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "window": two device_del of edu0 in a row; QEMU refuses the second
# (a removal is pending), the device goes when the guest's cancel window closes.
import time

from pcqemu.qmp import QmpError


def run(ctx):
    ctx.wait_console(r"hotplug_test: ready for device_del edu0", timeout=30)
    t0 = time.monotonic()
    ctx.qmp.execute("device_del", id="edu0")
    try:
        ctx.qmp.execute("device_del", id="edu0")
        refused = None
    except QmpError as e:
        refused = e.desc
    assert refused is not None, "QEMU accepted a second device_del while the first was pending"
    ctx.log(f"second device_del refused by QEMU: {refused}")
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "edu0")
    took = time.monotonic() - t0
    assert took >= 0.5, f"edu0 deleted after {took:.3f} s: the cancel window was not honoured"
    ctx.log(f"edu0 deleted {took:.2f} s after the button (cancel window 1 s)")
