# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "basic" (tests/tasks/hotplug_test/src/control.c): device_del of edu0 (the
# attention button), device_add at the same slot, then the guest powers the slot off itself.
import time


def run(ctx):
    ctx.wait_console(r"hotplug: .*slots ready", timeout=30)
    ctx.wait_console(r"hotplug_test: ready for device_del edu0", timeout=30)
    t0 = time.monotonic()
    ctx.qmp.execute("device_del", id="edu0")
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "edu0")
    ctx.log(f"BENCH hotplug_device_del_to_deleted s={time.monotonic() - t0:.4f}")
    ctx.qmp.execute("device_add", driver="edu", bus="rp2", id="edu0",
                    dma_mask=0xffffffffffffffff)
    ctx.wait_console(r"device_added\(02:00\.0\) = 0", timeout=20)
    # The guest's control request powers the populated slot off: QEMU removes edu0 at once
    # (without a DEVICE_DELETED event: that needs a device_del). Look at the bus instead.
    ctx.wait_console(r"hotplug_test: edu0 powered off, check it is gone", timeout=20)
    devs = []

    def walk(devices):
        for d in devices:
            devs.append(d)
            walk(d.get("pci_bridge", {}).get("devices", []))

    for bus in ctx.qmp.execute("query-pci"):
        walk(bus["devices"])

    def present(bus, vendor, device):
        return any(d["bus"] == bus and d["id"]["vendor"] == vendor and d["id"]["device"] == device
                   for d in devs)
    assert not present(2, 0x1234, 0x11e8), "edu0 still on bus 2 after the power-off"
    assert present(1, 0x1af4, 0x1044), "vrng0 vanished from bus 1"
    ctx.log("edu0 gone from bus 2 after the guest powered its slot off; vrng0 still on bus 1")
    ctx.wait_console(r"^SUMMARY:", timeout=30)
