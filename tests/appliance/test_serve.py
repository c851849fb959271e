"""``locker serve`` as systemd runs it: READY once serving, heartbeats, STOPPING, logs."""

from __future__ import annotations

import re
import subprocess

import pytest

from ..conftest import self_signed_certificate
from .conftest import (
    DEV_LOCKER,
    clean_environ,
    free_port,
    migrate_database,
    start_serve,
    write_config,
)


def test_serve_notifies_systemd_and_answers_healthz(tmp_path, boards, notify_socket):
    config = write_config(tmp_path, boards)
    served = start_serve(DEV_LOCKER, config, notify_socket, watchdog_usec=600_000)
    try:
        assert notify_socket.next() == "WATCHDOG=1"
        health = served.health()
        assert health["status"] == "ok" and health["compartments"] == 24
        assert notify_socket.next() == "WATCHDOG=1"  # still beating while serving
    finally:
        status = served.stop()
    assert status == 0
    assert "STOPPING=1" in notify_socket.wait_for("STOPPING=1")[-1].splitlines()
    output = served.process.stdout.read() if served.process.stdout else ""
    assert "Traceback" not in output
    assert "serving on http://127.0.0.1:" in output


def test_clerks_reach_it_over_https_only_beyond_this_machine(tmp_path, boards, notify_socket):
    import requests

    cert, key = self_signed_certificate(tmp_path)
    tls_port = free_port()
    kiosk = {
        "tls_certfile": str(cert),
        "tls_keyfile": str(key),
        "tls_host": "127.0.0.1",
        "tls_port": tls_port,
    }
    config = write_config(tmp_path, boards, kiosk=kiosk)
    served = start_serve(DEV_LOCKER, config, notify_socket)
    try:
        secure = f"https://127.0.0.1:{tls_port}"
        answer = requests.get(secure + "/healthz", verify=str(cert), timeout=10)
        assert answer.status_code == 200 and answer.json()["compartments"] == 24
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{tls_port}/healthz", timeout=10)  # no plain HTTP there
        assert served.health()["status"] == "ok"  # the touchscreen's plain HTTP on 127.0.0.1
    finally:
        assert served.stop() == 0


def test_logs_are_one_line_per_event_with_levels_and_no_personal_data(
    tmp_path, boards, notify_socket
):
    import requests

    config = write_config(tmp_path, boards)
    create = ["apikey", "create", "office", "--role", "clerk"]
    served = start_serve(DEV_LOCKER, config, notify_socket, journal=True)  # migrates first
    try:
        key = subprocess.run(  # as a technician does on the running box
            [str(DEV_LOCKER), "--config", str(config), *create],
            env=clean_environ(),
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        secrets = ["Erika Mustermann", "+4915123456789", "erika@example.org", "1990-05-17", key]
        headers = {"Authorization": f"Bearer {key}"}
        body = {
            "reference": "LOG-1",
            "document_type": "passport",
            "recipient": {
                "name": secrets[0],
                "phone": secrets[1],
                "email": secrets[2],
                "date_of_birth": secrets[3],
            },
        }
        answer = requests.post(
            served.base + "/api/v1/deliveries", json=body, headers=headers, timeout=10
        )
        assert answer.status_code == 201, answer.text
        wrong = requests.post(
            served.base + "/api/v1/pickup", json={"code": "K7M4-Q9XT"}, timeout=10
        )
        assert wrong.status_code in (404, 429)
        secrets.append("K7M4-Q9XT")
    finally:
        assert served.stop() == 0
    output = served.process.stdout.read() if served.process.stdout else ""
    lines = output.splitlines()
    assert lines and all(re.match(r"^<[0-7]>[A-Z]+ \S+: ", line) for line in lines), lines
    assert any(line.startswith("<6>INFO kiosk.server: serving on") for line in lines)
    for secret in secrets:
        assert secret not in output


def test_the_redactor_catches_what_a_library_might_log():
    import logging

    from runtime.logs import Redactor

    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "sent to +49 151 23456789 and erika@example.org with code K7M4-Q9XT, token=abc123",
        (),
        None,
    )
    line = Redactor(journal=True).format(record)
    assert line == "<3>ERROR x: sent to [number] and [e-mail] with code [code], token=[redacted]"


def test_a_port_in_use_is_one_clear_message(tmp_path):
    import socket

    config = write_config(tmp_path, tmp_path / "no-adapter")  # boards offline: it still serves
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        environ = clean_environ(LOCKER_KIOSK__PORT=str(port))
        migrate_database(DEV_LOCKER, config)
        result = subprocess.run(
            [str(DEV_LOCKER), "--config", str(config), "serve"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        taken.close()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "never retrieved" not in result.stderr
    assert f"error: could not listen on 127.0.0.1:{port}" in result.stderr
