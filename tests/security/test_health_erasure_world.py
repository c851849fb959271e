"""Findings 9, 13 and 14: health checks what it reports; erased data leaves the disk; the
simulator refuses a corrupted world instead of resetting it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from locker.db import flush_to_main_file
from locker.services import housekeeping
from simulator.world import STATE_FILE, WorldStateError, build_world

from .conftest import every_byte_under

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)


def test_healthz_fails_on_a_corrupted_database(stack):
    assert stack.client.get("/healthz").json()["database"] == "ok"
    engine = stack.controller.running.engine
    assert flush_to_main_file(engine)  # then damage the pages behind SQLite's back
    page_size = 4096
    path = stack.controller.running.settings.locker.data_dir / "locker.db"
    data = bytearray(path.read_bytes())
    for page in range(2, len(data) // page_size):
        data[page * page_size : page * page_size + 100] = b"\xff" * 100
    path.write_bytes(bytes(data))
    engine.dispose()  # no cached page survives
    stack.client.app.state.db_check = None  # the cached verdict is from before
    answer = stack.client.get("/healthz")
    assert answer.status_code == 503, answer.text
    assert answer.json()["status"] == "degraded"
    assert answer.json()["database"].startswith("error")


def test_healthz_is_ok_on_a_sound_database(stack):
    answer = stack.client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["database"] == "ok"


def test_erased_personal_data_is_on_no_file_of_the_data_directory(stack):
    person = {
        "name": "Zacharias Quellenbrunn",
        "phone": "+4915199887766",
        "email": "z.quellenbrunn@example.org",
        "date_of_birth": "1971-03-29",
    }
    delivery_id, label = stack.load("E-1", recipient=person)
    code = stack.code_for(person["phone"])
    data_dir = stack.controller.running.settings.locker.data_dir
    assert person["name"].encode() in every_byte_under(data_dir)  # the search can find them
    opened = stack.client.post(
        "/api/v1/pickup", json={"code": code, "date_of_birth": person["date_of_birth"]}
    )
    assert opened.status_code == 200, opened.text
    stack.wait_for(lambda: stack.door_open(label))
    stack.world.hardware.take_item(label)
    stack.world.hardware.close_door(label)
    stack.wait_for(lambda: stack.delivery(delivery_id)["state"] == "collected")
    stack.wait_for(lambda: _messages_done(stack, delivery_id))
    report = housekeeping.run_due(stack.controller.running)
    assert delivery_id in report.erased or stack.delivery(delivery_id)["recipient_erased"]
    housekeeping.run_due(stack.controller.running)  # the receipt's own address, once sent
    everything = every_byte_under(data_dir)
    phone_digits = person["phone"].removeprefix("+").encode()
    for value in (
        person["name"].encode(),
        person["email"].encode(),
        phone_digits,
        b"1971-03-29",
        person["name"].encode("utf-16-le"),
    ):
        assert value not in everything, value


def _messages_done(stack, delivery_id: str) -> bool:
    """Every message of the delivery, the receipt too, is sent (or given up)."""
    notifications = stack.delivery(delivery_id)["notifications"]
    kinds = {n["kind"] for n in notifications}
    final = all(n["state"] in ("sent", "delivered", "dead") for n in notifications)
    return "collected" in kinds and final


@pytest.mark.parametrize(
    ("saved", "said"),
    [
        ("{not json", "cannot be read"),
        ('{"world": {}}', "world.compartments"),
        ('{"world": {"compartments": {}}}', "no state for"),
        ('{"world": {"compartments": {"A01": {"locked": "yes"}}}}', "locked"),
        ("[]", "cannot be read"),
    ],
)
def test_the_simulator_refuses_a_corrupted_world(tmp_path, saved, said):
    with build_world(state_dir=tmp_path) as world:
        world.changed()
    good = json.loads((tmp_path / STATE_FILE).read_text())
    assert set(good["world"]["compartments"])  # a real save has every compartment
    (tmp_path / STATE_FILE).write_text(saved)
    with pytest.raises(WorldStateError, match=said) as refused:
        build_world(state_dir=tmp_path)
    assert str(tmp_path / STATE_FILE) in str(refused.value)
    assert (tmp_path / STATE_FILE).read_text() == saved  # nothing overwritten


def test_a_world_missing_one_compartment_is_refused_not_emptied(tmp_path):
    with build_world(state_dir=tmp_path) as world:
        label = world.labels[0]
        world.hardware.open_door(label)
        world.hardware.set_item(label, True)
        world.hardware.close_door(label)
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    del saved["world"]["compartments"][label]
    (tmp_path / STATE_FILE).write_text(json.dumps(saved))
    with pytest.raises(WorldStateError, match=f"no state for {label}"):
        build_world(state_dir=tmp_path)


def test_locker_demo_says_so_and_exits_2(tmp_path):
    (tmp_path / STATE_FILE).write_text('{"world": {"compartments": {}}}')
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "demo", "--data-dir", str(tmp_path), "--port", "8999"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "cannot be read" in done.stderr and STATE_FILE in done.stderr
    assert "Traceback" not in done.stderr
