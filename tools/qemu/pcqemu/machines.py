# SPDX-License-Identifier: BSD-2-Clause
"""Machine presets: the QEMU device configuration an image runs on.

Every preset is q35 under TCG with the devices the system is tested against (see QEMU.md):
root ports rp1/rp2/rp7 with native hotplug (ACPI hotplug of bridges off, otherwise device_del
waits forever for _EJ0), a virtio-rng with ATS behind rp1, the edu DMA engine behind rp2, rp7
empty for device_add, and isa-debug-exit at 0xf4 so the guest can end the run with a status.

intel-iommu with intremap=on needs `kernel-irqchip=split` (or off) only with KVM; under TCG (the
only accelerator used here) there is no in-kernel irqchip and QEMU 7.2 accepts intremap=on on a
plain `-machine q35`, so the presets do not pass it. Add it via --accel kvm if ever needed.
"""

COMMON = [
    "-accel", "tcg", "-m", "512M", "-smp", "1", "-nodefaults", "-display", "none", "-no-reboot",
    "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
]

DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]


def _ports_and_devices(iommu):
    rng = "virtio-rng-pci,bus=rp1,id=vrng0,disable-legacy=on"
    if iommu:
        rng += ",ats=on,iommu_platform=on"
    return [
        "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1",
        "-device", rng,
        "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2",
        "-device", "edu,bus=rp2,id=edu0,dma_mask=0xffffffffffffffff",
        "-device", "pcie-root-port,id=rp7,bus=pcie.0,chassis=7,slot=7",
    ]


def _iommu(opts):
    return ["-device", "intel-iommu," + opts]


PRESETS = {
    # The QEMU.md configuration: scalable mode, device-TLB (ATS) and interrupt remapping.
    "iommu": {
        "machine": "q35",
        "args": _iommu("intremap=on,x-scalable-mode=on,device-iotlb=on") + _ports_and_devices(True),
        "doc": "q35 + intel-iommu scalable mode, device-iotlb, intremap; rp1 virtio-rng (ATS), "
               "rp2 edu, rp7 empty",
    },
    # Legacy (non-scalable) context entries.
    "iommu-legacy": {
        "machine": "q35",
        "args": _iommu("intremap=on,device-iotlb=on") + _ports_and_devices(True),
        "doc": "as iommu, legacy-mode context entries",
    },
    # The benchmark configuration of DESIGN.md: caching mode makes maps need invalidation too.
    "iommu-cm": {
        "machine": "q35",
        "args": _iommu("intremap=on,caching-mode=on,device-iotlb=on") + _ports_and_devices(True),
        "doc": "as iommu-legacy with caching-mode=on (benchmark targets)",
    },
    # No IOMMU at all.
    "plain": {
        "machine": "q35",
        "args": _ports_and_devices(False),
        "doc": "q35 without IOMMU; same root ports and devices (virtio-rng without ATS)",
    },
}

DEFAULT_PRESET = "iommu"


def preset_args(name):
    """QEMU arguments (machine, common, devices, debug-exit) for a preset name."""
    if name not in PRESETS:
        raise KeyError(f"unknown machine preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    p = PRESETS[name]
    return ["-machine", p["machine"]] + COMMON + p["args"] + DEBUG_EXIT
