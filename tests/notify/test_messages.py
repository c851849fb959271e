"""Every template in every locale: renders, names no document type, SMS fit one segment."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from locker import codes
from locker.config import OfficeSection, load_settings
from locker.vocabulary import DocumentType, MessageKind
from notify import gsm
from notify.messages import STORED_SMS_SEGMENTS, Facts, render, stored_sms_segments
from notify.texts import locales

from .conftest import LOCATION_40

WHEN = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
UNTIL = datetime(2026, 1, 19, 8, 0, tzinfo=UTC)
CODE = "K7M4Q9XT2BHD"
BERLIN = ZoneInfo("Europe/Berlin")
# Words that would name the document: German and English, singular and plural stems.
DOCUMENT_WORDS = re.compile(
    r"reisepass|personalausweis|ausweis|führerschein|aufenthalts|\bpass\b|passport|"
    r"identity card|id card|id-card|driving|licen[cs]e|residence permit|permit",
    re.IGNORECASE,
)


OFFICE = OfficeSection(
    name="Bürgerbüro Musterstadt",
    address="Rathausplatz 1, 12345 Musterstadt",
    phone="030 1234-5678",
    web="https://www.musterstadt.de/buergerbuero",
)


def facts(
    kind: MessageKind, locale: str, location: str = LOCATION_40, *, asked: bool = True
) -> Facts:
    secret = kind == MessageKind.STORED
    return Facts(
        office=OFFICE,
        birth_date_asked=asked,
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
        assert "K7M4-Q9XT-2BHD" in message.sms
        assert "K7M4-Q9XT-2BHD" in message.text
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
    if kind != MessageKind.ALARM:  # the on-call alert is about the locker, not a document
        assert "Dokument" in message.sms or "document" in message.sms


@pytest.mark.parametrize("locale", locales())
def test_the_on_call_alert_names_kind_place_and_id_and_nobody(locale: str) -> None:
    alert = Facts(
        kind=MessageKind.ALARM,
        locale=locale,
        location=LOCATION_40,
        installation="Dokumentenausgabe Musterstadt",
        at=WHEN,
        timezone=BERLIN,
        alarm_kind="board_offline",
        place="rs485:0",
        alarm_id="alm_0123456789abcdef",
    )
    message = render(alert)
    named = {"de": "Steuerplatine antwortet nicht", "en": "Lock board not answering"}[locale]
    for part in (message.subject, message.sms, message.text):
        assert named in part
    for part in (message.sms, message.text):
        assert "rs485:0" in part
        assert "alm_0123456789abcdef" in part
    assert gsm.segments(message.sms) == 1


# GSM-7 segments of every SMS with a 40-character location, a 22-character office name and its
# phone (the code SMS with the date-of-birth note): what the docs and the report quote.
SEGMENTS = {
    ("de", MessageKind.STORED): 2,
    ("de", MessageKind.REMINDER): 1,
    ("de", MessageKind.EXPIRY): 1,
    ("de", MessageKind.COLLECTED): 1,
    ("de", MessageKind.RETURNED): 1,
    ("en", MessageKind.STORED): 2,
    ("en", MessageKind.REMINDER): 1,
    ("en", MessageKind.EXPIRY): 1,
    ("en", MessageKind.COLLECTED): 1,
    ("en", MessageKind.RETURNED): 1,
    ("de", MessageKind.ALARM): 1,
    ("en", MessageKind.ALARM): 1,
}


@pytest.mark.parametrize(("kind", "locale"), ALL)
def test_every_sms_is_gsm7_within_its_segments_and_names_the_office(
    kind: MessageKind, locale: str
) -> None:
    assert len(LOCATION_40) >= 40
    message = render(facts(kind, locale))
    assert gsm.is_gsm7(message.sms)
    print(
        f"{locale} {kind.value}: {gsm.gsm7_length(message.sms)} septets, {gsm.segments(message.sms)} segment(s)"
    )
    assert gsm.segments(message.sms) == SEGMENTS[(locale, kind)], message.sms
    assert gsm.segments(message.sms) <= STORED_SMS_SEGMENTS
    # a reminder is a nudge within one segment (the first message had it); the on-call alert
    # goes to the office's own staff
    if kind not in (MessageKind.REMINDER, MessageKind.ALARM):
        assert OFFICE.name in message.sms
        assert OFFICE.phone in message.sms
    assert "ausgebende" not in message.sms and "issuing office" not in message.sms


@pytest.mark.parametrize("locale", list(locales()))
def test_the_code_message_says_whether_the_date_of_birth_will_be_asked(locale: str) -> None:
    asked = render(facts(MessageKind.STORED, locale, asked=True))
    not_asked = render(facts(MessageKind.STORED, locale, asked=False))
    words = re.compile(r"Geburtsdatum|date of birth")
    assert words.search(asked.sms) and words.search(asked.text)
    assert not words.search(not_asked.sms) and not words.search(not_asked.text)
    assert gsm.segments(not_asked.sms) <= gsm.segments(asked.sms)


@pytest.mark.parametrize(("kind", "locale"), ALL)
def test_every_email_says_how_to_reach_the_office(kind: MessageKind, locale: str) -> None:
    message = render(facts(kind, locale))
    for part in (message.text, message.html("qr@x")):
        for said in (OFFICE.name, OFFICE.address, OFFICE.phone, OFFICE.web, "08:00–12:00"):
            assert said in part, said
        assert "14:00–18:00" in part  # Thursday afternoon
    day = "Do." if locale == "de" else "Thu"
    assert f"{day} 08:00–12:00, 14:00–18:00" in message.text
    assert "ausgebende" not in message.text and "issuing office" not in message.text


def test_an_office_without_phone_or_web_is_named_without_them() -> None:
    plain = Facts(**(facts(MessageKind.COLLECTED, "de").__dict__ | {"office": OfficeSection()}))
    message = render(plain)
    assert message.sms.endswith("Bitte melden Sie sich sofort: Bürgerbüro.")
    assert "Telefon" not in message.text and "Im Internet" not in message.text


@pytest.mark.parametrize("locale", list(locales()))
def test_stored_sms_carries_code_place_and_date(locale: str) -> None:
    sms = render(facts(MessageKind.STORED, locale)).sms
    assert "K7M4-Q9XT-2BHD" in sms
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
    assert gsm.segments(sms) == 2


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
    assert "<a " not in page
    assert "<script" not in page


def test_start_up_check_counts_segments_of_the_configured_location() -> None:
    def segments_for(location: str) -> dict[str, int]:
        overrides = {"locker": {"demo": True, "location": location}}
        return stored_sms_segments(load_settings(overrides=overrides, environ={}))

    assert segments_for(LOCATION_40) == {"de": 2, "en": 2}
    assert set(segments_for(LOCATION_40 * 4).values()) == {3}
