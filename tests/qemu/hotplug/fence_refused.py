# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "refused": device_del of edu0, whose fences the IOMMU side refuses.


def run(ctx):
    ctx.wait_console(r"hotplug_test: ready for device_del edu0", timeout=30)
    ctx.qmp.execute("device_del", id="edu0")
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "edu0")
    ctx.log("edu0 deleted although both fences were refused")
