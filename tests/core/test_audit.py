"""The audit chain: every change recorded, tampering found, no personal data inside."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import select

from kiosk.cli import main
from locker import audit
from locker.db import reading, transaction
from locker.models import AuditEvent

from .scripted_bank import SMALL_BANK, ScriptedBank
from .support import build_core, load, new_delivery


@pytest.fixture
def busy_core(engine, clock, settings):
    world = ScriptedBank.bank_of(SMALL_BANK)
    core = build_core(engine, clock, settings, world)
    for i in range(3):
        load(core, world, new_delivery(core, f"AUD-{i}"))
    return core


def verify(core):
    with reading(core.engine) as session:
        return audit.verify_chain(session)


def test_intact_chain(busy_core):
    report = verify(busy_core)
    assert report.ok and report.checked > 10


def test_changed_row_is_found(busy_core):
    with busy_core.engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = 7"))
    report = verify(busy_core)
    assert report.broken_at == 7 and "changed" in report.reason


def test_deleted_row_is_found(busy_core):
    with busy_core.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE id = 5"))
    assert verify(busy_core).broken_at == 5


def test_truncated_tail_is_found(busy_core):
    last = verify(busy_core).checked
    with busy_core.engine.begin() as connection:
        connection.execute(text(f"DELETE FROM audit_event WHERE id = {last}"))
    assert verify(busy_core).broken_at == last


def test_rewritten_chain_with_new_hashes_is_found(busy_core):
    """Rehashing one row is not enough: the next row still points at the old hash."""
    with busy_core.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE audit_event SET hash = CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e'"
                " ELSE 'f' END || substr(hash, 2) WHERE id = 4"
            )
        )
    assert verify(busy_core).broken_at == 4


def test_cli_reports_the_first_broken_link(busy_core, tmp_path, capsys, monkeypatch):
    config = tmp_path / "locker.toml"
    config.write_text(f'[locker]\ndemo = true\n[database]\nurl = "{busy_core.engine.url}"\n')
    monkeypatch.delenv("LOCKER_CONFIG", raising=False)
    assert main(["--config", str(config), "audit", "verify"]) == 0
    with busy_core.engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET kind = 'x' WHERE id = 9"))
    assert main(["--config", str(config), "audit", "verify"]) == 1
    assert "broken at event 9" in capsys.readouterr().err


def test_events_hold_no_personal_data(busy_core):
    with reading(busy_core.engine) as session:
        rows = session.exec(select(AuditEvent)).all()
    dump = repr([(e.kind, e.actor, e.detail) for e in rows])
    for personal in ("Erika", "Mustermann", "+4915123456789", "erika@example.org", "1990-05-17"):
        assert personal not in dump
    with transaction(busy_core.engine) as session, pytest.raises(ValueError, match="personal"):
        audit.record(session, at=busy_core.clock.now(), kind="x", actor="y", phone="+49")
