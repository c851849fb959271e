"""A clerk finds a delivery and fixes it over HTTP: search, timeline, resend with a new code
(the old one void at once), another contact, a longer pickup period — with roles."""

from __future__ import annotations

from .conftest import Stack

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)

PHONE = "+4915123456789"
OTHER = "+4915199988877"


def codes_to(stack: Stack, phone: str) -> list[str]:
    return [m["code"] for m in stack.world.inbox.to_list() if m["to"] == phone and m["code"]]


def post(stack: Stack, path: str, body: dict | None = None, role: str = "clerk"):
    return stack.client.post(path, json=body, headers=stack.as_role(role))


def test_search_by_part_of_the_reference_or_the_name_and_by_state(stack: Stack):
    stack.announce("AZ-2026-0001")
    stack.announce(
        "AZ-2026-0002",
        recipient={"name": "Max Müller", "phone": PHONE, "date_of_birth": "1990-01-01"},
    )
    find = lambda query: [  # noqa: E731
        d["reference"]
        for d in stack.client.get(
            f"/api/v1/deliveries?{query}", headers=stack.as_role("clerk")
        ).json()
    ]
    assert find("q=2026-000") == ["AZ-2026-0002", "AZ-2026-0001"]
    assert find("q=müller") == ["AZ-2026-0002"]
    assert find("q=MAX") == ["AZ-2026-0002"]
    assert find("q=%25") == []  # a literal %, not a wildcard
    assert find("q=0001&state=stored") == []
    assert find("q=0001&state=announced") == ["AZ-2026-0001"]


def test_resend_voids_the_old_code_at_once_and_the_new_one_opens(stack: Stack):
    delivery_id, label = stack.load("RS-1", document_type="other")
    old = stack.code_for()
    url = f"/api/v1/deliveries/{delivery_id}/resend"
    assert post(stack, url, role="technician").status_code == 403
    assert stack.client.post(url).status_code == 401
    answer = post(stack, url)
    assert answer.status_code == 200, answer.text
    assert [n["kind"] for n in answer.json()["notifications"]].count(
        "stored"
    ) == 4  # sms+mail, twice
    stack.wait_for(lambda: len(codes_to(stack, PHONE)) == 2)
    new = codes_to(stack, PHONE)[-1]
    assert new != old
    refused = stack.client.post("/api/v1/pickup", json={"code": old})
    assert refused.status_code in (404, 410), refused.text
    assert stack.client.post("/api/v1/pickup", json={"code": new}).json() == {"compartment": label}
    timeline = stack.client.get(
        f"/api/v1/deliveries/{delivery_id}/timeline", headers=stack.as_role("clerk")
    ).json()
    kinds = [step["kind"] for step in timeline]
    assert kinds.index("delivery_stored") < kinds.index("code_resent")
    assert post(stack, "/api/v1/deliveries/nothing/resend").status_code == 404


def test_resend_is_only_for_a_stored_delivery(stack: Stack):
    announced = stack.announce("RS-2")
    answer = post(stack, f"/api/v1/deliveries/{announced['id']}/resend")
    assert answer.status_code == 409 and answer.json()["error"] == "illegal_transition"


def test_a_new_contact_gets_a_new_code_and_the_old_contact_s_code_is_void(stack: Stack):
    delivery_id, label = stack.load("CT-1", document_type="other")
    old = stack.code_for()
    url = f"/api/v1/deliveries/{delivery_id}/contact"
    bad = post(stack, url, {"phone": "12345"})
    assert bad.status_code == 422 and bad.json()["field"] == "recipient.phone"
    nothing = post(stack, url, {"phone": None, "email": None})
    assert nothing.status_code == 422 and nothing.json()["field"] == "recipient"
    assert post(stack, url, {"phone": OTHER}, role="technician").status_code == 403
    answer = post(stack, url, {"phone": OTHER, "email": None})
    assert answer.status_code == 200, answer.text
    new = stack.code_for(OTHER)
    assert stack.client.post("/api/v1/pickup", json={"code": old}).status_code in (404, 410)
    assert stack.client.post("/api/v1/pickup", json={"code": new}).json() == {"compartment": label}


def test_the_pickup_period_is_extended_within_the_limit(stack: Stack):
    delivery_id, _ = stack.load("EX-1", document_type="other")
    before = stack.delivery(delivery_id)["expires_at"]
    url = f"/api/v1/deliveries/{delivery_id}/extend"
    assert post(stack, url, {"days": 0}).status_code == 422
    too_long = post(stack, url, {"days": 15})
    assert too_long.status_code == 422 and too_long.json()["field"] == "days"
    assert post(stack, url, {"days": 7}, role="admin").status_code == 403
    answer = post(stack, url, {"days": 7})
    assert answer.status_code == 200, answer.text
    assert answer.json()["expires_at"] > before
    assert post(stack, url, {"days": 8}).status_code == 422  # 14 in all
    assert post(stack, url, {"days": 7}).status_code == 200
