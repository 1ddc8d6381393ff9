# SPDX-License-Identifier: BSD-2-Clause
# Surprise removal of 01:00.0: from the moment the control request was about to be sent, QEMU
# processed no device-TLB descriptor for 01:00.0 (the fence comes before anything else and
# nothing is ever sent to a fenced device's ATC), while the device was blocked.
SID = 0x0100


def check(trace, ctx):
    start = ctx.time_of(r"hotplug_test: powering off rp1")
    assert start is not None, "the surprise removal never started"
    trace.assert_no_device_tlb(SID, after=start)
    blocked = trace.descriptors(type=1, after=start)
    assert blocked, "no context-cache invalidation after the request: 01:00.0 never blocked"
    fence = [l for l in ctx.console_lines() if "device_fence(01:00.0, surprise) = 0" in l]
    assert fence, "the hotplug server did not report a successful surprise fence"
    ctx.log(f"surprise fence of 01:00.0: blocked at trace line {blocked[0].line}, "
            f"no device-TLB descriptor for it after the request")
