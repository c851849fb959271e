"""Fixtures for the hardware tests: an event recorder, layout files, and a leak check.

Every test here fails if it leaves a thread running or a pty or pipe open (bus threads,
ptys and pins must all be closed by the code under test).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .support import WAIT, Recorder


def _fds() -> dict[str, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[name] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
    return found


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    threads_before = set(threading.enumerate())
    fds_before = _fds()
    yield
    deadline = time.monotonic() + WAIT
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(max(0.0, deadline - time.monotonic()))
    leaked = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
    opened = {
        fd: target
        for fd, target in _fds().items()
        if fds_before.get(fd) != target
        and any(kind in target for kind in ("pts", "ptmx", "pipe", "socket"))
    }
    assert not opened, f"file descriptors left open: {opened}"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def layout_file(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "layout.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
