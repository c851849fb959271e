"""``./dev install`` into a scratch root: the units verify, the installed program serves, an
upgrade whose migration fails rolls back by itself.

Once per session the checkout's wheel and its dependencies go into a wheelhouse (one resolve
and download, by the development venv's pip) and the appliance is installed from it once;
the tests share that install and each leaves it as it found it. The upgrade test's release is a
copy of the installed one, as an upgrade on a box does, and its wheel is the session's with one
more migration added (no second build).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
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
    wheelhouse: Path

    @property
    def wheel(self) -> Path:
        return next(self.wheelhouse.glob("locker-*.whl"))

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
        """``deploy/install.py`` with the session's wheelhouse: no package index is asked."""
        command = [SYSTEM_PYTHON, str(INSTALL), "--root", str(self.root)]
        command += ["--wheelhouse", str(self.wheelhouse)]
        command += [*(["--wheel", str(wheel)] if wheel else []), *args]
        # No byte-compiling in tests: a third of the install's time, and only start-up gains.
        environ = clean_environ(PIP_NO_COMPILE="1")
        return subprocess.run(
            command, capture_output=True, text=True, env=environ, timeout=600, check=False
        )


def build_wheelhouse(into: Path) -> Path:
    """The checkout's wheel and every dependency's, for the Python the appliance runs on: what
    docs/operations.md has a technician prepare for a box without internet. The wheel is built
    with the development venv's setuptools (no isolated build environment to fill first)."""
    pip = [sys.executable, "-m", "pip", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(into), str(ROOT)]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    wheel = next(into.glob("locker-*.whl"))
    dependencies = [*pip, "--python", SYSTEM_PYTHON, "wheel", "-w", str(into), str(wheel)]
    subprocess.run(dependencies, check=True, capture_output=True, timeout=600)
    return into


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    target = Installed(base / "root", build_wheelhouse(base / "wheelhouse"))
    result = target.install("--kiosk")  # the wheel found in the wheelhouse
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{target.wheel.name} and its dependencies (from {target.wheelhouse})" in result.stdout
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


FAILING_MIGRATION = (
    '"""A migration that fails."""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
    'revision = "9999"\ndown_revision = "{head}"\nbranch_labels = None\ndepends_on = None\n\n'
    "def upgrade():\n    op.create_table('half_done', sa.Column('id', sa.Integer, primary_key=True))\n"
    "    raise RuntimeError('this migration fails on purpose')\n\n"
    "def downgrade():\n    pass\n"
)
"""One more migration after the head, which fails half-way (after changing the schema)."""


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def failing_wheel(wheel: Path, into: Path) -> Path:
    """``wheel`` with one more migration, which fails half-way (after changing the schema):
    the file added and listed in RECORD with its hash, as a build would have made it."""
    into.mkdir()
    target = into / wheel.name
    with (
        zipfile.ZipFile(wheel) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        names = source.namelist()
        versions = sorted(
            n for n in names if re.fullmatch(r"locker/migrations/versions/\d+[^/]*\.py", n)
        )
        head = versions[-1].rsplit("/", 1)[1].split("_")[0]
        added = "locker/migrations/versions/9999_fails.py"
        migration = FAILING_MIGRATION.format(head=head).encode()
        for name in names:
            data = source.read(name)
            if name.endswith(".dist-info/RECORD"):
                data += (record_line(added, migration) + "\n").encode()
            out.writestr(source.getinfo(name), data)
        out.writestr(added, migration)
    return target


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
    bad = failing_wheel(installed.wheel, tmp_path / "wheel")

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


def test_a_wheelhouse_that_cannot_serve_is_named(tmp_path):
    root, wheelhouse = tmp_path / "root", tmp_path / "wheels"
    command = [SYSTEM_PYTHON, str(INSTALL), "--root", str(root), "--wheelhouse", str(wheelhouse)]
    missing = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 1
    assert f"the wheelhouse {wheelhouse} is not a directory" in missing.stdout
    wheelhouse.mkdir()
    for version in ("0.1.0", "0.2.0"):
        (wheelhouse / f"locker-{version}-py3-none-any.whl").write_bytes(b"")
    several = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert several.returncode == 1
    assert (
        "holds several locker wheels" in several.stdout
        and "name one with --wheel" in several.stdout
    )
    assert not (root / "opt/locker/current").exists()  # nothing half-installed
