"""``/api/v1/alarms`` and loading around an offline board, over HTTP with roles."""

from __future__ import annotations

from .conftest import Stack

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)


def alarms(stack: Stack, role: str = "clerk", query: str = "") -> list[dict]:
    answer = stack.client.get(f"/api/v1/alarms{query}", headers=stack.as_role(role))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_offline_board_is_an_alarm_loading_avoids_and_a_clerk_acknowledges(stack: Stack):
    board = "rs485:0"
    on_board = {
        c.label
        for c in stack.world.hardware.layout.compartments
        if getattr(c.place, "bus", None) == "rs485" and getattr(c.place, "board", None) == 0
    }
    stack.client.post("/sim/faults", json={"kind": "board_offline", "target": board, "on": True})
    stack.wait_for(lambda: any(a["kind"] == "board_offline" for a in alarms(stack)))
    [alarm] = [a for a in alarms(stack, "technician") if a["kind"] == "board_offline"]
    assert (alarm["board"], alarm["state"], alarm["compartment"]) == (board, "open", None)

    delivery = stack.announce("AL-1", size="S")
    answer = stack.client.post(
        f"/api/v1/deliveries/{delivery['id']}/load", headers=stack.as_role("clerk")
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["compartment"] not in on_board
    assert answer.json()["requested_size"] == "S"

    url = f"/api/v1/alarms/{alarm['id']}/acknowledge"
    assert (
        stack.client.post(url, json={"note": ""}, headers=stack.as_role("clerk")).status_code == 422
    )
    assert (
        stack.client.post(url, json={"note": "x"}, headers=stack.as_role("admin")).status_code
        == 403
    )
    assert stack.client.post(url, json={"note": "x"}).status_code == 401
    seen = stack.client.post(
        url, json={"note": "Techniker gerufen"}, headers=stack.as_role("clerk")
    )
    assert seen.status_code == 200, seen.text
    assert seen.json()["state"] == "acknowledged"
    assert seen.json()["acknowledged_by"] == "key:clerk"
    assert seen.json()["note"] == "Techniker gerufen"
    again = stack.client.post(url, json={"note": "noch mal"}, headers=stack.as_role("clerk"))
    assert again.status_code == 409
    missing = stack.client.post(
        "/api/v1/alarms/alm_nothing/acknowledge", json={"note": "x"}, headers=stack.as_role("clerk")
    )
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert [a["id"] for a in alarms(stack, query="?state=acknowledged")] == [alarm["id"]]

    stack.client.post("/sim/faults", json={"kind": "board_offline", "target": board, "on": False})
    stack.wait_for(
        lambda: [a["state"] for a in alarms(stack) if a["id"] == alarm["id"]] == ["cleared"],
        timeout=20,
    )
    assert alarms(stack, query="?state=open") == []


def test_alarms_need_the_clerk_or_technician_role(stack: Stack):
    assert stack.client.get("/api/v1/alarms").status_code == 401
    assert stack.client.get("/api/v1/alarms", headers=stack.as_role("admin")).status_code == 403
    for role in ("clerk", "technician", "all"):
        assert stack.client.get("/api/v1/alarms", headers=stack.as_role(role)).status_code == 200
    bad = stack.client.get("/api/v1/alarms?state=nonsense", headers=stack.as_role("clerk"))
    assert bad.status_code == 422 and bad.json()["field"] == "state"
