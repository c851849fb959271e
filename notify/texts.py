"""The words of every message, per language, from the one catalog (``locker/locale``).

Rules every text follows (``tests/notify/test_messages.py`` checks them):

* the document type is never named; it is always "Ihr Dokument" / "your document", because an
  SMS preview on a locked phone is read by whoever holds it;
* with a 40-character location and a realistic office (name and phone), the code SMS fits two
  GSM-7 segments and every other SMS one or two (``tests/notify/test_messages.py`` prints the
  figures);
* placeholders: ``{location}``, ``{until}`` (end of the pickup period), ``{at}`` (when it
  happened), ``{code}`` (the grouped pickup code, stored messages only), ``{name}`` (the
  installation's name), ``{office}`` (``[office] name``, as the kiosk says it) and, in SMS,
  ``{contact}`` (the office's name and phone, ``msg_contact_phone``);
* every e-mail ends with how to reach the office (``[office]``: name, address, phone, opening
  hours, web page; what is not set is left out).

The keys of a message kind are ``msg_<kind>_subject``, ``msg_<kind>_sms``, ``msg_<kind>_lead``
(paragraphs before the code, one blank line between them) and optionally ``msg_<kind>_tail``
(after the code and QR image). A new language is one more ``.po`` file.
"""

from __future__ import annotations

from dataclasses import dataclass

from locker import i18n
from locker.vocabulary import MessageKind

FALLBACK_LOCALE = i18n.DEFAULT


@dataclass(frozen=True)
class Template:
    subject: str
    sms: str
    lead: tuple[str, ...]
    """Paragraphs of the e-mail before the code and QR code (if the kind has them)."""
    tail: tuple[str, ...] = ()
    """Paragraphs after them."""


def paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split("\n\n") if p.strip())


def template(catalog: i18n.Catalog, kind: MessageKind, birth_date_asked: bool) -> Template:
    """The texts of one kind of message in ``catalog``'s language; a code message for a
    document handed out only against the date of birth says so (SMS and e-mail)."""
    key = f"{i18n.MESSAGE_PREFIX}{kind.value}"
    asked = birth_date_asked and kind == MessageKind.STORED
    tail = paragraphs(catalog.texts.get(f"{key}_tail", ""))
    if asked:
        tail = (tail[0], catalog.texts["msg_birth_date_note"], *tail[1:])
    return Template(
        subject=catalog.texts[f"{key}_subject"],
        sms=catalog.texts[f"{key}_sms_birth_date" if asked else f"{key}_sms"],
        lead=paragraphs(catalog.texts[f"{key}_lead"]),
        tail=tail,
    )


def locales() -> tuple[str, ...]:
    """The languages messages are written in."""
    return i18n.languages()


def catalog_for(locale: str) -> tuple[str, i18n.Catalog]:
    """The catalog of ``locale``'s language (``en-GB`` → ``en``), German if we have none."""
    found = i18n.catalog(locale)
    return found.code, found
