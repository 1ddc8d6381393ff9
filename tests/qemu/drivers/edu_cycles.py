# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of the edu driver's repeated re-plug (mode=serve cycles=N tag=X): N times
# device_del edu0 (orderly removal: the driver answers detached), wait for QEMU to delete it,
# device_add a new edu in the same slot and wait for the driver's "cycle K verified" line. The
# driver's lines carry its tag, so the patterns name it.
import re


def params(ctx):
    for _, args in ctx.image.modules:
        if "role=edu_driver" in args and "cycles=" in args:
            kv = dict(re.findall(r"(\w+)=(\S+)", args))
            return int(kv["cycles"]), "edu_" + kv["tag"] if "tag" in kv else "edu"
    raise AssertionError("no edu driver with cycles=N in the image")


def run(ctx):
    n, name = params(ctx)
    ctx.wait_console(rf"{name}: cycle 0 verified", timeout=40)
    for i in range(1, n + 1):
        ctx.qmp.execute("device_del", id="edu0")
        ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                           match=lambda e: e["data"].get("device") == "edu0")
        ctx.qmp.execute("device_add", driver="edu", bus="rp2", id="edu0",
                        dma_mask=0xffffffffffffffff)
        ctx.wait_console(rf"{name}: cycle {i} (verified|FAILED)", timeout=30)
    ctx.wait_console(rf"TEST {name}_replug_cycles_all_verified: (PASS|FAIL)", timeout=30)
    ctx.wait_console(r"^SUMMARY:", timeout=30)
