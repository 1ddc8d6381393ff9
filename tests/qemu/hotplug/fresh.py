# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of scenario "fresh": edu1 inserted into the empty spare port rp7.


def run(ctx):
    ctx.wait_console(r"hotplug_test: ready for device_add edu1", timeout=30)
    ctx.qmp.execute("device_add", driver="edu", bus="rp7", id="edu1",
                    dma_mask=0xffffffffffffffff)
    ctx.wait_console(r"given to a fresh task", timeout=20)
    ctx.wait_console(r"TEST cycler_boot_dma_through_iommu_verified_hp\d+: (PASS|FAIL)", timeout=30)
    ctx.log("the fresh driver instance for edu1 reported")
