"""Allocation by handle height: a recipient who needs it gets a compartment within reach, and a
fallback out of reach is reported (audit and placement) for the clerk screen to show."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from locker.config import ConfigError, PolicySection
from locker.db import reading
from locker.models import AuditEvent
from locker.ports import CompartmentSpec
from locker.reach import Reach
from locker.services.loading import placement, start_loading
from locker.vocabulary import Size
from tests.conftest import make_settings

from .scripted_bank import ScriptedBank, Slot
from .support import build_core, new_delivery

# Row 1 is low (a wheelchair user cannot bend to 250 mm), rows 2 and 3 are within
# 380-1,220 mm, row 4 is too high; A07 gives no height, so the policy's rows decide for it.
HEIGHTS = [
    ("A01", Size.S, 1, 250),
    ("A02", Size.S, 4, 1500),
    ("A03", Size.M, 2, 700),
    ("A04", Size.S, 3, 1100),
    ("A05", Size.L, 1, 250),
    ("A06", Size.L, 2, 800),
    ("A07", Size.S, 2, None),
]


def bank_with_heights() -> ScriptedBank:
    return ScriptedBank(
        {
            label: Slot(CompartmentSpec(label, size, row, height))
            for label, size, row, height in HEIGHTS
        }
    )


@pytest.fixture
def world() -> ScriptedBank:
    return bank_with_heights()


def test_reach_follows_heights_and_falls_back_to_rows_without_one():
    reach = Reach.of(PolicySection(), [CompartmentSpec(*row) for row in HEIGHTS])
    within = {label for label, _, row, _ in HEIGHTS if reach.covers(label, row)}
    assert within == {"A03", "A04", "A06", "A07"}
    assert Reach(1200, 1600, frozenset(), reach.heights).covers("A02", 4)


def test_recipient_who_needs_it_gets_a_compartment_within_reach(core):
    accessible = new_delivery(core, "ACC-1", accessible=True)
    label = start_loading(core, accessible, actor="clerk")
    assert label in ("A04", "A07")  # the smallest within reach, not A01 (250 mm) or A02 (1,500 mm)
    placed = placement(core, accessible)
    assert (placed.compartment, placed.needs_accessible, placed.within_reach) == (label, True, True)
    assert not placed.fell_back


def test_others_are_kept_away_from_reachable_compartments(core):
    first = start_loading(core, new_delivery(core, "S-1"), actor="clerk")
    second = start_loading(core, new_delivery(core, "S-2"), actor="clerk")
    assert {first, second} == {"A01", "A02"}  # out of reach, though A04 and A07 are as small
    assert placement(core, new_delivery(core, "S-3")).within_reach is False  # not loaded yet
    third = start_loading(core, new_delivery(core, "S-4"), actor="clerk")
    assert third in ("A04", "A07")  # only then the reachable ones


def test_fallback_out_of_reach_is_reported_and_audited(core):
    reachable = [
        start_loading(core, new_delivery(core, f"ACC-{n}", accessible=True), actor="clerk")
        for n in range(4)
    ]
    assert reachable == ["A07", "A04", "A03", "A06"]  # within reach, smallest first
    late = new_delivery(core, "ACC-LATE", accessible=True)
    label = start_loading(core, late, actor="clerk")
    assert label in ("A01", "A02")  # none within reach is left: the fallback
    placed = placement(core, late)
    assert placed.fell_back and not placed.within_reach
    with reading(core.engine) as session:
        audited = session.exec(
            select(AuditEvent).where(col(AuditEvent.kind) == "accessible_fallback")
        ).all()
    assert [(e.delivery_id, e.compartment) for e in audited] == [(late, label)]


def test_reach_range_is_a_setting(engine, clock, tmp_path):
    settings = make_settings(tmp_path, policy={"reach_min_mm": 200, "reach_max_mm": 600})
    core = build_core(engine, clock, settings, bank_with_heights())
    assert start_loading(core, new_delivery(core, "LOW", accessible=True), actor="clerk") == "A01"


def test_reach_range_must_be_a_range(tmp_path):
    with pytest.raises(
        ConfigError, match=r"policy.reach_max_mm .*must be above policy.reach_min_mm \(900\)"
    ):
        make_settings(tmp_path, policy={"reach_min_mm": 900, "reach_max_mm": 800})
