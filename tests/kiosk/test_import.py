"""Bulk announcements and Idempotency-Key through the real app."""

from __future__ import annotations

import pytest
from sqlmodel import col, func, select

from locker.db import reading
from locker.models import AuditEvent, Delivery, IdempotencyRecord, OutboundEvent

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)

HEADER = "reference;document_type;size;name;phone;email;locale;date_of_birth;accessible\n"
ROWS = [
    "IMP-1;passport;M;Erika Mustermann;+4915123456789;;de;17.05.1990;nein",  # created
    "IMP-2;driving_licence;;Max Mustermann;;max@example.org;en;;",  # created
    "IMP-1;id_card;S;Erika Mustermann;+4915123456789;;de;1990-05-17;",  # duplicate (row 1)
    "EXISTS;other;;Anna Beispiel;;anna@example.org;;;",  # duplicate (in the database)
    "IMP-3;passport;;Ohne Kontakt;;;de;1990-05-17;",  # invalid: no phone or e-mail
    "IMP-4;banana;;Obst Korb;;o@example.org;;;",  # invalid: document type
    "IMP-5;id_card;;Kein Geburtstag;+4915123456780;;;;",  # invalid: date of birth needed
    "IMP-6;other;;Falsche Nummer;12;;;;",  # invalid: phone
    "IMP-7;other;XL;Zu Groß;;z@example.org;;;",  # invalid: size
    "IMP-8;other;;Zelle;;z@example.org;;;vielleicht",  # invalid: accessible
]
EXPECTED = [
    ("created", None),
    ("created", None),
    ("duplicate", "reference"),
    ("duplicate", "reference"),
    ("invalid", "recipient"),
    ("invalid", "document_type"),
    ("invalid", "recipient.date_of_birth"),
    ("invalid", "recipient.phone"),
    ("invalid", "size"),
    ("invalid", "accessible"),
]


def counts(stack) -> tuple[int, int, int]:
    with reading(stack.controller.running.engine) as session:
        return (
            session.exec(select(func.count()).select_from(Delivery)).one(),
            session.exec(select(func.count()).select_from(AuditEvent)).one(),
            session.exec(select(func.count()).select_from(OutboundEvent)).one(),
        )


def post_csv(stack, text: str, *, dry_run: bool = False, encoding: str = "utf-8", **headers):
    return stack.client.post(
        "/api/v1/deliveries/import" + ("?dry_run=true" if dry_run else ""),
        content=text.encode(encoding),
        headers={"content-type": "text/csv", **stack.as_role("clerk"), **headers},
    )


@pytest.mark.parametrize("dry_run", [True, False])
def test_import_gives_exact_per_row_results_and_a_dry_run_changes_nothing(stack, dry_run):
    stack.announce("EXISTS")
    before = counts(stack)
    answer = post_csv(stack, HEADER + "\n".join(ROWS) + "\n", dry_run=dry_run, encoding="utf-8-sig")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["dry_run"] is dry_run
    assert [(r["result"], r["field"]) for r in found["rows"]] == EXPECTED
    assert [r["row"] for r in found["rows"]] == list(range(1, len(ROWS) + 1))
    assert (found["created"], found["duplicate"], found["invalid"]) == (2, 2, 6)
    assert "row 1" in found["rows"][2]["reason"]
    assert found["rows"][3]["delivery_id"]  # the one it duplicates
    after = counts(stack)
    if dry_run:
        assert after == before
        assert all(r["delivery_id"] is None for r in found["rows"][:2])
    else:
        assert after[0] == before[0] + 2
        imported = stack.delivery(found["rows"][0]["delivery_id"])
        assert imported["state"] == "announced" and imported["size"] == "M"
        with reading(stack.controller.running.engine) as session:
            erika = session.get(Delivery, found["rows"][0]["delivery_id"])
            assert erika is not None and str(erika.date_of_birth) == "1990-05-17"
            events = session.exec(
                select(OutboundEvent.type).where(
                    col(OutboundEvent.delivery_id) == found["rows"][1]["delivery_id"]
                )
            ).all()
        assert events == ["delivery.announced"]


