# SPDX-License-Identifier: BSD-2-Clause
# QEMU's own record of the invalidations: the virtio-rng device (01:00.0, ATS enabled at attach)
# got device-TLB invalidations while it was attached and live, and none once the orderly fence
# was reported - the driver's unmaps after device_going complete locally (DEVICE_GONE).
SID = 0x0100


def check(trace, ctx):
    fenced = ctx.time_of(r"device_fence\(01:00\.0, orderly\)")
    assert fenced is not None, "the fence of 01:00.0 was never reported"
    before = trace.device_tlb(sid=SID, before=fenced)
    assert len(before) > 0, "no device-TLB invalidation for 01:00.0 at all: was ATS enabled?"
    trace.assert_no_device_tlb(SID, after=fenced)
