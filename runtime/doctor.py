"""``locker doctor``: every thing a box depends on, checked, one line each with what to do.

Each check answers ``pass``, ``warn`` (works, but look at it) or ``fail`` (a citizen or a clerk
will notice), with a hint. The configuration is loaded exactly as ``locker serve`` loads it
(:mod:`runtime.preflight`); when it cannot be loaded the checks that need it are not run.
The exit status is 1 when any check failed.

The boards are asked directly over the serial port when the controller is stopped; while it
runs it owns the port (exclusively), so its ``/healthz`` is asked instead.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hardware.layout import GpioPlace, Layout, SerialPlace
from locker import audit, migrate
from locker.config import ConfigError, Settings, load_settings
from locker.db import make_engine, reading
from runtime import backup, instance
from runtime.preflight import serving_problems

PASS, WARN, FAIL = "pass", "warn", "fail"
MIN_FREE_BYTES = 500 * 1024 * 1024
LOW_FREE_SHARE = 0.10


@dataclass(frozen=True)
class Result:
    check: str
    status: str
    message: str
    hint: str = ""

    def line(self) -> str:
        hint = f" (hint: {self.hint})" if self.hint and self.status != PASS else ""
        return f"{self.status:<4}  {self.check:<12} {self.message}{hint}"


def examine(config: Path | None) -> Iterator[Result]:
    """Every check's result, in order."""
    source = str(config or "(no config file)")
    try:
        settings = load_settings(config)
    except ConfigError as err:
        yield Result("config", FAIL, "; ".join(err.problems), "fix it, then: locker config check")
        return
    yield Result("config", PASS, f"{source} loads as locker serve loads it")
    layout, problems = serving_problems(settings, source)
    layout_problems = [p for p in problems if p.startswith("hardware.layout")]
    other = [p for p in problems if p not in layout_problems]
    if other:
        yield Result("config", FAIL, "; ".join(other), "locker config check names each")
    if layout is None:
        message = "; ".join(layout_problems) or "no layout file (hardware.layout)"
        yield Result("layout", FAIL, message, "docs/hardware.md; locker layout check FILE")
    else:
        yield Result("layout", PASS, f"{len(layout.compartments)} compartments in {layout.source}")
        yield from boards(settings, layout)
        yield gpio(settings, layout)
    yield from database(settings)
    yield from gateways(settings)
    yield clock()
    yield disk(settings)
    yield last_backup(settings)
    yield from permissions(config, settings)


def run(config: Path | None, out: Callable[[str], None] = print) -> int:
    failed = False
    for result in examine(config):
        out(result.line())
        failed = failed or result.status == FAIL
    return 1 if failed else 0


# ------------------------------------------------------------------ hardware


def boards(settings: Settings, layout: Layout) -> Iterator[Result]:
    serial = {c.place.bus: c for c in layout.compartments if isinstance(c.place, SerialPlace)}
    if not serial:
        return
    running = instance.holder(settings.locker.data_dir)
    if running is not None:
        yield from _boards_from_health(settings, layout)
        return
    from firmware_bridge.bus import Bus  # noqa: PLC0415 - only when boards are asked

    for name, bus in layout.buses.items():
        if "://" not in bus.port and not Path(bus.port).exists():
            yield Result(
                "serial port",
                FAIL,
                f"bus {name}: {bus.port} does not exist",
                "plug in the RS-485 adapter; its udev rule: locker hw identify",
            )
            continue
        with Bus(bus.port, bus.protocol, bus.boards, bus.baud, bus.timing) as owner:
            try:
                owner.open()
            except Exception as err:  # the reason is the message
                yield Result(
                    "serial port", FAIL, f"bus {name}: {err}", "is another program using it?"
                )
                continue
            yield Result("serial port", PASS, f"bus {name}: {bus.port} opens")
            for address, state in sorted(owner.sweep().items()):
                if isinstance(state, Exception):
                    yield Result(
                        "board",
                        FAIL,
                        f"bus {name} board {address} does not answer ({state})",
                        "power, wiring (A/B, termination), address switches; locker hw status",
                    )
                else:
                    yield Result("board", PASS, f"bus {name} board {address} answers")


