"""The HTTP contract of shared/API.md: every endpoint, role and error code, on the real app."""

from __future__ import annotations

import io

import pytest
import qrcode

from .conftest import PASSWORD

STAFF_ACCOUNTS = False  # only the tests that sign in take staffed_stack (conftest.py: stack)

DOB = "1990-05-17"


def test_health(stack):
    answer = stack.client.get("/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["compartments"] >= 24 and body["compartments_offline"] == []


def test_announce_and_read_back(stack):
    created = stack.announce("P-100", size="M")
    assert created["state"] == "announced" and created["size"] == "M"
    assert created["created_at"].endswith(("Z", "+00:00"))
    listed = stack.client.get(
        "/api/v1/deliveries", params={"reference": "P-100"}, headers=stack.as_role("clerk")
    ).json()
    assert [d["id"] for d in listed] == [created["id"]]
    assert (
        "erika"
        not in stack.client.get(
            f"/api/v1/deliveries/{created['id']}", headers=stack.as_role("clerk")
        ).text.lower()
    )


def test_duplicate_reference_is_409(stack):
    stack.announce("P-dup")
    answer = stack.client.post(
        "/api/v1/deliveries",
        headers=stack.as_role("clerk"),
        json={
            "reference": "P-dup",
            "document_type": "other",
            "recipient": {"name": "A", "email": "a@b.de"},
        },
    )
    assert answer.status_code == 409 and answer.json()["error"] == "conflict"
    found = answer.json()
    assert found["reason"] == "reference_exists"
    assert (found["reference"], found["state"], found["compartment"]) == (
        "P-dup",
        "announced",
        None,
    )


def test_a_duplicate_of_a_stored_reference_names_its_compartment(stack):
    delivery_id, label = stack.load("P-in")
    answer = stack.client.post(
        "/api/v1/deliveries",
        headers=stack.as_role("clerk"),
        json={
            "reference": "P-in",
            "document_type": "other",
            "recipient": {"name": "A", "email": "a@b.de"},
        },
    )
    found = answer.json()
    assert (found["delivery_id"], found["compartment"]) == (delivery_id, label)


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"document_type": "birth_certificate"}, "document_type", "enum"),
        ({"size": "XL"}, "size", "enum"),
        ({"recipient": {"name": "A", "phone": "0"}}, "recipient.phone", "phone_invalid"),
        ({"recipient": {"name": "A", "email": "not-mail"}}, "recipient.email", "email_invalid"),
        ({"recipient": {"name": "A"}}, "recipient", "contact_missing"),
        (
            {"recipient": {"name": "A", "email": "a@b.de", "date_of_birth": "1990-13-01"}},
            "recipient.date_of_birth",
            "date_from_datetime_parsing",
        ),
        ({"reference": ""}, "reference", "string_too_short"),
        ({"reference": " "}, "reference", "length"),
    ],
)
def test_validation_errors_name_the_field_and_a_reason_code(stack, patch, field, reason):
    body = {
        "reference": "P-bad",
        "document_type": "other",
        "recipient": {"name": "A", "email": "a@b.de"},
    } | patch
    answer = stack.client.post("/api/v1/deliveries", json=body, headers=stack.as_role("clerk"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] in ("validation_error", "invalid_input")
    assert (answer.json()["field"], answer.json()["reason"]) == (field, reason)
    if answer.json()["error"] == "validation_error":
        first = answer.json()["errors"][0]
        assert (first["field"], first["reason"]) == (field, reason)


def test_whole_journey_over_http(stack):
    delivery_id, label = stack.load("P-200")
    code = stack.code_for()
    assert stack.client.post("/api/v1/pickup", json={"code": code}).json()["error"] == (
        "second_factor_required"
    )
    wrong = stack.client.post("/api/v1/pickup", json={"code": code, "date_of_birth": "1980-01-01"})
    assert (wrong.status_code, wrong.json()["error"]) == (403, "date_of_birth_wrong")
    assert (
        wrong.json()["tries_left"] == stack.controller.settings.security.delivery_max_failures - 1
    )
    checked = stack.client.post(
        "/api/v1/pickup", json={"code": code, "date_of_birth": DOB, "verify_only": True}
    )
    assert checked.status_code == 200 and checked.json() == {"verified": True}
    assert stack.delivery(delivery_id)["state"] == "stored"  # the check opened nothing
    answer = stack.client.post(
        "/api/v1/pickup", json={"code": code.lower().replace("-", " "), "date_of_birth": DOB}
    )
    assert answer.status_code == 200 and answer.json() == {"compartment": label}
    stack.wait_for(lambda: stack.door_open(label))
    stack.world.hardware.take_item(label)
    stack.world.hardware.close_door(label)
    stack.wait_for(lambda: stack.delivery(delivery_id)["state"] == "collected")
    again = stack.client.post("/api/v1/pickup", json={"code": code, "date_of_birth": DOB})
    assert again.status_code == 409 and again.json()["error"] == "code_used"
    kinds = {(n["kind"], n["channel"]) for n in stack.delivery(delivery_id)["notifications"]}
    assert {("stored", "sms"), ("stored", "email"), ("collected", "sms")} <= kinds


def test_pickup_errors(stack):
    delivery_id, _label = stack.load("P-300", document_type="driving_licence")
    code = stack.code_for()
    wrong = stack.client.post("/api/v1/pickup", json={"code": "000000000000"})
    assert wrong.status_code == 404 and wrong.json()["error"] == "code_invalid"
    other_bank = stack.client.post("/api/v1/pickup", json={"code": f"LOCKER2:elsewhere:{code}"})
    assert other_bank.status_code == 409 and other_bank.json()["error"] == "wrong_locker"
    stack.client.post("/sim/clock/advance", json={"seconds": 15 * 86400})
    expired = stack.client.post("/api/v1/pickup", json={"code": code})
    assert expired.status_code == 410 and expired.json()["error"] == "expired"
    assert "citizens' office" in expired.json()["detail"]
    assert stack.delivery(delivery_id)["state"] == "expired"


def test_rate_limit_has_retry_after(stack):
    for _ in range(4):
        assert stack.client.post("/api/v1/pickup", json={"code": "000000000000"}).status_code == 404
    limited = stack.client.post("/api/v1/pickup", json={"code": "000000000000"})
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) == 30


