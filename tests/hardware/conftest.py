"""Fixtures for the hardware tests: an event recorder and layout files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

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
