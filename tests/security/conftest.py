"""The security regression tests drive the same whole stack as the API tests."""

from __future__ import annotations

from pathlib import Path

from ..kiosk.conftest import KEYS, KIOSK, PASSWORD, Stack, running_stack, stack

__all__ = ["KEYS", "KIOSK", "PASSWORD", "Stack", "every_byte_under", "running_stack", "stack"]


def every_byte_under(directory: Path) -> bytes:
    """The contents of every file under ``directory`` (database, WAL, journal, anything)."""
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())