def board_of(stack, label):
    place = stack.world.hardware.layout.compartment(label).place
    return f"{place.bus}:{place.board}"


def test_board_offline_is_503_and_code_stays_valid(stack):
    delivery_id, label = stack.load("P-400", document_type="other")
    code = stack.code_for()
    board = board_of(stack, label)
    stack.client.post("/sim/faults", json={"kind": "board_offline", "target": board, "on": True})
    stack.wait_for(lambda: stack.client.get("/healthz").json()["status"] == "degraded")
    answer = stack.client.post("/api/v1/pickup", json={"code": code})
    assert answer.status_code == 503 and answer.json()["error"] == "hardware_unavailable"
    assert stack.delivery(delivery_id)["state"] == "stored"
    assert stack.world.hardware.pulses(label) == 1  # only the loading pulse
    stack.client.post("/sim/faults", json={"kind": "board_offline", "target": board, "on": False})
    stack.wait_for(lambda: stack.client.get("/healthz").json()["status"] == "ok", timeout=20)
    assert stack.client.post("/api/v1/pickup", json={"code": code}).json() == {"compartment": label}


def test_board_dying_mid_pickup_is_settled_when_it_returns(stack):
    """Just after a board dies, "offline" and "reply lost" look alike: the outcome is uncertain
    until the board answers again; then its doors are read and the code is valid again."""
    delivery_id, label = stack.load("P-420", document_type="other")
    code = stack.code_for()
    board = board_of(stack, label)
    stack.client.post("/sim/faults", json={"kind": "board_offline", "target": board, "on": True})
    answer = stack.client.post("/api/v1/pickup", json={"code": code})
    assert answer.status_code == 503
    stack.client.post("/sim/faults", json={"kind": "board_offline", "target": board, "on": False})
    stack.wait_for(lambda: stack.delivery(delivery_id)["state"] == "stored", timeout=20)
    assert stack.client.post("/api/v1/pickup", json={"code": code}).json() == {"compartment": label}


def test_lost_replies_leave_the_outcome_to_the_door(stack):
    """On a silent bus a pulse may still reach the lock, and is never resent.

    Whether the pulse goes out depends on whether the poller has already found the bus
    silent (then nothing is sent); either way the answer is 503 and the end is right: a sent
    pulse is settled by the door, an unsent one leaves the code valid.
    """
    delivery_id, label = stack.load("P-450", document_type="other")
    code = stack.code_for()
    stack.client.post("/sim/faults", json={"kind": "silence", "target": "", "on": True})
    answer = stack.client.post("/api/v1/pickup", json={"code": code})
    assert answer.status_code == 503 and answer.json()["error"] == "hardware_unavailable"
    pulses = stack.world.hardware.pulses(label)
    assert pulses in (1, 2)  # the loading pulse, plus at most one for the pickup
    stack.client.post("/sim/faults", json={"kind": "silence", "target": "", "on": False})
    if pulses == 2:
        stack.wait_for(lambda: stack.door_open(label), timeout=20)
        stack.world.hardware.take_item(label)
        stack.world.hardware.close_door(label)
        stack.wait_for(lambda: stack.delivery(delivery_id)["state"] == "collected")
        assert stack.client.post("/api/v1/pickup", json={"code": code}).status_code == 409
    else:
        stack.wait_for(lambda: stack.client.get("/healthz").json()["status"] == "ok", timeout=20)
        assert stack.client.post("/api/v1/pickup", json={"code": code}).json() == {
            "compartment": label
        }
    assert stack.world.hardware.pulses(label) == 2


