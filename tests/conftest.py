"""Fixtures shared by every test package: a real SQLite file, a manual clock, settings, and the
leak check (tests/leaks.py, autouse): no test may leave a thread, pty, pipe or socket behind."""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import Engine

from locker import migrate
from locker.clock import ManualClock
from locker.config import Settings, load_settings
from locker.db import make_engine

from .leaks import no_leaked_threads_or_descriptors  # noqa: F401 - autouse


def make_settings(tmp_path: Path, **sections: dict[str, Any]) -> Settings:
    overrides: dict[str, dict[str, Any]] = {
        "locker": {"demo": True, "bank_id": "test-bank", "data_dir": str(tmp_path)},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_settings(environ={}, overrides=overrides)


_MIGRATED: list[Path] = []


def migrated_database(path: Path) -> Path:
    """Put an empty database at the newest schema at ``path`` (SQLite): a copy of one migrated
    once per test run, since migrating on every test took seconds there under load. The copy
    is what migrating gives (the migrations only create, no row depends on when they ran);
    tests/core/test_migrations.py migrates for real."""
    if not _MIGRATED:
        directory = Path(tempfile.mkdtemp(prefix="locker-migrated-"))
        atexit.register(shutil.rmtree, directory, True)
        engine = make_engine(f"sqlite:///{directory / 'locker.db'}")
        migrate.upgrade(engine)
        engine.dispose()  # the last connection closed: the WAL is in the file, and gone
        _MIGRATED.append(directory / "locker.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_MIGRATED[0], path)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: a fresh SQLite file, or with ``PYTEST_LOCKER_DATABASE_URL`` set (for
    example to a throwaway PostgreSQL), that database with its schema dropped and rebuilt."""
    url = os.environ.get("PYTEST_LOCKER_DATABASE_URL") or None
    if url is None:
        engine = make_engine(f"sqlite:///{migrated_database(tmp_path / 'locker.db')}")
    else:
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file
