# SPDX-License-Identifier: BSD-2-Clause
"""Parser for QEMU's trace log (`-trace 'vtd_inv_desc*' -trace vtd_inv_qi_tail -D file`) as
printed by Debian's QEMU 7.2 (log backend). With `-msg timestamp=on` each line is
`<pid>@<sec>.<usec>:<event> <text>`, otherwise `<event> <text>`. Event formats used here:

    vtd_inv_desc invalidate desc type <kind> high 0x<hi> low 0x<lo>
    vtd_inv_qi_tail write tail <n>
    vtd_inv_qi_head read head <n>
    vtd_inv_desc_wait_sw wait invalidate status write addr 0x<a> data 0x<d>
    vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x<did> addr 0x<a> mask 0x<am>
    vtd_inv_desc_cc_device context invalidate device <bus>:<dev>.<fn>

The descriptor words are decoded per the VT-d specification (section 6.5.2): type in bits 3:0 and
11:9 of the low word; the device-TLB descriptor (type 3) carries the source-id in bits 47:32 and
PFSID in 15:12 and 63:52, its high word the address (63:12) and size bit S (0); the wait
descriptor (type 5) has IF (4), SW (5), FN (6), PD (7) and status data (63:32).
"""
import re

DESC_TYPES = {
    1: "context-cache",
    2: "iotlb",
    3: "device-tlb",
    4: "iec",
    5: "wait",
    6: "pasid-iotlb",
    7: "pasid-cache",
    8: "pasid-device-tlb",
}
TYPE_DEVICE_TLB = 3
TYPE_WAIT = 5

_LINE_RE = re.compile(r"^(?:(?P<pid>\d+)@(?P<sec>\d+)\.(?P<usec>\d+):)?(?P<event>[A-Za-z_][\w]*)\s?(?P<text>.*)$")
_DESC_RE = re.compile(r"invalidate desc type (?P<kind>\S+) high 0x(?P<hi>[0-9a-fA-F]+) low 0x(?P<lo>[0-9a-fA-F]+)")
_TAIL_RE = re.compile(r"write tail (?P<tail>-?\d+)")
_HEAD_RE = re.compile(r"read head (?P<head>-?\d+)")
_WAIT_SW_RE = re.compile(r"status write addr 0x(?P<addr>[0-9a-fA-F]+) data 0x(?P<data>[0-9a-fA-F]+)")
_SERIAL_RE = re.compile(r"write addr 0x(?P<addr>[0-9a-fA-F]+) val 0x(?P<val>[0-9a-fA-F]+)")
_UART_THR, _UART_LCR, _UART_LCR_DLAB = 0, 3, 0x80


class Record:
    """One trace line: .line (1-based line number in the log), .time (wall-clock seconds if the
    log has timestamps, else None), .event, .text, and decoded fields in .f (a dict)."""

    __slots__ = ("line", "time", "event", "text", "f")

    def __init__(self, line, time, event, text, f):
        self.line, self.time, self.event, self.text, self.f = line, time, event, text, f

    def __getattr__(self, name):  # record.sid, record.type, ... for decoded fields
        try:
            return self.f[name]
        except KeyError:
            raise AttributeError(name)

    def __repr__(self):
        return f"<trace line {self.line}: {self.event} {self.f or self.text}>"


def decode_descriptor(hi, lo):
    """Fields of a 128-bit invalidation descriptor (hi = bits 127:64, lo = bits 63:0)."""
    t = (lo & 0xF) | (((lo >> 9) & 0x7) << 4)
    f = {"hi": hi, "lo": lo, "type": t, "type_name": DESC_TYPES.get(t, f"type-{t}")}
    if t == TYPE_DEVICE_TLB:
        f["sid"] = (lo >> 32) & 0xFFFF
        f["pfsid"] = ((lo >> 12) & 0xF) | (((lo >> 52) & 0xFFF) << 4)
        f["mip"] = (lo >> 16) & 0x1F
        f["addr"] = hi & ~0xFFF
        f["size_bit"] = hi & 1
    elif t == TYPE_WAIT:
        f["if"] = (lo >> 4) & 1
        f["sw"] = (lo >> 5) & 1
        f["fn"] = (lo >> 6) & 1
        f["pd"] = (lo >> 7) & 1
        f["status_data"] = (lo >> 32) & 0xFFFFFFFF
        f["status_addr"] = hi & ~0x3
    elif t == 2:  # IOTLB
        f["granularity"] = (lo >> 4) & 0x3
        f["did"] = (lo >> 16) & 0xFFFF
        f["addr"] = hi & ~0xFFF
        f["am"] = hi & 0x3F
        f["ih"] = (hi >> 6) & 1
    elif t == 1:  # context cache
        f["granularity"] = (lo >> 4) & 0x3
        f["did"] = (lo >> 16) & 0xFFFF
        f["sid"] = (lo >> 32) & 0xFFFF
        f["fm"] = (lo >> 48) & 0x3
    return f


