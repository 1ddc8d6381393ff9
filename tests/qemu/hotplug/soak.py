# SPDX-License-Identifier: BSD-2-Clause
# QEMU's half of the hotplug soak (soak_ctl.c; docs/testing.md "Soak"): the guest's sequencer
# says which removal each cycle gets. Orderly: device_del (the attention button), wait for
# DEVICE_DELETED, device_add a new card in the same slot. Surprise: the guest powered the
# populated slot off (QEMU drops the card inside that write, without DEVICE_DELETED): device_add
# a new card. Each card gets a new id. At the end: every cycle verified by the edu driver (DMA
# through the IOMMU, old handles refused), the sequencer's checks, and the root task's accounting
# (its summary table at start and at the end: root slots, its own objects, free RAM, device
# untyped nodes, each task's caps/slots/bytes/frames/tables/device pages) unchanged.
# Prints the per-cycle latency (guest time from the sequencer, host wall time from here).
import re
import time

RX_REQ = r"soak: cycle (\d+) (orderly: device_del|surprise: power-off)"
RX_ROOT = (r"init: root task: (\d+) root-CNode slots in use \(high water (\d+) of \d+\), (\d+) "
           r"bytes of its own objects, (\d+) KiB RAM free, (\d+) device-untyped nodes")
RX_ROW = (r"^init: (\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$")


def cycles(ctx):
    for path, args in ctx.image.modules:
        m = re.search(r"\bn=(\d+)", args)
        if "soak_ctl" in path and m:
            return int(m.group(1))
    raise AssertionError("no soak sequencer (n=N) in the image")


def add(ctx, dev):
    # QEMU may still hold a card it dropped at the power-off a moment ago: retry briefly
    for attempt in range(40):
        try:
            ctx.qmp.execute("device_add", driver="edu", bus="rp2", id=dev,
                            dma_mask=0xffffffffffffffff)
            return
        except Exception as e:  # noqa: BLE001 - QmpError while the old card is still around
            if attempt == 39:
                raise
            ctx.log(f"device_add {dev} attempt {attempt}: {e}")
            time.sleep(0.25)


def pct(v, p):
    s = sorted(v)
    if not s:
        return 0.0
    k = max(1, -(-p * len(s) // 100))  # nearest rank
    return s[k - 1]


def summaries(lines):
    """The root task's summary tables: [(root tuple, {task name: row tuple})]."""
    out, rows = [], {}
    for text in lines:
        m = re.search(RX_ROW, text)
        if m and m.group(1).isdigit():
            rows[m.group(2)] = tuple(int(m.group(k)) for k in range(5, 11))
            continue
        m = re.search(RX_ROOT, text)
        if m:
            root = (int(m.group(1)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
            out.append((root, rows))
            rows = {}
    return out


def run(ctx):
    n = cycles(ctx)
    ctx.wait_console(r"soak: start:", timeout=90)
    t_begin = time.monotonic()
    cur = "edu0"
    wall = {"orderly": [], "surprise": []}
    for k in range(1, n + 1):
        m = ctx.wait_console(rf"{RX_REQ}|TEST soak_\w+: FAIL", timeout=60)
        assert m.group(1) is not None, f"sequencer failed before cycle {k}: {m.group(0)}"
        assert int(m.group(1)) == k, f"expected cycle {k}, the guest says {m.group(0)}"
        t0 = time.monotonic()
        kind = "orderly" if m.group(2).startswith("orderly") else "surprise"
        new = f"soak{k}"
        if kind == "orderly":
            ctx.qmp.execute("device_del", id=cur)
            ctx.qmp.wait_event("DEVICE_DELETED", timeout=30,
                               match=lambda e, d=cur: e["data"].get("device") == d)
        else:
            ctx.wait_console(rf"soak: cycle {k} surprise: off|TEST soak_\w+: FAIL", timeout=30)
        add(ctx, new)
        cur = new
        d = ctx.wait_console(rf"soak: cycle {k} done|TEST soak_\w+: FAIL", timeout=60)
        assert "FAIL" not in d.group(0), f"cycle {k}: {d.group(0)}"
        wall[kind].append(time.monotonic() - t0)
        if k % 50 == 0:
            ctx.log(f"{k} cycles in {time.monotonic() - t_begin:.1f} s")
    total = time.monotonic() - t_begin
    ctx.wait_console(r"BENCH soak_cycle_guest_us surprise", timeout=60)
    ctx.wait_console(r"^SUMMARY:", timeout=120)
    lines = ctx.console_lines()

    allw = wall["orderly"] + wall["surprise"]
    for what, v in (("all", allw), ("orderly", wall["orderly"]), ("surprise", wall["surprise"])):
        ctx.log(f"BENCH soak_cycle_wall_ms {what} n={len(v)} median={pct(v, 50) * 1e3:.1f} "
                f"p99={pct(v, 99) * 1e3:.1f} max={max(v, default=0) * 1e3:.1f}")
    for text in lines:
        if "BENCH soak_cycle_guest_us" in text or "TEST soak_" in text:
            ctx.log(text)
    ctx.log(f"{n} cycles ({len(wall['orderly'])} orderly, {len(wall['surprise'])} surprise) in "
            f"{total:.1f} s wall")

    # the edu driver verified every re-plug (DMA through the IOMMU, old handle refused)
    verified = {int(m.group(1)) for t in lines for m in [re.search(r"edu: cycle (\d+) verified", t)]
                if m}
    failed = [t for t in lines if re.search(r"edu: cycle \d+ FAILED", t)]
    assert not failed, f"{len(failed)} cycle(s) failed at the driver, first: {failed[0]}"
    assert verified >= set(range(1, n + 1)), \
        f"driver verified {len(verified)} of {n} cycles"
    summary = [m for t in lines
               for m in [re.search(r"TEST edu_replug_cycles_all_verified: PASS .*?(\d+) with a "
                                   r"transfer in flight", t)] if m]
    assert summary, "no passing edu_replug_cycles_all_verified"
    in_flight = int(summary[0].group(1))
    ctx.log(f"{in_flight} of {n} removals found the driver's DMA transfer in flight")
    # the driver keeps a transfer running while it waits: most removals must meet one (a removal
    # right after the driver said ready may come before its first transfer starts)
    assert in_flight * 2 >= n, f"only {in_flight} of {n} removals with DMA in flight"

    # the root task's accounting at start and at the end
    tables = summaries(lines)
    assert len(tables) >= 2, f"{len(tables)} summary table(s) of the root task on the console"
    (r0, rows0), (r1, rows1) = tables[0], tables[-1]
    ctx.log(f"root task start: {r0[0]} slots in use, {r0[1]} bytes own objects, {r0[2]} KiB RAM "
            f"free, {r0[3]} device-untyped nodes")
    ctx.log(f"root task end:   {r1[0]} slots in use, {r1[1]} bytes own objects, {r1[2]} KiB RAM "
            f"free, {r1[3]} device-untyped nodes")
    moved = [f"{name}: {rows0[name]} -> {rows1.get(name)}" for name in rows0
             if rows1.get(name) != rows0[name]]
    for line in moved:
        ctx.log(f"task accounting moved (caps, slots, bytes, frames, tables, device): {line}")
    assert r0 == r1, f"root task accounting moved: {r0} -> {r1}"
    assert not moved, f"task accounting moved: {moved}"
    ctx.log("root task and every task's accounting back to the start")