def _boards_from_health(settings: Settings, layout: Layout) -> Iterator[Result]:
    try:
        health = _healthz(settings)
    except (urllib.error.URLError, OSError, ValueError) as err:
        yield Result(
            "board",
            FAIL,
            f"the running controller does not answer ({err})",
            "systemctl status locker; journalctl -u locker",
        )
        return
    listed = health.get("compartments_offline", [])
    offline = set(listed) if isinstance(listed, list) else set()
    places = {c.label: c.place for c in layout.compartments if isinstance(c.place, SerialPlace)}
    silent = sorted({(p.bus, p.board) for label, p in places.items() if label in offline})
    every = sorted({(p.bus, p.board) for p in places.values()})
    for bus, board in every:
        if (bus, board) in silent:
            yield Result(
                "board",
                FAIL,
                f"bus {bus} board {board} is offline (says the controller)",
                "power, wiring (A/B, termination), address switches",
            )
        else:
            yield Result("board", PASS, f"bus {bus} board {board} answers (says the controller)")


def _healthz(settings: Settings) -> dict[str, object]:
    url = f"http://127.0.0.1:{settings.kiosk.port}/healthz"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return dict(json.loads(answer.read()))


def gpio(settings: Settings, layout: Layout) -> Result:
    if not any(isinstance(c.place, GpioPlace) for c in layout.compartments):
        return Result("gpio", PASS, "no GPIO compartments")
    if settings.hardware.pin_factory == "mock":
        return Result("gpio", WARN, "mock pins (hardware.pin_factory = 'mock'): no real locks")
    chips = sorted(Path("/dev").glob("gpiochip*"))
    if not chips:
        return Result("gpio", FAIL, "no /dev/gpiochip*", "a Raspberry Pi with its GPIO enabled")
    unreadable = [c for c in chips if not os.access(c, os.R_OK | os.W_OK)]
    if unreadable:
        return Result(
            "gpio",
            WARN,
            f"{unreadable[0]} is not usable by this user",
            "run as the locker user (member of gpio)",
        )
    return Result("gpio", PASS, f"{', '.join(str(c) for c in chips)}")


# ------------------------------------------------------------------ data


def database(settings: Settings) -> Iterator[Result]:
    try:
        path = backup.database_file(settings)
    except backup.BackupError:
        path = None
    if path is not None:
        if not path.exists():
            yield Result("database", FAIL, f"{path} does not exist", "locker db upgrade")
            return
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as raw:
            try:
                integrity = str(raw.execute("PRAGMA quick_check").fetchone()[0])
            except sqlite3.DatabaseError as err:
                integrity = str(err)
        if integrity != "ok":
            yield Result("database", FAIL, f"{path}: {integrity}", "restore the newest backup")
            return
    engine = make_engine(settings.database_url)
    try:
        current = migrate.current_revision(engine)
        if current != migrate.head_revision():
            yield Result(
                "database",
                FAIL,
                f"schema at {current}, this code needs {migrate.head_revision()}",
                "locker db upgrade",
            )
            return
        yield Result("database", PASS, f"intact, schema current ({current})")
        with reading(engine) as session:
            report = audit.verify_chain(session)
    finally:
        engine.dispose()
    if report.ok:
        yield Result("audit chain", PASS, f"intact ({report.checked} events)")
    else:
        yield Result(
            "audit chain",
            FAIL,
            f"broken at event {report.broken_at}: {report.reason}",
            "keep this database for inspection; report it",
        )


# ------------------------------------------------------------------ gateways


def gateways(settings: Settings) -> Iterator[Result]:
    if not settings.sms.enabled and not settings.email.enabled:
        yield Result(
            "messages",
            WARN,
            "neither SMS nor e-mail is enabled: nobody gets a code",
            "[sms] or [email] in the config",
        )
    if settings.sms.enabled:
        yield sms(settings)
    if settings.email.enabled:
        yield smtp(settings)