def test_scan_decodes_a_real_qr_frame(stack):
    image = qrcode.make("LOCKER2:test-bank:K7M4Q9XT2BHD", box_size=8).convert("RGB")
    frame = io.BytesIO()
    image.save(frame, format="JPEG")
    answer = stack.client.post(
        "/api/v1/scan", content=frame.getvalue(), headers={"content-type": "image/jpeg"}
    )
    assert answer.json() == {"codes": ["LOCKER2:test-bank:K7M4Q9XT2BHD"]}
    blank = io.BytesIO()
    qrcode.make("x").convert("RGB").crop((0, 0, 20, 20)).save(blank, format="PNG")
    assert stack.client.post("/api/v1/scan", content=blank.getvalue()).json() == {"codes": []}
    bad = stack.client.post("/api/v1/scan", content=b"not an image")
    assert bad.status_code == 400 and bad.json()["error"] == "not_an_image"


@pytest.mark.parametrize(
    ("method", "path", "status", "allowed"),
    [
        ("POST", "/api/v1/deliveries", 422, {"clerk"}),  # let in, told what the body lacks
        ("GET", "/api/v1/deliveries", 200, {"clerk"}),
        ("GET", "/api/v1/compartments", 200, {"clerk", "technician", "admin"}),
        ("GET", "/api/v1/events", 200, {"admin"}),
    ],
)
def test_api_keys_may_do_what_their_roles_allow(stack, method, path, status, allowed):
    """API.md: a key may do exactly what its roles allow, as a signed-in account may."""
    body = {} if method == "POST" else None
    for role in ("clerk", "technician", "admin", "all"):
        answer = stack.client.request(method, path, headers=stack.as_role(role), json=body)
        expected = status if role in allowed or role == "all" else 403
        assert answer.status_code == expected, (role, answer.text)
    anonymous = stack.client.request(method, path, json=body)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthenticated"


@pytest.mark.parametrize(
    ("path", "body", "role_needed", "status"),
    [
        ("/api/v1/deliveries/nope/load", None, "clerk", 404),
        ("/api/v1/deliveries/nope/retrieve", None, "clerk", 404),
        ("/api/v1/compartments/A01/open", {"reason": "check"}, "technician", 200),
        (
            "/api/v1/compartments/A01/service",
            {"out_of_service": True, "reason": "x"},
            "technician",
            200,
        ),
    ],
)
def test_roles_are_enforced(stack, path, body, role_needed, status):
    for role in ("clerk", "technician", "admin"):
        answer = stack.client.post(path, json=body, headers=stack.as_role(role))
        if role == role_needed:
            assert answer.status_code == status, answer.text
        else:
            assert answer.status_code == 403 and answer.json()["error"] == "forbidden"


