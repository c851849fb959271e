"""Finding 8: contacts are validated for what they are; free text is printable."""

from __future__ import annotations

import pytest

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)

BASE = {"reference": "C-1", "document_type": "other"}


def announce(stack, reference: str = "C-1", **recipient):
    body = {**BASE, "reference": reference, "recipient": {"name": "Erika", **recipient}}
    return stack.client.post("/api/v1/deliveries", json=body, headers=stack.as_role("clerk"))


@pytest.mark.parametrize(
    "email",
    [
        "x,victim@example.com",
        "a;b@example.com",
        "Erika <erika@example.org>",
        "erika@example.org, victim@example.com",
        '"a b"@example.org',
        "erika@[127.0.0.1]",
        "erika@localhost",
        "erika@exämple.org\r\nBcc: victim@example.com",
    ],
)
def test_an_email_is_one_plain_address(stack, email):
    answer = announce(stack, email=email)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "recipient.email"
    assert answer.json()["reason"] == "email_invalid"


def test_a_real_address_is_accepted_and_normalised_without_network(stack):
    answer = announce(stack, email="Erika.Mustermann@Example.ORG")
    assert answer.status_code == 201, answer.text
    created = stack.delivery(answer.json()["id"])
    assert created["state"] == "announced"


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("+49 30 1234567", "phone_not_mobile"),  # Berlin landline
        ("+49 900 1234567", "phone_not_mobile"),  # premium rate
        ("+49 800 1234567", "phone_not_mobile"),  # toll free
        ("+49 180 1234567", "phone_not_mobile"),  # shared cost
        ("+49 1234", "phone_invalid"),
    ],
)
def test_sms_goes_to_mobile_numbers_only(stack, phone, reason):
    answer = announce(stack, phone=phone)
    assert answer.status_code == 422, answer.text
    assert (answer.json()["field"], answer.json()["reason"]) == ("recipient.phone", reason)


def test_a_mobile_number_is_accepted(stack):
    assert announce(stack, phone="0151 12345678").status_code == 201


@pytest.mark.parametrize("bad", ["A\r\nB", "A\nB", "A\x00B", "A\x1bB", "A\u2028B"])
def test_references_and_names_are_printable(stack, bad):
    body = {**BASE, "reference": bad, "recipient": {"name": "Erika", "email": "e@example.org"}}
    answer = stack.client.post("/api/v1/deliveries", json=body, headers=stack.as_role("clerk"))
    assert answer.status_code == 422 and answer.json()["field"] == "reference"
    assert answer.json()["reason"] == "not_printable"
    body = {**BASE, "reference": "C-2", "recipient": {"name": bad, "email": "e@example.org"}}
    answer = stack.client.post("/api/v1/deliveries", json=body, headers=stack.as_role("clerk"))
    assert answer.status_code == 422 and answer.json()["field"] == "recipient.name"


def test_the_bulk_import_applies_the_same_checks(stack):
    csv = 'reference,document_type,name,email\nI-1,other,Erika,"x,victim@example.com"\n'
    answer = stack.client.post(
        "/api/v1/deliveries/import",
        content=csv.encode(),
        headers={**stack.as_role("clerk"), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    row = answer.json()["rows"][0]
    assert row["result"] == "invalid" and row["field"] == "recipient.email"


def test_a_technicians_reason_is_printable(stack):
    answer = stack.client.post(
        "/api/v1/compartments/A01/open",
        json={"reason": "check\r\nforged: entry"},
        headers=stack.as_role("technician"),
    )
    assert answer.status_code == 422 and answer.json()["reason"] == "not_printable"
