"""Fixtures for the hardware tests: an event recorder, layout files, and the leak check
(tests/leaks.py): every test fails if it leaves a thread, pty, pipe or socket behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ..leaks import no_leaked_threads_or_descriptors  # noqa: F401 - autouse
from .support import Recorder


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