def test_bad_api_key_is_401(stack):
    answer = stack.client.get("/api/v1/deliveries", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401 and answer.json()["error"] == "unauthenticated"


def test_events_page_with_after(stack):
    stack.announce("P-500")
    first = stack.client.get(
        "/api/v1/events", params={"limit": 2}, headers=stack.as_role("admin")
    ).json()
    assert len(first) == 2 and first[0]["id"] < first[1]["id"]
    rest = stack.client.get(
        "/api/v1/events", params={"after": first[-1]["id"]}, headers=stack.as_role("admin")
    ).json()
    assert rest and rest[0]["id"] == first[-1]["id"] + 1


def test_technician_open_and_service(stack):
    tech = stack.as_role("technician")
    opened = stack.client.post(
        "/api/v1/compartments/A02/open", json={"reason": "inspection"}, headers=tech
    )
    assert opened.status_code == 200
    stack.wait_for(lambda: stack.door_open("A02"))
    stack.world.hardware.close_door("A02")
    stack.wait_for(
        lambda: stack.client.get("/api/v1/compartments", headers=tech).json()[1]["state"] == "free"
    )
    out = stack.client.post(
        "/api/v1/compartments/A02/service",
        json={"out_of_service": True, "reason": "broken hinge"},
        headers=tech,
    )
    assert out.json()["state"] == "out_of_service"
    assert (
        stack.client.post(
            "/api/v1/compartments/Z99/open", json={"reason": "x"}, headers=tech
        ).status_code
        == 404
    )
    missing_reason = stack.client.post("/api/v1/compartments/A02/open", json={}, headers=tech)
    assert missing_reason.status_code == 422 and missing_reason.json()["field"] == "reason"


def test_cancel_then_retrieve(stack):
    delivery_id, label = stack.load("P-600")
    cancelled = stack.client.post(
        f"/api/v1/deliveries/{delivery_id}/cancel", headers=stack.as_role("clerk")
    )
    assert cancelled.json()["state"] == "cancelled"
    answer = stack.client.post(
        f"/api/v1/deliveries/{delivery_id}/retrieve", headers=stack.as_role("clerk")
    )
    assert answer.status_code == 202 and answer.json() == {"compartment": label}
    stack.wait_for(lambda: stack.door_open(label))
    stack.world.hardware.take_item(label)
    stack.world.hardware.close_door(label)
    stack.wait_for(lambda: stack.delivery(delivery_id)["state"] == "returned")
    again = stack.client.post(
        f"/api/v1/deliveries/{delivery_id}/cancel", headers=stack.as_role("clerk")
    )
    assert again.status_code == 409 and again.json()["error"] == "illegal_transition"


def test_session_sign_in_csrf_and_sign_out(staffed_stack):
    client = staffed_stack.client
    wrong = client.post("/api/v1/session", json={"username": "clerk1", "password": "nope"})
    assert wrong.status_code == 401
    signed = client.post("/api/v1/session", json={"username": "clerk1", "password": PASSWORD})
    assert signed.status_code == 200
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    token = signed.json()["csrf_token"]
    body = {
        "reference": "S-1",
        "document_type": "other",
        "recipient": {"name": "A", "email": "a@b.de"},
    }
    assert client.post("/api/v1/deliveries", json=body).status_code == 403  # no CSRF token
    made = client.post("/api/v1/deliveries", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201
    assert client.get("/api/v1/events").status_code == 403  # a clerk is no admin
    client.delete("/api/v1/session")
    assert client.get("/api/v1/deliveries").status_code == 401


def test_staff_lockout_after_failed_sign_ins(staffed_stack):
    for _ in range(5):
        staffed_stack.client.post("/api/v1/session", json={"username": "admin1", "password": "x"})
    locked = staffed_stack.client.post(
        "/api/v1/session", json={"username": "admin1", "password": PASSWORD}
    )
    assert locked.status_code == 429 and "Retry-After" in locked.headers


def test_security_headers_and_openapi(stack):
    answer = stack.client.get("/healthz")
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    schema = stack.client.get("/openapi.json").json()
    for path in (
        "/api/v1/deliveries",
        "/api/v1/pickup",
        "/api/v1/scan",
        "/api/v1/events",
        "/api/v1/compartments/{label}/open",
        "/api/v1/notifications/twilio-status",
    ):
        assert path in schema["paths"]


def test_twilio_webhook_rejects_bad_signature(stack):
    answer = stack.client.post(
        "/api/v1/notifications/twilio-status",
        data={"MessageSid": "SM1", "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "bogus"},
    )
    assert answer.status_code == 403 and answer.json()["error"] == "bad_signature"


def test_sim_controls(stack):
    state = stack.client.get("/sim/state").json()
    assert {"label", "door", "locked", "item", "faults"} <= set(state["compartments"][0])
    jam = stack.client.post("/sim/faults", json={"kind": "jam", "target": "A03", "on": True})
    assert "jammed" in next(c for c in jam.json()["compartments"] if c["label"] == "A03")["faults"]
    bad = stack.client.post("/sim/faults", json={"kind": "meteor", "target": "A03", "on": True})
    assert bad.status_code == 422
    closed_item = stack.client.post("/sim/compartments/A04/item", json={"present": True})
    assert closed_item.status_code == 422  # the door is closed
    assert stack.client.post("/sim/compartments/Q1/close").status_code == 422
    assert stack.client.get("/sim/messages").json() == []


def test_load_says_whether_the_compartment_is_within_reach(stack):
    recipient = {"name": "Rolf Rad", "email": "rolf@example.org", "needs_accessible": True}
    accessible = stack.announce("ACC-1", document_type="other", recipient=recipient)
    answer = stack.client.post(
        f"/api/v1/deliveries/{accessible['id']}/load", headers=stack.as_role("clerk")
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["needs_accessible"], body["within_reach"]) == (True, True)
    handle = stack.world.layout.compartment(body["compartment"]).handle_mm
    assert handle is not None and 380 <= handle <= 1220
    other = stack.announce(
        "OTHER-1", document_type="other", recipient=recipient | {"needs_accessible": False}
    )
    plain = stack.client.post(
        f"/api/v1/deliveries/{other['id']}/load", headers=stack.as_role("clerk")
    ).json()
    assert (plain["needs_accessible"], plain["within_reach"]) == (False, False)
