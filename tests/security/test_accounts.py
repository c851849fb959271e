"""Findings 11 and 12: sign-in limits no stranger can turn into a lockout; a password policy."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from locker.errors import InvalidInput
from locker.services import accounts
from locker.vocabulary import Role

from .conftest import PASSWORD, running_stack


def sign_in(client: TestClient, password: str, user: str = "clerk1") -> int:
    return client.post("/api/v1/session", json={"username": user, "password": password}).status_code


def stranger(stack, host: str = "198.51.100.9") -> TestClient:
    return TestClient(stack.client.app, client=(host, 41000))


def test_a_stranger_cannot_lock_a_clerk_out(stack):
    clerk = stack.client
    assert sign_in(clerk, PASSWORD) == 200  # the clerk's browser now holds its device cookie
    clerk.delete("/api/v1/session")
    for n in range(30):  # wrong passwords for the clerk's account from many addresses
        assert sign_in(stranger(stack, f"198.51.100.{n}"), "wrong") in (401, 429)
    assert sign_in(stranger(stack, "198.51.100.200"), "wrong") == 429  # the account's budget
    assert sign_in(clerk, PASSWORD) == 200  # ...does not hold up the clerk's own browser


@pytest.fixture
def few_guesses(tmp_path):
    """A stack whose addresses get 5 failed sign-ins an hour, not 20: each is an argon2 check."""
    with running_stack(tmp_path, security={"staff_client_failures_per_hour": 5}) as built:
        yield built


def test_one_client_is_limited_whatever_names_it_tries(few_guesses):
    stack = few_guesses
    client = stranger(stack)
    limit = stack.controller.running.settings.security.staff_client_failures_per_hour
    answers = [sign_in(client, "wrong", user=f"nobody{n}") for n in range(limit + 1)]
    assert answers[:limit] == [401] * limit and answers[-1] == 429
    assert sign_in(stack.client, PASSWORD) == 200  # another address is not affected


def test_right_passwords_between_wrong_ones_do_not_refill_the_budget(stack):
    """4 wrong + 1 right, repeated, gave 20 guesses without lockout."""
    guesser = stranger(stack)
    limit = stack.controller.running.settings.security.staff_max_failures
    wrong = 0
    while wrong < limit:
        for _ in range(min(4, limit - wrong)):
            assert sign_in(guesser, "wrong") == 401
            wrong += 1
        fresh = stranger(stack, "203.0.113.5")  # knows the password, another unknown browser
        if wrong < limit:
            assert sign_in(fresh, PASSWORD) == 200
    assert sign_in(stranger(stack, "203.0.113.6"), "wrong") == 429


def test_a_known_browser_has_its_own_back_off(stack):
    clerk = stack.client
    assert sign_in(clerk, PASSWORD) == 200
    limit = stack.controller.running.settings.security.staff_max_failures
    answers = [sign_in(clerk, "wrong") for _ in range(limit + 1)]
    assert answers[-1] == 429 and 401 in answers


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("          ", "password_weak"),
        ("aaaaaaaaaa", "password_weak"),
        ("password12", "password_weak"),
        ("x", "password_too_short"),
        ("clerk7clerk7", "password_weak"),
    ],
)
def test_weak_passwords_are_refused_everywhere(stack, password, reason):
    answer = stack.client.post(
        "/api/v1/staff",
        json={"username": "clerk7", "password": password, "roles": ["admin"]},
        headers=stack.as_role("admin"),
    )
    assert answer.status_code == 422, answer.text
    assert (answer.json()["field"], answer.json()["reason"]) == ("password", reason)
    with pytest.raises(InvalidInput):
        accounts.add_user(stack.controller.running, "clerk7", password, frozenset(), actor="t")


def test_demo_mode_gives_only_its_own_seed_a_short_password(stack):
    """The demo API created an admin with password ``x``: now only ``demo``/``demo`` is let
    through, by the seeding itself."""
    core = stack.controller.running
    assert core.settings.locker.demo
    with pytest.raises(InvalidInput):
        accounts.add_user(core, "admin2", "x", frozenset({Role.ADMIN}), actor="t")
    accounts.add_user(core, "demo", "demo", frozenset(Role), actor="demo", demo_seed=True)


@pytest.mark.parametrize("name", ["clerk\n7", "clerk 7", "clerk\x007", "", "a" * 65, "<b>x</b>"])
def test_user_names_are_printable(stack, name):
    answer = stack.client.post(
        "/api/v1/staff",
        json={"username": name, "password": "a long unusual passphrase", "roles": ["clerk"]},
        headers=stack.as_role("admin"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "username"


def test_a_good_password_is_accepted(stack):
    answer = stack.client.post(
        "/api/v1/staff",
        json={"username": "Jörg.M", "password": "Zinnober-Kaskade-17", "roles": ["clerk"]},
        headers=stack.as_role("admin"),
    )
    assert answer.status_code == 201, answer.text
    assert sign_in(stack.client, "Zinnober-Kaskade-17", user="Jörg.M") == 200
