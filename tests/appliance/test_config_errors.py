"""Every configuration problem is one message naming the file and the key, exit status 2
(issue 11, finding 10); ``config check`` is exactly as strict as ``serve``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kiosk.cli import main
from simulator.board_layouts import board_layout_toml

from .conftest import DEV_LOCKER, clean_environ

SECRET = "s" * 48


def locker_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script in its own process (what a technician sees)."""
    command = [str(DEV_LOCKER), *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=clean_environ(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def locker(monkeypatch, capsys):
    """``locker ARGS`` in this process (fast); an exception escaping ``main`` fails the test."""
    for name in list(os.environ):
        if name.startswith("LOCKER_"):
            monkeypatch.delenv(name)

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        monkeypatch.chdir(cwd)
        status = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, out, err)

    return run


def config(tmp_path: Path, layout: str | None = "layout.toml", **extra: str) -> Path:
    lines = [f'[locker]\nsecret_key = "{SECRET}"\ndata_dir = "{tmp_path}"', "[hardware]"]
    if layout is not None:
        lines.append(f'backend = "layout"\nlayout = "{tmp_path / layout}"')
    lines += [f"{key} = {value}" for key, value in extra.items()]
    path = tmp_path / "locker.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def one_clear_message(result: subprocess.CompletedProcess[str], *names: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    for name in names:
        assert name in result.stderr, (name, result.stderr)


def test_config_check_passes_a_good_production_config(locker, tmp_path):
    (tmp_path / "layout.toml").write_text(board_layout_toml("/dev/locker-bus", ["S", "M"]))
    result = locker("--config", str(config(tmp_path)), "config", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout and "2 compartments" in result.stdout


def test_config_check_reads_the_layout_and_names_its_syntax_error(locker, tmp_path):
    (tmp_path / "layout.toml").write_text("[bank\nname = 1\n")
    path = config(tmp_path)
    result = locker("--config", str(path), "config", "check", cwd=tmp_path)
    one_clear_message(result, f"hardware.layout in {path}", str(tmp_path / "layout.toml"), "TOML")


def test_config_check_refuses_a_missing_layout_file(locker, tmp_path):
    path = config(tmp_path, layout="nowhere.toml")
    result = locker("--config", str(path), "config", "check", cwd=tmp_path)
    one_clear_message(result, f"hardware.layout in {path}", "nowhere.toml", "cannot read")


def test_config_check_is_as_strict_as_serve(locker, tmp_path):
    path = config(tmp_path, layout=None)  # the simulator backend: only the demo runs it
    for command in (["config", "check"], ["serve"]):
        result = locker("--config", str(path), *command, cwd=tmp_path)
        one_clear_message(result, f"hardware.backend in {path}", "locker demo")


def test_a_config_with_a_byte_that_is_not_utf8(locker, tmp_path):
    path = tmp_path / "locker.toml"
    path.write_bytes(b'[locker]\nname = "B\xfcrgerb\xfcro"\n')  # Latin-1, as an old editor saves
    for command in (["config", "check"], ["db", "upgrade"]):
        result = locker("--config", str(path), *command, cwd=tmp_path)
        one_clear_message(result, str(path), "not UTF-8", "line 2")
    result = locker_process("--config", str(path), "serve", cwd=tmp_path)
    one_clear_message(result, str(path), "not UTF-8", "line 2")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[bank\n", "not valid TOML"),
        (b'[bank]\nname = "Rathaus K\xf6ln"\n', "not UTF-8 text: byte 0xf6 on line 2"),
        (b"[bank]\n", "a layout needs at least one [[compartment]]"),
    ],
)
def test_a_bad_layout_at_start_up_is_one_message(locker, tmp_path, content, expected):
    (tmp_path / "layout.toml").write_bytes(content)
    path = config(tmp_path)
    result = locker("--config", str(path), "serve", cwd=tmp_path)
    one_clear_message(result, f"hardware.layout in {path}", str(tmp_path / "layout.toml"), expected)


def test_a_bad_layout_in_the_demo_is_one_message(locker, tmp_path):
    (tmp_path / "layout.toml").write_bytes(b"[bank\n")
    path = tmp_path / "demo.toml"
    path.write_text(f'[hardware]\nlayout = "{tmp_path / "layout.toml"}"\n')
    result = locker("--config", str(path), "demo", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    one_clear_message(result, "hardware.layout in", str(tmp_path / "layout.toml"))


def test_tls_needs_a_certificate_that_loads(locker, tmp_path):
    (tmp_path / "layout.toml").write_text(board_layout_toml("/dev/locker-bus", ["S"]))
    (tmp_path / "cert.pem").write_text("not a certificate")
    path = config(tmp_path)
    path.write_text(
        path.read_text()
        + f'[kiosk]\ntls_certfile = "{tmp_path / "cert.pem"}"\ntls_keyfile = "{tmp_path / "k.pem"}"\n'
    )
    result = locker("--config", str(path), "config", "check", cwd=tmp_path)
    one_clear_message(result, f"kiosk.tls_certfile in {path}", "cert.pem")


def test_plain_http_stays_on_this_machine(locker, tmp_path):
    (tmp_path / "layout.toml").write_text(board_layout_toml("/dev/locker-bus", ["S"]))
    path = config(tmp_path)
    path.write_text(path.read_text() + '[kiosk]\nhost = "0.0.0.0"\n')
    result = locker("--config", str(path), "config", "check", cwd=tmp_path)
    one_clear_message(result, f"kiosk.host in {path}", "tls_certfile")


def test_hw_identify_prints_the_udev_rule_for_the_adapter(locker, tmp_path, monkeypatch):
    from serial.tools import list_ports, list_ports_common

    adapter = list_ports_common.ListPortInfo("/dev/ttyUSB0", skip_link_detection=True)
    adapter.vid, adapter.pid, adapter.serial_number = 0x0403, 0x6001, "A10K1234"
    adapter.description = "FT232R USB UART"
    plugged: list[list_ports_common.ListPortInfo] = []
    monkeypatch.setattr(list_ports, "comports", lambda: plugged)  # the USB bus: the physical world
    result = locker("hw", "identify", cwd=tmp_path)
    assert result.returncode == 1 and "no USB serial adapter" in result.stderr
    plugged.append(adapter)
    result = locker("hw", "identify", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == (
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001",'
        ' ATTRS{serial}=="A10K1234", SYMLINK+="locker-bus", GROUP="dialout", MODE="0660"'
    )


def test_the_config_named_by_locker_config(locker, tmp_path, monkeypatch):
    (tmp_path / "layout.toml").write_text(board_layout_toml("/dev/locker-bus", ["S"]))
    monkeypatch.setenv("LOCKER_CONFIG", str(config(tmp_path)))  # as locker.service sets it
    result = locker("config", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
