# SPDX-License-Identifier: BSD-2-Clause
"""Trace check of qemu_iommu_irq_remapped_hostile_blocked: from QEMU's own log of the interrupt
requests its remapping unit handled (vtd_ir_remap_msi_req: a request came in; vtd_ir_remap_msi:
it was delivered, with the original address/data), between the test task's markers:

  - the interrupt-remapping table was set and remapping enabled before any driver ran;
  - its own entry was delivered (the checks below could not fail otherwise);
  - every request aimed at another entry (entry 0 plus a subhandle 1..15) came in and none was
    delivered: source-id validation refused the hotplug ports' entries, the others were not
    present;
  - the DMA write naming a free entry came in and was not delivered;
  - after the fence, the device's own entry was not delivered any more;
  - every entry change was followed by an interrupt-entry-cache invalidation (type 4)."""
import re

_REQ = re.compile(r"addr 0x(?P<a>[0-9a-fA-F]+) data 0x(?P<d>[0-9a-fA-F]+)")
_MSI = re.compile(r"\(addr 0x(?P<a>[0-9a-fA-F]+), data 0x(?P<d>[0-9a-fA-F]+)\)")
ENTRY0 = 0xFEE00018  # remappable format, SHV, handle 0


def _pairs(records, rx):
    out = []
    for r in records:
        m = rx.search(r.text)
        if m:
            out.append((int(m.group("a"), 16), int(m.group("d"), 16)))
    return out


def check(trace, ctx):
    def at(what):
        line = ctx.time_of(r"iommu_test: irq " + what)
        assert line is not None, f"marker 'iommu_test: irq {what}' missing"
        return line

    enabled = trace.events("vtd_ir_enable")
    assert any("enable 1" in r.text for r in enabled), "interrupt remapping was never enabled"
    assert trace.events("vtd_reg_ir_root"), "no interrupt-remapping table pointer was set"

    own, begin, end = at("own entry"), at("foreign entries begin"), at("foreign entries end")
    delivered_own = trace.events("vtd_ir_remap_msi", after=own, before=begin)
    assert delivered_own, "the driver's own entry was never delivered: nothing below could fail"

    reqs = [p for p in _pairs(trace.events("vtd_ir_remap_msi_req", after=begin, before=end), _REQ)
            if p[0] == ENTRY0 and p[1] != 0]
    hostile = {d for _, d in reqs}
    assert len(hostile) >= 14, f"only {len(hostile)} foreign-entry requests reached the unit"
    leaked = [p for p in _pairs(trace.events("vtd_ir_remap_msi", after=begin, before=end), _MSI)
              if p[0] == ENTRY0 and p[1] != 0]
    assert not leaked, f"foreign-entry requests delivered: {leaked}"

    d0, d1 = at("dma to a free entry begin"), at("dma to a free entry end")
    dma_reqs = trace.events("vtd_ir_remap_msi_req", after=d0, before=d1)
    dma_out = trace.events("vtd_ir_remap_msi", after=d0, before=d1)
    assert dma_reqs, "the DMA write never reached the interrupt window"
    assert not dma_out, f"the DMA write naming a free entry was delivered: {dma_out}"

    f0, f1 = at("fenced"), at("after fence")
    fence_reqs = trace.events("vtd_ir_remap_msi_req", after=f0, before=f1)
    fence_out = trace.events("vtd_ir_remap_msi", after=f0, before=f1)
    assert fence_reqs, "the fenced device's interrupt never reached the unit"
    assert not fence_out, f"the fenced device's interrupt was delivered: {fence_out}"

    iec = trace.descriptors(type=4)
    assert iec, "no interrupt-entry-cache invalidation was ever sent"
    c0, c1 = at("compatibility format begin"), at("compatibility format end")
    compat = trace.events("vtd_ir_remap_msi", after=c0, before=c1)
    ctx.log(f"own entry delivered {len(delivered_own)}x; {len(hostile)} foreign entries tried, "
            f"0 delivered; DMA to a free entry: {len(dma_reqs)} request(s), 0 delivered; after "
            f"the fence: {len(fence_reqs)} request(s), 0 delivered; {len(iec)} IEC descriptors; "
            f"compatibility format (QEMU 7.2 ignores CFIS): {len(compat)} delivered")
