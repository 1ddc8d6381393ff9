#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Builds the capture probe (a 32-bit multiboot kernel, see probe/probe.c), boots it under QEMU
# q35 in the three configurations the host tests use, and turns its serial hex dump into the
# binary blobs under tests/data/<variant>/ plus a MANIFEST naming each blob's physical address,
# and the seeds of the fuzz_acpi_root target (tests/fuzz/acpi_root_seeds/).
# Not part of the default build: run it by hand when QEMU or the device set changes.
#
#   tools/capture/capture.py [--out tests/data] [--qemu qemu-system-x86_64] [variant...]

import argparse
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

COMMON = [
    "-machine", "q35", "-accel", "tcg", "-m", "512M", "-smp", "1", "-nodefaults",
    "-display", "none", "-no-reboot", "-serial", "stdio",
    "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
]
DEVICES = [
    "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1",
    "-device", "virtio-rng-pci,bus=rp1,id=vrng0,ats=on,iommu_platform=on,disable-legacy=on",
    "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2",
    "-device", "edu,bus=rp2,id=edu0,dma_mask=0xffffffffffffffff",
    "-device", "pcie-root-port,id=rp7,bus=pcie.0,chassis=7,slot=7",
]
EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]

VARIANTS = {
    # (a) the full command line of shared QEMU notes: DMAR with ATSR.
    "q35-iommu-iotlb": ["-device", "intel-iommu,intremap=on,x-scalable-mode=on,device-iotlb=on"] + DEVICES,
    # (b) the same without device-iotlb: DMAR without ATSR.
    "q35-iommu": ["-device", "intel-iommu,intremap=on,x-scalable-mode=on"] + DEVICES,
    # (c) plain q35, no intel-iommu: no DMAR at all.
    "q35-plain": DEVICES,
}

PROBE_EXIT_CODE = 33  # isa-debug-exit: (0x10 << 1) | 1


def build_probe(workdir):
    cflags = ["-m32", "-ffreestanding", "-nostdlib", "-fno-pic", "-fno-pie",
              "-fno-stack-protector", "-O2", "-Wall", "-Wextra"]
    objs = []
    for src in ("boot.S", "probe.c"):
        obj = os.path.join(workdir, src + ".o")
        subprocess.run(["gcc"] + cflags + ["-c", os.path.join(HERE, "probe", src), "-o", obj], check=True)
        objs.append(obj)
    elf = os.path.join(workdir, "probe.elf")
    subprocess.run(["ld", "-m", "elf_i386", "-z", "noexecstack", "--no-warn-rwx-segments",
                    "-T", os.path.join(HERE, "probe", "link.ld")] + objs + ["-o", elf], check=True)
    return elf


def run_probe(qemu, elf, args, timeout_s):
    cmd = ["timeout", str(timeout_s), qemu] + COMMON + args + EXIT + ["-kernel", elf]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if res.returncode != PROBE_EXIT_CODE:
        sys.exit("probe run failed (exit %d): %s" % (res.returncode, res.stderr.decode(errors="replace")))
    return res.stdout.decode("ascii", errors="replace").splitlines()


def parse(lines):
    """Yields (kind, fields, bytes) records from the probe's line format."""
    records = []
    bars = []
    cur = None
    done = False
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line.startswith("PROBE DONE"):
            done = True
            expect = int(line.split()[2], 16)
            if expect != len(records):
                sys.exit("probe reported %d objects, parsed %d" % (expect, len(records)))
        elif line.startswith(("RSDP ", "TABLE ", "CFG ")):
            cur = (line.split(), bytearray())
        elif line.startswith("D ") and cur is not None:
            cur[1].extend(bytes.fromhex(line[2:]))
        elif line == "END" and cur is not None:
            records.append(cur)
            cur = None
        elif line.startswith("BARS "):
            bars.append(line.split()[1:])
        elif line.startswith(("BADTABLE", "NORSDP")):
            sys.exit("probe: " + line)
    if not done:
        sys.exit("probe output truncated")
    return records, bars


def write_variant(outdir, records, bars):
    os.makedirs(os.path.join(outdir, "acpi"), exist_ok=True)
    os.makedirs(os.path.join(outdir, "pci"), exist_ok=True)
    manifest = []
    seen = set()
    for fields, data in records:
        if fields[0] == "RSDP":
            addr, length = int(fields[1], 16), int(fields[2], 16)
            name = "acpi/RSDP.bin"
            manifest.append("rsdp %08x %d %s" % (addr, length, name))
        elif fields[0] == "TABLE":
            sig, addr, length = fields[1], int(fields[2], 16), int(fields[3], 16)
            if addr in seen:
                continue
            seen.add(addr)
            name = "acpi/%s.bin" % sig
            n = 2
            while os.path.basename(name) in [m.split()[-1].split("/")[-1] for m in manifest]:
                name = "acpi/%s%d.bin" % (sig, n)
                n += 1
            manifest.append("table %s %08x %d %s" % (sig, addr, length, name))
        else:
            bus, dev, fn = (int(x, 16) for x in fields[1:4])
            name = "pci/%02x_%02x.%x.bin" % (bus, dev, fn)
            manifest.append("cfg %02x:%02x.%x %s" % (bus, dev, fn, name))
        if len(data) != (int(fields[-1], 16) if fields[0] != "CFG" else 4096):
            sys.exit("short record " + " ".join(fields))
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    for b in bars:
        bus, dev, fn = (int(x, 16) for x in b[:3])
        manifest.append("bars %02x:%02x.%x %s" % (bus, dev, fn, " ".join(b[3:])))
    with open(os.path.join(outdir, "MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    return len(manifest)


def write_root_seed(variant_dir, seed_path):
    """Seed for fuzz_acpi_root: u32 count, (u64 pa, u32 len) per region, then the bytes; the
    RSDP first, then every table except the (large, unparsed) DSDT and FACS."""
    regions = []
    with open(os.path.join(variant_dir, "MANIFEST")) as f:
        for line in f:
            fields = line.split()
            if fields[0] == "rsdp":
                regions.insert(0, (int(fields[1], 16), fields[3]))
            elif fields[0] == "table" and fields[1] not in ("DSDT", "FACS"):
                regions.append((int(fields[2], 16), fields[4]))
    head, body = struct.pack("<I", len(regions)), b""
    for pa, name in regions:
        with open(os.path.join(variant_dir, name), "rb") as f:
            data = f.read()
        head += struct.pack("<QI", pa, len(data))
        body += data
    os.makedirs(os.path.dirname(seed_path), exist_ok=True)
    with open(seed_path, "wb") as f:
        f.write(head + body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "data"))
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("variants", nargs="*", default=sorted(VARIANTS))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        elf = build_probe(work)
        for v in args.variants:
            records, bars = parse(run_probe(args.qemu, elf, VARIANTS[v], args.timeout))
            n = write_variant(os.path.join(args.out, v), records, bars)
            print("%s: %d objects" % (v, n))
            if v in ("q35-iommu-iotlb", "q35-plain"):
                write_root_seed(os.path.join(args.out, v),
                                os.path.join(REPO, "tests", "fuzz", "acpi_root_seeds", v + ".bin"))


if __name__ == "__main__":
    main()
