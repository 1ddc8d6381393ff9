# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "cycles": edu1 is added to the empty spare port rp7 and removed with
# device_del (attention button) N times; each step waits for the server to finish the last one.
import re
import time


def cycles(ctx):
    """N from the control task's command line (n=N) in the image."""
    for _, args in ctx.image.modules:
        m = re.search(r"scenario=cycles.* n=(\d+)", args)
        if m:
            return int(m.group(1))
    raise AssertionError("no control task with scenario=cycles n=N in the image")


def run(ctx):
    N = cycles(ctx)
    ctx.wait_console(r"hotplug: .*slots ready", timeout=30)
    ctx.wait_console(r"hotplug_test: ready for cycles on rp7", timeout=30)
    t_start = time.monotonic()
    dels = []
    for i in range(N):
        ctx.qmp.execute("device_add", driver="edu", bus="rp7", id="edu1",
                        dma_mask=0xffffffffffffffff)
        ctx.wait_console(r"slot 00:03\.0 dev 03:00\.0 \[ON\] device added", timeout=20)
        t0 = time.monotonic()
        ctx.qmp.execute("device_del", id="edu1")
        ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                           match=lambda e: e["data"].get("device") == "edu1")
        dels.append(time.monotonic() - t0)
        ctx.wait_console(r"slot 00:03\.0 dev 03:00\.0 \[\w+\] device removed", timeout=20)
    dels.sort()
    ctx.log(f"{N} cycles in {time.monotonic() - t_start:.1f} s; device_del -> DEVICE_DELETED "
            f"median {dels[len(dels) // 2]:.4f} s, max {dels[-1]:.4f} s")
    # One more insertion tells the guest the script has seen every DEVICE_DELETED.
    ctx.qmp.execute("device_add", driver="edu", bus="rp7", id="edu1",
                    dma_mask=0xffffffffffffffff)
    ctx.wait_console(r"^SUMMARY:", timeout=60)
