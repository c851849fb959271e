"""Install or upgrade the locker appliance from a checkout (run by ``./dev install``, as root).

Standard library only: it runs on a fresh Debian 12 / Raspberry Pi OS before anything else is
there. What it does, each step said on stdout:

* builds the code into its own virtual environment, ``/opt/locker/releases/<version>-<time>``
  (never running from the work tree); ``/opt/locker/current`` points at the release in use,
  ``/opt/locker/previous`` at the one before; ``/usr/local/bin/locker`` at ``current``; the
  dependencies come from the package index, or with ``--wheelhouse DIR`` from that directory
  alone (a box without internet: ``pip wheel -w DIR .`` prepared it elsewhere);
* creates the system user ``locker`` (groups ``dialout``, and ``gpio`` where it exists) and,
  with ``--kiosk``, ``locker-kiosk`` for the touchscreen;
* writes ``/etc/locker/locker.toml`` from a commented template with a freshly generated
  ``secret_key`` (0640 root:locker) and an example ``layout.toml`` - only if they do not exist:
  a later install never overwrites them;
* ``/var/lib/locker`` for the data (0750 locker:locker), the systemd units, the udev rule's
  place;
* activates: on an upgrade it first takes a backup, stops the service, switches ``current``,
  migrates the database, starts the service and checks ``/healthz``; if any step fails it
  puts back the previous code and database by itself and says so (exit status 1).

Where systemd is not running (a chroot, an image build, a scratch ``--root`` for tests) the
units are enabled with ``systemctl --root`` but nothing is started. ``--root DIR`` installs
everything under DIR, with DIR in every path it writes, so that the installed program runs
from there.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import os
import platform
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
DEPLOY = CHECKOUT / "deploy"
USER = "locker"
KIOSK_USER = "locker-kiosk"
KEEP_RELEASES = 3
UNITS = ("locker.service", "locker-backup.service", "locker-backup.timer")
KIOSK_UNIT = "locker-kiosk.service"


def say(message: str) -> None:
    print(f"[install] {message}", flush=True)


class Failed(Exception):
    """A step failed; the message says which and why."""


@dataclass(frozen=True)
class Paths:
    root: Path

    def _at(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    @property
    def prefix(self) -> Path:
        return self._at("/opt/locker")

    @property
    def releases(self) -> Path:
        return self.prefix / "releases"

    @property
    def current(self) -> Path:
        return self.prefix / "current"

    @property
    def previous(self) -> Path:
        return self.prefix / "previous"

    @property
    def etc(self) -> Path:
        return self._at("/etc/locker")

    @property
    def config(self) -> Path:
        return self.etc / "locker.toml"

    @property
    def data(self) -> Path:
        return self._at("/var/lib/locker")

    @property
    def units(self) -> Path:
        return self._at("/etc/systemd/system")

    @property
    def udev(self) -> Path:
        return self._at("/etc/udev/rules.d/99-locker-bus.rules")

    @property
    def bin(self) -> Path:
        return self._at("/usr/local/bin/locker")

    @property
    def live(self) -> bool:
        """Installing onto the running system (not a chroot or scratch root)."""
        return self.root == Path("/")


def run(command: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise Failed(f"{what} failed: {' / '.join(detail[-6:]) or f'exit {result.returncode}'}")
    return result.stdout


def systemd_running(paths: Paths) -> bool:
    return paths.live and Path("/run/systemd/system").is_dir()


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


# ------------------------------------------------------------------ the release


def wheel_in(wheelhouse: Path) -> Path | None:
    """The one locker wheel a wheelhouse holds (``pip wheel -w DIR .`` puts it there), if any."""
    found = sorted(wheelhouse.glob("locker-*.whl"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise Failed(f"{wheelhouse} holds several locker wheels ({names}): name one with --wheel")
    return found[0] if found else None


def index_options(wheelhouse: Path | None) -> list[str]:
    """pip's options for where packages come from: the index, or the wheelhouse alone."""
    if wheelhouse is None:
        return []
    if not wheelhouse.is_dir():
        raise Failed(f"the wheelhouse {wheelhouse} is not a directory")
    return ["--no-index", "--find-links", str(wheelhouse)]


