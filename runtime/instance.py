"""One controller per data directory, and a way for other commands to know it runs.

``locker serve`` and ``locker demo`` hold an exclusive ``flock`` on ``<data_dir>/locker.lock``
for as long as they run (the kernel drops it when the process ends, however it ends, so a
``kill -9`` or a power cut leaves no stale lock). ``locker restore`` asks :func:`holder` and
refuses while someone holds it; a second ``locker serve`` on the same data refuses to start.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from locker.errors import DomainError

LOCK_NAME = "locker.lock"


@contextmanager
def hold(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's lock while inside; :class:`DomainError` if another does."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise DomainError(
                f"another controller (process {other}) already runs on {data_dir}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def holder(data_dir: Path) -> int | None:
    """The process id of the controller running on ``data_dir``, or None."""
    path = data_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
