"""A real Mosquitto broker in a temporary directory, run from the repository's production config.

For the fleet tests, the fleet benchmark and developers: :class:`LocalBroker` renders
``deploy/mosquitto/locker.conf`` with its listener on a free port of 127.0.0.1 (no TLS unless
certificates are given) and its files in ``directory``, writes a password file with one user
per box plus the centre (``mosquitto_passwd -U``), copies ``deploy/mosquitto/acl`` unchanged,
and starts Debian's ``mosquitto``. The broker can be stopped (gracefully, so it saves its
persistence file) and started again on the same port with the same state, or killed::

    with LocalBroker(tmp_path, {"box-1": "pw1", "fleet-centre": "pw"}) as broker:
        broker.url                      # mqtt://127.0.0.1:PORT
        broker.stop(); broker.start()   # an outage

When run as root (CI) Mosquitto drops to the ``mosquitto`` user, which cannot reach pytest's
private temporary directories: the broker's files then live in a directory of their own under
the system's temporary directory, handed to that user and removed by :meth:`LocalBroker.remove`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from simulator.readiness import NotifySocket

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "mosquitto" / "locker.conf"
ACL = ROOT / "deploy" / "mosquitto" / "acl"
PATH_SETTINGS = {
    "password_file": "passwd",
    "acl_file": "acl",
    "certfile": "server.crt",
    "keyfile": "server.key",
}
TLS_SETTINGS = {"certfile", "keyfile", "tls_version"}


class BrokerError(RuntimeError):
    """Mosquitto did not start (its log says why)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def executable(name: str) -> str:
    """A program of Debian's packages, also where ``/usr/sbin`` is not on the PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
    if found is None:
        raise BrokerError(f"{name} is not installed (./dev setup installs Debian's mosquitto)")
    return found


def service_dir(preferred: Path, user: str) -> Path:
    """``preferred``, or, when running as root, a fresh directory ``user`` can reach and own."""
    if os.geteuid() != 0:
        preferred.mkdir(parents=True, exist_ok=True)
        return preferred
    directory = Path(tempfile.mkdtemp(prefix=f"locker-{user}-"))
    account = pwd.getpwnam(user)
    os.chown(directory, account.pw_uid, account.pw_gid)
    return directory


def render_config(
    directory: Path, port: int, *, tls: tuple[Path, Path] | None = None, keepalive_max: int = 0
) -> str:
    """``deploy/mosquitto/locker.conf`` with its paths in ``directory`` and ``port`` on 127.0.0.1.

    Every other line is kept as it is, so the tests run the production policy (no anonymous
    clients, the ACL, unlimited queues, persistence). With ``tls`` (certificate, key) the
    listener speaks TLS from copies of them in ``directory``; without, plain MQTT.
    """
    lines = [
        f"pid_file {directory / 'mosquitto.pid'}",
        f"persistence_location {directory}/",
        f"log_dest file {directory / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]
    for raw in CONFIG.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        if key == "listener":
            lines.append(f"listener {port} 127.0.0.1")
        elif key in TLS_SETTINGS and tls is None:
            continue
        elif key in PATH_SETTINGS:
            lines.append(f"{key} {directory / PATH_SETTINGS[key]}")
        elif key == "max_keepalive" and keepalive_max:
            lines.append(f"max_keepalive {keepalive_max}")
        else:
            lines.append(f"{key} {value}")
    return "\n".join(lines) + "\n"


class LocalBroker:
    """Mosquitto on 127.0.0.1 with the production config, one user per entry of ``users``."""

    def __init__(
        self,
        directory: Path,
        users: Mapping[str, str],
        *,
        port: int | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.directory = service_dir(Path(directory), "mosquitto")
        self.port = port or free_port()
        self.tls = tls
        self.users = dict(users)
        self._process: subprocess.Popen[bytes] | None = None
        self._write_files()

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _write_files(self) -> None:
        passwd = self.directory / "passwd"
        passwd.write_text("".join(f"{user}:{password}\n" for user, password in self.users.items()))
        subprocess.run(  # noqa: S603 - a fixed program on our own file
            [executable("mosquitto_passwd"), "-U", str(passwd)], check=True, capture_output=True
        )
        shutil.copyfile(ACL, self.directory / "acl")
        if self.tls is not None:
            shutil.copyfile(self.tls[0], self.directory / PATH_SETTINGS["certfile"])
            shutil.copyfile(self.tls[1], self.directory / PATH_SETTINGS["keyfile"])
        config = self.directory / "mosquitto.conf"
        config.write_text(render_config(self.directory, self.port, tls=self.tls))
        if os.geteuid() == 0:
            user = pwd.getpwnam("mosquitto")
            for path in (self.directory, *self.directory.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)

    def start(self, timeout: float = 10.0) -> Self:
        if self._process is not None and self._process.poll() is None:
            return self
        notify = NotifySocket("mosquitto")
        self._process = subprocess.Popen(  # noqa: S603 - Debian's broker on our config
            [executable("mosquitto"), "-c", str(self.directory / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=notify.environ(),
        )
        try:
            ready = notify.wait_ready(self._process, timeout)  # READY=1: its listeners are bound
        finally:
            notify.close()
        if ready:
            return self
        if self._process.poll() is not None:
            err = self._process.stderr.read().decode() if self._process.stderr else ""
            raise BrokerError(f"mosquitto exited: {err}{self.log}")
        self.kill()
        raise BrokerError(f"mosquitto did not listen on {self.port} within {timeout} s: {self.log}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully: Mosquitto saves retained messages and queued sessions first."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """Stop at once, as a crash would (what was not saved yet is lost)."""
        self._end(signal.SIGKILL, 10.0)

    def _end(self, sig: signal.Signals, timeout: float) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def remove(self) -> None:
        """Stop and delete the broker's files."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()
