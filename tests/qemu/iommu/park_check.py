# SPDX-License-Identifier: BSD-2-Clause
"""Trace check of the parked-request tests: the IOMMU server answered requests through saved
reply capabilities after the invalidation-completion interrupt, and QEMU's log of the wait
descriptors it processed shows the completion interrupt requested by Interrupt-Flag waits that
never also ask for a Status Write (both in one descriptor abort QEMU 7.2)."""
import re


def check(trace, ctx):
    lines = ctx.console_lines()
    assert any(re.search(r"iommu: completion event: vector \d+, VTD_OK", l) for l in lines), \
        "the server did not set up the completion event"
    assert any(re.search(r"iommu: completion events on every unit; parking (forced|for)", l)
               for l in lines), "the server does not leave requests pending"
    answered = [l for l in lines if re.search(r"iommu: parked (unmap|ats_flush) answered", l)]
    assert answered, "no request was parked and answered"
    bad = [l for l in answered if "answered: OK" not in l and "answered: IOMMU_OK" not in l]
    waits = trace.waits()
    both = [w for w in waits if w.sw and w.f["if"]]
    irq = [w for w in waits if w.f["if"] and not w.sw]
    status = [w for w in waits if w.sw and not w.f["if"]]
    assert not both, f"{len(both)} wait descriptors with Status Write and Interrupt Flag"
    assert irq, "no Interrupt-Flag wait: nothing was submitted asynchronously"
    assert len(irq) >= min(len(answered), 1)
    ctx.log(f"parked answers on the console: {len(answered)} ({len(bad)} with an error); "
            f"waits: {len(irq)} interrupt-flag, {len(status)} status-write, 0 with both")