def build_release(paths: Paths, wheel: Path | None, wheelhouse: Path | None = None) -> Path:
    """A new release directory with its own venv holding the checkout's code; its dependencies
    from the package index, or only from ``wheelhouse`` when one is given (offline)."""
    index = index_options(wheelhouse)
    if wheel is None and wheelhouse is not None:
        wheel = wheel_in(wheelhouse)
    paths.releases.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    staging = Path(tempfile.mkdtemp(prefix=".new-", dir=paths.releases))
    try:
        current = paths.current.resolve() if paths.current.is_symlink() else None
        copied = current is not None and (current / "bin" / "python").exists()
        if current is not None and copied:
            say(f"building the new release from a copy of {current.name} (only changes download)")
            shutil.copytree(current, staging, symlinks=True, dirs_exist_ok=True)
            _repoint(staging, current)
        else:
            say("building the release's virtual environment")
            run([sys.executable, "-m", "venv", str(staging)], what="python3 -m venv")
        pip = [str(staging / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        if wheel is None:
            out = staging / ".wheel"
            say("building the wheel from the checkout")
            build = [*pip, "wheel", *index, "--no-deps", "-w", str(out), str(CHECKOUT)]
            run(build, what="building")
            wheel = next(out.glob("locker-*.whl"))
        requirement = f"{wheel}[pi]" if platform.machine() == "aarch64" else str(wheel)
        source = f"from {wheelhouse}" if wheelhouse is not None else "from the package index"
        say(f"installing {wheel.name} and its dependencies ({source})")
        if copied:  # the copy holds its own locker, perhaps of this very version: replace it
            reinstall = [*pip, "install", *index, "--force-reinstall", "--no-deps", str(wheel)]
            run(reinstall, what="pip install")
        run([*pip, "install", *index, requirement], what="pip install (dependencies)")
        shutil.rmtree(staging / ".wheel", ignore_errors=True)
        version = wheel.name.split("-")[1]
        share = staging / "share" / "locker"
        share.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CHECKOUT / "docs" / "operations.md", share / "operations.md")
        final = paths.releases / f"{version}-{stamp}"
        staging.rename(final)
        _repoint(final, staging)
        return final
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _repoint(venv: Path, old: Path) -> None:
    """A venv moved from ``old``: its scripts' ``#!`` lines and config name the new place."""
    for script in (venv / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        head = script.read_bytes()[:256]
        if head.startswith(f"#!{old}/".encode()):
            script.write_bytes(
                script.read_bytes().replace(f"#!{old}/".encode(), f"#!{venv}/".encode(), 1)
            )
    cfg = venv / "pyvenv.cfg"
    if cfg.exists():
        cfg.write_text(cfg.read_text().replace(str(old), str(venv)))


def prune_releases(paths: Paths) -> None:
    keep = {p.resolve() for p in (paths.current, paths.previous) if p.is_symlink()}
    releases = sorted(
        p for p in paths.releases.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    for old in releases[:-KEEP_RELEASES]:
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)
            say(f"removed the old release {old.name}")


def write_command(paths: Paths) -> None:
    """``locker`` on the PATH: the current release's, reading ``/etc/locker/locker.toml``
    unless ``--config`` or ``LOCKER_CONFIG`` says otherwise (as the service does)."""
    paths.bin.parent.mkdir(parents=True, exist_ok=True)
    temporary = paths.bin.with_name(".locker.new")
    temporary.unlink(missing_ok=True)
    temporary.write_text(
        "#!/bin/sh\n# Written by ./dev install: the appliance's locker with its config.\n"
        f': "${{LOCKER_CONFIG:={paths.config}}}"\nexport LOCKER_CONFIG\n'
        f'exec {paths.current}/bin/locker "$@"\n'
    )
    os.chmod(temporary, 0o755)
    os.replace(temporary, paths.bin)


def point(link: Path, target: Path) -> None:
    """Make ``link`` a symlink to ``target`` in one rename."""
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.new")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, link)


# ------------------------------------------------------------------ system files


def ensure_users(paths: Paths, kiosk: bool) -> None:
    if not paths.live or os.geteuid() != 0:
        say("system users: left alone (not installing onto this machine as root)")
        return
    groups = [g for g in ("dialout", "gpio") if group_exists(g)]
    if not user_exists(USER):
        run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                "/var/lib/locker",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                USER,
            ],
            what="useradd locker",
        )
        say("created the system user locker")
    if groups:
        run(["usermod", "--append", "--groups", ",".join(groups), USER], what="usermod locker")
    if kiosk and not user_exists(KIOSK_USER):
        extra = [g for g in ("video", "render", "input", "tty") if group_exists(g)]
        run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--create-home",
                "--home-dir",
                "/var/lib/locker-kiosk",
                "--shell",
                "/usr/sbin/nologin",
                *(["--groups", ",".join(extra)] if extra else []),
                KIOSK_USER,
            ],
            what="useradd locker-kiosk",
        )
        say("created the kiosk user locker-kiosk")