def test_comma_separated_and_json_and_bad_bodies(stack):
    text = "reference,document_type,name,email\nC-1,other,Anna Beispiel,anna@example.org\n"
    answer = post_csv(stack, text)
    assert answer.json()["created"] == 1
    body = [
        {
            "reference": "J-1",
            "document_type": "other",
            "recipient": {"name": "A", "email": "a@example.org"},
        },
        {"reference": "J-2", "document_type": "other", "recipient": {"name": "B"}},
        "not an object",
    ]
    answer = stack.client.post(
        "/api/v1/deliveries/import", json=body, headers=stack.as_role("clerk")
    )
    assert [r["result"] for r in answer.json()["rows"]] == ["created", "invalid", "invalid"]

    bad = post_csv(stack, "reference;colour\nX;red\n")
    assert bad.status_code == 422 and "colour" in bad.json()["detail"]
    latin = post_csv(
        stack,
        "reference;document_type;name;email\nÄ-1;other;Jörg;j@example.org\n",
        encoding="latin-1",
    )
    assert latin.status_code == 422 and "UTF-8" in latin.json()["detail"]
    xml = stack.client.post(
        "/api/v1/deliveries/import",
        content=b"<x/>",
        headers={"content-type": "application/xml", **stack.as_role("clerk")},
    )
    assert xml.status_code == 415
    limit = stack.controller.running.settings.api.import_max_bytes
    huge = post_csv(stack, HEADER + "x" * (limit + 1))
    assert huge.status_code == 413 and huge.json()["error"] == "body_too_large"
    nobody = stack.client.post(
        "/api/v1/deliveries/import", content=b"", headers={"content-type": "text/csv"}
    )
    assert nobody.status_code == 401


def test_idempotency_key_makes_a_retry_answer_once(stack):
    body = {
        "reference": "IDEM-1",
        "document_type": "other",
        "recipient": {"name": "Anna Beispiel", "email": "anna@example.org"},
    }
    headers = {**stack.as_role("clerk"), "Idempotency-Key": "3f1c2a7e-retry-1"}
    first = stack.client.post("/api/v1/deliveries", json=body, headers=headers)
    again = stack.client.post("/api/v1/deliveries", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert counts(stack)[0] == 1

    changed = stack.client.post(
        "/api/v1/deliveries", json={**body, "reference": "IDEM-2"}, headers=headers
    )
    assert changed.status_code == 422 and changed.json()["error"] == "idempotency_key_reused"
    other_caller = stack.client.post(
        "/api/v1/deliveries",
        json={**body, "reference": "IDEM-3"},
        headers={**stack.as_role("all"), "Idempotency-Key": "3f1c2a7e-retry-1"},
    )
    assert other_caller.status_code == 201  # keys are per caller

    csv_text = "reference;document_type;name;email\nIDEM-4;other;A;a@example.org\n"
    key = {"Idempotency-Key": "import-7"}
    once = post_csv(stack, csv_text, **key)
    twice = post_csv(stack, csv_text, **key)
    assert once.json() == twice.json() and once.json()["created"] == 1
    assert counts(stack)[0] == 3
    bad_key = stack.client.post(
        "/api/v1/deliveries", json=body, headers={**headers, "Idempotency-Key": "a b"}
    )
    assert bad_key.status_code == 422


def test_an_in_flight_key_is_refused_with_409_and_old_keys_expire(stack):
    core = stack.controller.running
    from locker import idempotency

    fingerprint = idempotency.fingerprint("POST", "/api/v1/deliveries", "", b"{}")
    assert idempotency.begin(core, "key:x", "k", fingerprint) is None
    with pytest.raises(idempotency.RequestInProgress):
        idempotency.begin(core, "key:x", "k", fingerprint)
    with pytest.raises(idempotency.IdempotencyKeyReused):
        idempotency.begin(core, "key:x", "k", "other")
    stack.world.clock.advance(core.settings.api.idempotency_retention_hours * 3600 + 1)
    assert idempotency.prune(core) >= 1
    with reading(core.engine) as session:
        assert session.exec(select(func.count()).select_from(IdempotencyRecord)).one() == 0
