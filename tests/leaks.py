"""The one leak check, autouse for every test from tests/conftest.py: a test fails if it leaves
a thread running, or a pty, pipe or socket open, that was not there before it: bus threads,
stand-ins, servers, streams, MQTT clients, event loops and ptys must all be closed by the code
under test or by the fixture that opened them. Fixtures of a wider scope are set up before the
check begins, so they are not counted; what such a fixture owns it starts in its own set-up,
not lazily inside the first test that uses it (the browser modules' Playwright starts its
file-work thread, a shared uvicorn its AnyIO worker, the benchmarks' smoke module its shared
``locker serve`` processes), and what a test opens on a shared thing it closes (a benchmark
hangs up its connections to a shared server). Nor may a test leave a handler on the root
logger: a command run in the test's process that configures logging binds a handler to the
test's captured stderr, and every later record of any thread would be written to a closed file.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

KINDS = ("pts", "ptmx", "pipe", "socket")
"""The file descriptors that count: what a thread, a server or a bus leaves behind."""
GRACE_S = 10.0
"""How long a thread that was told to stop may take to end."""


def open_fds() -> dict[str, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[name] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
    return found


def _new_fds(before: dict[str, str]) -> dict[str, str]:
    return {
        fd: target
        for fd, target in open_fds().items()
        if before.get(fd) != target and any(kind in target for kind in KINDS)
    }


def _own_handlers(root: logging.Logger) -> list[logging.Handler]:
    """The root logger's handlers but pytest's own (it swaps those in each phase of a test)."""
    return [h for h in root.handlers if not type(h).__module__.startswith("_pytest")]


@contextmanager
def no_leaks() -> Iterator[None]:
    threads_before = set(threading.enumerate())
    fds_before = open_fds()
    root = logging.getLogger()
    handlers_before = _own_handlers(root)
    yield
    added = [h for h in _own_handlers(root) if h not in handlers_before]
    for handler in added:  # removed, so the next test is not charged with it
        root.removeHandler(handler)
    assert not added, f"handlers left on the root logger: {added}"
    deadline = time.monotonic() + GRACE_S
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(max(0.0, deadline - time.monotonic()))
    leaked = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
    opened = _new_fds(fds_before)
    if opened:  # a socket nobody holds any more is closed by the collector, not leaked
        gc.collect()
        opened = _new_fds(fds_before)
    assert not opened, f"file descriptors left open: {opened}"


@pytest.fixture(autouse=True)
def no_leaked_threads_or_descriptors() -> Iterator[None]:
    """No thread, pty, pipe or socket left behind by the test."""
    with no_leaks():
        yield
