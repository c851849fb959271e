"""The appliance as a technician meets it: processes, files, sockets.

``boards``: ``locker sim boards`` in its own process (two virtual CU16 boards, 24 channels) linked
at a path a layout file names, as ``/dev/locker-bus`` names the RS-485 adapter on a box.
:class:`NotifySocket` is systemd's side of the notify protocol, and :func:`start_serve` runs
``locker serve`` from a given ``locker`` executable (the checkout's or an installed one).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from locker import migrate
from locker.config import Settings, load_settings
from locker.db import make_engine

DEV_LOCKER = Path(sys.executable).with_name("locker")
SECRET = "appliance-test-secret-" + "k" * 32
BOARDS, CHANNELS = 2, 12


class NotifySocket:
    """The systemd side: a datagram socket bound where NOTIFY_SOCKET points."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def messages(self) -> list[str]:
        """Every datagram received so far (without waiting)."""
        found = []
        self.sock.setblocking(False)
        try:
            while True:
                found.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return found

    def next(self, timeout: float = 30.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def wait_for(self, field: str, timeout: float = 60.0) -> list[str]:
        """Datagrams up to and including the first carrying ``field``."""
        seen = []
        while True:
            message = self.next(timeout)
            seen.append(message)
            if field in message.splitlines():
                return seen

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify.sock")
    yield listener
    listener.close()


def clean_environ(**extra: str) -> dict[str, str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LOCKER_", "NOTIFY_", "WATCHDOG_", "JOURNAL_"))
    }
    return environ | extra


@pytest.fixture
def boards(tmp_path: Path) -> Iterator[Path]:
    """Two virtual boards (24 compartments) in another process, linked at the returned path."""
    link = tmp_path / "locker-bus"
    process = subprocess.Popen(
        [
            str(DEV_LOCKER),
            "sim",
            "boards",
            "--link",
            str(link),
            "--boards",
            str(BOARDS),
            "--channels",
            str(CHANNELS),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_environ(),
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once the pty is linked
    assert "virtual cu16 boards" in line, line
    yield link
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)


def layout_toml(port: Path | str) -> str:
    """The layout of :func:`boards`: A01…A12 on board 0, B01…B12 on board 1."""
    sizes = "SSSSMMMMLLLL"
    parts = [
        '[bank]\nname = "appliance test"\nlock_fault_after_s = 5\n',
        f'[[bus]]\nname = "rs485"\nport = "{port}"\nprotocol = "cu16"\nbaud = 19200\n'
        "timeout_ms = 200\nretries = 2\npoll_ms = 150\n",
    ]
    for board in range(BOARDS):
        parts.append(f"[[bus.board]]\naddress = {board}\nchannels = 16\n")
    for board in range(BOARDS):
        for channel in range(CHANNELS):
            parts.append(
                f'[[compartment]]\nlabel = "{"AB"[board]}{channel + 1:02d}"\n'
                f'size = "{sizes[channel]}"\nrow = {channel % 4 + 1}\nbus = "rs485"\n'
                f"board = {board}\nchannel = {channel}\n"
            )
    return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(directory: Path, port: Path, **sections: dict[str, object]) -> Path:
    """A production config and its layout in ``directory``; data in ``directory/data``."""
    (directory / "layout.toml").write_text(layout_toml(port))
    values: dict[str, dict[str, object]] = {
        "locker": {"secret_key": SECRET, "data_dir": str(directory / "data")},
        "hardware": {"backend": "layout", "layout": str(directory / "layout.toml")},
        "kiosk": {"port": free_port()},
    }
    for name, section in sections.items():
        values.setdefault(name, {}).update(section)
    text = "".join(
        f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in section.items())
        for name, section in values.items()
    )
    path = directory / "locker.toml"
    path.write_text(text)
    return path


@dataclass
class Served:
    process: subprocess.Popen[str]
    base: str

    def health(self) -> dict[str, object]:
        answer = requests.get(self.base + "/healthz", timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def migrate_database(locker: Path, config: Path) -> Settings:
    """The database of ``config`` migrated, as the install does before the service starts: by
    an installed release's own ``locker db upgrade``; for the checkout's program in this process
    (the same code, one process start fewer). Variables do not count, as for the service."""
    if locker != DEV_LOCKER:
        command = [str(locker), "--config", str(config), "db", "upgrade"]
        subprocess.run(command, env=clean_environ(), check=True, capture_output=True, timeout=120)
        return load_settings(config, environ={})
    settings = load_settings(config, environ={})
    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return settings


def start_serve(
    locker: Path,
    config: Path,
    notify: NotifySocket,
    *,
    watchdog_usec: int = 2_000_000,
    journal: bool = False,
) -> Served:
    """The database migrated, then ``locker serve`` with systemd's variables; READY awaited."""
    migrate_database(locker, config)
    environ = clean_environ()
    process = subprocess.Popen(
        [str(locker), "--config", str(config), "serve"],
        env=environ
        | {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(watchdog_usec)}
        | ({"JOURNAL_STREAM": "8:1234"} if journal else {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = notify.wait_for("READY=1")
    status = next(line for line in ready[-1].splitlines() if line.startswith("STATUS="))
    base = status.removeprefix("STATUS=serving on ").split(",")[0]
    return Served(process, base)
