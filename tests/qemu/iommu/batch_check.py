# SPDX-License-Identifier: BSD-2-Clause
"""Trace check of qemu_iommu_batch_unmap_one_submission: each unmap request covering 256
separately mapped 4 KiB pages reached QEMU as exactly one queue-tail write carrying the IOTLB
invalidation and its wait; prints tail writes and descriptors per unmapped page."""
import re

PAGES = 256


def check(trace, ctx):
    lines = ctx.console_lines()
    batches = sorted({int(m.group(1)) for l in lines
                      for m in [re.search(r"iommu_test: batch unmap (\d+) start", l)] if m})
    assert batches, "no batch markers on the console"
    total_tails = 0
    for b in batches:
        start = ctx.time_of(rf"iommu_test: batch unmap {b} start")
        end = ctx.time_of(rf"iommu_test: batch unmap {b} end")
        assert start is not None and end is not None, f"batch {b}: markers missing"
        tails = trace.tail_writes(after=start, before=end)
        descs = trace.descriptors(after=start, before=end)
        waits = [d for d in descs if d.type == 5]
        assert len(tails) == 1, f"batch {b}: {len(tails)} tail writes for one unmap request"
        assert len(waits) == 1, f"batch {b}: {len(waits)} wait descriptors"
        total_tails += len(tails)
        ctx.log(f"batch {b}: {len(tails)} tail write, {len(descs)} descriptors for {PAGES} pages")
    ctx.log(f"queue-tail writes per unmapped page: {total_tails}/{PAGES * len(batches)} = "
            f"{total_tails / (PAGES * len(batches)):.4f}")
