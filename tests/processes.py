"""A test's own child process whose start and end are events the test waits on.

The drills run ``locker serve``-like controllers and the demo this way, the fleet tests
``locker fleet serve``: a process that speaks sd_notify says ``READY=1`` on the
``NOTIFY_SOCKET`` it is given, as systemd would hear it, and the test wakes on that datagram
instead of asking the process again and again whether it is up yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.readiness import NotifySocket

from .waiting import Changes

ROOT = Path(__file__).resolve().parents[1]
START_S = 60.0
"""How long a child may take to come up before the test fails (normally a few seconds)."""


class Child:
    """One process of a drill, whose start and end are events the test waits on.

    Its output is teed to ``log`` line by line; the end of that output (the process exited,
    and is reaped) wakes ``changes``. With ``notify`` it gets a ``NOTIFY_SOCKET`` (abstract
    namespace) and its ``READY=1`` (sd_notify, as systemd hears it) wakes ``changes`` too.
    """

    def __init__(
        self, command: list[str], log: Path, changes: Changes, *, notify: bool = False
    ) -> None:
        self.changes = changes
        self.lines: list[str] = []
        self.log = log
        self.ready = False
        self.ended = False
        env = dict(os.environ)
        self._notify: NotifySocket | None = None
        if notify:
            self._notify = NotifySocket("locker-test")
            env = self._notify.environ(env)
            threading.Thread(target=self._notify.listen, args=(self._ready,), daemon=True).start()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, env=env
        )
        self._tee = threading.Thread(target=self._copy, daemon=True)
        self._tee.start()

    def _ready(self) -> None:
        self.ready = True
        self.changes.notify()

    def _copy(self) -> None:
        assert self.process.stdout is not None
        with self.log.open("a") as log:
            for raw in self.process.stdout:
                line = raw.decode(errors="replace")
                log.write(line)
                log.flush()
                self.lines.append(line.rstrip("\n"))
                self.changes.notify()
        self.process.wait()
        self.ended = True
        self.changes.notify()

    def wait_started(self, started: Callable[[], Any], what: str) -> Any:
        """``started()``'s value once it is truthy; fails with the log if the process ended."""
        value = self.changes.wait_for(lambda: self.ended or started(), START_S, what)
        assert not self.ended, self.log.read_text()
        return value

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Ask the process to end with ``sig``; SIGKILL if it has not after ``timeout``; its
        exit status. The output is still read to its end (:meth:`close` lets go of it)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def died(self) -> bool:
        return self.ended

    def close(self) -> None:
        """Stop listening for sd_notify; the process itself is stopped by its owner."""
        if self._notify is not None:
            self._notify.close()
            self._notify = None
        self._tee.join(15)
        if self.process.stdout is not None:
            self.process.stdout.close()
