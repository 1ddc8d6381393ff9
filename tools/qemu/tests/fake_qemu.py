#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Stands in for qemu-system-x86_64 in the harness self-tests: ignores its arguments, prints the
# lines in $FAKE_QEMU_LINES ('|'-separated) on the "serial console", optionally echoes one line
# of stdin, sleeps $FAKE_QEMU_SLEEP seconds and exits with $FAKE_QEMU_STATUS.
import os
import sys
import time

for line in filter(None, os.environ.get("FAKE_QEMU_LINES", "").split("|")):
    if line == "<echo>":
        sys.stdout.write("ECHO " + sys.stdin.readline())
    else:
        sys.stdout.write(line + "\r\n")
    sys.stdout.flush()
err = os.environ.get("FAKE_QEMU_STDERR")
if err:
    sys.stderr.write(err + "\n")
time.sleep(float(os.environ.get("FAKE_QEMU_SLEEP", "0")))
sys.exit(int(os.environ.get("FAKE_QEMU_STATUS", "1")))
