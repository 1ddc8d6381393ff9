# SPDX-License-Identifier: BSD-2-Clause
# The orderly fence of 01:00.0 as QEMU saw it: after the button, the first context-cache
# invalidation (device blocked), then the device-TLB invalidation for 01:00.0, then a wait - in
# that order - and no device-TLB descriptor for 01:00.0 ever after (the driver's unmaps that
# follow complete without one). The config-space half (ATS Enable cleared) is on the console.
SID = 0x0100


def check(trace, ctx):
    lines = ctx.console_lines()
    ats = [l for l in lines if "ATS Enable of 01:00.0" in l]
    assert ats and "1 before the fence, 0 after" in ats[0], \
        f"ATS Enable not cleared by the fence: {ats}"
    start = ctx.time_of(r"hotplug_test: ready for device_del vrng0")
    assert start is not None, "the scenario never started"
    ctx_inv = trace.descriptors(type=1, after=start)
    assert ctx_inv, "no context-cache invalidation after the button: the device was never blocked"
    blocked = ctx_inv[0]
    dtlb = trace.device_tlb(sid=SID, after=blocked.line)
    assert dtlb, "no device-TLB invalidation for 01:00.0 after it was blocked"
    flushed = dtlb[0]
    early = trace.device_tlb(sid=SID, after=start, before=blocked.line)
    assert not early, f"device-TLB flush for 01:00.0 before the device was blocked: {early[0]}"
    waits = trace.waits(after=flushed.line)
    assert waits, "no wait descriptor after the device-TLB flush"
    waited = waits[0]
    trace.assert_no_device_tlb(SID, after=waited.line)
    ctx.log(f"orderly fence of 01:00.0: blocked (trace line {blocked.line}), device-TLB flushed "
            f"(line {flushed.line}), waited (line {waited.line}); no device-TLB after; {ats[0]}")
