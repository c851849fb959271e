"""The ``locker`` command line: administration, technician tools, the demo and the server.

Exit codes: 0 success, 1 the action failed (message on stderr), 2 usage or configuration
error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from locker import audit, migrate
from locker.clock import SystemClock
from locker.config import ConfigError, Settings, load_settings
from locker.core import Core
from locker.db import make_engine, reading
from locker.errors import DomainError
from locker.services import accounts, staff

Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config or os.environ.get("LOCKER_CONFIG")
    return load_settings(Path(path) if path else None)


def _source(args: argparse.Namespace) -> str:
    """The config file as messages name it."""
    return str(args.config or os.environ.get("LOCKER_CONFIG") or "(no config file)")


def _core(args: argparse.Namespace) -> Core:
    settings = _settings(args)
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.database.busy_timeout_ms)
    if not migrate.is_current(engine):
        raise DomainError("The database is not up to date; run: locker db upgrade")
    return Core(engine, SystemClock(), settings)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.database.busy_timeout_ms)
    before = migrate.current_revision(engine)
    after = migrate.upgrade(engine)
    print(f"database at revision {after}" + (" (already up to date)" if before == after else ""))
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise DomainError("The two passwords differ; nothing was changed.")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    core = _core(args)
    roles = accounts.parse_roles(args.role)
    accounts.add_user(core, args.name, _read_password(args), roles, actor="cli")
    print(f"user {args.name} added with roles {', '.join(sorted(roles))}")
    return 0


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment else "-"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def cmd_user_list(args: argparse.Namespace) -> int:
    views = staff.list_staff(_core(args))
    _table(
        ("user", "roles", "state", "last sign-in", "sessions"),
        [
            (
                v.username,
                ",".join(v.roles),
                "disabled" if v.disabled else "enabled",
                _when(v.last_signed_in_at),
                str(v.sessions),
            )
            for v in views
        ],
    )
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    staff.set_disabled(_core(args), args.name, not args.enable, actor="cli")
    what = "enabled" if args.enable else "disabled; its sessions have ended"
    print(f"user {args.name} {what}")
    return 0


def cmd_user_delete(args: argparse.Namespace) -> int:
    staff.delete_user(_core(args), args.name, actor="cli")
    print(f"user {args.name} deleted")
    return 0


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    core = _core(args)
    given = None if args.generate else _read_password(args)
    new = staff.reset_password(core, args.name, actor="cli", password=given)
    if args.generate:
        print(new)
    print(f"new password set for {args.name}; its sessions have ended", file=sys.stderr)
    return 0


def cmd_apikey_list(args: argparse.Namespace) -> int:
    views = staff.list_keys(_core(args))
    _table(
        ("key", "roles", "created", "last used", "revoked"),
        [
            (
                v.name,
                ",".join(v.roles),
                _when(v.created_at),
                _when(v.last_used_at),
                _when(v.revoked_at),
            )
            for v in views
        ],
    )
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    staff.revoke_key(_core(args), args.name, actor="cli")
    print(f"API key {args.name} revoked")
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    core = _core(args)
    roles = accounts.parse_roles(args.role)
    key = accounts.create_api_key(core, args.name, roles, actor="cli")
    print(key)
    print(
        f"(API key {args.name!r} with roles {', '.join(sorted(roles))}; shown only now)",
        file=sys.stderr,
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    core = _core(args)
    with reading(core.engine) as session:
        report = audit.verify_chain(session)
    if report.ok:
        print(f"audit chain intact: {report.checked} events")
        return 0
    print(
        f"audit chain broken at event {report.broken_at}: {report.reason}"
        f" ({report.checked} events before it are intact)",
        file=sys.stderr,
    )
    return 1


def cmd_config_check(args: argparse.Namespace) -> int:
    """The same checks as ``locker serve`` (the layout file read and checked too)."""
    from runtime.preflight import check_serving  # noqa: PLC0415 - reads the layout

    settings = _settings(args)
    layout = check_serving(settings, _source(args))
    for warning in settings.deprecations:
        print(f"warning: {warning}")
    print(
        f"configuration is valid (bank {settings.locker.bank_id},"
        f" {len(layout.compartments)} compartments in {layout.source},"
        f" database {settings.database_url.split(':')[0]})"
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from runtime import backup  # noqa: PLC0415

    settings = _settings(args)
    path = backup.take(settings, args.to, args.keep)
    check = backup.inspect(path)
    print(f"backup written: {path} ({check.events} audit events, integrity {check.integrity})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from runtime import backup  # noqa: PLC0415

    settings = _settings(args)
    kept, check = backup.restore(settings, args.file)
    print(
        f"restored {args.file}: integrity ok, audit chain intact ({check.events} events);"
        f" the database it replaced is kept as {kept}"
    )
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from runtime import doctor  # noqa: PLC0415 - reads the boards and the gateways

    path = args.doctor_config or args.config or os.environ.get("LOCKER_CONFIG")
    return doctor.run(Path(path) if path else None)


def cmd_config_reference(args: argparse.Namespace) -> int:
    from locker.config_reference import reference_markdown  # noqa: PLC0415 - rarely used

    print(reference_markdown(), end="")
    return 0


def cmd_stats_export(args: argparse.Namespace) -> int:
    """``csv``: the open-data file (complete months, small counts suppressed); ``json``: the
    statistics report of ``GET /api/v1/statistics`` for the period asked."""
    from datetime import date, timedelta  # noqa: PLC0415 - rarely used

    from locker import open_data, statistics  # noqa: PLC0415

    core = _core(args)
    if args.format == "csv":
        sys.stdout.write(open_data.pickups_csv(core))
        return 0
    today = statistics.Calendar(core).local(core.clock.now()).date()
    last = date.fromisoformat(args.to) if args.to else today
    first = date.fromisoformat(args.from_) if args.from_ else last - timedelta(days=29)
    report = statistics.report(core, first, last, args.granularity)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def _account_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``locker user …`` and ``locker apikey …``."""
    user = commands.add_parser("user", help="staff accounts").add_subparsers(
        dest="user", required=True
    )
    add = user.add_parser("add", help="create a staff account (asks for the password)")
    add.add_argument("name")
    add.add_argument(
        "--role", action="append", required=True, choices=["clerk", "technician", "admin"]
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (for scripts)",
    )
    add.set_defaults(func=cmd_user_add)
    user.add_parser("list", help="every staff account, its roles and last sign-in").set_defaults(
        func=cmd_user_list
    )
    disable = user.add_parser("disable", help="disable an account (its sessions end at once)")
    disable.add_argument("name")
    disable.add_argument("--enable", action="store_true", help="enable it again instead")
    disable.set_defaults(func=cmd_user_disable)
    remove = user.add_parser("delete", help="delete an account")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_user_delete)
    reset = user.add_parser(
        "reset-password", help="set a new password (asks for it); the account's sessions end"
    )
    reset.add_argument("name")
    reset.add_argument(
        "--generate", action="store_true", help="make a random password and print it once"
    )
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the new password from standard input"
    )
    reset.set_defaults(func=cmd_user_reset_password)

    apikey = commands.add_parser("apikey", help="back-office API keys").add_subparsers(
        dest="apikey", required=True
    )
    create = apikey.add_parser("create", help="print a new API key once")
    create.add_argument("name")
    create.add_argument(
        "--role", action="append", required=True, choices=["clerk", "technician", "admin"]
    )
    create.set_defaults(func=cmd_apikey_create)
    apikey.add_parser("list", help="every key, its roles and last use").set_defaults(
        func=cmd_apikey_list
    )
    revoke = apikey.add_parser("revoke", help="revoke a key (refused from its next request on)")
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_apikey_revoke)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locker", description="Controller for municipal document pickup lockers."
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML settings file (default: $LOCKER_CONFIG, else built-in defaults)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply migrations (safe to repeat)").set_defaults(
        func=cmd_db_upgrade
    )

    _account_commands(commands)

    audit_cmd = commands.add_parser("audit", help="audit log").add_subparsers(
        dest="audit", required=True
    )
    audit_cmd.add_parser(
        "verify", help="check the hash chain; name the first broken link"
    ).set_defaults(func=cmd_audit_verify)
    config = commands.add_parser("config", help="settings").add_subparsers(
        dest="config_command", required=True
    )
    config.add_parser("check", help="validate the settings; name every mistake").set_defaults(
        func=cmd_config_check
    )
    config.add_parser("reference", help="print docs/configuration.md (every setting)").set_defaults(
        func=cmd_config_reference
    )
    backup = commands.add_parser(
        "backup", help="copy the database while the controller runs (no secret key in it)"
    )
    backup.add_argument("--to", type=Path, metavar="DIR", help="default: backup.dir")
    backup.add_argument("--keep", type=int, metavar="N", help="newest copies kept (backup.keep)")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser(
        "restore", help="put a backup back (controller stopped; integrity and audit chain checked)"
    )
    restore.add_argument("file", type=Path)
    restore.set_defaults(func=cmd_restore)
    doctor = commands.add_parser(
        "doctor", help="check config, layout, boards, database, gateways, clock, disk, backups"
    )
    doctor.add_argument("--config", dest="doctor_config", metavar="FILE", help="settings file")
    doctor.set_defaults(func=cmd_doctor)
    stats = commands.add_parser("stats", help="pickup statistics").add_subparsers(
        dest="stats", required=True
    )
    export = stats.add_parser(
        "export", help="print the open-data CSV, or the statistics report as JSON"
    )
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--from", dest="from_", metavar="YYYY-MM-DD", help="json: first day")
    export.add_argument("--to", metavar="YYYY-MM-DD", help="json: last day (included)")
    export.add_argument("--granularity", choices=["day", "week", "month"], default="month")
    export.set_defaults(func=cmd_stats_export)
    for register in _command_groups(argv):
        register(commands)
    return parser


