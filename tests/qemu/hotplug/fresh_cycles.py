# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "fresh instance teardown": N times, an edu is inserted in the empty
# port rp7 (device_add), the root task starts a fresh instance of the edu driver for it
# (tag=hpK), the instance self-tests and serves; device_del removes it (orderly: the instance
# answers detached and reports done) and the root task tears the instance down. Every cycle the
# root task's free RAM after the teardown must equal that before the instance was started; free
# root slots too from the second cycle on (the first hot-add makes the root task's own frame caps
# for the device pages of rp7's window: the device-untyped split tree keeps them for every later
# request, like the pages of devices present at boot), and both stay the same in every cycle. At
# every removal the IOMMU server reports the same state (only the boot instance's domain and
# mappings left, nothing stuck, the same interrupt-remapping entries held), and every instance
# gets the same MSI vector (the torn-down instance's IRQ handler was released) as a vector grant
# and the same remapping entry (the IOMMU server freed the torn-down instance's entry). At the end edu0 is removed too, so the boot instance
# finishes and the run ends.
import re

N = 10
RX_BEFORE = r"init: hotplug: starting a fresh instance: RAM free (\d+) KiB, root slots free (\d+)"
RX_GRANT = r"init: iommu client 0x[0-9a-f]+: interrupt grant 0 \(vector (\d+)\): granted"
RX_MSI = (r"TEST edu_hp\d+_msi_enabled: PASS \(ok; remapped by the IOMMU server, "
          r"address (0x[0-9a-f]+) data (0x[0-9a-f]+|0)\)")
RX_SERVER = (r"iommu: client 0x[0-9a-f]+ removed(.*); now (\d+) domains, (\d+) mappings, "
             r"(\d+) table pages, (\d+) pins, (\d+) stuck, (\d+) irtes")
RX_AFTER = (r"init: task \d+ (\S+) torn down(.*): RAM free (\d+) KiB, root slots free (\d+), "
            r"(\d+) task\(s\) torn down")


def remove(ctx, dev):
    ctx.qmp.execute("device_del", id=dev)
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=30,
                       match=lambda e: e["data"].get("device") == dev)


def run(ctx):
    ctx.wait_console(r"hotplug: .*slots ready", timeout=40)
    ctx.wait_console(r"edu: serving hotplug events", timeout=40)
    seen, server, vectors, entries = [], [], [], []
    for i in range(1, N + 1):
        ctx.qmp.execute("device_add", driver="edu", bus="rp7", id="edu1",
                        dma_mask=0xffffffffffffffff)
        before = ctx.wait_console(RX_BEFORE, timeout=30)
        grant = ctx.wait_console(RX_GRANT, timeout=40)
        vectors.append(int(grant.group(1)))
        msi = ctx.wait_console(RX_MSI, timeout=40)
        entries.append(msi.group(1))
        ctx.wait_console(r"edu_hp\d+: serving hotplug events", timeout=40)
        remove(ctx, "edu1")
        srv = ctx.wait_console(RX_SERVER, timeout=30)
        after = ctx.wait_console(RX_AFTER, timeout=30)
        b = (int(before.group(1)), int(before.group(2)))
        a = (int(after.group(3)), int(after.group(4)))
        ctx.log(f"cycle {i}: {after.group(1)}: RAM free {b[0]} -> {a[0]} KiB, "
                f"root slots free {b[1]} -> {a[1]}; {after.group(5)} torn down")
        assert after.group(2) == "", f"cycle {i}: teardown incomplete: {after.group(0)}"
        assert a[0] == b[0], f"cycle {i}: RAM not back: before {b[0]} KiB, after {a[0]} KiB"
        if i > 1:
            assert a == b, f"cycle {i}: RAM/slots not back: before {b}, after {a}"
        assert int(after.group(5)) == i, f"cycle {i}: {after.group(5)} teardowns counted"
        assert srv.group(1) == "", f"cycle {i}: client_remove failed: {srv.group(0)}"
        assert int(srv.group(6)) == 0, f"cycle {i}: stuck mappings: {srv.group(0)}"
        seen.append(a)
        server.append(tuple(int(srv.group(k)) for k in range(2, 8)))
    ctx.log(f"IOMMU server after each removal: domains, mappings, table pages, pins, stuck, "
            f"irtes = {server[0]}")
    assert len(set(seen)) == 1, f"free RAM/slots drift across cycles: {seen}"
    # only the boot instance's domain and mappings are left after every removal
    assert len(set(server)) == 1, f"IOMMU server state drifts across cycles: {server}"
    assert server[0][0] == 1, f"domains left after removal: {server[0]}"
    # the instance's IRQ handler went with it: every instance gets the same MSI vector again
    assert len(set(vectors)) == 1, f"MSI vectors not released: {vectors}"
    # the IOMMU server freed the instance's remapping entry: the next one gets the same index
    assert len(set(entries)) == 1, f"remapping entries not released: {entries}"
    # the run ends as soon as the boot instance reports: QEMU may be gone before DEVICE_DELETED
    ctx.qmp.execute("device_del", id="edu0")
    ctx.wait_console(r"^SUMMARY:", timeout=60)
