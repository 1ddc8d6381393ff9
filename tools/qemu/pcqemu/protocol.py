# SPDX-License-Identifier: BSD-2-Clause
"""The guest result protocol (docs/testing.md):

    TEST <name>: PASS
    TEST <name>: FAIL <reason>
    SUMMARY: <n> passed, <m> failed          (once, at the end)
    BENCH <name> <key>=<value> ...           (benchmarks; any number)

then pc_debug_halt(0 if all passed else 1): isa-debug-exit makes QEMU exit with status
(code << 1) | 1, i.e. 1 for success and 3 for failure. A line may carry a "[task] " prefix.
Markers of a crash anywhere in the console fail the run.
"""
import re

_PREFIX = r"^(?:\[[^\]]*\]\s*)?"
TEST_RE = re.compile(_PREFIX + r"TEST (?P<name>[^:\s][^:]*?): (?P<result>PASS|FAIL)(?:\s+(?P<reason>.*))?$")
SUMMARY_RE = re.compile(_PREFIX + r"SUMMARY: (?P<passed>\d+) passed, (?P<failed>\d+) failed\s*$")
BENCH_RE = re.compile(_PREFIX + r"BENCH (?P<name>\S+)(?P<kv>(?:\s+[^\s=]+=\S+)*)\s*$")

# Crash markers: the kernel's panic line and the fault report for a fault nobody handles.
DEFAULT_FAIL_MARKERS = [r"KERNEL PANIC", r"\[kernel\] PANIC", r"UNEXPECTED FAULT"]

# QEMU's exit status for pc_debug_halt(code) via isa-debug-exit.
def halt_status(code):
    return (code << 1) | 1


def guest_code(status):
    """The pc_debug_halt code behind a QEMU exit status, or None if QEMU did not exit that way."""
    if status is not None and status > 0 and status & 1:
        return status >> 1
    return None


class GuestLog:
    """Collects console lines and decodes the protocol as they arrive."""

    def __init__(self, fail_markers=None):
        self.lines = []          # (monotonic time, text)
        self.tests = {}          # name -> (result, reason, line index)
        self.duplicates = []
        self.summaries = []      # (passed, failed, line index)
        self.benches = []        # (name, {key: value}, line index)
        self.markers = []        # (line index, text)
        self._fail_res = [re.compile(m) for m in (fail_markers or DEFAULT_FAIL_MARKERS)]

    def add(self, t, text):
        idx = len(self.lines)
        self.lines.append((t, text))
        m = TEST_RE.match(text)
        if m:
            name = m.group("name")
            if name in self.tests:
                self.duplicates.append(name)
            self.tests[name] = (m.group("result"), m.group("reason") or "", idx)
        m = SUMMARY_RE.match(text)
        if m:
            self.summaries.append((int(m.group("passed")), int(m.group("failed")), idx))
        m = BENCH_RE.match(text)
        if m:
            kv = {}
            for item in m.group("kv").split():
                k, _, v = item.partition("=")
                kv[k] = v
            self.benches.append((m.group("name"), kv, idx))
        for r in self._fail_res:
            if r.search(text):
                self.markers.append((idx, text))
                break

    def evaluate(self, qemu_status, expect_summary):
        """Returns a list of reasons the run failed (empty: passed)."""
        why = []
        for idx, text in self.markers:
            why.append(f"crash marker on console line {idx + 1}: {text}")
        fails = [(n, r) for n, (res, r, _) in self.tests.items() if res == "FAIL"]
        for name, reason in fails:
            why.append(f"TEST {name}: FAIL {reason}".rstrip())
        for name in self.duplicates:
            why.append(f"TEST {name} reported more than once")
        passes = sum(1 for res, _, _ in self.tests.values() if res == "PASS")
        if len(self.summaries) > 1:
            why.append(f"{len(self.summaries)} SUMMARY lines")
        if self.summaries:
            p, f, _ = self.summaries[-1]
            if f != 0:
                why.append(f"summary reports {f} failed")
            if p != passes or p + f != len(self.tests):
                why.append(f"summary says {p} passed, {f} failed but the console has {passes} "
                           f"PASS and {len(self.tests) - passes} FAIL lines")
            if expect_summary and p == 0:
                why.append("summary reports no test at all")
        elif expect_summary:
            why.append("no SUMMARY line")
        code = guest_code(qemu_status)
        if code is None:
            why.append(f"QEMU exit status {qemu_status}: the guest did not end through "
                       "pc_debug_halt (reset, triple fault or crash?)")
        elif code != 0:
            why.append(f"guest halted with code {code} (QEMU status {qemu_status})")
        return why
