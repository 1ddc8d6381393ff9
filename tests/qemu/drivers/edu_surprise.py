# SPDX-License-Identifier: BSD-2-Clause
# The nearest QEMU has to a surprise removal (QEMU.md): the slot is powered off without a removal
# request, which removes the card inside that write. The hotplug server fences first, then tells
# the driver the device is gone; the driver releases everything without touching the device.
# Then a new edu is inserted and the driver works with it under the new generation.


def run(ctx):
    ctx.wait_console(r"edu: serving hotplug events", timeout=40)
    ctx.wait_console(r"TEST edu_gone_released_without_touching_device: (PASS|FAIL)", timeout=30)
    ctx.qmp.execute("device_add", driver="edu", bus="rp2", id="edu1",
                    dma_mask=0xffffffffffffffff)
    ctx.wait_console(r"TEST edu_replug_dma_round_trip_through_iommu_verified: (PASS|FAIL)",
                     timeout=30)
    ctx.wait_console(r"^SUMMARY:", timeout=30)
