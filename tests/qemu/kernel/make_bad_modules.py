#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes boot modules the root task must refuse, each derived from a good task ELF:

    bad_truncated.elf   the first 1000 bytes only (program headers point past the end)
    bad_not_elf.elf     text, no ELF magic
    bad_kernel_half.elf the first PT_LOAD moved to a kernel-half address
    bad_entry.elf       the entry point outside every executable segment

    make_bad_modules.py <good.elf> <output dir>
"""
import os
import struct
import sys


def main():
    good, out = sys.argv[1], sys.argv[2]
    data = bytearray(open(good, "rb").read())
    os.makedirs(out, exist_ok=True)

    def write(name, blob):
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)

    write("bad_truncated.elf", bytes(data[:1000]))
    write("bad_not_elf.elf", b"this is not an executable\n" * 8)

    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    kh = bytearray(data)
    for i in range(phnum):
        off = phoff + i * phentsize
        if struct.unpack_from("<I", kh, off)[0] == 1:  # PT_LOAD
            struct.pack_into("<QQ", kh, off + 0x10, 0xFFFF800000400000, 0xFFFF800000400000)
            break
    write("bad_kernel_half.elf", bytes(kh))

    be = bytearray(data)
    struct.pack_into("<Q", be, 0x18, 0x10)  # e_entry far below any segment
    write("bad_entry.elf", bytes(be))
    return 0


if __name__ == "__main__":
    sys.exit(main())
