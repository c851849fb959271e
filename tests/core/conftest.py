"""Fixtures of the core tests: a core on a real SQLite file over a small scripted bank."""

from __future__ import annotations

import pytest

from locker.core import Core

from .scripted_bank import SMALL_BANK, ScriptedBank
from .support import build_core


@pytest.fixture
def world() -> ScriptedBank:
    return ScriptedBank.bank_of(SMALL_BANK)


@pytest.fixture
def core(engine, clock, settings, world) -> Core:
    return build_core(engine, clock, settings, world)
