"""Every template in every locale: renders, names no document type, SMS fit one segment."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from locker import codes
from locker.config import load_settings
from locker.vocabulary import DocumentType, MessageKind
from notify import gsm
from notify.messages import Facts, render, stored_sms_segments
from notify.texts import locales

from .conftest import LOCATION_40

WHEN = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
UNTIL = datetime(2026, 1, 19, 8, 0, tzinfo=UTC)
CODE = "K7M4QX9T2B"
BERLIN = ZoneInfo("Europe/Berlin")
# Words that would name the document: German and English, singular and plural stems.
DOCUMENT_WORDS = re.compile(
    r"reisepass|personalausweis|ausweis|führerschein|aufenthalts|\bpass\b|passport|"
    r"identity card|id card|id-card|driving|licen[cs]e|residence permit|permit",
    re.IGNORECASE,
)


def facts(kind: MessageKind, locale: str, location: str = LOCATION_40) -> Facts:
    secret = kind == MessageKind.STORED
    return Facts(
        kind=kind,
        locale=locale,
        location=location,
        installation="Dokumentenausgabe Musterstadt",
        at=WHEN,
        timezone=BERLIN,
        until=UNTIL if kind in (MessageKind.STORED, MessageKind.REMINDER) else None,
        code=CODE if secret else None,
        qr=codes.qr_payload("b1", CODE) if secret else None,
    )


ALL = [(kind, locale) for locale in locales() for kind in MessageKind]


@pytest.mark.parametrize(("kind", "locale"), ALL)
def test_every_template_renders_in_every_locale(kind: MessageKind, locale: str) -> None:
    message = render(facts(kind, locale))
    everything = [message.subject, message.sms, message.text, message.html("qr@x")]
    assert all(part.strip() for part in everything)
    assert all("{" not in part for part in (message.subject, message.sms, message.text))
    assert message.locale == locale
    if kind in (MessageKind.STORED, MessageKind.REMINDER):
        assert "19.01.2026" in message.text or "19 Jan 2026" in message.text
    if kind == MessageKind.STORED:
        assert "K7M4Q-X9T2B" in message.sms
        assert "K7M4Q-X9T2B" in message.text
        assert 'src="cid:qr@x"' in message.html("qr@x")
    else:
        assert "K7M4Q" not in message.text


@pytest.mark.parametrize(("kind", "locale"), ALL)
def test_no_message_names_the_document_type(kind: MessageKind, locale: str) -> None:
    message = render(facts(kind, locale))
    for part in (message.subject, message.sms, message.text, message.html("qr@x")):
        assert not DOCUMENT_WORDS.search(part), part
        for document in DocumentType:
            assert document.value not in part.lower()
    assert "Dokument" in message.sms or "document" in message.sms


@pytest.mark.parametrize(("kind", "locale"), ALL)
def test_every_sms_fits_one_gsm7_segment_with_a_40_character_location(
    kind: MessageKind, locale: str
) -> None:
    assert len(LOCATION_40) >= 40
    message = render(facts(kind, locale))
    assert gsm.is_gsm7(message.sms)
    assert gsm.gsm7_length(message.sms) <= gsm.SINGLE_SEGMENT, message.sms
    assert gsm.segments(message.sms) == 1


@pytest.mark.parametrize("locale", list(locales()))
def test_stored_sms_carries_code_place_and_date(locale: str) -> None:
    sms = render(facts(MessageKind.STORED, locale)).sms
    assert "K7M4Q-X9T2B" in sms
    assert LOCATION_40 in sms
    assert "09:00" in sms  # 08:00 UTC shown in Berlin time
    assert "19.01.2026" in sms or "19 Jan 2026" in sms


def test_times_are_shown_in_the_installations_timezone() -> None:
    summer = Facts(
        kind=MessageKind.COLLECTED,
        locale="en",
        location="x",
        installation="y",
        at=datetime(2026, 7, 1, 22, 30, tzinfo=UTC),
        timezone=BERLIN,
    )
    assert "2 Jul 2026, 00:30" in render(summer).sms


def test_locale_falls_back_to_german_and_accepts_regions() -> None:
    assert render(facts(MessageKind.STORED, "fr")).locale == "de"
    assert render(facts(MessageKind.STORED, "en-GB")).locale == "en"
    assert render(facts(MessageKind.STORED, "de-AT")).sms.startswith("Ihr Dokument")


def test_location_outside_gsm7_is_transliterated_so_the_sms_stays_gsm7() -> None:
    sms = render(facts(MessageKind.STORED, "de", "Łódź-Platz 2 – „Eingang“")).sms
    assert gsm.is_gsm7(sms)
    assert 'Lodz-Platz 2 - "Eingang"' in sms
    assert gsm.segments(sms) == 1


def test_gsm7_length_counts_extension_characters_twice() -> None:
    assert gsm.gsm7_length("abc") == 3
    assert gsm.gsm7_length("5 €") == 4
    assert gsm.gsm7_length("[x]{y}|~^\\") == 2 + 8 * 2
    assert gsm.gsm7_length("äöüßÄÖÜé") == 8
    assert gsm.segments("a" * 160) == 1
    assert gsm.segments("€" * 80) == 1
    assert gsm.segments("€" * 81) == 2
    assert gsm.segments("a" * 161) == 2
    assert gsm.segments("a" * 306) == 2
    assert gsm.segments("ł" * 70) == 1
    assert gsm.segments("ł" * 71) == 2
    with pytest.raises(ValueError, match="GSM-7"):
        gsm.gsm7_length("ł")


def test_html_has_no_remote_resources() -> None:
    page = render(facts(MessageKind.STORED, "de")).html("qr.1@stadt.example")
    assert not re.search(r"(src|href)\s*=\s*\"(?!cid:)", page)
    assert "http" not in page
    assert "<script" not in page


def test_start_up_check_counts_segments_of_the_configured_location() -> None:
    def segments_for(location: str) -> dict[str, int]:
        overrides = {"locker": {"demo": True, "location": location}}
        return stored_sms_segments(load_settings(overrides=overrides, environ={}))

    assert segments_for(LOCATION_40) == {"de": 1, "en": 1}
    assert set(segments_for(LOCATION_40 * 2).values()) == {2}
