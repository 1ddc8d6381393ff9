# SPDX-License-Identifier: BSD-2-Clause
"""Portcullis QEMU harness: images, machine presets, the QMP client, the guest result protocol,
QEMU trace-log parsing and the runner that ties them together under a deadline.
Python 3 standard library only."""
