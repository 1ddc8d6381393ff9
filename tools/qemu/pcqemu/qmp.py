# SPDX-License-Identifier: BSD-2-Clause
"""A small QMP client: connect (with retry until a deadline), negotiate capabilities, execute
commands, and wait for asynchronous events with a deadline. A reader thread collects replies and
events, so an event that arrives while a command is in flight is never lost.

    q = Qmp(path); q.connect(timeout=10)
    q.execute("device_del", id="edu0")            # returns the "return" value
    ev = q.wait_event("DEVICE_DELETED", timeout=5, match=lambda e: e["data"].get("device") == "edu0")
"""
import itertools
import json
import socket
import threading
import time


class QmpError(Exception):
    """QEMU answered a command with an error; .cls and .desc hold its class and description."""

    def __init__(self, command, error):
        self.cls = error.get("class", "?")
        self.desc = error.get("desc", "")
        super().__init__(f"{command}: {self.cls}: {self.desc}")


class QmpTimeout(TimeoutError):
    pass


class QmpClosed(ConnectionError):
    pass


class Qmp:
    def __init__(self, path):
        self.path = path
        self.sock = None
        self.greeting = None
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._replies = {}
        self._events = []   # every event received, in order: dicts with "event", "data", "timestamp"
        self._cursor = 0    # wait_event() consumes events in order from here
        self._closed = False
        self._reader = None

    # -- connection --------------------------------------------------------------------------
    def connect(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.path)
                break
            except OSError as e:
                s.close()
                last = e
                if time.monotonic() >= deadline:
                    raise QmpTimeout(f"QMP socket {self.path}: not connectable in {timeout}s ({last})")
                time.sleep(0.05)
        self.sock = s
        self._file = s.makefile("rb")
        s.settimeout(max(0.1, deadline - time.monotonic()))
        line = self._file.readline()
        if not line:
            raise QmpClosed("QMP closed before the greeting")
        self.greeting = json.loads(line)
        s.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, name="qmp-reader", daemon=True)
        self._reader.start()
        self.execute("qmp_capabilities", timeout=max(0.1, deadline - time.monotonic()))
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None

    def _read_loop(self):
        try:
            for line in self._file:
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    continue
                with self._cond:
                    if "event" in msg:
                        msg["received"] = time.monotonic()
                        self._events.append(msg)
                    elif "id" in msg:
                        self._replies[msg["id"]] = msg
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- commands ------------------------------------------------------------------------------
    def execute(self, command, arguments=None, timeout=10.0, **kwargs):
        """Runs a QMP command; returns its "return" value or raises QmpError/QmpTimeout/QmpClosed.
        Arguments come as keywords (execute("device_del", id="edu0")) and/or as a dict for names
        that are not Python identifiers (execute("x", {"some-arg": 1}))."""
        if self.sock is None:
            raise QmpClosed("not connected")
        args = dict(arguments or {})
        args.update(kwargs)
        cid = next(self._ids)
        msg = {"execute": command, "id": cid}
        if args:
            msg["arguments"] = args
        try:
            self.sock.sendall((json.dumps(msg) + "\n").encode())
        except OSError as e:
            raise QmpClosed(f"{command}: {e}")
        deadline = time.monotonic() + timeout
        with self._cond:
            while cid not in self._replies:
                left = deadline - time.monotonic()
                if self._closed:
                    raise QmpClosed(f"{command}: QEMU closed the QMP connection")
                if left <= 0:
                    raise QmpTimeout(f"{command}: no reply in {timeout}s")
                self._cond.wait(left)
            reply = self._replies.pop(cid)
        if "error" in reply:
            raise QmpError(command, reply["error"])
        return reply.get("return")

    # -- events --------------------------------------------------------------------------------
    def wait_event(self, name, timeout=10.0, match=None):
        """Waits for the next not-yet-consumed event called `name` (and satisfying `match`, a
        predicate on the event dict). Events before it that do not match stay available to
        events(); raises QmpTimeout at the deadline, QmpClosed if QEMU went away."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._cursor, len(self._events)):
                    ev = self._events[i]
                    if ev["event"] == name and (match is None or match(ev)):
                        self._cursor = i + 1
                        return ev
                left = deadline - time.monotonic()
                if self._closed:
                    raise QmpClosed(f"waiting for {name}: QEMU closed the QMP connection")
                if left <= 0:
                    raise QmpTimeout(f"no {name} event within {timeout}s")
                self._cond.wait(left)

    def events(self, name=None):
        """Every event received so far (optionally only those called `name`)."""
        with self._cond:
            return [e for e in self._events if name is None or e["event"] == name]
