"""Finding 2: nobody keeps a citizen out for long, and nobody guesses a code in a year.

The locker-wide hourly budget let one person lock every citizen out for an hour; a double tap
of a code that had just opened counted as a wrong guess. Now a kiosk waits at most
``kiosk_lockout_max_s`` (≤ 5 minutes) after its last wrong code, a spent code is answered as
spent, and the guessing bound rests on 60-bit codes tried only at the kiosks.
"""

from __future__ import annotations

import pytest

from locker import codes, guessing
from locker.config import ConfigError, load_settings

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)

WRONG = {"code": "0" * codes.CODE_LENGTH}
FIVE_MINUTES = 300


def test_a_stranger_at_the_kiosk_cannot_keep_a_citizen_out_beyond_five_minutes(stack):
    _delivery, label = stack.load("G-1", document_type="other")
    code = stack.code_for()
    clock = stack.controller.running.clock
    waits = []
    for _ in range(60):  # an hour of determined guessing, waiting out every back-off
        answer = stack.client.post("/api/v1/pickup", json=WRONG)
        if answer.status_code == 429:
            waits.append(int(answer.headers["Retry-After"]))
            clock.advance(waits[-1])
        else:
            assert answer.status_code == 404, answer.text
    assert waits and max(waits) <= FIVE_MINUTES
    last = stack.client.post("/api/v1/pickup", json=WRONG)  # the last wrong attempt
    assert last.status_code in (404, 429)
    clock.advance(FIVE_MINUTES)
    opened = stack.client.post("/api/v1/pickup", json={"code": code})
    assert opened.status_code == 200 and opened.json()["compartment"] == label


def test_a_double_tap_of_a_spent_code_is_no_wrong_guess(stack):
    _delivery, label = stack.load("G-2", document_type="other")
    code = stack.code_for()
    assert stack.client.post("/api/v1/pickup", json={"code": code}).status_code == 200
    stack.wait_for(lambda: stack.door_open(label))
    limit = stack.controller.running.settings.security.kiosk_max_failures
    for _ in range(limit + 2):
        again = stack.client.post("/api/v1/pickup", json={"code": code})
        assert again.status_code == 409 and again.json()["error"] == "code_used", again.text
    assert stack.client.post("/api/v1/pickup", json=WRONG).status_code == 404  # not locked


def test_a_replaced_code_is_explained_not_counted(stack):
    delivery_id, _label = stack.load("G-3", document_type="other")
    old = stack.code_for()
    withdrawn = stack.client.post(
        f"/api/v1/deliveries/{delivery_id}/cancel", headers=stack.as_role("clerk")
    )
    assert withdrawn.status_code == 200, withdrawn.text
    limit = stack.controller.running.settings.security.kiosk_max_failures
    for _ in range(limit + 1):
        answer = stack.client.post("/api/v1/pickup", json={"code": old})
        assert answer.status_code == 410 and answer.json()["error"] == "code_revoked"
    assert stack.client.post("/api/v1/pickup", json=WRONG).status_code == 404


def test_codes_have_sixty_bits_and_the_qr_carries_them():
    assert codes.CODE_LENGTH == 12 and guessing.CODE_SPACE == 2**60
    code = codes.new_code()
    assert codes.display(code).count("-") == 2
    scanned = codes.parse_input(codes.qr_payload("b1", code))
    assert (scanned.bank_id, scanned.code) == ("b1", code)
    assert codes.qr_payload("b1", code).startswith("LOCKER2:")


def test_the_default_settings_keep_a_year_of_guessing_below_one_in_a_million():
    security = load_settings(environ={}, overrides={"locker": {"demo": True}}).security
    assert security.kiosk_lockout_max_s <= FIVE_MINUTES
    assert guessing.yearly_bound(security, kiosks=64) < 1e-6  # the most kiosks allowed
    assert guessing.attempts_per_kiosk_year(security) <= 5 * 365.25 * 24 * 12 + 100


@pytest.mark.parametrize(
    ("security", "why"),
    [
        ({"kiosk_lockout_max_s": 301}, "less than or equal to 300"),
        ({"kiosk_addresses": ["10.0.0.0/16"]}, "more than 64 kiosks"),
        ({"kiosk_addresses": ["kiosk-1"]}, "not an IP address"),
        ({"trusted_proxies": ["10.0.0.300"]}, "not an IP address"),
    ],
)
def test_settings_that_break_the_bound_or_the_identity_are_refused(security, why):
    with pytest.raises(ConfigError, match=why):
        load_settings(environ={}, overrides={"locker": {"demo": True}, "security": security})
