#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Self-tests of the QEMU harness that need no guest: the result protocol's verdicts, the trace
parser on a log captured from QEMU 7.2, the QMP client against a scripted QMP server, image
descriptions, and the runner's deadline and exit codes with a fake QEMU."""
import json
import os
import socket
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from pcqemu import image as pcimage  # noqa: E402
from pcqemu import protocol, runner  # noqa: E402
from pcqemu.qmp import Qmp, QmpClosed, QmpError, QmpTimeout  # noqa: E402
from pcqemu.trace import TraceLog, decode_descriptor  # noqa: E402


def guest(lines):
    g = protocol.GuestLog()
    for i, l in enumerate(lines):
        g.add(float(i), l)
    return g


class ProtocolTest(unittest.TestCase):
    OK = ["boot", "TEST a: PASS", "[init] TEST b c: PASS", "SUMMARY: 2 passed, 0 failed"]

    def test_all_pass_with_halt_zero_passes(self):
        self.assertEqual(guest(self.OK).evaluate(protocol.halt_status(0), True), [])

    def test_fail_line_fails_even_with_clean_summary(self):
        why = guest(["TEST a: FAIL dma leaked", "SUMMARY: 1 passed, 0 failed"]).evaluate(1, True)
        self.assertTrue(any("TEST a: FAIL dma leaked" in w for w in why))
        self.assertTrue(any("summary says" in w for w in why))

    def test_missing_summary_fails_when_expected(self):
        self.assertIn("no SUMMARY line", guest(["TEST a: PASS"]).evaluate(1, True))
        self.assertEqual(guest(["TEST a: PASS"]).evaluate(1, False), [])

    def test_summary_without_tests_fails(self):
        why = guest(["SUMMARY: 0 passed, 0 failed"]).evaluate(1, True)
        self.assertIn("summary reports no test at all", why)

    def test_halt_code_one_and_no_halt_fail(self):
        self.assertTrue(any("halted with code 1" in w for w in guest(self.OK).evaluate(3, True)))
        self.assertTrue(any("did not end through" in w for w in guest(self.OK).evaluate(0, True)))
        self.assertTrue(any("did not end through" in w for w in guest(self.OK).evaluate(-9, True)))

    def test_duplicate_test_name_fails(self):
        why = guest(["TEST a: PASS", "TEST a: PASS", "SUMMARY: 2 passed, 0 failed"]).evaluate(1, True)
        self.assertIn("TEST a reported more than once", why)

    def test_panic_marker_fails(self):
        why = guest(self.OK + ["[kernel] PANIC: bad"]).evaluate(1, True)
        self.assertTrue(why and why[0].startswith("crash marker"))

    def test_bench_lines_are_collected(self):
        g = guest(["BENCH ipc_roundtrip cycles=1234 insns=900", "[bench] BENCH map4k n=3"])
        self.assertEqual(g.benches[0][:2], ("ipc_roundtrip", {"cycles": "1234", "insns": "900"}))
        self.assertEqual(g.benches[1][:2], ("map4k", {"n": "3"}))


class TraceTest(unittest.TestCase):
    def setUp(self):
        self.t = TraceLog.parse(os.path.join(HERE, "data", "qemu72_qi_trace.log"))

    def test_device_tlb_descriptors_carry_source_ids(self):
        self.assertEqual([d.sid for d in self.t.device_tlb()], [0x0100, 0x0200])
        self.assertEqual(self.t.device_tlb()[1].addr, 0x1000)

    def test_waits_and_tail_writes_are_decoded(self):
        w = self.t.waits()
        self.assertEqual([x.status_data for x in w], [0xABCD, 0x1234])
        self.assertTrue(all(x.sw == 1 and x.f["if"] == 0 for x in w))
        self.assertEqual([r.tail for r in self.t.tail_writes()], [0, 3, 5])
        self.assertEqual(len(self.t.descriptors("iotlb")), 1)
        self.assertEqual(self.t.descriptors("iotlb")[0].granularity, 1)

    def test_bounds_by_line_and_time(self):
        last_tail = self.t.tail_writes()[-1]
        self.assertEqual(self.t.device_tlb(after=last_tail.line), [])
        self.assertEqual(len(self.t.device_tlb(before=last_tail.line)), 2)
        self.assertEqual(len(self.t.device_tlb(after=1795291692.049890)), 1)
        self.t.assert_no_device_tlb(0x0100, after=last_tail.line)
        with self.assertRaises(AssertionError):
            self.t.assert_no_device_tlb(0x0200)

    def test_untimestamped_lines_parse(self):
        from pcqemu.trace import parse_line
        r = parse_line(7, "vtd_inv_desc invalidate desc type device high 0x0 low 0x%x" % ((0x123 << 32) | 3))
        self.assertEqual((r.line, r.time, r.sid), (7, None, 0x123))

    def test_pfsid_and_extended_type_bits(self):
        f = decode_descriptor(0, (0xABC << 52) | (0x5 << 12) | 3)
        self.assertEqual(f["pfsid"], (0xABC << 4) | 0x5)
        self.assertEqual(decode_descriptor(0, (1 << 9) | 0)["type"], 16)


