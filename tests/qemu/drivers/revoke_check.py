# SPDX-License-Identifier: BSD-2-Clause
"""Trace check of qemu_drivers_edu_revoke_frames_device_restart: QEMU's own log says the root
task's revocations reached the hardware before the root task went on. The root task took back
the edu driver's frames while its transfers ran: an IOTLB invalidation and the wait that
completes it lie between the root task's "taking back the frames" and "frames ... unreachable"
lines, and the device's writes fault after that; the device taken back: a context-cache
invalidation for its source-id and a wait before the root task's answer line; the driver killed:
the server removed its client before the root task said its memory was returned, and only then
was memory of it handed out again (the restarted instance built in the returned arena), which
attached in a fresh domain where the old IOVA faults and DMA works."""
import re


def _first(lines, pattern):
    rx = re.compile(pattern)
    return next((l for l in lines if rx.search(l)), None)


def check(trace, ctx):
    lines = ctx.console_lines()
    f0 = ctx.time_of(r"init: revoke: taking back the frames of task \d+")
    f1 = ctx.time_of(r"init: revoke: frames of task \d+ unreachable by its devices")
    d0 = ctx.time_of(r"init: revoke: taking back the device of task \d+")
    d1 = ctx.time_of(r"init: revoke: device [0-9a-f:.]+ of iommu client \S+ \(task \d+\): ok")
    k0 = ctx.time_of(r"init: revoke: killing task \d+")
    removed = ctx.time_of(r"iommu: client 0x\w+ removed")
    k1 = ctx.time_of(r"init: revoke: task \d+ torn down, its memory returned for reuse")
    reuse = ctx.time_of(r"init: task \d+ built in a returned arena")
    again = ctx.time_of(r"init: revoke: task \d+ \S+ started again")
    marks = dict(f0=f0, f1=f1, d0=d0, d1=d1, k0=k0, removed=removed, k1=k1, reuse=reuse,
                 again=again)
    missing = [k for k, v in marks.items() if v is None]
    assert not missing, f"marker lines missing: {missing}"
    assert f0 < f1 < d0 < d1 < k0 < removed < k1 < reuse < again, f"markers out of order: {marks}"

    # frames: invalidated and confirmed (a wait after the last IOTLB descriptor) before the reply
    iotlb = trace.descriptors("iotlb", after=f0, before=f1)
    waits = trace.waits(after=f0, before=f1)
    assert iotlb, "no IOTLB invalidation between the frames revoke and its answer"
    assert waits and waits[-1].line > iotlb[-1].line, \
        "no wait descriptor completes the frames revoke's IOTLB invalidation"
    faults = trace.events("vtd_dmar_fault", after=f1, before=k0)
    assert faults, "no DMA fault after the frames were revoked: the transfers were not blocked"
    assert not trace.events("vtd_dmar_fault", before=f0), \
        "a DMA fault before the revoke: the check of the faults after it proves nothing"

    # device: its context entry flushed (context-cache descriptor for its source-id) and waited
    reg = _first(lines, r"init: iommu client \S+ \(edu\S*\): [0-9a-f]{2}:[0-9a-f]{2}\.\d: registered")
    assert reg, "the edu driver's registration line is missing"
    bus, dev, fn = re.search(r"([0-9a-f]{2}):([0-9a-f]{2})\.(\d): registered", reg).groups()
    sid = int(bus, 16) << 8 | int(dev, 16) << 3 | int(fn)
    cc = [d for d in trace.descriptors("context-cache", after=d0, before=d1)
          if d.granularity != 3 or d.sid == sid]
    dwaits = trace.waits(after=d0, before=d1)
    assert cc, f"no context-cache invalidation for {sid:#06x} while its device was revoked"
    assert dwaits and dwaits[-1].line > cc[-1].line, "the device revoke's flush was not waited for"

    # restart: the new instance's checks ran (their PASS/FAIL is judged by the harness)
    for name in ("restarted_old_iova_faults", "dma_round_trip_through_iommu_verified"):
        assert _first(lines, rf"TEST edu_r1_{name}: PASS"), f"restarted instance: {name} missing"
    ctx.log(f"frames revoke: {len(iotlb)} IOTLB descriptor(s), {len(waits)} wait(s) before the "
            f"answer, {len(faults)} DMA fault event(s) after it; device revoke: {len(cc)} "
            f"context-cache descriptor(s) for {sid:#06x}; kill: client removed before the memory "
            f"was returned and reused")
