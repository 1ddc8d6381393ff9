#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Boot kernel.elf with the kernel self-test root task under QEMU and check its verdict.

Passes when the serial log ends with "ktest: N passed, 0 failed" and QEMU exits through
isa-debug-exit with code 0 (status 1); fails on any FAIL line, a kernel panic, or the deadline.
"""
import argparse
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--init", required=True)
    ap.add_argument("--timeout", type=int, default=100)
    ap.add_argument("--icount", action="store_true", help="deterministic: one TSC tick per instruction")
    a = ap.parse_args()
    cmd = [a.qemu, "-machine", "q35", "-accel", "tcg", "-m", "512M", "-nodefaults", "-display", "none",
           "-no-reboot", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-global", "hpet.msi=on",
           "-kernel", a.kernel, "-initrd", a.init]
    if a.icount:
        cmd += ["-icount", "shift=0,sleep=off"]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=a.timeout)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), None
    sys.stdout.write(out)
    m = re.search(r"ktest: (\d+) passed, (\d+) failed", out)
    if rc is None:
        print("kernel_qemu_selftest: QEMU did not finish within %ds" % a.timeout)
        return 1
    if "PANIC" in out or "FAIL " in out or not m or m.group(2) != "0" or rc != 1:
        print("kernel_qemu_selftest: failed (qemu status %s)" % rc)
        return 1
    print("kernel_qemu_selftest: %s tests passed" % m.group(1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
