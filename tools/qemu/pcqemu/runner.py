# SPDX-License-Identifier: BSD-2-Clause
"""Runs one image under QEMU with a deadline: the guest console is streamed line by line (and
decoded with the result protocol), QMP is available on a unix socket in a private temporary
directory, an optional QMP script drives the guest, an optional trace log is parsed and checked
afterwards. QEMU is always killed at the deadline; nothing outlives the run.
"""
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import protocol
from .qmp import Qmp
from .trace import TraceLog

# Exit codes of run.py, in the order of precedence used when several problems occur.
EXIT_PASS = 0
EXIT_GUEST_FAILED = 1
EXIT_TIMEOUT = 2
EXIT_HARNESS = 3
EXIT_CRASH = 4
EXIT_SCRIPT = 5
EXIT_TRACE = 6


class ScriptError(Exception):
    pass


def _load_python(path, what):
    spec = importlib.util.spec_from_file_location(f"pc_{what}_{abs(hash(path))}", path)
    if spec is None:
        raise ScriptError(f"cannot load {what} {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Context:
    """What a QMP script's run(ctx) and a trace check's check(trace, ctx) receive."""

    def __init__(self, runner):
        self._r = runner
        self.image = runner.image
        self.build_dir = runner.image.build_dir
        self.qmp = None
        self._cursor = 0

    def elapsed(self):
        """Seconds since QEMU was started."""
        return time.monotonic() - self._r.t0

    def log(self, msg):
        self._r.say(f"[script {self.elapsed():7.3f}s] {msg}")

    def console_lines(self):
        with self._r.cond:
            return [text for _, text in self._r.guest.lines]

    def wait_console(self, pattern, timeout=10.0):
        """Waits for the next console line (after those matched by earlier calls) that matches
        `pattern` (a regex, searched); returns the re.Match. Raises TimeoutError at the deadline
        or if QEMU exits first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._r.cond:
            while True:
                lines = self._r.guest.lines
                for i in range(self._cursor, len(lines)):
                    m = rx.search(lines[i][1])
                    if m:
                        self._cursor = i + 1
                        return m
                self._cursor = len(lines)
                if self._r.exited:
                    raise TimeoutError(f"QEMU exited before a console line matched {pattern!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no console line matched {pattern!r} within {timeout}s")
                self._r.cond.wait(left)

    def time_of(self, pattern):
        """Wall-clock time (comparable with trace-log timestamps) at which the first console
        line matching `pattern` arrived; None if none did."""
        rx = re.compile(pattern)
        with self._r.cond:
            for t, text in self._r.guest.lines:
                if rx.search(text):
                    return t
        return None

    def write_console(self, text):
        """Sends text to the guest's serial port (COM1 input)."""
        data = text.encode() if isinstance(text, str) else text
        self._r.proc.stdin.write(data)
        self._r.proc.stdin.flush()


class Runner:
    def __init__(self, image, timeout=60.0, icount=False, traces=(), trace_log=None,
                 qmp_script=None, trace_check=None, log_file=None, expect_summary=False,
                 qemu="qemu-system-x86_64", extra_args=(), fail_markers=None, echo=True,
                 out=None):
        self.image = image
        self.timeout = timeout
        self.icount = icount
        self.traces = list(traces)
        self.trace_log = trace_log
        self.qmp_script = qmp_script
        self.trace_check = trace_check
        self.log_file = log_file
        self.expect_summary = expect_summary
        self.qemu = qemu
        self.extra_args = list(extra_args)
        self.echo = echo
        self.out = out or sys.stdout
        self.guest = protocol.GuestLog(fail_markers)
        self.cond = threading.Condition()
        self.exited = False
        self.qemu_stderr = []
        self.problems = []  # (exit code, message)

    def say(self, msg):
        print(msg, file=self.out, flush=True)

    def command(self, qmp_path):
        cmd = self.image.qemu_command(self.qemu, self.extra_args)
        cmd += ["-serial", "stdio", "-qmp", f"unix:{qmp_path},server=on,wait=off"]
        if self.icount:
            cmd += ["-icount", "shift=0,sleep=off"]
        if self.traces:
            for t in self.traces:
                cmd += ["-trace", t]
            # The console is traced too, so checks can order console markers against the
            # descriptors within one log (TraceLog.console_line_of).
            cmd += ["-trace", "serial_write"]
            cmd += ["-D", self.trace_log, "-msg", "timestamp=on"]
        return cmd

    def _read_console(self, logf):
        for raw in iter(self.proc.stdout.readline, b""):
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n").replace("\r", "")
            now = time.time()
            with self.cond:
                self.guest.add(now, text)
                self.cond.notify_all()
            if self.echo:
                self.say(text)
            if logf:
                logf.write(text + "\n")
                logf.flush()

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            text = raw.decode("utf-8", errors="replace").rstrip()
            self.qemu_stderr.append(text)
            print(f"qemu: {text}", file=sys.stderr, flush=True)

    def _run_script(self, ctx, path, qmp_deadline):
        try:
            ctx.qmp = Qmp(self.qmp_path).connect(timeout=max(0.5, qmp_deadline - time.monotonic()))
            mod = _load_python(path, "qmp_script")
            if not hasattr(mod, "run"):
                raise ScriptError(f"{path} has no run(ctx)")
            mod.run(ctx)
            ctx.log("script finished")
        except Exception as e:  # any failure of the script fails the run
            self.problems.append((EXIT_SCRIPT, f"QMP script {os.path.basename(path)}: "
                                               f"{type(e).__name__}: {e}"))
            self._kill("QMP script failed")

    def _kill(self, why):
        if self.proc.poll() is None:
            self.say(f"[harness] stopping QEMU: {why}")
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def run(self):
        """Returns (exit code, list of reasons)."""
        try:
            self.image.check_files()
        except Exception as e:
            return EXIT_HARNESS, [str(e)]
        if shutil.which(self.qemu) is None:
            return EXIT_HARNESS, [f"{self.qemu} not found"]
        tmp = tempfile.mkdtemp(prefix="pcqemu-")
        try:
            return self._run_in(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _run_in(self, tmp):
        self.qmp_path = os.path.join(tmp, "qmp.sock")
        if self.traces and not self.trace_log:
            self.trace_log = os.path.join(tmp, "trace.log")
        if self.trace_log:
            self.trace_log = os.path.abspath(self.trace_log)
            if os.path.exists(self.trace_log):
                os.unlink(self.trace_log)
        cmd = self.command(self.qmp_path)
        self.say("[harness] " + " ".join(_quote(c) for c in cmd))
        logf = open(self.log_file, "w") if self.log_file else None
        self.t0 = time.monotonic()
        deadline = self.t0 + self.timeout
        try:
            self.proc = subprocess.Popen(cmd, cwd=self.image.build_dir, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         start_new_session=True)
        except OSError as e:
            return EXIT_HARNESS, [f"cannot start QEMU: {e}"]
        readers = [threading.Thread(target=self._read_console, args=(logf,), daemon=True),
                   threading.Thread(target=self._read_stderr, daemon=True)]
        for t in readers:
            t.start()
        ctx = Context(self)
        script = None
        if self.qmp_script:
            script = threading.Thread(target=self._run_script,
                                      args=(ctx, self.qmp_script, min(deadline, self.t0 + 10)),
                                      daemon=True)
            script.start()
        timed_out = False
        try:
            status = self.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            self._kill(f"deadline of {self.timeout}s reached")
            status = self.proc.wait()
        elapsed = time.monotonic() - self.t0
        for t in readers:
            t.join(5)
        with self.cond:
            self.exited = True
            self.cond.notify_all()
        if script is not None:
            script.join(5)
            if ctx.qmp is not None:
                ctx.qmp.close()
        if logf:
            logf.close()

        startup = [l for l in self.qemu_stderr
                   if re.match(r"^qemu-system-\S+: ", l) and "terminating on signal" not in l]
        if timed_out:
            self.problems.append((EXIT_TIMEOUT, f"TIMEOUT: no result within {self.timeout}s"))
        elif status == 1 and startup and not self.guest.lines:
            # QEMU's own error exit is also 1, like pc_debug_halt(0): tell them apart.
            self.problems.append((EXIT_HARNESS, "QEMU failed: " + startup[0]))
        else:
            for why in self.guest.evaluate(status, self.expect_summary):
                code = EXIT_CRASH if why.startswith("crash marker") else EXIT_GUEST_FAILED
                self.problems.append((code, why))
        if self.trace_check and not timed_out:
            self._check_trace(ctx)
        self.status = status
        self.elapsed = elapsed
        if not self.problems:
            return EXIT_PASS, []
        order = [EXIT_HARNESS, EXIT_TIMEOUT, EXIT_CRASH, EXIT_SCRIPT, EXIT_TRACE, EXIT_GUEST_FAILED]
        code = min((c for c, _ in self.problems), key=order.index)
        return code, [m for _, m in self.problems]

    def _check_trace(self, ctx):
        if not self.trace_log or not os.path.isfile(self.trace_log):
            self.problems.append((EXIT_TRACE, "trace check given but no trace log was written "
                                              "(did the image pass TRACE patterns?)"))
            return
        try:
            trace = TraceLog.parse(self.trace_log)
            mod = _load_python(self.trace_check, "trace_check")
            if not hasattr(mod, "check"):
                raise ScriptError(f"{self.trace_check} has no check(trace, ctx)")
            mod.check(trace, _TraceCheckContext(ctx, trace))
            self.say(f"[harness] trace check {os.path.basename(self.trace_check)}: ok "
                     f"({len(trace.records)} trace records)")
        except Exception as e:
            self.problems.append((EXIT_TRACE, f"trace check {os.path.basename(self.trace_check)}: "
                                              f"{type(e).__name__}: {e}"))


class _TraceCheckContext:
    """The Context a trace check receives: the same helpers, except that time_of() answers with
    the in-band position of the console line in the trace log (a trace line number) whenever the
    log holds the console, instead of a host-clock time that two streams only roughly share."""

    def __init__(self, ctx, trace):
        self._ctx, self._trace = ctx, trace

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def time_of(self, pattern):
        if self._trace.console:
            return self._trace.console_line_of(pattern)
        return self._ctx.time_of(pattern)


def _quote(s):
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"
