"""SIGINT and SIGTERM as an event, for the long-running commands.

uvicorn restores the handlers it found when it stops and then raises the signal it caught
again; with the default handler in place that would kill the process before its ``finally``
blocks close the bank and the database. Inside :func:`until_signalled` the handler it finds and
restores is ours, which only sets the event, so shutdown runs to its end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def until_signalled() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while inside; the previous handlers come back after."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