def parse_line(n, raw):
    m = _LINE_RE.match(raw.rstrip("\n"))
    if not m:
        return None
    t = None
    if m.group("sec"):
        t = int(m.group("sec")) + int(m.group("usec")) / 1e6
    ev, text = m.group("event"), m.group("text")
    f = {}
    if ev == "vtd_inv_desc":
        d = _DESC_RE.search(text)
        if d:
            f = decode_descriptor(int(d.group("hi"), 16), int(d.group("lo"), 16))
            f["kind"] = d.group("kind")
    elif ev == "vtd_inv_qi_tail":
        d = _TAIL_RE.search(text)
        if d:
            f["tail"] = int(d.group("tail"))
    elif ev == "vtd_inv_qi_head":
        d = _HEAD_RE.search(text)
        if d:
            f["head"] = int(d.group("head"))
    elif ev == "serial_write":
        d = _SERIAL_RE.search(text)
        if d:
            f["addr"] = int(d.group("addr"), 16)
            f["val"] = int(d.group("val"), 16)
    elif ev == "vtd_inv_desc_wait_sw":
        d = _WAIT_SW_RE.search(text)
        if d:
            f["status_addr"] = int(d.group("addr"), 16)
            f["status_data"] = int(d.group("data"), 16)
    return Record(n, t, ev, text, f)


class TraceLog:
    """A parsed trace log with query helpers. `after`/`before` bound by trace line number (int)
    or wall-clock time (float, comparable with Console.time_of())."""

    def __init__(self, records):
        self.records = records
        self.console = self._console_lines(records)

    @staticmethod
    def _console_lines(records):
        """The guest's COM1 output rebuilt from `serial_write` records (the harness traces them
        whenever it traces anything), as (trace line of the terminating newline, text). This
        places console lines in the same ordered log as the invalidation descriptors, so a check
        never has to compare host clocks of two different streams."""
        lines, cur, dlab = [], [], False
        for r in records:
            if r.event != "serial_write" or "addr" not in r.f:
                continue
            if r.f["addr"] == _UART_LCR:
                dlab = bool(r.f["val"] & _UART_LCR_DLAB)
            elif r.f["addr"] == _UART_THR and not dlab:
                c = r.f["val"]
                if c == 0x0A:
                    lines.append((r.line, bytes(cur).decode("utf-8", errors="replace")))
                    cur = []
                elif c != 0x0D:
                    cur.append(c)
        return lines

    def console_line_of(self, pattern):
        """Trace line number at which the first console line matching `pattern` (a regex,
        searched) was completed, or None. Usable as an `after`/`before` bound."""
        rx = re.compile(pattern)
        for n, text in self.console:
            if rx.search(text):
                return n
        return None

    @classmethod
    def parse(cls, path):
        recs = []
        with open(path, errors="replace") as fh:
            for n, raw in enumerate(fh, 1):
                r = parse_line(n, raw)
                if r is not None:
                    recs.append(r)
        return cls(recs)

    @staticmethod
    def _in_window(r, after, before):
        for bound, is_after in ((after, True), (before, False)):
            if bound is None:
                continue
            if isinstance(bound, float):
                if r.time is None:
                    raise ValueError("time bounds need a trace log with timestamps (-msg timestamp=on)")
                v = r.time
            else:
                v = r.line
            if is_after and not v > bound:
                return False
            if not is_after and not v < bound:
                return False
        return True

    def events(self, name=None, after=None, before=None):
        return [r for r in self.records
                if (name is None or r.event == name) and self._in_window(r, after, before)]

    def descriptors(self, type=None, sid=None, after=None, before=None):
        """Invalidation descriptors QEMU processed, in order. type: number or name
        ("device-tlb", "iotlb", "wait", ...)."""
        if isinstance(type, str):
            names = {v: k for k, v in DESC_TYPES.items()}
            if type not in names:
                raise ValueError(f"unknown descriptor type {type!r}")
            type = names[type]
        out = []
        for r in self.events("vtd_inv_desc", after, before):
            if "type" not in r.f:
                continue
            if type is not None and r.f["type"] != type:
                continue
            if sid is not None and r.f.get("sid") != sid:
                continue
            out.append(r)
        return out

    def device_tlb(self, sid=None, after=None, before=None):
        return self.descriptors(TYPE_DEVICE_TLB, sid, after, before)

    def waits(self, after=None, before=None):
        return self.descriptors(TYPE_WAIT, None, after, before)

    def tail_writes(self, after=None, before=None):
        return [r for r in self.events("vtd_inv_qi_tail", after, before) if "tail" in r.f]

    # Assertions for trace checks: raise AssertionError with a message naming the offending line.
    def assert_no_device_tlb(self, sid, after=None, before=None):
        hits = self.device_tlb(sid, after, before)
        if hits:
            raise AssertionError(f"device-TLB invalidation for sid {sid:#06x} at trace line "
                                 f"{hits[0].line} ({len(hits)} in total): {hits[0].text}")

    def assert_count(self, what, expected, **kw):
        got = len(what(**kw)) if callable(what) else len(what)
        if got != expected:
            raise AssertionError(f"expected {expected}, found {got}")