LAZY_GROUPS = {
    "sim": ("simulator.cli", "the simulated world: virtual boards, a whole world, scenarios"),
    "bench": ("benchmarks.cli", "run the benchmarks on the simulator and print the figures"),
    "fleet": ("fleet.cli", "the city's fleet: the centre (MQTT, PostgreSQL) and simulated boxes"),
}
"""Command groups of the development tools: their modules are imported only when invoked, so
the production commands never load the simulator or the benchmarks."""

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _command_groups(argv: Sequence[str] | None) -> list[Register]:
    """The ``register`` functions of the command groups that live with their adapters."""
    from hardware import cli as hardware_cli  # noqa: PLC0415 - light: no board is touched
    from kiosk import commands  # noqa: PLC0415 - light: the web stack loads when serving

    wanted = _invoked(sys.argv[1:] if argv is None else argv)
    found: list[Register] = [hardware_cli.register, commands.register]
    for name, (module, help_text) in LAZY_GROUPS.items():
        if name == wanted:
            found.append(_load_group(name, module, help_text))
        else:
            found.append(_stub(name, help_text))
    return found


def _invoked(argv: Sequence[str]) -> str | None:
    """The command named on the command line (the first word that is not an option)."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _load_group(name: str, module: str, help_text: str) -> Register:
    try:
        imported = __import__(module, fromlist=["register"])
    except ModuleNotFoundError as err:
        if err.name is None or not module.startswith(err.name):
            raise
        return _stub(name, help_text, missing=True)
    register: Register = imported.register
    return register


def _stub(name: str, help_text: str, *, missing: bool = False) -> Register:
    """A group listed in ``--help`` whose module is not loaded (or not installed)."""

    def unavailable(args: argparse.Namespace) -> int:
        print(
            f"locker {name}: this comes with a development checkout (./dev setup), not with"
            " the installed appliance",
            file=sys.stderr,
        )
        return 2

    def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        stub = subparsers.add_parser(name, help=help_text, add_help=not missing)
        stub.set_defaults(func=unavailable)

    return register


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    handler: Handler = args.func
    try:
        return handler(args)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    except DomainError as err:
        field = getattr(err, "field", None)
        print(f"error: {field + ': ' if field else ''}{err.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