class FakeQmpServer(threading.Thread):
    """Speaks just enough QMP: greeting, qmp_capabilities, device_del (emits DEVICE_DELETED
    before replying), query-status, and an error for anything else."""

    def __init__(self, path, delay=0.0):
        super().__init__(daemon=True)
        self.path, self.delay = path, delay

    def run(self):
        time.sleep(self.delay)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.path)
        srv.listen(1)
        conn, _ = srv.accept()
        f = conn.makefile("rwb")

        def send(obj):
            f.write((json.dumps(obj) + "\n").encode())
            f.flush()
        send({"QMP": {"version": {}, "capabilities": []}})
        for line in f:
            msg = json.loads(line)
            cmd, cid = msg["execute"], msg.get("id")
            if cmd == "qmp_capabilities":
                send({"return": {}, "id": cid})
            elif cmd == "device_del":
                send({"event": "DEVICE_DELETED", "data": {"device": msg["arguments"]["id"]},
                      "timestamp": {"seconds": 1, "microseconds": 0}})
                send({"return": {}, "id": cid})
            elif cmd == "query-status":
                send({"return": {"status": "running"}, "id": cid})
            elif cmd == "quit":
                break
            else:
                send({"error": {"class": "CommandNotFound", "desc": cmd}, "id": cid})
        conn.close()
        srv.close()


class QmpTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "q.sock")

    def test_connect_retries_until_the_socket_appears(self):
        FakeQmpServer(self.path, delay=0.3).start()
        q = Qmp(self.path).connect(timeout=5)
        self.assertEqual(q.execute("query-status"), {"status": "running"})
        q.close()

    def test_connect_gives_up_at_the_deadline(self):
        t0 = time.monotonic()
        with self.assertRaises(QmpTimeout):
            Qmp(self.path).connect(timeout=0.3)
        self.assertLess(time.monotonic() - t0, 2)

    def test_event_sent_before_the_reply_is_not_lost(self):
        FakeQmpServer(self.path).start()
        q = Qmp(self.path).connect(timeout=5)
        self.assertEqual(q.execute("device_del", id="edu0"), {})
        ev = q.wait_event("DEVICE_DELETED", timeout=1, match=lambda e: e["data"]["device"] == "edu0")
        self.assertEqual(ev["data"]["device"], "edu0")
        with self.assertRaises(QmpTimeout):
            q.wait_event("DEVICE_DELETED", timeout=0.2)  # consumed: not returned twice
        self.assertEqual(len(q.events("DEVICE_DELETED")), 1)
        q.close()

    def test_error_reply_raises_and_closed_connection_is_reported(self):
        FakeQmpServer(self.path).start()
        q = Qmp(self.path).connect(timeout=5)
        with self.assertRaises(QmpError) as cm:
            q.execute("no-such-command")
        self.assertEqual(cm.exception.cls, "CommandNotFound")
        q.sock.sendall(b'{"execute": "quit"}\n')
        with self.assertRaises((QmpClosed, QmpTimeout)):
            q.wait_event("NEVER", timeout=2)
        q.close()


def write_image(build, name="t", **kw):
    os.makedirs(os.path.join(build, "images"), exist_ok=True)
    os.makedirs(os.path.join(build, "kernel"), exist_ok=True)
    os.makedirs(os.path.join(build, "tasks"), exist_ok=True)
    for p in ("kernel/kernel.elf", "tasks/init.elf"):
        open(os.path.join(build, p), "w").close()
    data = {"name": name, "kernel": "kernel/kernel.elf", "append": "", "machine": "iommu",
            "qemu_args": ["-device", "x"], "modules": [{"path": "tasks/init.elf", "args": "a b"}]}
    data.update(kw)
    with open(os.path.join(build, "images", name + ".json"), "w") as f:
        json.dump(data, f)


