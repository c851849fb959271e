"""The channels against the local stand-ins: the real twilio client, real smtplib + aiosmtpd."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode
from twilio.base.exceptions import TwilioRestException

from locker import codes
from locker.core import Core
from locker.vocabulary import MessageKind
from notify.errors import PermanentFailure, SendFailed, TransientFailure
from notify.mail import SmtpMailer
from notify.messages import Facts, Rendered, render
from notify.sms import TwilioSms, make_client
from simulator.inbox import Inbox
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin

from .conftest import MakeCore, StatusReceiver

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CODE = "K7M4Q9XT2BHD"
TO = "+4915112345678"


def stored_message(locale: str = "de") -> Rendered:
    return render(
        Facts(
            kind=MessageKind.STORED,
            locale=locale,
            location="Bürgerbüro, Haupteingang",
            installation="Dokumentenausgabe",
            at=NOW,
            timezone=ZoneInfo("Europe/Berlin"),
            until=datetime(2026, 1, 19, 8, 0, tzinfo=UTC),
            code=CODE,
            qr=codes.qr_payload("b1", CODE),
        )
    )


# -- SMS ------------------------------------------------------------------------------------


def test_real_twilio_client_creates_and_fetches_a_message(
    core: Core, twilio: TwilioStandin, inbox: Inbox
) -> None:
    sid = TwilioSms(core.settings).send(TO, stored_message(), now=NOW)
    assert sid.startswith("SM") and len(sid) == 34
    [entry] = inbox.messages()
    assert entry["channel"] == "sms" and entry["to"] == TO
    assert entry["code"] == "K7M4-Q9XT-2BHD"
    fetched = make_client(core.settings.sms).messages(sid).fetch()
    assert fetched.sid == sid
    assert fetched.to == TO
    assert fetched.from_ == "Stadt"
    assert fetched.body == stored_message().sms
    assert fetched.num_segments == "1"
    assert fetched.direction == "outbound-api"
    assert fetched.date_created is not None  # parsed from RFC 2822 by the client


def test_fetching_an_unknown_message_is_a_404(core: Core) -> None:
    with pytest.raises(TwilioRestException) as caught:
        make_client(core.settings.sms).messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_sms_asks_for_status_callbacks_at_the_public_url(
    make_core: MakeCore, twilio: TwilioStandin, receiver: StatusReceiver
) -> None:
    core = make_core(kiosk={"public_url": receiver.public_url})
    sid = TwilioSms(core.settings).send(TO, stored_message(), now=NOW)
    assert twilio.resources[sid]["_callback"].endswith("/api/v1/notifications/twilio-status")
    assert twilio.resources[sid]["_callback"].startswith(core.settings.kiosk.public_url)


def test_no_status_callback_without_a_public_url(core: Core, twilio: TwilioStandin) -> None:
    sid = TwilioSms(core.settings).send(TO, stored_message(), now=NOW)
    assert twilio.resources[sid]["_callback"] is None


def test_api_key_and_messaging_service(make_core: MakeCore, twilio: TwilioStandin) -> None:
    twilio.api_keys["SK" + "1" * 32] = "key-secret"
    core = make_core(
        sms={
            "api_key_sid": "SK" + "1" * 32,
            "api_key_secret": "key-secret",
            "auth_token": "",
            "from_number": "",
            "messaging_service_sid": "MG" + "2" * 32,
        }
    )
    sid = TwilioSms(core.settings).send(TO, stored_message("en"), now=NOW)
    assert twilio.resources[sid]["messaging_service_sid"] == "MG" + "2" * 32
    assert twilio.resources[sid]["from"] is None


def test_wrong_credentials_are_transient(make_core: MakeCore, inbox: Inbox) -> None:
    core = make_core(sms={"auth_token": "wrong"})
    with pytest.raises(TransientFailure, match="twilio 401/20003"):
        TwilioSms(core.settings).send(TO, stored_message(), now=NOW)
    assert len(inbox) == 0


@pytest.mark.parametrize(
    ("failure", "kind", "reason"),
    [
        ("invalid_number", PermanentFailure, "twilio 400/21211"),
        ("rate_limit", TransientFailure, "twilio 429/20429"),
        ("server_error", TransientFailure, "twilio 500/20500"),
    ],
)
def test_twilio_errors_are_sorted(
    core: Core, twilio: TwilioStandin, failure: str, kind: type[SendFailed], reason: str
) -> None:
    twilio.fail(failure, times=1)
    with pytest.raises(kind) as caught:
        TwilioSms(core.settings).send(TO, stored_message(), now=NOW)
    assert caught.value.reason == reason
    assert TO not in caught.value.reason
    TwilioSms(core.settings).send(TO, stored_message(), now=NOW)  # the next one goes


def test_an_invalid_number_is_refused_with_21211(core: Core) -> None:
    with pytest.raises(PermanentFailure, match="21211"):
        TwilioSms(core.settings).send("+12", stored_message(), now=NOW)


def test_a_hanging_gateway_times_out_as_transient(
    make_core: MakeCore, twilio: TwilioStandin
) -> None:
    core = make_core(sms={"timeout_s": 0.3})
    twilio.fail("hang", times=1)
    with pytest.raises(TransientFailure, match="Timeout"):
        TwilioSms(core.settings).send(TO, stored_message(), now=NOW)
    twilio.recover()


def test_a_gateway_that_is_gone_is_transient(make_core: MakeCore) -> None:
    core = make_core(sms={"api_base_url": "http://127.0.0.1:9"})
    with pytest.raises(TransientFailure, match="ConnectionError"):
        TwilioSms(core.settings).send(TO, stored_message(), now=NOW)


# -- e-mail ---------------------------------------------------------------------------------


def parse(raw: str) -> EmailMessage:
    message = message_from_string(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_email_is_multipart_with_inline_qr_that_decodes(
    core: Core, smtp: SmtpStandin, inbox: Inbox
) -> None:
    message_id = SmtpMailer(core.settings).send("erika@example.org", stored_message(), now=NOW)
    [entry] = inbox.messages()
    assert entry["channel"] == "email" and entry["to"] == "erika@example.org"
    assert entry["code"] == "K7M4-Q9XT-2BHD"
    assert "K7M4-Q9XT-2BHD" in entry["body"]
    mail = parse(entry["raw"])
    assert mail["Message-ID"].strip("<>") == message_id
    assert message_id.endswith("@stadt.example")
    assert mail["Date"] == "Mon, 05 Jan 2026 08:00:00 +0000"
    assert mail["Subject"] == "Ihr Dokument liegt zur Abholung bereit"
    assert mail.get_content_type() == "multipart/alternative"
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    images = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    assert "http" not in html.get_content()
    png = images[0].get_payload(decode=True)
    assert isinstance(png, bytes)
    picture = Image.open(io.BytesIO(png))
    [found] = decode(picture, symbols=[ZBarSymbol.QRCODE])
    assert found.data.decode() == "LOCKER2:b1:K7M4Q9XT2BHD"
    modules = 25 + 2 * 4  # version 2 plus the quiet zone
    assert picture.width // modules >= 6


def test_mail_outage_421_is_transient(core: Core, smtp: SmtpStandin, inbox: Inbox) -> None:
    smtp.outage("421")
    with pytest.raises(TransientFailure, match="smtp 421"):
        SmtpMailer(core.settings).send("erika@example.org", stored_message(), now=NOW)
    smtp.outage(None)
    SmtpMailer(core.settings).send("erika@example.org", stored_message(), now=NOW)
    assert len(inbox) == 1


def test_mail_server_refusing_connections_is_transient(
    core: Core, smtp: SmtpStandin, inbox: Inbox
) -> None:
    smtp.set_down(True)
    with pytest.raises(TransientFailure, match="ConnectionRefusedError"):
        SmtpMailer(core.settings).send("erika@example.org", stored_message(), now=NOW)
    smtp.set_down(False)
    SmtpMailer(core.settings).send("erika@example.org", stored_message(), now=NOW)
    assert len(inbox) == 1


def test_an_unknown_mailbox_is_permanent(core: Core, smtp: SmtpStandin, inbox: Inbox) -> None:
    smtp.unknown_mailboxes.add("nobody@example.org")
    with pytest.raises(PermanentFailure, match="smtp 550"):
        SmtpMailer(core.settings).send("nobody@example.org", stored_message(), now=NOW)
    assert len(inbox) == 0
