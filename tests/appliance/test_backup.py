"""``locker backup`` under load and ``locker restore`` with its refusals."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.cli import main
from locker import audit, migrate
from locker.config import Settings
from locker.db import make_engine, reading, transaction
from runtime import backup, instance

from ..conftest import make_settings

SECRET = "backup-test-secret-" + "q" * 40


def settings_in(directory: Path) -> Settings:
    return make_settings(directory, locker={"secret_key": SECRET})


def append_events(settings: Settings, count: int) -> None:
    engine = make_engine(settings.database_url)
    try:
        for n in range(count):
            with transaction(engine) as session:
                audit.record(session, at=datetime.now(UTC), kind="test.write", actor="test", n=n)
    finally:
        engine.dispose()


@pytest.fixture
def live(tmp_path: Path) -> Settings:
    settings = settings_in(tmp_path / "live")
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    append_events(settings, 20)
    return settings


def events_in(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        return int(raw.execute("SELECT count(*) FROM audit_event").fetchone()[0])


def test_backup_under_concurrent_writes_restores_intact(live, tmp_path):
    started, stop = threading.Event(), threading.Event()
    written = [0]

    def writer() -> None:
        engine = make_engine(live.database_url)
        try:
            while not stop.is_set():
                with transaction(engine) as session:
                    audit.record(session, at=datetime.now(UTC), kind="test.busy", actor="test")
                written[0] += 1
                if written[0] == 30:
                    started.set()
        finally:
            engine.dispose()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(30)
        before = written[0]
        copy = backup.take(live, tmp_path / "copies")
        during = written[0]
    finally:
        stop.set()
        thread.join()
    assert during > before or written[0] > during  # the writer went on while the copy was made
    assert copy.stat().st_mode & 0o777 == 0o600
    assert SECRET.encode() not in copy.read_bytes()
    check = backup.inspect(copy)
    assert check.ok and 20 + before <= check.events <= 20 + written[0]

    fresh = settings_in(tmp_path / "fresh")
    fresh.locker.data_dir.mkdir(parents=True)
    _kept, restored = backup.restore(fresh, copy)
    assert restored.events == check.events
    engine = make_engine(fresh.database_url)
    try:
        with reading(engine) as session:
            assert audit.verify_chain(session).ok
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
    with sqlite3.connect(backup.database_file(fresh)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_keeps_the_newest_copies(live, tmp_path):
    made = [backup.take(live, tmp_path / "copies", keep=2) for _ in range(3)]
    assert backup.backups(tmp_path / "copies") == made[1:]


def test_restore_refuses_a_corrupted_copy(live, tmp_path, capsys):
    copy = backup.take(live, tmp_path / "copies")
    data = bytearray(copy.read_bytes())
    data[4096 : 4096 + 512] = b"\xa5" * 512  # a page of the copy overwritten
    copy.write_bytes(bytes(data))
    target = backup.database_file(live)
    events = events_in(target)
    with pytest.raises(backup.BackupError, match="integrity check"):
        backup.restore(live, copy)
    assert events_in(target) == events


def test_restore_refuses_a_broken_audit_chain(live, tmp_path):
    copy = backup.take(live, tmp_path / "copies")
    with sqlite3.connect(copy) as raw:
        raw.execute("UPDATE audit_event SET actor = 'mallory' WHERE id = 5")
    with pytest.raises(backup.BackupError, match="audit chain is broken at event 5"):
        backup.restore(live, copy)


def test_restore_refuses_while_the_controller_runs(live, tmp_path):
    copy = backup.take(live, tmp_path / "copies")
    with (
        instance.hold(live.locker.data_dir),
        pytest.raises(backup.BackupError, match="controller is running"),
    ):
        backup.restore(live, copy)
    backup.restore(live, copy)  # stopped: now it may


def test_commands(live, tmp_path, capsys, monkeypatch):
    for name in ("LOCKER_CONFIG",):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "locker.toml"
    config.write_text(
        f'[locker]\ndemo = true\nsecret_key = "{SECRET}"\ndata_dir = "{live.locker.data_dir}"\n'
        "[backup]\nkeep = 3\n"
    )
    assert main(["--config", str(config), "backup"]) == 0
    out = capsys.readouterr().out
    assert "backup written" in out and "20 audit events" in out
    made = backup.backups(live.locker.data_dir / "backups")
    assert len(made) == 1
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database at all" * 100)
    assert main(["--config", str(config), "restore", str(broken)]) == 1
    assert "was not restored" in capsys.readouterr().err
    assert main(["--config", str(config), "restore", str(made[0])]) == 0
    assert "audit chain intact (20 events)" in capsys.readouterr().out