class ImageTest(unittest.TestCase):
    def test_command_line_has_modules_in_order_with_args(self):
        b = tempfile.mkdtemp()
        write_image(b, modules=[{"path": "tasks/init.elf", "args": "x=1"},
                                {"path": os.path.join(b, "tasks/init.elf"), "args": ""}])
        cmd = pcimage.load(b, "t").qemu_command()
        self.assertEqual(cmd[cmd.index("-initrd") + 1], "tasks/init.elf x=1,tasks/init.elf")
        self.assertEqual(cmd[cmd.index("-kernel") + 1], "kernel/kernel.elf")
        self.assertIn("isa-debug-exit,iobase=0xf4,iosize=4", cmd)
        self.assertIn("ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off", cmd)

    def test_comma_in_module_and_unknown_machine_are_refused(self):
        b = tempfile.mkdtemp()
        write_image(b, modules=[{"path": "tasks/init.elf", "args": "a,b"}])
        with self.assertRaises(pcimage.ImageError):
            pcimage.load(b, "t").qemu_command()
        write_image(b, machine="nope")
        with self.assertRaises(pcimage.ImageError):
            pcimage.load(b, "t")
        with self.assertRaises(pcimage.ImageError):
            pcimage.load(b, "missing")


class RunnerTest(unittest.TestCase):
    FAKE = os.path.join(HERE, "fake_qemu.py")

    def run_fake(self, lines, status=1, sleep=0.0, timeout=10.0, expect=True, stderr="", script=None):
        b = tempfile.mkdtemp()
        write_image(b)
        os.environ.update(FAKE_QEMU_LINES="|".join(lines), FAKE_QEMU_STATUS=str(status),
                          FAKE_QEMU_SLEEP=str(sleep), FAKE_QEMU_STDERR=stderr)
        out = open(os.devnull, "w")
        r = runner.Runner(pcimage.load(b, "t"), timeout=timeout, expect_summary=expect,
                          qemu=self.FAKE, echo=False, out=out, qmp_script=script)
        t0 = time.monotonic()
        code, why = r.run()
        out.close()
        return code, why, time.monotonic() - t0

    def test_passing_guest_gives_exit_zero(self):
        code, why, _ = self.run_fake(["TEST a: PASS", "SUMMARY: 1 passed, 0 failed"])
        self.assertEqual((code, why), (runner.EXIT_PASS, []))

    def test_deadline_kills_a_hanging_guest(self):
        code, why, took = self.run_fake(["TEST a: PASS"], sleep=60, timeout=1.0)
        self.assertEqual(code, runner.EXIT_TIMEOUT)
        self.assertLess(took, 10)

    def test_failed_guest_and_crash_get_their_codes(self):
        code, _, _ = self.run_fake(["TEST a: FAIL x", "SUMMARY: 0 passed, 1 failed"], status=3)
        self.assertEqual(code, runner.EXIT_GUEST_FAILED)
        code, _, _ = self.run_fake(["KERNEL PANIC here", "TEST a: PASS",
                                    "SUMMARY: 1 passed, 0 failed"])
        self.assertEqual(code, runner.EXIT_CRASH)

    def test_qemu_startup_error_is_not_mistaken_for_a_pass(self):
        code, why, _ = self.run_fake([], status=1, expect=False,
                                     stderr="qemu-system-x86_64: -device foo: bad")
        self.assertEqual(code, runner.EXIT_HARNESS)

    def test_script_can_write_to_the_console_and_wait_for_output(self):
        d = tempfile.mkdtemp()
        script = os.path.join(d, "s.py")
        with open(script, "w") as f:
            f.write("def run(ctx):\n    ctx.wait_console('^READY$', timeout=5)\n")
        # No QMP socket exists with the fake QEMU: the script must fail (exit 5), bounded.
        code, why, took = self.run_fake(["READY", "TEST a: PASS", "SUMMARY: 1 passed, 0 failed"],
                                        sleep=30, timeout=20, script=script)
        self.assertEqual(code, runner.EXIT_SCRIPT)
        self.assertLess(took, 15)


if __name__ == "__main__":
    unittest.main()
