#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Checks that a task ELF is what the root task's loader expects: ELF64 x86_64 ET_EXEC, entry at
# _start, fully static (no PT_INTERP/PT_DYNAMIC, no undefined symbols), every PT_LOAD at or above
# 0x400000 and page-aligned, no segment both writable and executable, and (optionally) that the
# symbols a test names are present.
import argparse
import struct
import subprocess
import sys

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X, PF_W = 1, 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("elf")
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--require", nargs="*", default=[])
    ap.add_argument("--base", type=lambda s: int(s, 0), default=0x400000)
    a = ap.parse_args()
    errors = []
    data = open(a.elf, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit("not an ELF64 little-endian file")
    (e_type, e_machine, _ver, e_entry, e_phoff, _sh, _fl, _eh, e_phentsize,
     e_phnum) = struct.unpack_from("<HHIQQQIHHH", data, 16)
    if e_type != 2:
        errors.append(f"e_type {e_type}, want ET_EXEC (2)")
    if e_machine != 62:
        errors.append(f"e_machine {e_machine}, want EM_X86_64 (62)")
    loads = 0
    for i in range(e_phnum):
        p_type, p_flags, p_off, p_vaddr, _pa, p_filesz, p_memsz, p_align = struct.unpack_from(
            "<IIQQQQQQ", data, e_phoff + i * e_phentsize)
        if p_type in (PT_DYNAMIC, PT_INTERP):
            errors.append(f"phdr {i}: dynamic-linking segment type {p_type}")
        if p_type != PT_LOAD:
            continue
        loads += 1
        if p_vaddr < a.base:
            errors.append(f"PT_LOAD {i} at {p_vaddr:#x} below {a.base:#x}")
        if p_vaddr % 0x1000 or p_off % 0x1000:
            errors.append(f"PT_LOAD {i} not page-aligned (vaddr {p_vaddr:#x} off {p_off:#x})")
        if p_flags & PF_W and p_flags & PF_X:
            errors.append(f"PT_LOAD {i} is writable and executable")
        if p_filesz > p_memsz:
            errors.append(f"PT_LOAD {i} filesz > memsz")
    if loads == 0:
        errors.append("no PT_LOAD segment")
    undefined = subprocess.run([a.nm, "-u", a.elf], capture_output=True, text=True, check=True)
    undef = [l.split()[-1] for l in undefined.stdout.splitlines() if l.strip()]
    if undef:
        errors.append("undefined symbols: " + " ".join(undef))
    syms = {}
    out = subprocess.run([a.nm, a.elf], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    if syms.get("_start") != e_entry:
        errors.append(f"entry {e_entry:#x} is not _start ({syms.get('_start')})")
    for name in a.require:
        if name not in syms:
            errors.append(f"symbol {name} missing")
    for e in errors:
        print("FAIL:", e)
    if errors:
        return 1
    print(f"ok: {a.elf}: entry {e_entry:#x}, {loads} PT_LOAD, {len(syms)} symbols, none undefined")
    return 0


if __name__ == "__main__":
    sys.exit(main())
