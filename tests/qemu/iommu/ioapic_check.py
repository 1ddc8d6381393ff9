# SPDX-License-Identifier: BSD-2-Clause
"""Trace check of qemu_iommu_ioapic_line_remapped: the RTC's interrupts (ISA IRQ 8, vector 0x38)
reached the CPU through the interrupt-remapping entry the IOMMU server wrote for the I/O APIC,
in the remappable format the kernel programmed into the redirection entry: QEMU logged them as
remapped requests of the I/O APIC type with the entry's index and vector, and none arrived in
compatibility format once the line was moved."""
import re

_REMAP = re.compile(r"index (?P<i>\d+) trigger (?P<t>\d+) vector (?P<v>\d+)")
_ORIGIN = re.compile(r"^\(addr 0x(?P<a>[0-9a-fA-F]+), data 0x(?P<d>[0-9a-fA-F]+)\)")


def check(trace, ctx):
    moved = ctx.time_of(r"init: I/O APIC line of ISA IRQ 8 \(vector 56\): remapped, entry \d+")
    assert moved is not None, "the root task did not report the RTC line remapped"
    ioapic = [r for r in trace.events("vtd_ir_remap_type", after=moved)
              if r.text.strip() == "IOAPIC"]
    assert len(ioapic) >= 20, f"only {len(ioapic)} I/O APIC requests were remapped"
    remaps = [_REMAP.search(r.text) for r in trace.events("vtd_ir_remap", after=moved)]
    vectors = {int(x.group("v")) for x in remaps if x}
    entries = {int(x.group("i")) for x in remaps if x}
    assert vectors == {0x38}, f"remapped vectors after the move: {sorted(vectors)}"
    compat = []
    for r in trace.events("vtd_ir_remap_msi", after=moved):
        o = _ORIGIN.search(r.text)
        if o and not int(o.group("a"), 16) & 0x10:  # interrupt format bit clear
            compat.append(r)
    assert not compat, f"compatibility-format requests after the move: {compat[:3]}"
    ctx.log(f"{len(ioapic)} RTC interrupts remapped through I/O APIC entry {sorted(entries)}, "
            f"vector 0x38, none in compatibility format")
