"""An upgrade to twelve-character codes does not void the codes citizens already hold.

A code issued before version 2 has ten characters and its QR code reads ``LOCKER1:…``; it is
stored, as then, as the HMAC of the canonical code, and migration 0006 flags it legacy. Such a
code keeps opening its own delivery, typed or scanned, until the delivery ends; a wrong
old-form code counts against the kiosk like any wrong code, and an old-form code opens no code
that is not flagged legacy.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from locker import codes
from locker.models import PickupCode

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)

OLD_CODE = "K7M4QX9T2B"
"""Ten characters: the form of version 1."""


def _issued_before_the_upgrade(stack, delivery_id: str, code: str, *, legacy: bool = True):
    """Store ``code`` for the delivery as version 1 did (the HMAC of the canonical code under
    the same derived key) and flag it as migration 0006 does."""
    core = stack.controller.running
    with Session(core.engine) as session:
        row = session.exec(
            select(PickupCode).where(col(PickupCode.delivery_id) == delivery_id)
        ).one()
        row.code_hash = codes.code_hash(core.code_key, code)
        row.legacy = legacy
        session.add(row)
        session.commit()


def test_an_old_code_typed_as_printed_collects_its_document(stack):
    delivery_id, label = stack.load("L-1", document_type="other")
    new_code = stack.code_for()
    _issued_before_the_upgrade(stack, delivery_id, OLD_CODE)
    assert stack.client.post("/api/v1/pickup", json={"code": new_code}).status_code == 404
    opened = stack.client.post("/api/v1/pickup", json={"code": "k7m4q-x9t2b"})
    assert opened.status_code == 200, opened.text
    assert opened.json()["compartment"] == label
    stack.wait_for(lambda: stack.door_open(label))
    again = stack.client.post("/api/v1/pickup", json={"code": OLD_CODE})
    assert again.status_code == 409 and again.json()["error"] == "code_used"


def test_an_old_qr_payload_collects_its_document(stack):
    delivery_id, label = stack.load("L-2", document_type="other")
    stack.code_for()
    _issued_before_the_upgrade(stack, delivery_id, OLD_CODE)
    bank_id = stack.controller.running.settings.locker.bank_id
    opened = stack.client.post("/api/v1/pickup", json={"code": f"LOCKER1:{bank_id}:{OLD_CODE}"})
    assert opened.status_code == 200, opened.text
    assert opened.json()["compartment"] == label


def test_wrong_old_codes_count_against_the_kiosk(stack):
    delivery_id, _label = stack.load("L-3", document_type="other")
    stack.code_for()
    _issued_before_the_upgrade(stack, delivery_id, OLD_CODE)
    limit = stack.controller.running.settings.security.kiosk_max_failures
    answers = [
        stack.client.post("/api/v1/pickup", json={"code": "0" * codes.LEGACY_LENGTH})
        for _ in range(limit)
    ]
    assert [a.status_code for a in answers] == [404] * (limit - 1) + [429]
    waiting = stack.client.post("/api/v1/pickup", json={"code": OLD_CODE})
    assert waiting.status_code == 429  # the same back-off as for any wrong code
    stack.controller.running.clock.advance(int(waiting.headers["Retry-After"]))
    assert stack.client.post("/api/v1/pickup", json={"code": OLD_CODE}).status_code == 200


def test_a_code_issued_after_the_upgrade_takes_no_old_form(stack):
    """Not its own first ten characters, and not even a ten-character code whose HMAC it
    carries: only a code flagged legacy takes the old form; the try is a counted wrong code."""
    delivery_id, label = stack.load("L-4", document_type="other")
    new_code = stack.code_for()
    bare = new_code.replace("-", "")
    assert len(bare) == codes.CODE_LENGTH
    first_ten = stack.client.post("/api/v1/pickup", json={"code": bare[: codes.LEGACY_LENGTH]})
    assert first_ten.status_code == 404
    _issued_before_the_upgrade(stack, delivery_id, OLD_CODE, legacy=False)
    bank_id = stack.controller.running.settings.locker.bank_id
    for old_form in (OLD_CODE, f"LOCKER1:{bank_id}:{OLD_CODE}"):
        refused = stack.client.post("/api/v1/pickup", json={"code": old_form})
        assert refused.status_code == 404 and refused.json()["error"] == "code_invalid"
    limit = stack.controller.running.settings.security.kiosk_max_failures
    assert limit == 5  # three wrong codes so far; the fifth wrong one in a row waits
    assert stack.client.post("/api/v1/pickup", json={"code": OLD_CODE}).status_code == 404
    assert stack.client.post("/api/v1/pickup", json={"code": OLD_CODE}).status_code == 429
    assert stack.delivery(delivery_id)["state"] == "stored"
    assert label
