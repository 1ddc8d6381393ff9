# SPDX-License-Identifier: BSD-2-Clause
"""Trace check of qemu_iommu_surprise_fence_no_device_tlb: from QEMU's own log of the
invalidation descriptors it processed, the IOMMU server sent device-TLB invalidations to the
ATS-capable virtio device (01:00.0) while it was live, none between the surprise fence and the
re-add, again for the new occupant, one flush inside its orderly fence, and none after that."""

SID = 0x0100


def check(trace, ctx):
    live = ctx.time_of(r"iommu_test: unmap with live ATS done for 01:00\.0")
    fenced = ctx.time_of(r"iommu_test: fencing \(surprise\) 01:00\.0")
    readded = ctx.time_of(r"iommu_test: re-adding 01:00\.0")
    assert live is not None and fenced is not None and readded is not None, \
        f"marker lines missing (live {live}, fenced {fenced}, re-added {readded})"
    before = trace.device_tlb(sid=SID, before=fenced)
    assert len(before) >= 1, "no device-TLB invalidation reached the live ATS device: " \
        "the check below could not fail"
    trace.assert_no_device_tlb(SID, after=fenced, before=readded)
    orderly = ctx.time_of(r"iommu_test: fencing \(orderly\) 01:00\.0")
    orderly_done = ctx.time_of(r"iommu_test: orderly fence done for 01:00\.0")
    assert orderly is not None and orderly_done is not None, "orderly fence markers missing"
    after = trace.device_tlb(sid=SID, after=readded, before=orderly)
    assert len(after) >= 1, "the re-added device's unmap sent no device-TLB invalidation"
    flush = trace.device_tlb(sid=SID, after=orderly, before=orderly_done)
    assert len(flush) >= 1, "the orderly fence did not flush the device-TLB (step 3)"
    trace.assert_no_device_tlb(SID, after=orderly_done)
    ctx.log(f"device-TLB descriptors for 01:00.0: {len(before)} before the surprise fence, "
            f"0 while fenced, {len(after)} after the re-add, {len(flush)} in the orderly fence, "
            f"0 after it")
