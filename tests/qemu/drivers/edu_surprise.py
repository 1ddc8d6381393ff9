# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of the edu driver's surprise removal (mode=serve removals=2 replug=2):
#  1. device_del edu0: orderly removal, the driver answers detached, the slot powers off;
#  2. device_add edu0: the driver attaches the new occupant (generation 2) and signals "ready";
#  3. surprise_ctl powers the populated slot off: QEMU removes the card inside that write, the
#     hotplug server fences it first and says device_gone; the driver releases without touching it;
#  4. device_add edu2 into the same slot: generation 3 works.
import time


def run(ctx):
    ctx.wait_console(r"edu: serving hotplug events", timeout=40)
    ctx.qmp.execute("device_del", id="edu0")
    ctx.wait_console(r"TEST edu_going_answered_detached: (PASS|FAIL)", timeout=20)
    ctx.qmp.wait_event("DEVICE_DELETED", timeout=20,
                       match=lambda e: e["data"].get("device") == "edu0")
    ctx.qmp.execute("device_add", driver="edu", bus="rp2", id="edu0",
                    dma_mask=0xffffffffffffffff)
    ctx.wait_console(r"TEST edu_replug_dma_round_trip_through_iommu_verified: (PASS|FAIL)",
                     timeout=30)
    ctx.wait_console(r"TEST edu_replug_gone_released_without_touching_device: (PASS|FAIL)",
                     timeout=30)
    # the slot is off and QEMU dropped the card (without a DEVICE_DELETED event); a new card under
    # a new id, retried briefly in case QEMU still holds the old one
    for attempt in range(20):
        try:
            ctx.qmp.execute("device_add", driver="edu", bus="rp2", id="edu2",
                            dma_mask=0xffffffffffffffff)
            break
        except Exception as e:  # noqa: BLE001 - QmpError while the old card is still around
            ctx.log(f"device_add attempt {attempt}: {e}")
            time.sleep(0.25)
    ctx.wait_console(r"TEST edu_replug2_dma_round_trip_through_iommu_verified: (PASS|FAIL)",
                     timeout=30)
    ctx.wait_console(r"^SUMMARY:", timeout=30)
