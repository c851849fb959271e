"""Accounts and keys once they exist: list, disable, new password, delete, revoke — over HTTP,
with roles, and refused at once (sessions end on the server, a revoked key at its next use)."""

from __future__ import annotations

from .conftest import KEYS, PASSWORD, Stack

ADMIN = {"Authorization": f"Bearer {KEYS['admin']}"}


def signed_in(stack: Stack, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in with a fresh cookie jar; return the cookie and CSRF header for later requests."""
    stack.client.cookies.clear()
    answer = stack.client.post("/api/v1/session", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    cookie = stack.client.cookies.get("locker_session")
    stack.client.cookies.clear()
    assert cookie
    return {"Cookie": f"locker_session={cookie}", "X-CSRF-Token": answer.json()["csrf_token"]}


def test_staff_and_keys_are_listed_for_admins_only_and_never_with_a_secret(stack: Stack):
    for role, status in (("clerk", 403), ("technician", 403), ("admin", 200)):
        for path in ("/api/v1/staff", "/api/v1/api-keys"):
            got = stack.client.get(path, headers=stack.as_role(role))
            assert got.status_code == status, (path, role)
    assert stack.client.get("/api/v1/staff").status_code == 401
    signed_in(stack, "clerk1")
    accounts = stack.client.get("/api/v1/staff", headers=ADMIN).json()
    clerk = next(a for a in accounts if a["username"] == "clerk1")
    assert clerk["roles"] == ["clerk"] and not clerk["disabled"]
    assert clerk["last_signed_in_at"] is not None and clerk["sessions"] == 1
    keys = stack.client.get("/api/v1/api-keys", headers=ADMIN).json()
    assert {k["name"] for k in keys} == set(KEYS)
    assert next(k for k in keys if k["name"] == "admin")["last_used_at"] is not None
    text = str(accounts) + str(keys)
    assert "argon2" not in text and "hash" not in text and KEYS["clerk"] not in text


def test_a_disabled_account_is_refused_at_once_and_can_be_enabled(stack: Stack):
    session = signed_in(stack, "clerk1")
    assert stack.client.get("/api/v1/deliveries", headers=session).status_code == 200
    url = "/api/v1/staff/clerk1/disable"
    assert stack.client.post(url, headers=stack.as_role("clerk")).status_code == 403
    answer = stack.client.post(url, headers=ADMIN)
    assert answer.status_code == 200 and answer.json()["disabled"] is True
    assert answer.json()["sessions"] == 0
    assert stack.client.get("/api/v1/deliveries", headers=session).status_code == 401
    refused = stack.client.post(
        "/api/v1/session", json={"username": "clerk1", "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert stack.client.post("/api/v1/staff/clerk1/enable", headers=ADMIN).status_code == 200
    signed_in(stack, "clerk1")
    assert stack.client.post("/api/v1/staff/nobody/disable", headers=ADMIN).status_code == 404


def test_a_new_password_ends_the_sessions_and_the_old_one_no_longer_opens(stack: Stack):
    session = signed_in(stack, "clerk1")
    url = "/api/v1/staff/clerk1/reset-password"
    assert stack.client.post(url, headers=stack.as_role("technician")).status_code == 403
    answer = stack.client.post(url, headers=ADMIN)  # no body: a random one, shown once
    assert answer.status_code == 200
    new = answer.json()["password"]
    assert len(new) >= 12
    assert stack.client.get("/api/v1/deliveries", headers=session).status_code == 401
    old = stack.client.post("/api/v1/session", json={"username": "clerk1", "password": PASSWORD})
    assert old.status_code == 401
    signed_in(stack, "clerk1", new)
    chosen = stack.client.post(url, json={"password": "a chosen pass phrase"}, headers=ADMIN)
    assert chosen.json()["password"] == "a chosen pass phrase"
    signed_in(stack, "clerk1", "a chosen pass phrase")


def test_the_last_admin_cannot_be_disabled_or_deleted_nor_oneself(stack: Stack):
    admin = signed_in(stack, "admin1")
    assert stack.client.post("/api/v1/staff/admin1/disable", headers=admin).status_code == 409
    assert stack.client.delete("/api/v1/staff/admin1", headers=ADMIN).status_code == 409
    deleted = stack.client.delete("/api/v1/staff/technician1", headers=admin)
    assert deleted.status_code == 204
    names = [a["username"] for a in stack.client.get("/api/v1/staff", headers=ADMIN).json()]
    assert "technician1" not in names
    assert stack.client.delete("/api/v1/staff/technician1", headers=ADMIN).status_code == 404


def test_a_revoked_key_is_refused_at_its_next_request(stack: Stack):
    clerk = stack.as_role("clerk")
    assert stack.client.get("/api/v1/deliveries", headers=clerk).status_code == 200
    assert stack.client.delete("/api/v1/api-keys/clerk", headers=clerk).status_code == 403
    assert stack.client.delete("/api/v1/api-keys/clerk", headers=ADMIN).status_code == 204
    assert stack.client.get("/api/v1/deliveries", headers=clerk).status_code == 401
    assert stack.client.delete("/api/v1/api-keys/clerk", headers=ADMIN).status_code == 409
    assert stack.client.delete("/api/v1/api-keys/nothing", headers=ADMIN).status_code == 404
    listed = stack.client.get("/api/v1/api-keys", headers=ADMIN).json()
    assert next(k for k in listed if k["name"] == "clerk")["revoked_at"] is not None
