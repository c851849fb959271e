"""A real PostgreSQL cluster in a temporary directory, for the fleet tests and benchmark.

Debian's PostgreSQL refuses to run as root, so when run as root (CI) :class:`LocalPostgres`
hands its directory to the ``postgres`` user and runs ``initdb`` and ``postgres`` through
``runuser -u postgres --``. The server listens on a free port of 127.0.0.1 and on a Unix socket
in the directory (``-k``); ``fsync`` stays on, as in production::

    with LocalPostgres(tmp_path) as pg:
        pg.url("fleet")   # postgresql+psycopg://fleet@127.0.0.1:PORT/fleet (created on demand)
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Self

from simulator.broker import free_port, service_dir
from simulator.readiness import NotifySocket

BIN = Path("/usr/lib/postgresql")


class PostgresError(RuntimeError):
    """The cluster did not start (its log says why)."""


def bin_dir() -> Path:
    found = sorted(BIN.glob("*/bin/initdb"))
    if not found:
        raise PostgresError("PostgreSQL is not installed (./dev setup installs Debian's)")
    return found[-1].parent


class LocalPostgres:
    """One cluster, superuser ``fleet`` with trust authentication on 127.0.0.1 only."""

    USER = "fleet"

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.directory = service_dir(Path(directory), "postgres")
        self.data = self.directory / "data"
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._bin = bin_dir()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *argv: str) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        return [*prefix, *argv]

    def start(self, timeout: float = 30.0) -> Self:
        if self._process is not None and self._process.poll() is None:
            return self
        if not self.data.exists():
            subprocess.run(  # noqa: S603 - Debian's initdb on our own directory
                self._run(
                    str(self._bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.USER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ),
                check=True,
                capture_output=True,
            )
        notify = NotifySocket("postgres")
        log = open(self.directory / "postgres.log", "ab")  # noqa: SIM115 - the server's stderr
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory / "postgres.log", user.pw_uid, user.pw_gid)
        self._process = subprocess.Popen(  # noqa: S603 - Debian's server on our own directory
            self._run(
                str(self._bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.directory),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
            ),
            stdout=log,
            stderr=log,
            env=notify.environ(),
        )
        log.close()
        try:
            ready = notify.wait_ready(self._process, timeout)  # READY=1: it takes connections
        finally:
            notify.close()
        if ready:
            return self
        if self._process.poll() is not None:
            raise PostgresError(f"postgres exited: {self.log}")
        self.stop()
        raise PostgresError(f"postgres did not start within {timeout} s: {self.log}")

    @property
    def log(self) -> str:
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def create_database(self, name: str) -> None:
        subprocess.run(  # noqa: S603 - Debian's createdb on our own server
            [
                str(self._bin / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.USER,
                name,
            ],
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "fleet", *, create: bool = True) -> str:
        if create:
            try:
                self.create_database(database)
            except subprocess.CalledProcessError as err:
                if b"already exists" not in err.stderr:
                    raise
        return f"postgresql+psycopg://{self.USER}@127.0.0.1:{self.port}/{database}"

    def stop(self, timeout: float = 30.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, exit cleanly.
        # Under runuser the server is runuser's child: signal the server itself.
        os.kill(self._server_pid() or process.pid, signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _server_pid(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._as_postgres:
            shutil.rmtree(self.directory, ignore_errors=True)
