"""systemd supervision: the notify protocol and a heartbeat that proves the program works.

systemd starts ``locker.service`` as ``Type=notify`` with ``WatchdogSec=``: it waits for
``READY=1`` before it counts the service as started, and restarts it when ``WATCHDOG=1`` does
not arrive within ``WATCHDOG_USEC``. A heartbeat that merely fires from a timer would survive a
hung bus thread or a locked database, so :class:`Heartbeat` sends ``WATCHDOG=1`` only after
every check answered: the web loop ran a task, every bus owner thread ran a job, and the
database granted a write lock. A failed check holds the heartbeat back; systemd then restarts
the service, which is what a box on the street needs.

The protocol is one datagram per message on the ``AF_UNIX`` socket named by ``NOTIFY_SOCKET``
(a leading ``@`` is the abstract namespace), so :class:`Notifier` is the standard library's
socket and nothing more: ``sdnotify`` on PyPI is unmaintained since 2017 and hides send errors,
and ``python-systemd`` needs libsystemd headers to build on a Pi.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 5.0
"""Longest any one check may take; a check that needs longer has failed."""


class Notifier:
    """Sends sd_notify messages to ``NOTIFY_SOCKET``; does nothing when it is not set."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *fields: str) -> bool:
        """One datagram of ``KEY=VALUE`` lines; False (and a log line) if it cannot be sent."""
        if not self.enabled:
            return False
        message = "\n".join(fields).encode()
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(
                        socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                    )
                self._socket.sendto(message, self.address)
            except OSError as err:
                log.warning("systemd notify socket refused a message: %s", err)
                return False
        return True

    def ready(self, status: str = "serving") -> bool:
        return self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Half of ``WATCHDOG_USEC`` in seconds, if systemd's watchdog is meant for this process."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 2_000_000


@dataclass(frozen=True, slots=True)
class Check:
    """One thing the heartbeat depends on: ``probe(timeout)`` raises or returns False if it
    does not answer in time."""

    name: str
    probe: Callable[[float], bool]


@runtime_checkable
class Responsive(Protocol):
    """A bank whose owner threads can say they are alive (:class:`hardware.SerialBoardBank`)."""

    def responsive(self, timeout: float) -> bool: ...


def loop_check(loop: asyncio.AbstractEventLoop) -> Check:
    """The web server's event loop runs a task (a blocked loop serves nobody)."""

    async def nothing() -> bool:
        return True

    def probe(timeout: float) -> bool:
        return asyncio.run_coroutine_threadsafe(nothing(), loop).result(timeout)

    return Check("web loop", probe)


def bank_check(bank: object) -> Check:
    """Every bus owner thread runs a job (a hung thread would leave every door shut)."""

    def probe(timeout: float) -> bool:
        return bank.responsive(timeout) if isinstance(bank, Responsive) else True

    return Check("bus owner", probe)


def database_check(engine: Engine) -> Check:
    """The database grants a write lock within the timeout (a wedged writer blocks pickups)."""

    def probe(timeout: float) -> bool:
        if engine.dialect.name != "sqlite":
            with engine.begin() as connection:  # the writers' queue is the audit head's lock
                connection.execute(text("SELECT 1"))
            return True
        raw = engine.raw_connection()  # our transaction handling: BEGIN is ours on SQLite
        try:
            cursor = raw.cursor()
            busy = int(cursor.execute("PRAGMA busy_timeout").fetchone()[0])
            cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            try:
                cursor.execute("BEGIN IMMEDIATE")  # takes the write lock, or fails in time
                cursor.execute("ROLLBACK")
            finally:
                cursor.execute(f"PRAGMA busy_timeout={busy}")
                cursor.close()
        finally:
            raw.close()
        return True

    return Check("database", probe)


class Heartbeat:
    """``WATCHDOG=1`` every ``interval`` seconds while every check answers.

    ``pause(seconds)`` waits between beats and returns True when it is time to stop; it is the
    stop event's ``wait`` unless a test hands in its own.
    """

    def __init__(
        self,
        notifier: Notifier,
        interval: float,
        checks: Sequence[Check],
        *,
        timeout: float = CHECK_TIMEOUT_S,
        pause: Callable[[float], bool] | None = None,
    ) -> None:
        self.notifier = notifier
        self.interval = interval
        self.checks = list(checks)
        self.timeout = min(timeout, interval)
        self._stop = threading.Event()
        self._pause = pause or self._stop.wait
        self._failing: str | None = None
        self._thread = threading.Thread(target=self._run, name="watchdog heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def failing(self) -> str | None:
        """The first check that failed in the last round, or None."""
        for check in self.checks:
            try:
                if check.probe(self.timeout):
                    continue
                reason = "no answer"
            except Exception as err:  # any failure of a check is a reason to hold back
                reason = type(err).__name__
            return f"{check.name}: {reason}"
        return None

    def beat(self) -> bool:
        """One round: run the checks, send ``WATCHDOG=1`` if all answered."""
        failing = self.failing()
        if failing is None:
            if self._failing is not None:
                log.info("watchdog heartbeat resumed")
            self._failing = None
            return self.notifier.watchdog()
        if failing != self._failing:  # one line per change, not per beat
            log.error("watchdog heartbeat held back: %s does not answer", failing)
        self._failing = failing
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            self.beat()
            if self._pause(self.interval) or self._stop.is_set():
                return

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self.timeout + 1)
