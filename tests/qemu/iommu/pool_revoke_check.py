# SPDX-License-Identifier: BSD-2-Clause
"""Trace check of qemu_iommu_revoke_pool_during_dma: the root task took a DMA pool grant back
(revoke_memory) while edu's transfers into the pool ran, and QEMU's own log says the
revocation reached the hardware before the root task called the memory its own again.

The client's domain comes from its probe (one unmap of a frame between two console markers: the
IOTLB descriptor QEMU processed there names the domain); the pool's IOVA range from its console
line. Between the root task's "revoking pool" and "pool ... unreachable" lines QEMU processed an
IOTLB invalidation that covers that range in that domain (page-selective over the range,
domain-selective for the domain, or global), then a wait descriptor that completes it; the
device's writes fault after that and never before the revoke."""
import re

PAGE = 4096


def _covers(d, did, lo, hi):
    """IOTLB descriptor d invalidates [lo, hi) of domain did (wholly or in part)."""
    if d.granularity == 1:  # global
        return True
    if d.did != did:
        return False
    if d.granularity == 2:  # domain-selective
        return True
    start, size = d.addr, PAGE << d.am
    return start < hi and lo < start + size


def check(trace, ctx):
    lines = ctx.console_lines()
    p0 = ctx.time_of(r"iommu_test: pool_revoke: domain probe at IOVA 0x[0-9a-f]+: map and unmap begin")
    p1 = ctx.time_of(r"iommu_test: pool_revoke: domain probe end")
    r0 = ctx.time_of(r"init: revoke: revoking pool \d+ of task \d+")
    r1 = ctx.time_of(r"init: revoke: pool \d+ of task \d+ unreachable by its devices")
    marks = dict(probe=p0, probe_end=p1, revoking=r0, unreachable=r1)
    missing = [k for k, v in marks.items() if v is None]
    assert not missing, f"marker lines missing: {missing}"
    assert p0 < p1 < r0 < r1, f"markers out of order: {marks}"

    probe = next(l for l in lines if "pool_revoke: domain probe at IOVA" in l)
    probe_iova = int(re.search(r"IOVA (0x[0-9a-f]+)", probe).group(1), 16)
    dom = [d for d in trace.descriptors("iotlb", after=p0, before=p1)
           if d.granularity == 2 or (d.granularity == 3 and d.addr <= probe_iova < d.addr + (PAGE << d.am))]
    assert dom, "the probe's unmap left no domain- or page-selective IOTLB descriptor to name the domain"
    did = dom[-1].did

    rng = next((l for l in lines if re.search(r"pool_revoke: pool grant \d+ at IOVA", l)), None)
    assert rng, "the target's pool range line is missing"
    lo, hi = (int(x, 16) for x in re.search(r"\[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", rng).groups())
    answer = next(l for l in lines if re.search(r"init: revoke: memory grant of iommu client", l))
    assert re.search(r": ok \(error 0, status \S+, 0 pins left\)", answer), \
        f"the server's answer is not OK with no pins left: {answer}"

    iotlb = trace.descriptors("iotlb", after=r0, before=r1)
    hits = [d for d in iotlb if _covers(d, did, lo, hi)]
    assert hits, (f"no IOTLB invalidation of domain {did:#x} over [{lo:#x}, {hi:#x}) between the "
                  f"revoke and its answer ({len(iotlb)} IOTLB descriptor(s) there)")
    waits = trace.waits(after=hits[-1].line, before=r1)
    assert waits, "no wait descriptor completes the pool revoke's IOTLB invalidation"

    faults = trace.events("vtd_dmar_fault", after=r1)
    assert faults, "no DMA fault after the pool was revoked: the transfers were not blocked"
    assert not trace.events("vtd_dmar_fault", before=r0), \
        "a DMA fault before the revoke: the check of the faults after it proves nothing"
    ctx.log(f"pool revoke: domain {did:#x}, IOVA [{lo:#x}, {hi:#x}); {len(hits)} covering IOTLB "
            f"descriptor(s) of {len(iotlb)}, {len(waits)} wait(s) after them before the answer; "
            f"{len(faults)} DMA fault event(s) after it")
