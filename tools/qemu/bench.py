#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Boot every benchmark image (images named bench*) twice — plain TCG and with
-icount shift=0,sleep=off, where the guest TSC counts guest instructions — collect the guest's
`BENCH <name> <key>=<value> ...` lines and print one table with both columns. Figures are printed,
never judged. With no benchmark image in the build, it says so and succeeds.

    bench.py --build <dir> [--image NAME ...] [--timeout S]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pcqemu import image as pcimage  # noqa: E402
from pcqemu import runner  # noqa: E402

MODES = (("tcg", False), ("icount", True))


def run_once(img, icount, timeout, qemu):
    r = runner.Runner(img, timeout=timeout, icount=icount, qemu=qemu, echo=False,
                      out=sys.stderr, qmp_script=img.qmp_script)
    code, reasons = r.run()
    return code, reasons, r.guest.benches


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("PORTCULLIS_BUILD", "build"))
    ap.add_argument("--image", action="append", default=[], help="bench image (default: bench*)")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--qemu", default=os.environ.get("PORTCULLIS_QEMU", "qemu-system-x86_64"))
    a = ap.parse_args(argv)

    names = a.image or [n for n in pcimage.available(a.build) if n.startswith("bench")]
    if not names:
        print(f"no benchmark image in {os.path.abspath(a.build)} (add one with "
              "pc_add_image(bench ...)); nothing to measure")
        return 0
    rows = {}    # (image, bench, key) -> {mode: value}
    failed = False
    for name in names:
        try:
            img = pcimage.load(a.build, name)
        except pcimage.ImageError as e:
            print(f"{name}: {e}")
            failed = True
            continue
        for mode, icount in MODES:
            print(f"[bench] {name}: booting ({mode})", file=sys.stderr, flush=True)
            code, reasons, benches = run_once(img, icount, a.timeout, a.qemu)
            if code != runner.EXIT_PASS:
                failed = True
                print(f"[bench] {name} ({mode}) failed: " + "; ".join(reasons), file=sys.stderr)
            seen = {}
            for bench, kv, _ in benches:
                # A benchmark printed several times (repetitions) gets one row per occurrence.
                n = seen[bench] = seen.get(bench, 0) + 1
                label = bench if n == 1 else f"{bench}#{n}"
                for key, value in kv.items():
                    rows.setdefault((name, label, key), {})[mode] = value
    if rows:
        head = ("image", "benchmark", "metric", "TCG", "icount (insns)")
        table = [head] + [(i, b, k, v.get("tcg", "-"), v.get("icount", "-"))
                          for (i, b, k), v in rows.items()]
        widths = [max(len(str(r[c])) for r in table) for c in range(len(head))]
        for n, r in enumerate(table):
            print("  ".join(str(x).ljust(w) if c < 3 else str(x).rjust(w)
                            for c, (x, w) in enumerate(zip(r, widths))))
            if n == 0:
                print("  ".join("-" * w for w in widths))
    else:
        print("no BENCH lines were printed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
