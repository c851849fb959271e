"""Waiting for a daemon we start to be ready by its own word: sd_notify ``READY=1``.

Debian builds Mosquitto and PostgreSQL with systemd support: given a ``NOTIFY_SOCKET`` they
send ``READY=1`` once they accept connections (Mosquitto when its listeners are bound,
PostgreSQL when the startup is complete), as they do for systemd. The stand-ins the tests and
benchmarks start (:mod:`simulator.broker`, :mod:`simulator.postgres`) give them a socket of
their own in the abstract namespace and wait on that datagram, or on the process ending
(a pidfd), never on asking the port again and again.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import socket
import subprocess
import time
from collections.abc import Callable, Mapping


class NotifySocket:
    """An sd_notify socket for one child process; pass :meth:`environ` to it."""

    def __init__(self, prefix: str = "locker") -> None:
        self.name = f"{prefix}-{secrets.token_hex(8)}"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.bind("\0" + self.name)

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (this process's environment) with ``NOTIFY_SOCKET`` naming this socket."""
        return {**(os.environ if base is None else base), "NOTIFY_SOCKET": "@" + self.name}

    def wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> bool:
        """True once ``process`` sent ``READY=1``; False if it ended first or ``timeout``
        passed (the caller says which and why)."""
        deadline = time.monotonic() + timeout
        ended = os.pidfd_open(process.pid)
        try:
            while (left := deadline - time.monotonic()) > 0:
                mine = self._socket.fileno()
                readable, _, _ = select.select([mine, ended], [], [], left)
                if mine in readable:
                    if b"READY=1" in self._socket.recv(4096).split(b"\n"):
                        return True
                elif readable:  # the pidfd: the process has ended
                    return False
            return False
        finally:
            os.close(ended)

    def listen(self, on_ready: Callable[[], None]) -> None:
        """Call ``on_ready()`` at each ``READY=1`` until :meth:`close` (blocks: a thread's
        target, for a test that waits on its own events)."""
        while True:
            try:
                message = self._socket.recv(4096)
            except OSError:
                return
            if not message:  # our own wake-up from close()
                return
            if b"READY=1" in message.split(b"\n"):
                on_ready()

    def close(self) -> None:
        """Wake :meth:`listen` and let the socket go; idempotent."""
        with contextlib.suppress(OSError):
            self._socket.sendto(b"", "\0" + self.name)
        self._socket.close()
