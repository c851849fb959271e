"""Finding 5: a session ends on the server (sign-out, idle, absolute lifetime, the account)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from locker.services import sessions

from .conftest import PASSWORD, every_byte_under

BODY = {"reference": "S-1", "document_type": "other", "recipient": {"name": "A", "email": "a@b.de"}}


def sign_in(stack, user: str = "clerk1") -> tuple[str, str]:
    """Sign in; return the cookie and the CSRF token."""
    answer = stack.client.post("/api/v1/session", json={"username": user, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return stack.client.cookies["locker_session"], answer.json()["csrf_token"]


def replay(stack, cookie: str) -> TestClient:
    """Another browser presenting a copy of ``cookie``."""
    other = TestClient(stack.client.app, cookies={"locker_session": cookie})
    return other


def test_a_replayed_cookie_opens_nothing_after_sign_out(stack):
    cookie, csrf = sign_in(stack)
    thief = replay(stack, cookie)
    assert thief.get("/api/v1/deliveries").status_code == 200
    assert stack.client.delete("/api/v1/session").status_code == 204
    assert thief.get("/api/v1/deliveries").status_code == 401
    made = thief.post("/api/v1/deliveries", json=BODY, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 401
    assert thief.get("/clerk/ping").status_code == 401


def test_idle_time_out_and_absolute_lifetime(stack):
    clock = stack.controller.running.clock
    security = stack.controller.running.settings.security
    cookie, _ = sign_in(stack)
    thief = replay(stack, cookie)
    clock.advance(security.session_idle_minutes * 60 + 1)
    assert thief.get("/clerk/ping").status_code == 401

    cookie, _ = sign_in(stack)
    thief = replay(stack, cookie)
    step = timedelta(minutes=security.session_idle_minutes - 1)
    lived = timedelta()
    while lived + step < timedelta(hours=security.session_max_hours):
        assert thief.get("/clerk/ping").status_code == 204  # activity keeps it alive...
        clock.advance(step.total_seconds())
        lived += step
    clock.advance((timedelta(hours=security.session_max_hours) - lived).total_seconds())
    assert thief.get("/clerk/ping").status_code == 401  # ...but not past its absolute end


def test_end_all_for_an_account_and_disabled_accounts(stack):
    core = stack.controller.running
    first, _ = sign_in(stack)
    second, _ = sign_in(stack)
    other, _ = sign_in(stack, "technician1")
    assert sessions.end_all_for(core, "clerk1") == 2
    for cookie, status in ((first, 401), (second, 401), (other, 200)):
        assert replay(stack, cookie).get("/api/v1/compartments").status_code == status
    cookie, _ = sign_in(stack)
    assert replay(stack, cookie).get("/api/v1/deliveries").status_code == 200


def test_the_cookie_is_a_random_token_and_the_database_holds_its_hash_only(stack):
    cookie, _ = sign_in(stack)
    assert len(cookie) >= 40 and "clerk1" not in cookie
    raw = every_byte_under(stack.controller.running.settings.locker.data_dir)
    assert cookie.encode() not in raw and sessions.digest(cookie).encode() in raw


def test_housekeeping_prunes_ended_sessions(stack):
    from locker.services import housekeeping

    core = stack.controller.running
    sign_in(stack)
    core.clock.advance(core.settings.security.session_max_hours * 3600)
    assert housekeeping.run_due(core).pruned_sessions == 1
