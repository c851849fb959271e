"""``./dev install`` into a scratch root: the units verify, the installed program serves, an
upgrade whose migration fails rolls back by itself.

The wheel is built once per session and installed once (about a minute); the tests share that
install and each leaves it as it found it. The upgrade test builds its release from a copy of
the installed one, as an upgrade on a box does.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import clean_environ, start_serve, write_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # a pip install of the whole program
ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "deploy" / "install.py"
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "python3"


@dataclass
class Installed:
    root: Path
    wheel: Path

    @property
    def locker(self) -> Path:
        return self.root / "opt/locker/current/bin/locker"

    @property
    def config(self) -> Path:
        return self.root / "etc/locker/locker.toml"

    @property
    def units(self) -> Path:
        return self.root / "etc/systemd/system"

    def release(self) -> Path:
        return (self.root / "opt/locker/current").resolve()

    def install(self, *args: str, wheel: Path | None = None) -> subprocess.CompletedProcess[str]:
        command = [SYSTEM_PYTHON, str(INSTALL), "--root", str(self.root)]
        command += ["--wheel", str(wheel or self.wheel), *args]
        # No byte-compiling in tests: a third of the install's time, and only start-up gains.
        environ = clean_environ(PIP_NO_COMPILE="1")
        return subprocess.run(
            command, capture_output=True, text=True, env=environ, timeout=600, check=False
        )


def build_wheel(source: Path, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(into), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(into.glob("locker-*.whl"))


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    wheel = build_wheel(ROOT, base / "wheel")
    target = Installed(base / "root", wheel)
    result = target.install("--kiosk")
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def test_install_lays_out_the_appliance(installed):
    config = installed.config
    assert config.stat().st_mode & 0o777 == 0o640
    text = config.read_text()
    secret = next(line for line in text.splitlines() if line.startswith("secret_key"))
    assert len(secret.split('"')[1]) >= 48 and "@SECRET_KEY@" not in text
    assert (installed.root / "var/lib/locker").stat().st_mode & 0o777 == 0o750
    command = installed.root / "usr/local/bin/locker"  # the config without --config
    checked = subprocess.run(
        [str(command), "config", "check"],
        capture_output=True,
        text=True,
        env=clean_environ(),
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert f"16 compartments in {installed.root / 'etc/locker/layout.toml'}" in checked.stdout
    assert (installed.release() / "share/locker/offline.html").exists()
    wants = installed.units / "multi-user.target.wants" / "locker.service"
    assert wants.is_symlink()
    # The appliance is the product only: no simulator, no benchmarks, no work tree on its path.
    python = installed.release() / "bin/python"
    probe = "import importlib.util as u, sys; print(u.find_spec('simulator'), u.find_spec('benchmarks'))"
    found = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True, cwd="/"
    )
    assert found.stdout.strip() == "None None"


def test_units_pass_systemd_analyze_verify(installed):
    units = sorted(str(p) for p in installed.units.glob("locker*.*") if p.is_file())
    assert {Path(u).name for u in units} == {
        "locker.service",
        "locker-backup.service",
        "locker-backup.timer",
        "locker-kiosk.service",
    }
    result = subprocess.run(
        ["systemd-analyze", "verify", *units],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if "locker" in line]
    assert complaints == []
    service = (installed.units / "locker.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "CapabilityBoundingSet=\n",
        "DevicePolicy=closed",
        f"ReadWritePaths={installed.root / 'var/lib/locker'}",
    ):
        assert line in service


def test_installed_serve_answers_healthz_against_boards_in_another_process(
    installed, boards, notify_socket, tmp_path
):
    work = tmp_path / "box"
    work.mkdir()
    config = write_config(work, boards)  # the installed program, a config like the template's
    served = start_serve(installed.locker, config, notify_socket)
    try:
        health = served.health()
        assert health["status"] == "ok" and health["compartments"] == 24
        assert notify_socket.next() == "WATCHDOG=1"
    finally:
        assert served.stop() == 0
    assert "STOPPING=1" in notify_socket.wait_for("STOPPING=1")[-1]


def failing_checkout(into: Path) -> Path:
    """The checkout with one more migration, which fails half-way (after changing the schema)."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    versions = into / "locker/migrations/versions"
    head = sorted(p.stem for p in versions.glob("[0-9]*.py"))[-1]
    revision = head.split("_")[0]
    (versions / "9999_fails.py").write_text(
        f'"""A migration that fails."""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
        f'revision = "9999"\ndown_revision = "{revision}"\nbranch_labels = None\ndepends_on = None\n\n'
        "def upgrade():\n    op.create_table('half_done', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    raise RuntimeError('this migration fails on purpose')\n\n"
        "def downgrade():\n    pass\n"
    )
    return into


def test_an_upgrade_whose_migration_fails_rolls_back(installed, tmp_path):
    data = installed.root / "var/lib/locker/locker.db"
    environ = clean_environ()
    add = [
        str(installed.locker),
        "--config",
        str(installed.config),
        "apikey",
        "create",
        "before",
        "--role",
        "clerk",
    ]
    subprocess.run(add, env=environ, check=True, capture_output=True, timeout=60)
    with sqlite3.connect(data) as raw:
        before = raw.execute("SELECT name FROM api_key ORDER BY name").fetchall()
        revision = raw.execute("SELECT version_num FROM alembic_version").fetchone()
    release = installed.release()
    bad = build_wheel(failing_checkout(tmp_path / "src"), tmp_path / "wheel")

    config = installed.config.read_text()
    result = installed.install(wheel=bad)

    assert result.returncode == 1, result.stdout
    assert "the database migration failed" in result.stdout
    assert f"rolled back to {release.name}" in result.stdout
    assert installed.release() == release  # the previous code again
    assert installed.config.read_text() == config  # a later install never overwrites it
    with sqlite3.connect(data) as raw:
        assert raw.execute("SELECT name FROM api_key ORDER BY name").fetchall() == before
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == revision
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables  # the data is the copy taken before the upgrade
    check = subprocess.run(
        [str(installed.locker), "--config", str(installed.config), "audit", "verify"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr
