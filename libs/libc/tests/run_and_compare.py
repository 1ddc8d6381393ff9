#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Runs a task ELF built with the Linux stand-ins and compares its console output and exit status
# with the expectation file.
import subprocess
import sys

elf, expected_file, want_status = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = subprocess.run([elf], capture_output=True, timeout=30)
got = r.stdout.decode(errors="replace")
want = open(expected_file).read()
ok = True
if got != want:
    ok = False
    print("output differs\n--- got ---\n" + got + "--- want ---\n" + want)
if r.returncode != want_status:
    ok = False
    print(f"exit status {r.returncode}, want {want_status}")
print("ok" if ok else "FAIL")
sys.exit(0 if ok else 1)
