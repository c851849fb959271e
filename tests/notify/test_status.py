"""Twilio's status callbacks: signatures (HMAC-SHA1 and HMAC-SHA256) and state changes."""

from __future__ import annotations

import random
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlmodel import col, select
from twilio.request_validator import HMAC_SHA256, RequestValidator

from locker.core import Core
from locker.db import reading
from locker.models import AuditEvent, Notification
from locker.vocabulary import NotificationState
from notify import BadSignature, OutboxWorker, apply_twilio_status, build_senders
from simulator.twilio_standin import TwilioStandin

from .conftest import MakeCore, StatusReceiver, phone_number, store

N = NotificationState
PUBLIC = "https://locker.example/api/v1/notifications/twilio-status"
KEY_SECRET = "shared-key-secret-0123456789"


@pytest.fixture
def sent(make_core: MakeCore) -> tuple[Core, Notification]:
    """A core whose public URL Twilio would call, and one SMS it has sent."""
    core = make_core(email={"enabled": False})
    store(core)
    OutboxWorker(core, build_senders(core.settings)).run_once()
    settings = core.settings.model_copy(
        update={
            "sms": core.settings.sms.model_copy(
                update={"status_callback_url": PUBLIC, "webhook_key_secret": KEY_SECRET}
            )
        }
    )
    [row] = the_rows(core)
    assert row.state == N.SENT and row.provider_id
    return Core(core.engine, core.clock, settings, core.bank), row


def the_rows(core: Core) -> list[Notification]:
    with reading(core.engine) as session:
        return list(session.exec(select(Notification)))


def report(row: Notification, status: str, **extra: str) -> dict[str, str]:
    assert row.provider_id and row.recipient
    return {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "From": "Stadt",
        "To": row.recipient,
        "MessageSid": row.provider_id,
        "SmsSid": row.provider_id,
        "MessageStatus": status,
        "SmsStatus": status,
        **extra,
    }


def sha1_headers(core: Core, params: dict[str, str], url: str = PUBLIC) -> dict[str, str]:
    signature = RequestValidator(core.settings.sms.auth_token).compute_signature(url, params)
    return {"X-Twilio-Signature": signature}


def test_valid_signature_marks_the_sms_delivered(sent: tuple[Core, Notification]) -> None:
    core, row = sent
    params = report(row, "delivered")
    # The request arrived behind a proxy on another URL: the configured public one counts.
    internal = "http://127.0.0.1:8000/api/v1/notifications/twilio-status"
    assert apply_twilio_status(core, internal, params, sha1_headers(core, params))
    assert the_rows(core)[0].state == N.DELIVERED


def test_intermediate_reports_change_nothing(sent: tuple[Core, Notification]) -> None:
    core, row = sent
    for status in ("queued", "sent"):
        params = report(row, status)
        assert apply_twilio_status(core, PUBLIC, params, sha1_headers(core, params))
    assert the_rows(core)[0].state == N.SENT


def test_hmac_sha256_signed_with_the_shared_key(sent: tuple[Core, Notification]) -> None:
    core, row = sent
    params = report(row, "delivered")
    signature = RequestValidator(KEY_SECRET).compute_signature(PUBLIC, params, HMAC_SHA256)
    settings_header = f"key=webhooks_sharedkey_1,algorithm={HMAC_SHA256}"
    with pytest.raises(BadSignature):  # the same signature read as SHA-1 does not hold
        apply_twilio_status(core, PUBLIC, params, {"X-Twilio-Signature": signature})
    headers = {
        "x-twilio-signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": settings_header,
    }
    assert apply_twilio_status(core, PUBLIC, params, headers)
    assert the_rows(core)[0].state == N.DELIVERED


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda c, p: {}, id="missing"),
        pytest.param(lambda c, p: {"X-Twilio-Signature": ""}, id="empty"),
        pytest.param(
            lambda c, p: sha1_headers(c, {**p, "MessageStatus": "failed"}), id="other-params"
        ),
        pytest.param(lambda c, p: sha1_headers(c, p, url=PUBLIC + "x"), id="other-url"),
        pytest.param(
            lambda c, p: {"X-Twilio-Signature": RequestValidator("x").compute_signature(PUBLIC, p)},
            id="other-token",
        ),
    ],
)
def test_missing_or_tampered_signature_is_refused(sent: tuple[Core, Notification], forge) -> None:  # type: ignore[no-untyped-def]
    core, row = sent
    params = report(row, "delivered")
    with pytest.raises(BadSignature):
        apply_twilio_status(core, PUBLIC, params, forge(core, params))
    assert the_rows(core)[0].state == N.SENT


def test_undelivered_is_dead_with_an_alert(sent: tuple[Core, Notification]) -> None:
    core, row = sent
    params = report(row, "undelivered", ErrorCode="30003")
    assert apply_twilio_status(core, PUBLIC, params, sha1_headers(core, params))
    [dead] = the_rows(core)
    assert (dead.state, dead.last_error) == (N.DEAD, "twilio undelivered 30003")
    with reading(core.engine) as session:
        [event] = session.exec(
            select(AuditEvent).where(col(AuditEvent.kind) == "notification_undelivered")
        )
    assert event.alert and event.detail["error_code"] == "30003"
    assert row.recipient and row.recipient not in repr(event.detail)


def test_unknown_message_sid_is_acknowledged_but_changes_nothing(
    sent: tuple[Core, Notification],
) -> None:
    core, row = sent
    params = {**report(row, "delivered"), "MessageSid": "SM" + "f" * 32, "SmsSid": ""}
    assert apply_twilio_status(core, PUBLIC, params, sha1_headers(core, params)) is False


def test_stand_in_callbacks_reach_the_app_over_http(
    make_core: MakeCore, twilio: TwilioStandin, receiver: StatusReceiver
) -> None:
    core = make_core(email={"enabled": False}, kiosk={"public_url": receiver.public_url})
    twilio.callback_delay_s = 0.2  # after the worker has recorded the message SIDs
    lost = phone_number()
    twilio.undeliverable.add(lost)
    store(core)
    store(core, phone=lost)
    OutboxWorker(core, build_senders(core.settings), rng=random.Random(1)).run_once()
    callbacks = twilio.wait_for_callbacks(lambda seen: len(seen) == 6)
    assert [c["status"] for c in callbacks].count("delivered") == 1
    assert {c.get("http_status") for c in callbacks} == {200}
    states = {row.recipient: row.state for row in the_rows(core)}
    assert states[lost] == N.DEAD
    assert sorted(states.values()) == sorted([N.DEAD, N.DELIVERED])

    forged = urllib.parse.urlencode({"MessageSid": "SMx", "MessageStatus": "failed"}).encode()
    for headers in ({}, {"X-Twilio-Signature": "AAAA"}):
        request = urllib.request.Request(receiver.url, data=forged, headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 403
        refused.value.close()
