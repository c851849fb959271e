"""The inbox behind ``GET /sim/messages``: shape, codes, order, threads, persistence."""

from __future__ import annotations

import json
import threading

from locker.config import load_settings
from notify.mail import compose
from simulator.inbox import Inbox, find_code

from .test_channels import NOW, stored_message


def test_codes_are_found_as_shown_and_only_then() -> None:
    assert find_code("Abholcode: K7M4-Q9XT-2BHD, gültig") == "K7M4-Q9XT-2BHD"
    assert find_code("Referenz ABCDEFGHJK-1 und 2026-01-19") is None
    assert find_code("XK7M4-Q9XT-2BHD") is None  # part of a longer word
    assert find_code("kein Code") is None


def test_entries_have_the_api_shape_oldest_first() -> None:
    inbox = Inbox()
    inbox.add_sms("+4915112345678", stored_message().sms)
    settings = load_settings(overrides={"locker": {"demo": True}}, environ={})
    raw = compose(settings.email, "erika@example.org", stored_message("en"), now=NOW).as_string()
    inbox.add_email("erika@example.org", raw)
    inbox.add_sms("+4915112345679", "Ihr Dokument wurde abgeholt.")
    sms, mail, receipt = inbox.messages()
    assert set(sms) == {"channel", "to", "body", "code"}
    assert (sms["channel"], sms["to"], sms["code"]) == ("sms", "+4915112345678", "K7M4-Q9XT-2BHD")
    assert set(mail) == {"channel", "to", "body", "code", "raw"}
    assert mail["body"].startswith("Hello,") and mail["code"] == "K7M4-Q9XT-2BHD"
    assert "Content-Type: multipart/alternative" in mail["raw"]
    assert receipt["code"] is None
    assert inbox.messages(channel="email") == [mail]
    assert inbox.messages(to="+4915112345679") == [receipt]


def test_round_trips_through_json() -> None:
    inbox = Inbox()
    inbox.add_sms("+4915112345678", stored_message().sms)
    saved = json.dumps(inbox.to_list())
    restored = Inbox.from_list(json.loads(saved))
    assert restored.messages() == inbox.messages()
    restored.add_sms("+4915112345679", "x")
    assert len(restored) == 2 and len(inbox) == 1


def test_many_writers_lose_nothing_and_waiters_wake() -> None:
    inbox = Inbox()

    def write(n: int) -> None:
        for i in range(50):
            inbox.add_sms(f"+49151{n}{i:04d}", "x")

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for writer in writers:
        writer.start()
    assert len(inbox.wait_for_count(200, timeout=10)) == 200
    for writer in writers:
        writer.join(5)
    assert len({m["to"] for m in inbox.messages()}) == 200
