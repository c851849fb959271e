"""``locker fleet …`` as a city's operator runs it, and the box's ``[fleet]`` settings."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

from fleet.centre import db, keys
from kiosk.cli import main
from locker.clock import SystemClock
from locker.config import ConfigError, load_settings
from simulator.broker import free_port

from ..processes import Child
from ..waiting import Changes

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def locker(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    """``locker ARGS`` in this process (the entry point's own ``main``)."""
    try:
        code = main(list(args))
    except SystemExit as exit:  # --help
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return Ran(code, out, err)


def test_the_production_commands_do_not_load_the_fleet(capsys):
    found = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kiosk.cli", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in found.stderr.splitlines()}
    assert "locker.config" in loaded
    development = {"fleet", "paho", "psycopg", "simulator", "benchmarks"}
    assert not {m for m in loaded if m.split(".")[0] in development}
    assert "fleet" in locker(capsys, "--help").stdout
    usage = locker(capsys, "fleet", "--help").stdout
    assert all(command in usage for command in ("serve", "sim", "apikey", "db"))


def test_the_centre_names_what_is_missing_or_wrong(capsys):
    missing = locker(capsys, "fleet", "serve", "--broker-url", "mqtt://127.0.0.1:1")
    assert missing.returncode == 2
    assert "missing centre.database_url (--database-url)" in missing.stderr
    wrong = locker(
        capsys,
        "fleet",
        "serve",
        "--broker-url",
        "http://broker",
        "--database-url",
        "sqlite:///x.db",
    )
    assert wrong.returncode == 2
    assert "broker.url" in wrong.stderr and "mqtt://HOST[:PORT]" in wrong.stderr
    assert "PostgreSQL" in wrong.stderr


def test_serve_with_demo_key_and_a_key_of_its_own(broker, centre_db, credentials, tmp_path, capsys):
    port = free_port()
    config = tmp_path / "centre.toml"
    config.write_text(f'[broker]\npassword = "{credentials.of("fleet-centre")}"\n')
    changes = Changes()
    centre = Child(
        [
            sys.executable,
            "-m",
            "kiosk.cli",
            "fleet",
            "serve",
            "--broker-url",
            broker.url,
            "--database-url",
            centre_db,
            "--port",
            str(port),
            "--config",
            str(config),
            "--demo",
        ],
        tmp_path / "centre.log",
        changes,
        notify=True,
    )
    try:
        centre.wait_started(lambda: centre.ready, "the centre says READY=1")
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200  # bound before it said so
        # with the password from --config: re-checked on each line it logs ("connected")
        changes.wait_for(
            lambda: httpx.get(f"{base}/healthz").json()["broker"], what="the centre's broker"
        )
        demo = {"Authorization": "Bearer demo-key"}
        assert httpx.get(f"{base}/api/v1/fleet/boxes", headers=demo).json() == []

        created = locker(
            capsys,
            "fleet",
            "apikey",
            "create",
            "registry",
            "--role",
            "clerk",
            "--database-url",
            centre_db,
        )
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert key.startswith("fk_") and "shown only now" in created.stderr
        own = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{base}/api/v1/fleet/boxes", headers=own).status_code == 200
        refused = httpx.post(
            f"{base}/api/v1/fleet/boxes/box-1/compartments/A01/open",
            json={"reason": "x"},
            headers=own,
        )
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        assert keys.revoke(db.make_engine(centre_db), "registry", SystemClock().now())
        assert httpx.get(f"{base}/api/v1/fleet/boxes", headers=own).status_code == 401
    finally:
        assert centre.stop(signal.SIGTERM, 30) == 0
        centre.close()


def test_the_box_settings_say_what_is_wrong():
    with pytest.raises(ConfigError) as wrong:
        load_settings(
            environ={"LOCKER_FLEET__BROKER_URL": "http://broker", "LOCKER_FLEET__BOX_ID": "Box/1"},
            overrides={"locker": {"demo": True}},
        )
    text = str(wrong.value)
    assert "fleet.broker_url in environment variable LOCKER_FLEET__BROKER_URL" in text
    assert "fleet.box_id in environment variable LOCKER_FLEET__BOX_ID" in text
    off = load_settings(environ={}, overrides={"locker": {"demo": True}})
    assert off.fleet.broker_url == ""
