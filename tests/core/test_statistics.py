"""Statistics and the open-data CSV, computed from what survives erasure."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from locker import codes, open_data, statistics
from locker.db import reading
from locker.models import Delivery
from locker.services import housekeeping
from locker.services.pickup import pickup
from locker.vocabulary import DocumentType

from ..conftest import make_settings
from .scripted_bank import SMALL_BANK, ScriptedBank
from .support import build_core, code_sent, load, new_delivery

BERLIN = ZoneInfo("Europe/Berlin")
DOB = date(1990, 5, 17)


@pytest.fixture
def world() -> ScriptedBank:
    return ScriptedBank.bank_of(SMALL_BANK)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, policy={"retention_days": 0})


@pytest.fixture
def core(engine, clock, settings, world):
    return build_core(engine, clock, settings, world)


def at(clock, local: datetime) -> None:
    clock.set(local.replace(tzinfo=BERLIN).astimezone(UTC))


def collect(core, world, clock, reference, document_type, stored, collected) -> str:
    at(clock, stored)
    delivery_id = new_delivery(core, reference, document_type=document_type)
    label = load(core, world, delivery_id)
    at(clock, collected)
    code = code_sent(core, delivery_id)
    pickup(core, codes.display(code), date_of_birth=DOB, kiosk="k1")
    world.deliver(core)
    world.take(label)
    world.close_door(label)
    world.deliver(core)
    return delivery_id


@pytest.fixture
def january(core, world, clock):
    """Six passports (two collected after hours) and two driving licences, in January 2026."""
    for n in range(6):
        day = datetime(2026, 1, 5 + n, 9, 0)
        hours = 3 if n < 4 else 10  # collected at 12:00 (closing time) or at 19:00
        collect(
            core, world, clock, f"P-{n}", DocumentType.PASSPORT, day, day + timedelta(hours=hours)
        )
    for n in range(2):
        day = datetime(2026, 1, 20 + n, 9, 0)
        collect(
            core,
            world,
            clock,
            f"D-{n}",
            DocumentType.DRIVING_LICENCE,
            day,
            day + timedelta(hours=1),
        )
    at(clock, datetime(2026, 2, 2, 10, 0))


def test_report_counts_dwell_hours_and_after_hours_share(core, january):
    found = statistics.report(core, date(2026, 1, 1), date(2026, 1, 31), "week")
    assert found["totals"]["stored"] == found["totals"]["collected"] == 8
    assert found["by_document_type"]["passport"]["collected"] == 6
    assert found["by_document_type"]["driving_licence"]["collected"] == 2
    assert [p["start"] for p in found["periods"]][:2] == ["2025-12-29", "2026-01-05"]
    assert sum(p["collected"] for p in found["periods"]) == 8
    # collected at 12:00 (closing: outside), 19:00 (outside) and 10:00 (inside) local time
    assert found["pickups_by_hour"][12] == 4 and found["pickups_by_hour"][19] == 2
    assert found["pickups_by_hour"][10] == 2
    assert found["collected_outside_opening_hours"] == {"count": 6, "share": 0.75}
    dwell = found["stored_to_collected_hours"]
    assert dwell["count"] == 8 and dwell["median"] == 3.0 and dwell["p90"] == 10.0
    assert found["pickups_by_weekday"]["mon"] == 1


def test_open_data_csv_parses_matches_the_database_and_suppresses_small_counts(core, january):
    text = open_data.pickups_csv(core)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(statistics.OPEN_DATA_COLUMNS)
    assert {r["month"] for r in rows} == {"2026-01"}  # complete months only
    with reading(core.engine) as session:
        deliveries = session.exec(select(Delivery)).all()
    collected = Counter(str(d.document_type) for d in deliveries if d.collected_at)
    for row in rows:
        expected = collected[row["document_type"]]
        assert row["collected"] == (str(expected) if expected >= 5 else "")
        assert row["stored"] == (str(expected) if expected >= 5 else "")
    passports = next(r for r in rows if r["document_type"] == "passport")
    assert passports["collected"] == "6" and passports["median_hours_stored_to_collected"] == "3.0"
    licences = next(r for r in rows if r["document_type"] == "driving_licence")
    assert licences["collected"] == "" and licences["median_hours_stored_to_collected"] == ""
    assert passports["collected_outside_opening_hours"] == "6"
    assert licences["collected_outside_opening_hours"] == ""  # none: below 5, suppressed
    for forbidden in ("P-0", "D-1", "Erika", "+49", "@", "1990"):
        assert forbidden not in text


def test_figures_survive_erasure_of_personal_data(core, january):
    before = statistics.report(core, date(2026, 1, 1), date(2026, 1, 31), "month")
    assert housekeeping.erase_due(core)
    with reading(core.engine) as session:
        assert all(d.recipient_name is None for d in session.exec(select(Delivery)))
    assert statistics.report(core, date(2026, 1, 1), date(2026, 1, 31), "month") == before


def test_catalog_is_dcat_ap_de(core, january):
    found = open_data.catalog(core, "https://locker.example/")
    [dataset] = found["dcat:dataset"]
    assert found["@type"] == "dcat:Catalog" and dataset["@type"] == "dcat:Dataset"
    assert dataset["dct:license"]["@id"].endswith("/dl-by-de/2.0")
    assert dataset["dct:accrualPeriodicity"]["@id"].endswith("/MONTHLY")
    assert dataset["dct:temporal"]["dcat:startDate"]["@value"] == "2026-01-01"
    assert dataset["dct:temporal"]["dcat:endDate"]["@value"] == "2026-01-31"
    [distribution] = dataset["dcat:distribution"]
    assert distribution["dcat:downloadURL"]["@id"] == "https://locker.example/open-data/pickups.csv"
    assert {t["@language"] for t in dataset["dct:title"]} == {"de", "en"}
