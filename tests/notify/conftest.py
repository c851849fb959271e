"""Fixtures of the notification tests: a core on a real SQLite file, the local stand-ins.

Everything runs on 127.0.0.1 with free ports; time-dependent logic runs on the core's
:class:`~locker.clock.ManualClock`; nothing sleeps. A fixture fails any test that leaves a
thread running.
"""

from __future__ import annotations

import io
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from email import message_from_string, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode
from sqlalchemy.engine import Engine

from locker.clock import ManualClock
from locker.config import load_settings
from locker.core import Core, NoBank
from locker.db import make_engine
from locker.ports import (
    CompartmentSpec,
    EventKind,
    HardwareEvent,
    UnlockOutcome,
    UnlockResult,
)
from locker.services import deliveries, doors, loading
from locker.services.compartments import sync_compartments
from locker.vocabulary import DocumentType, Size
from notify import STATUS_PATH, BadSignature, apply_twilio_status
from simulator.inbox import Inbox
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin

from ..conftest import migrated_database

BIRTHDAY = date(1990, 5, 17)
LOCATION_40 = "Rathaus Musterstadt, Eingang Marktplatz 1"


class FakeBank(NoBank):
    """Forty compartments whose locks always open; the test drives the doors (:func:`store`)."""

    def compartments(self) -> Sequence[CompartmentSpec]:
        return [CompartmentSpec(f"A{n:02d}", Size.M, 1 + n % 4) for n in range(1, 41)]

    def unlock(self, label: str) -> UnlockResult:
        return UnlockResult(label, UnlockOutcome.UNLOCKED)


class StatusReceiver:
    """What the kiosk's ``POST /api/v1/notifications/twilio-status`` does, on a free port."""

    def __init__(self) -> None:
        self.core: Core | None = None
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                assert receiver.core is not None
                try:
                    apply_twilio_status(receiver.core, receiver.url, form, dict(self.headers))
                    status = 200
                except BadSignature:
                    status = 403
                receiver.answers.append(status)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.public_url + STATUS_PATH

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def twilio(inbox: Inbox) -> Iterator[TwilioStandin]:
    with TwilioStandin(inbox, callback_delay_s=0.01) as standin:
        yield standin


@pytest.fixture
def smtp(inbox: Inbox) -> Iterator[SmtpStandin]:
    with SmtpStandin(inbox) as standin:
        yield standin


@pytest.fixture
def receiver() -> Iterator[StatusReceiver]:
    receiver = StatusReceiver()
    yield receiver
    receiver.close()


MakeCore = Callable[..., Core]


@pytest.fixture
def make_core(
    tmp_path: Path, twilio: TwilioStandin, smtp: SmtpStandin, receiver: StatusReceiver
) -> Iterator[MakeCore]:
    """Build a core wired to the stand-ins; keyword sections override the defaults.

    No public URL by default, so no status callbacks: pass
    ``kiosk={"public_url": receiver.public_url}`` to have them.
    """
    engines: list[Engine] = []

    def build(**sections: dict[str, Any]) -> Core:
        overrides: dict[str, dict[str, Any]] = {
            "locker": {"demo": True, "bank_id": "b1", "location": LOCATION_40},
            "sms": {**twilio.settings(), "timeout_s": 2.0},
            "email": {
                **smtp.settings(),
                "sender": "Dokumentenausgabe <noreply@stadt.example>",
                "timeout_s": 5.0,
            },
        }
        for name, values in sections.items():
            overrides.setdefault(name, {}).update(values)
        settings = load_settings(overrides=overrides, environ={})
        engine = make_engine(f"sqlite:///{migrated_database(tmp_path / f't{len(engines)}.db')}")
        engines.append(engine)
        core = Core(engine, ManualClock(), settings, FakeBank())
        sync_compartments(core)
        receiver.core = core
        return core

    yield build
    for engine in engines:
        engine.dispose()


@pytest.fixture
def core(make_core: MakeCore) -> Core:
    return make_core()


@dataclass(frozen=True)
class Stored:
    delivery_id: str
    compartment: str


_numbers = iter(range(1000, 10_000))


def phone_number() -> str:
    """A valid German mobile number, different on every call."""
    return f"+49151123{next(_numbers):04d}0"


def store(
    core: Core,
    *,
    phone: str | None = "auto",
    email: str | None = None,
    locale: str = "de",
    reference: str | None = None,
) -> Stored:
    """Announce a passport, load it and close the door: the outbox now holds its messages."""
    delivery = deliveries.announce(
        core,
        deliveries.Announcement(
            reference=reference or f"R-{next(_numbers)}",
            document_type=DocumentType.PASSPORT,
            name="Erika Mustermann",
            phone=phone_number() if phone == "auto" else phone,
            email=email,
            locale=locale,
            date_of_birth=BIRTHDAY,
        ),
        actor="test",
    )
    label = loading.start_loading(core, delivery.id, actor="clerk:test")
    doors.handle_event(core, HardwareEvent(EventKind.DOOR_OPENED, label=label))
    doors.handle_event(core, HardwareEvent(EventKind.DOOR_CLOSED, label=label))
    return Stored(delivery.id, label)


def qr_payload_of(raw: str) -> str:
    mail = message_from_string(raw, policy=policy.default)
    [part] = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    png = part.get_payload(decode=True)
    assert isinstance(png, bytes)
    [found] = decode(Image.open(io.BytesIO(png)), [ZBarSymbol.QRCODE])
    return str(found.data.decode())
