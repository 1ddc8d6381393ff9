#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Boot a Portcullis image under QEMU and report the guest's result.

    run.py --build <dir> --image <name> [--timeout S] [--icount] [--trace PATTERN ...]
           [--trace-log FILE] [--trace-check FILE] [--qmp-script FILE] [--log FILE]
           [--expect-summary] [--fail-marker REGEX ...] [--qemu BIN] [--list] [-- extra QEMU args]

Exit status: 0 pass, 1 guest failure (a FAIL line, bad/missing summary, non-zero halt code, no
halt at all), 2 timeout, 3 harness error (image or QEMU missing), 4 crash marker on the console,
5 QMP script failure, 6 trace check failure. The protocol is described in docs/testing.md.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pcqemu import image as pcimage  # noqa: E402
from pcqemu import machines  # noqa: E402
from pcqemu import runner  # noqa: E402


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("PORTCULLIS_BUILD", "build"),
                    help="CMake build directory")
    ap.add_argument("--image", default="default", help="image name (images/<name>.json)")
    ap.add_argument("--timeout", type=float, default=60.0, help="deadline in seconds")
    ap.add_argument("--icount", action="store_true", help="-icount shift=0,sleep=off")
    ap.add_argument("--trace", action="append", default=[], metavar="PATTERN",
                    help="QEMU trace event pattern (repeatable)")
    ap.add_argument("--trace-log", help="where QEMU writes the trace (default: temporary)")
    ap.add_argument("--trace-check", help="python file with check(trace, ctx)")
    ap.add_argument("--qmp-script", help="python file with run(ctx)")
    ap.add_argument("--log", help="also write the guest console to this file")
    ap.add_argument("--expect-summary", action="store_true",
                    help="require TEST lines and a SUMMARY line with 0 failed")
    ap.add_argument("--fail-marker", action="append", default=[], metavar="REGEX",
                    help="extra console pattern that fails the run")
    ap.add_argument("--qemu", default=os.environ.get("PORTCULLIS_QEMU", "qemu-system-x86_64"))
    ap.add_argument("--list", action="store_true", help="list images and machine presets")
    a = ap.parse_args(argv)

    if a.list:
        print("images in", os.path.abspath(a.build) + ":", ", ".join(pcimage.available(a.build)) or "none")
        for name, p in sorted(machines.PRESETS.items()):
            print(f"  machine {name}: {p['doc']}")
        return 0
    try:
        img = pcimage.load(a.build, a.image)
    except pcimage.ImageError as e:
        print(f"[harness] {e}", file=sys.stderr)
        return runner.EXIT_HARNESS
    if a.qmp_script is None:
        a.qmp_script = img.qmp_script  # the image's own script (pc_add_image QMP_SCRIPT), if any
    for f in (a.qmp_script, a.trace_check):
        if f and not os.path.isfile(f):
            print(f"[harness] {f} does not exist", file=sys.stderr)
            return runner.EXIT_HARNESS
    markers = runner.protocol.DEFAULT_FAIL_MARKERS + a.fail_marker
    r = runner.Runner(img, timeout=a.timeout, icount=a.icount, traces=a.trace,
                      trace_log=a.trace_log, qmp_script=a.qmp_script, trace_check=a.trace_check,
                      log_file=a.log, expect_summary=a.expect_summary, qemu=a.qemu,
                      extra_args=extra, fail_markers=markers)
    code, reasons = r.run()
    tests = len(r.guest.tests)
    elapsed = getattr(r, "elapsed", 0.0)
    if code == runner.EXIT_PASS:
        print(f"[harness] PASS: image {img.name}, {tests} test(s), {elapsed:.1f}s")
    else:
        for why in reasons:
            print(f"[harness] {why}")
        print(f"[harness] FAIL (exit {code}): image {img.name}, {tests} test(s), {elapsed:.1f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