def _owner(user: str) -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def write_config(paths: Paths) -> None:
    paths.etc.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.etc, 0o755)
    owner = _owner(USER) if paths.live else None
    if paths.config.exists():
        say(f"{paths.config}: kept as it is")
    else:
        bank = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:32] or "bank-1"
        text = (DEPLOY / "locker.toml.in").read_text()
        text = text.replace("@SECRET_KEY@", secrets.token_urlsafe(48)).replace("@BANK_ID@", bank)
        text = text.replace("@ETC@", str(paths.etc))
        text = text.replace('data_dir = "/var/lib/locker"', f'data_dir = "{paths.data}"')
        descriptor = os.open(paths.config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        say(f"{paths.config}: written with a new secret key")
    os.chmod(paths.config, 0o640)
    if owner is not None:
        os.chown(paths.config, 0, owner[1])
    layout = paths.etc / "layout.toml"
    if not layout.exists():
        layout.write_text(example_layout())
        os.chmod(layout, 0o644)
        say(f"{layout}: an example (16 compartments on one CU16 board); adapt it to the bank")


def example_layout() -> str:
    lines = [
        "# The bank: compartments, buses, boards (docs/hardware.md). An example to adapt:",
        "# one Kerong CU16 board at address 0 on the RS-485 adapter /dev/locker-bus.",
        '[bank]\nname = "Bürgerbüro"\nlock_fault_after_s = 10\n',
        '[[bus]]\nname = "rs485"\nport = "/dev/locker-bus"\nprotocol = "cu16"\nbaud = 19200',
        "timeout_ms = 200\nretries = 2\npoll_ms = 150\n",
        "[[bus.board]]\naddress = 0\nchannels = 16\n",
    ]
    sizes = "SSSSSSMMMMMMLLLL"
    for channel in range(16):
        lines.append(
            f'[[compartment]]\nlabel = "A{channel + 1:02d}"\nsize = "{sizes[channel]}"\n'
            f'row = {channel % 4 + 1}\nbus = "rs485"\nboard = 0\nchannel = {channel}\n'
        )
    return "\n".join(lines)


def make_data_dir(paths: Paths) -> None:
    (paths.data / "backups").mkdir(parents=True, exist_ok=True)
    owner = _owner(USER) if paths.live else None
    for directory in (paths.data, paths.data / "backups"):
        os.chmod(directory, 0o750)
        if owner is not None:
            os.chown(directory, *owner)


def write_units(paths: Paths, kiosk: bool) -> list[str]:
    paths.units.mkdir(parents=True, exist_ok=True)
    names = [*UNITS, *([KIOSK_UNIT] if kiosk else [])]
    for name in names:
        text = (DEPLOY / "systemd" / name).read_text()
        text = text.replace("@PREFIX@", str(paths.prefix)).replace("@ETC@", str(paths.etc))
        text = text.replace("ReadWritePaths=/var/lib/locker", f"ReadWritePaths={paths.data}")
        (paths.units / name).write_text(text)
        os.chmod(paths.units / name, 0o644)
    if not paths.udev.exists():
        paths.udev.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(DEPLOY / "udev-locker-bus.rules.in", paths.udev)
    say(f"systemd units: {', '.join(names)}")
    return names


def write_offline_page(paths: Paths, release: Path) -> None:
    port = 8000
    with contextlib.suppress(OSError, tomllib.TOMLDecodeError, ValueError):
        port = int(tomllib.loads(paths.config.read_text()).get("kiosk", {}).get("port", 8000))
    page = (DEPLOY / "kiosk" / "offline.html").read_text()
    page = page.replace("@KIOSK_URL@", f"http://127.0.0.1:{port}/")
    (release / "share" / "locker" / "offline.html").write_text(page)


# ------------------------------------------------------------------ activation


def as_service_user(paths: Paths, command: list[str]) -> list[str]:
    if paths.live and os.geteuid() == 0 and user_exists(USER):
        return ["runuser", "-u", USER, "--", *command]
    return command


def locker(paths: Paths, release: Path, *args: str) -> list[str]:
    return as_service_user(
        paths, [str(release / "bin" / "locker"), "--config", str(paths.config), *args]
    )


def service_env() -> dict[str, str]:
    """The environment for the service's commands: none of the installer's LOCKER_ variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LOCKER_")}


def systemctl(paths: Paths, *args: str) -> str:
    root = [] if paths.live else [f"--root={paths.root}"]
    return run(["systemctl", *root, *args], what=f"systemctl {' '.join(args)}")


HEALTH_BACKOFF_S = (0.0, 0.5, 1.0, 2.0, 4.0)
"""The pause before each ``/healthz`` request: the first goes at once, a few more follow with
a doubling back-off (7.5 s in all), then the start has failed."""


def healthy(paths: Paths) -> str:
    """``/healthz`` answers 200 with a status; returns it, or raises :class:`Failed`.

    Asked after ``systemctl restart`` returned: ``locker.service`` is ``Type=notify``, so that
    command waits for ``READY=1``, which ``locker serve`` sends once the database is checked and
    its listeners are bound. The first request normally answers; the back-off only covers a
    box too busy to answer at once, and is no wait for a start still under way.
    """
    settings = tomllib.loads(paths.config.read_text())
    port = int(settings.get("kiosk", {}).get("port", 8000))
    url = f"http://127.0.0.1:{port}/healthz"
    reason = ""
    for pause in HEALTH_BACKOFF_S:
        time.sleep(pause)
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                body = answer.read().decode()
                match = re.search(r'"status"\s*:\s*"(\w+)"', body)
                if answer.status == 200 and match:
                    return match.group(1)
                reason = f"answered {answer.status}"
        except (urllib.error.URLError, OSError) as err:
            reason = str(err)
    raise Failed(f"{url} did not answer after {len(HEALTH_BACKOFF_S)} tries ({reason})")


def activate(paths: Paths, release: Path, units: list[str], start: bool) -> None:
    """Switch to ``release``; on any failure put back the previous code and database."""
    old = paths.current.resolve() if paths.current.is_symlink() else None
    live = systemd_running(paths)
    database = paths.data / "locker.db"
    env = service_env()
    copy: Path | None = None
    if old is not None and database.exists():
        say(f"upgrade from {old.name}: taking a backup first")
        out = run(locker(paths, old, "backup"), what="backup before the upgrade", env=env)
        copy = Path(out.split("backup written: ", 1)[1].split(" (", 1)[0])
        say(f"backup: {copy}")
    was_running = live and _active(paths)
    if was_running:
        say("stopping locker.service")
        systemctl(paths, "stop", "locker.service")
    point(paths.current, release)
    if old is not None:
        point(paths.previous, old)
    write_command(paths)
    try:
        say("migrating the database")
        run(locker(paths, release, "db", "upgrade"), what="the database migration", env=env)
        say("checking the configuration as the service will")
        run(locker(paths, release, "config", "check"), what="config check", env=env)
        if live:
            systemctl(paths, "daemon-reload")
        systemctl(paths, "enable", *[u for u in units if u != "locker-backup.service"])
        if live and (start or was_running):
            say("starting locker.service")
            systemctl(paths, "restart", "locker.service")
            say(f"/healthz: {healthy(paths)}")
            if KIOSK_UNIT in units:
                systemctl(paths, "restart", KIOSK_UNIT)
        elif not live:
            say("systemd is not running here: units enabled, nothing started")
    except Failed as err:
        say(f"FAILED: {err}")
        rollback(paths, old, copy, was_running or (live and start))
        raise Failed(f"{err}; rolled back to {old.name if old else 'nothing'}") from None


def _active(paths: Paths) -> bool:
    return (
        subprocess.run(
            ["systemctl", "is-active", "--quiet", "locker.service"], check=False
        ).returncode
        == 0
    )


def rollback(paths: Paths, old: Path | None, copy: Path | None, restart: bool) -> None:
    live = systemd_running(paths)
    if live:
        subprocess.run(["systemctl", "stop", "locker.service"], check=False)
    if old is None:
        say("rollback: there was no previous release; the new one stays, not started")
        return
    point(paths.current, old)
    say(f"rollback: the code is {old.name} again")
    if copy is not None:
        run(
            locker(paths, old, "restore", str(copy)),
            what="restoring the database",
            env=service_env(),
        )
        say(f"rollback: the database is the copy taken before the upgrade ({copy.name})")
    if live and restart:
        systemctl(paths, "restart", "locker.service")
        say(
            f"rollback: locker.service runs the previous release again (/healthz: {healthy(paths)})"
        )


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev install", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosk", action="store_true", help="also set up the touchscreen kiosk")
    parser.add_argument("--root", type=Path, default=Path("/"), help="install under this root")
    parser.add_argument("--wheel", type=Path, help="install this wheel instead of building one")
    parser.add_argument(
        "--wheelhouse",
        type=Path,
        help="take every package from this directory (made by `pip wheel -w DIR .`), not the index",
    )
    parser.add_argument("--no-start", action="store_true", help="install and enable, do not start")
    args = parser.parse_args(argv)
    os.umask(0o027)  # the database and the config are nobody else's business
    paths = Paths(args.root.resolve())
    if paths.live and os.geteuid() != 0:
        print(
            "./dev install installs onto this machine: run it as root (sudo ./dev install)",
            file=sys.stderr,
        )
        return 2
    try:
        ensure_users(paths, args.kiosk)
        write_config(paths)
        make_data_dir(paths)
        release = build_release(
            paths,
            args.wheel.resolve() if args.wheel else None,
            args.wheelhouse.resolve() if args.wheelhouse else None,
        )
        write_offline_page(paths, release)
        units = write_units(paths, args.kiosk)
        activate(paths, release, units, start=not args.no_start)
        prune_releases(paths)
    except Failed as err:
        say(f"the install did not complete: {err}")
        return 1
    say(f"installed {release.name}: {paths.bin} runs {paths.current}/bin/locker")
    say(f"next: edit {paths.etc}/layout.toml and {paths.config}, then: locker doctor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
