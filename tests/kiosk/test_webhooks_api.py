"""The webhook endpoints of the API: admin only, the secret shown once."""

from __future__ import annotations

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)


def test_webhook_endpoints_lifecycle(stack):
    admin = stack.as_role("admin")
    body = {"url": "https://127.0.0.1:9/hooks", "events": ["delivery.stored"]}
    assert (
        stack.client.post("/api/v1/webhooks", json=body, headers=stack.as_role("clerk")).status_code
        == 403
    )
    made = stack.client.post("/api/v1/webhooks", json=body, headers=admin)
    assert made.status_code == 201, made.text
    created = made.json()
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    listed = stack.client.get("/api/v1/webhooks", headers=admin).json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert (
        "secret" not in listed[0]
        and created["secret"]
        not in stack.client.get(f"/api/v1/webhooks/{created['id']}", headers=admin).text
    )

    rotated = stack.client.post(f"/api/v1/webhooks/{created['id']}/rotate", headers=admin).json()
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_until"]

    plain = stack.client.post(
        "/api/v1/webhooks", json={**body, "url": "http://x.example/"}, headers=admin
    )
    assert plain.status_code == 422 and plain.json()["field"] == "url"
    unknown = stack.client.post(
        "/api/v1/webhooks", json={**body, "events": ["delivery.eaten"]}, headers=admin
    )
    assert unknown.status_code == 422 and "delivery.eaten" in unknown.json()["detail"]

    dead = stack.client.get(f"/api/v1/webhooks/{created['id']}/messages?state=dead", headers=admin)
    assert dead.status_code == 200 and dead.json() == []
    assert (
        stack.client.post("/api/v1/webhooks/messages/999/redeliver", headers=admin).status_code
        == 404
    )
    assert (
        stack.client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin).status_code == 204
    )
    assert stack.client.get(f"/api/v1/webhooks/{created['id']}", headers=admin).status_code == 404
