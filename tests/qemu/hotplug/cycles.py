# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "cycles": an edu is removed with device_del (attention button) and
# inserted again with device_add (same bus and id) N times; each step waits for the guest to
# finish the last one. The control task's command line says which: n=N, port=SID (default
# 0x18: edu1 on the spare port rp7, which starts empty), and pace=dma when an edu client
# does DMA in every cycle (then the device is there at boot and each cycle ends re-plugged).
import re
import time


# The control task names the port by source-id: 00:02.0 (rp2, edu0 there at boot) or 00:03.0
# (rp7, the spare port, edu1 inserted by this script).
PORTS = {0x10: ("edu0", "rp2"), 0x18: ("edu1", "rp7")}


def params(ctx):
    for _, args in ctx.image.modules:
        if "mode=control" in args and "scenario=cycles" in args:
            kv = dict(re.findall(r"(\w+)=(\S+)", args))
            dev, bus = PORTS[int(kv.get("port", "24"), 0)]
            return int(kv["n"]), dev, bus, kv.get("pace")
    raise AssertionError("no control task with scenario=cycles n=N in the image")


def kv_flag(ctx, word):
    """Whether the control task's command line has the bare word."""
    return any("scenario=cycles" in args and word in args.split() for _, args in ctx.image.modules)


def seen_or_wait(ctx, rx, timeout):
    """A console line matching rx, whether it came already or comes within timeout."""
    if not any(re.search(rx, line) for line in ctx.console_lines()):
        ctx.wait_console(rx, timeout=timeout)


def add(ctx, dev, bus):
    ctx.qmp.execute("device_add", driver="edu", bus=bus, id=dev, dma_mask=0xffffffffffffffff)


def remove(ctx, dev):
    t0 = time.monotonic()
    ctx.qmp.execute("device_del", id=dev)
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == dev)
    return time.monotonic() - t0


def run(ctx):
    n, dev, bus, pace = params(ctx)
    seen_or_wait(ctx, r"hotplug: .*slots ready", 30)
    seen_or_wait(ctx, r"hotplug_test: ready for cycles", 30)
    t_start = time.monotonic()
    dels = []
    if pace == "dma":
        # the client is the edu driver (mode=serve cycles=N: "edu: cycle K ...") or the test
        # task's cycler ("cycler: cycle K ...")
        seen_or_wait(ctx, r"(cycler|edu\w*): cycle 0 verified", 30)
        for i in range(1, n + 1):
            dels.append(remove(ctx, dev))
            add(ctx, dev, bus)
            ctx.wait_console(rf"(cycler|edu\w*): cycle {i} (verified|FAILED)", timeout=30)
    else:
        for i in range(n):
            add(ctx, dev, bus)
            ctx.wait_console(r"hotplug: .*\[ON\] device added", timeout=20)
            dels.append(remove(ctx, dev))
            ctx.wait_console(r"hotplug: .*\] device removed", timeout=20)
        if kv_flag(ctx, "ats"):
            # The ATS device too (virtio-rng on rp1): ATS off, block, device-TLB flush, wait.
            remove(ctx, "vrng0")
        # One more insertion tells the guest the script has seen every DEVICE_DELETED.
        add(ctx, dev, bus)
    dels.sort()
    ctx.log(f"{n} cycles in {time.monotonic() - t_start:.1f} s; device_del -> DEVICE_DELETED "
            f"median {dels[len(dels) // 2]:.4f} s, max {dels[-1]:.4f} s")
    ctx.wait_console(r"^SUMMARY:", timeout=120)
