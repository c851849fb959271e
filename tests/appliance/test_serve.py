"""``locker serve`` as systemd runs it: READY once serving, heartbeats, STOPPING, logs."""

from __future__ import annotations

from .conftest import DEV_LOCKER, start_serve, write_config


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
