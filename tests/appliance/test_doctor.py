"""``locker doctor`` against the simulated world in another process: each fault is named."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from kiosk.cli import main
from runtime import backup

from .conftest import DEV_LOCKER, clean_environ, layout_toml, migrate_database, write_config


@dataclass
class World:
    control: str
    config: Path

    def fault(self, kind: str, on: bool, target: str = "") -> None:
        answer = requests.post(
            f"{self.control}/sim/faults",
            json={"kind": kind, "target": target, "on": on},
            timeout=10,
        )
        answer.raise_for_status()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """``locker sim world`` (boards, SMS and SMTP stand-ins) and a healthy box's config."""
    where = tmp_path_factory.mktemp("doctor")
    (where / "world.toml").write_text(layout_toml(where / "links" / "rs485"))
    process = subprocess.Popen(
        [
            str(DEV_LOCKER),
            "sim",
            "world",
            "--layout",
            str(where / "world.toml"),
            "--link-dir",
            str(where / "links"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=clean_environ(),
    )
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())  # printed once everything listens
    try:
        config = write_config(where, where / "links" / "rs485", **ready_sections(ready))
        config.chmod(0o640)
        settings = migrate_database(DEV_LOCKER, config)
        settings.locker.data_dir.chmod(0o750)
        (settings.locker.data_dir / "locker.db").chmod(0o600)
        backup.take(settings)
        yield World(ready["control"], config)
    finally:
        process.terminate()
        process.wait(timeout=20)


def ready_sections(ready: dict[str, object]) -> dict[str, dict[str, object]]:
    return {
        name: dict(ready[name]) for name in ("sms", "email") if isinstance(ready.get(name), dict)
    }


def doctor(capsys, config: Path) -> tuple[int, list[str]]:
    status = main(["doctor", "--config", str(config)])
    return status, capsys.readouterr().out.splitlines()


def failing(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("fail")]


def test_a_healthy_box_passes(world, capsys):
    status, lines = doctor(capsys, world.config)
    assert failing(lines) == [] and status == 0, lines
    checks = {line.split()[1] for line in lines}
    assert {
        "config",
        "layout",
        "serial",
        "board",
        "database",
        "audit",
        "sms",
        "smtp",
        "disk",
        "backup",
        "permissions",
        "clock",
    } <= checks
    assert sum(line.startswith("pass  board") for line in lines) == 2


def test_a_board_offline_is_named(world, capsys):
    world.fault("board_offline", True, "rs485:1")
    try:
        status, lines = doctor(capsys, world.config)
    finally:
        world.fault("board_offline", False, "rs485:1")
    assert status == 1
    assert len(failing(lines)) == 1, lines
    assert failing(lines)[0].startswith("fail  board        bus rs485 board 1 does not answer")
    assert "pass  board        bus rs485 board 0 answers" in lines


def test_smtp_down_is_named(world, capsys):
    world.fault("smtp_down", True)
    try:
        status, lines = doctor(capsys, world.config)
    finally:
        world.fault("smtp_down", False)
    assert status == 1
    assert len(failing(lines)) == 1 and failing(lines)[0].startswith("fail  smtp")
    assert "cannot be reached" in failing(lines)[0]


def test_a_missing_layout_is_named(world, capsys, tmp_path):
    config = tmp_path / "locker.toml"
    text = world.config.read_text()
    config.write_text(
        text.replace(str(world.config.parent / "layout.toml"), str(tmp_path / "gone.toml"))
    )
    config.chmod(0o640)
    status, lines = doctor(capsys, config)
    assert status == 1
    assert len(failing(lines)) == 1 and failing(lines)[0].startswith("fail  layout")
    assert "gone.toml" in failing(lines)[0] and "cannot read" in failing(lines)[0]


def test_wrong_permissions_are_named(world, capsys):
    world.config.chmod(0o644)
    try:
        status, lines = doctor(capsys, world.config)
    finally:
        world.config.chmod(0o640)
    assert status == 1
    assert len(failing(lines)) == 1 and failing(lines)[0].startswith("fail  permissions")
    assert "mode 0644" in failing(lines)[0]