def sms(settings: Settings) -> Result:
    """An authenticated request that sends nothing: fetch a message that does not exist."""
    from twilio.base.exceptions import TwilioException, TwilioRestException  # noqa: PLC0415

    from notify.sms import make_client  # noqa: PLC0415

    client = make_client(settings.sms)
    try:
        client.messages("SM" + "0" * 32).fetch()
    except TwilioRestException as err:
        if err.status == 404:
            return Result("sms", PASS, "the gateway accepts the credentials")
        if err.status in (401, 403):
            return Result(
                "sms",
                FAIL,
                f"the gateway refuses the credentials ({err.code})",
                "sms.account_sid, auth_token or api_key_sid/secret",
            )
        return Result("sms", FAIL, f"the gateway answers {err.status}", "status.twilio.com")
    except (TwilioException, OSError) as err:
        return Result(
            "sms",
            FAIL,
            f"the gateway cannot be reached ({type(err).__name__})",
            "network, DNS, firewall; sms.api_base_url",
        )
    return Result("sms", PASS, "the gateway accepts the credentials")


def smtp(settings: Settings) -> Result:
    import smtplib  # noqa: PLC0415

    from notify.mail import connect  # noqa: PLC0415

    cfg = settings.email
    try:
        session = connect(cfg)
    except smtplib.SMTPAuthenticationError:
        return Result(
            "smtp",
            FAIL,
            f"{cfg.host}:{cfg.port} refuses the login",
            "email.username and email.password",
        )
    except (smtplib.SMTPException, OSError) as err:
        return Result(
            "smtp",
            FAIL,
            f"{cfg.host}:{cfg.port} cannot be reached ({err})",
            "email.host, email.port, email.security; is the server up?",
        )
    try:
        session.noop()
        session.quit()
    except (smtplib.SMTPException, OSError):
        session.close()
    login = "logged in" if cfg.username else "answers (no login configured)"
    return Result("smtp", PASS, f"{cfg.host}:{cfg.port} {login}")


# ------------------------------------------------------------------ the machine


def clock() -> Result:
    timedatectl = shutil.which("timedatectl")
    if timedatectl:
        done = subprocess.run(  # noqa: S603 - the system tool, fixed arguments
            [timedatectl, "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip() == "yes":
            return Result("clock", PASS, "synchronised (NTP)")
        if done.returncode == 0:
            return Result(
                "clock",
                FAIL,
                "not synchronised: expiry and the audit log need it",
                "systemd-timesyncd or chrony with the city's NTP servers",
            )
    if Path("/run/systemd/timesync/synchronized").exists():
        return Result("clock", PASS, "synchronised (systemd-timesyncd)")
    return Result(
        "clock",
        WARN,
        "cannot tell whether the clock is synchronised",
        "timedatectl (systemd) or chronyc tracking",
    )


def disk(settings: Settings) -> Result:
    directory = settings.locker.data_dir
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    usage = shutil.disk_usage(directory)
    free = f"{usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB"
    if usage.free < MIN_FREE_BYTES:
        return Result("disk", FAIL, free, "free space: old backups, journalctl --vacuum-size")
    if usage.free < usage.total * LOW_FREE_SHARE:
        return Result("disk", WARN, free, "free space soon")
    return Result("disk", PASS, free)


def last_backup(settings: Settings) -> Result:
    copies = backup.backups(backup.backup_dir(settings))
    if not copies:
        return Result(
            "backup",
            WARN,
            "no backup yet",
            "locker backup; systemctl enable --now locker-backup.timer",
        )
    newest = copies[-1]
    age_h = (datetime.now(UTC).timestamp() - newest.stat().st_mtime) / 3600
    message = f"newest {newest.name}, {age_h:.0f} h old"
    if age_h > settings.backup.max_age_hours:
        return Result("backup", WARN, message, "systemctl status locker-backup.timer")
    return Result("backup", PASS, message)


def permissions(config: Path | None, settings: Settings) -> Iterator[Result]:
    wrong = []
    if config is not None and config.exists():
        mode = stat.S_IMODE(config.stat().st_mode)
        if mode & 0o007 or mode & 0o020:
            wrong.append(
                f"{config} is mode {mode:04o} (holds the secret key; want 0640 root:locker)"
            )
    data = settings.locker.data_dir
    if data.exists():
        mode = stat.S_IMODE(data.stat().st_mode)
        if mode & 0o007:
            wrong.append(f"{data} is mode {mode:04o} (personal data; want 0750)")
        for name in ("locker.db", "locker.db-wal"):
            path = data / name
            if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o007:
                wrong.append(f"{path} is readable by everyone")
    if wrong:
        yield Result("permissions", FAIL, "; ".join(wrong), "chmod 0640 the config, 0750 the data")
    else:
        yield Result("permissions", PASS, "config and data are not readable by others")
