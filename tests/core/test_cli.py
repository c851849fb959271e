"""The administrator's command line: ``main`` of the ``locker`` console script, run in this
process with its own environment, standard input and output (one test runs the installed script
itself, so the entry point is proven too; a process per command cost 2–3 s of imports each)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

from kiosk.cli import main
from locker import migrate
from locker.clock import SystemClock
from locker.config import load_settings
from locker.core import Core
from locker.db import make_engine
from locker.errors import AuthenticationFailed
from locker.services import accounts
from simulator.board_layouts import board_layout_toml

LOCKER = str(Path(sys.executable).with_name("locker"))
SECRET = "x" * 48


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOCKER_")}
    return (
        environ
        | {"LOCKER_LOCKER__SECRET_KEY": SECRET, "LOCKER_LOCKER__DATA_DIR": str(tmp_path)}
        | env
    )


def run(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> Result:
    """``locker ARGS`` as a shell would run it: exit status, standard output and error."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, environment(tmp_path, **env), clear=True),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code if isinstance(exit.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


def test_help_lists_the_commands(tmp_path):
    result = subprocess.run(
        [LOCKER, "--help"],
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    for command in ("db", "user", "apikey", "audit", "config", "serve", "demo", "hw", "sim"):
        assert command in result.stdout


def test_db_upgrade_is_idempotent(tmp_path):
    first = run(tmp_path, "db", "upgrade")
    assert first.returncode == 0 and f"revision {migrate.head_revision()}" in first.stdout
    again = run(tmp_path, "db", "upgrade")
    assert again.returncode == 0 and "already up to date" in again.stdout


def test_commands_refuse_an_old_database(tmp_path):
    result = run(tmp_path, "audit", "verify")
    assert result.returncode == 1 and "locker db upgrade" in result.stderr


def test_user_and_api_key(tmp_path):
    run(tmp_path, "db", "upgrade")
    added = run(
        tmp_path,
        "user",
        "add",
        "anna",
        "--role",
        "clerk",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    twice = run(
        tmp_path,
        "user",
        "add",
        "anna",
        "--role",
        "clerk",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert twice.returncode == 1 and "exists already" in twice.stderr
    short = run(
        tmp_path, "user", "add", "ben", "--role", "admin", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 1 and "password" in short.stderr
    bad_role = run(tmp_path, "user", "add", "cem", "--role", "boss", "--password-stdin")
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr

    created = run(tmp_path, "apikey", "create", "office", "--role", "clerk", "--role", "admin")
    assert created.returncode == 0
    key = created.stdout.strip()
    assert key.startswith("lk_") and "shown only now" in created.stderr
    settings = load_settings(
        environ={"LOCKER_LOCKER__SECRET_KEY": SECRET, "LOCKER_LOCKER__DATA_DIR": str(tmp_path)}
    )
    core = Core(make_engine(settings.database_url), SystemClock(), settings)
    principal = accounts.authenticate_key(core, key)
    assert principal.roles == {"clerk", "admin"}
    user = accounts.sign_in(core, "anna", "a long enough password")
    assert user.roles == {"clerk"}


def test_audit_verify_after_activity(tmp_path):
    run(tmp_path, "db", "upgrade")
    run(tmp_path, "apikey", "create", "office", "--role", "clerk")
    result = run(tmp_path, "audit", "verify")
    assert result.returncode == 0 and "intact: 1 events" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOCKER_LOCKER__SECRET_KEY": "short"}, "locker.secret_key"),
        ({"LOCKER_POLICY__PICKUP_DAYZ": "3"}, "did you mean 'pickup_days'"),
    ],
)
def test_configuration_errors_exit_2_and_name_the_key(tmp_path, env, message):
    result = run(tmp_path, "db", "upgrade", **env)
    assert result.returncode == 2 and message in result.stderr


def test_config_check(tmp_path):
    config = tmp_path / "locker.toml"
    layout = tmp_path / "layout.toml"
    layout.write_text(board_layout_toml("/dev/locker-bus", ["S", "M"]))
    config.write_text(
        f'[policy]\npickup_days = 7\n[hardware]\nbackend = "layout"\nlayout = "{layout}"\n'
    )
    assert run(tmp_path, "--config", str(config), "config", "check").returncode == 0
    with config.open("a") as old:  # a setting removed in an upgrade: a warning, no refusal
        old.write("[security]\nbank_failures_per_hour = 30\n")
    result = run(tmp_path, "--config", str(config), "config", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"warning: {config}: [security] bank_failures_per_hour is deprecated and ignored"
    )
    assert "configuration is valid" in result.stdout
    config.write_text('[policy]\npickup_days = "a week"\n')
    result = run(tmp_path, "--config", str(config), "config", "check")
    assert result.returncode == 2 and f"policy.pickup_days in {config}" in result.stderr


def test_accounts_and_keys_are_listed_disabled_reset_and_revoked(tmp_path):
    run(tmp_path, "db", "upgrade")
    for name, role in (("anna", "clerk"), ("boss", "admin")):
        run(
            tmp_path, "user", "add", name, "--role", role, "--password-stdin", stdin="a long one!\n"
        )
    key = run(tmp_path, "apikey", "create", "office", "--role", "clerk").stdout.strip()
    settings = load_settings(
        environ={"LOCKER_LOCKER__SECRET_KEY": SECRET, "LOCKER_LOCKER__DATA_DIR": str(tmp_path)}
    )
    core = Core(make_engine(settings.database_url), SystemClock(), settings)
    accounts.sign_in(core, "anna", "a long one!")
    accounts.authenticate_key(core, key)

    listed = run(tmp_path, "user", "list")
    assert listed.returncode == 0, listed.stderr
    anna = next(line for line in listed.stdout.splitlines() if line.startswith("anna"))
    assert anna.split()[:3] == ["anna", "clerk", "enabled"] and anna.split()[3] != "-"
    assert run(tmp_path, "user", "disable", "anna").returncode == 0
    assert "disabled" in run(tmp_path, "user", "list").stdout
    with pytest.raises(AuthenticationFailed):
        accounts.sign_in(core, "anna", "a long one!")
    last_admin = run(tmp_path, "user", "disable", "boss")
    assert last_admin.returncode == 1 and "last enabled admin" in last_admin.stderr
    assert run(tmp_path, "user", "disable", "anna", "--enable").returncode == 0

    reset = run(tmp_path, "user", "reset-password", "anna", "--generate")
    assert reset.returncode == 0, reset.stderr
    new = reset.stdout.strip()
    assert accounts.sign_in(core, "anna", new).name == "user:anna"
    with pytest.raises(AuthenticationFailed):
        accounts.sign_in(core, "anna", "a long one!")
    typed = run(
        tmp_path, "user", "reset-password", "anna", "--password-stdin", stdin="typed one!!\n"
    )
    assert typed.returncode == 0 and accounts.sign_in(core, "anna", "typed one!!")
    assert run(tmp_path, "user", "reset-password", "nobody", "--generate").returncode == 1

    keys = run(tmp_path, "apikey", "list")
    office = next(line for line in keys.stdout.splitlines() if line.startswith("office"))
    assert office.split()[-1] == "-"  # not revoked
    assert key not in keys.stdout
    assert run(tmp_path, "apikey", "revoke", "office").returncode == 0
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate_key(core, key)
    again = run(tmp_path, "apikey", "revoke", "office")
    assert again.returncode == 1 and "revoked already" in again.stderr
