"""The one message catalog of screens and messages: gettext ``.po`` files read through Babel.

``locker/locale/<lang>/LC_MESSAGES/locker.po`` holds every text a person reads — the kiosk's
screens (templates and their scripts) and the citizen's SMS and e-mails. A msgid is a short
key (``welcome_heading``, ``msg_stored_sms``), not the English sentence, so a text can change
without touching code and two developers adding texts only ever add lines. Placeholders are
``{name}`` (``python-brace-format``). Keys beginning with ``msg_`` are the citizen's messages
(notify/); the rest are the screens' (kiosk/), and only those are sent to a page.

The files are read directly with Babel's ``read_po`` (no compiled ``.mo`` to go stale); a
missing or empty translation falls back to English. The header's ``Language`` names the
Babel locale that formats dates and times (``en_GB`` for ``en``). This module is in the core
because both adapters that speak to people (kiosk/ and notify/) use it; it imports neither.
Adding a language is adding a folder; docs/kiosk.md says how to add a text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "locker"
DEFAULT = "de"
FALLBACK = "en"
MESSAGE_PREFIX = "msg_"
"""Keys of the citizen's messages; a page gets every other key."""


@dataclass(frozen=True)
class Catalog:
    """One language's texts; call it with a key and placeholder values."""

    code: str
    locale: Locale
    """What formats dates and times (the ``.po`` header's ``Language``)."""
    texts: dict[str, str]

    @property
    def name(self) -> str:
        """The language's own name, for the language switch ("Deutsch", "English")."""
        return str(Locale.parse(self.code).get_display_name(self.code)).capitalize()

    @property
    def direction(self) -> str:
        return "rtl" if self.locale.text_direction == "rtl" else "ltr"

    @property
    def messages(self) -> dict[str, str]:
        """The screens' texts (what a page's scripts may look up)."""
        return {k: v for k, v in self.texts.items() if not k.startswith(MESSAGE_PREFIX)}

    def __call__(self, key: str, **values: Any) -> str:
        """The text ``key`` with ``{placeholders}`` filled in (the key itself if unknown)."""
        text = self.texts.get(key, key)
        return text.format(**values) if values else text

    def date(self, value: date) -> str:
        """A date as this language writes it (``17.05.1990``, ``17 May 1990``)."""
        return str(format_date(value, "medium", locale=self.locale))

    def date_field(self, value: dt.date) -> str:
        """A date as a person types it into a field of this language (``17.05.1990``,
        ``17/05/1990``): the catalog's ``date_input_pattern``, never the browser's own."""
        return str(format_date(value, self("date_input_pattern"), locale=self.locale))

    def when(self, moment: datetime) -> str:
        """A local time as this language writes it (``30.12.2026, 20:59 Uhr``)."""
        time = format_time(moment, "short", locale=self.locale)
        return self("when", date=self.date(moment), time=time)


@cache
def languages() -> tuple[str, ...]:
    """The language codes there is a catalog for, the default first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return tuple(sorted(found, key=lambda code: code != DEFAULT))


def language_of(locale: str | None) -> str:
    """The catalog's language for a locale such as ``en-GB`` or ``de_AT``; the default if none."""
    code = (locale or "").replace("_", "-").split("-", 1)[0].lower()
    return code if code in languages() else DEFAULT


@cache
def catalog(code: str | None, **house: str) -> Catalog:
    """The catalog for ``code`` (any locale of the language; the default language if none).

    ``house`` fills placeholders that are the same on every screen of this installation
    (``office="Bürgerbüro Musterstadt"``) into every text, so a page's scripts and the speech
    output never see ``{office}``.
    """
    code = language_of(code)
    locale, texts = read(code)
    if code != FALLBACK:
        texts = read(FALLBACK)[1] | texts
    for name, value in house.items():
        texts = {key: text.replace("{" + name + "}", value) for key, text in texts.items()}
    return Catalog(code, locale, texts)


def read(code: str) -> tuple[Locale, dict[str, str]]:
    """The translated texts of one ``.po`` file (untranslated ones left out) and its locale."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=code, domain=DOMAIN)
    texts = {
        str(message.id): str(message.string)
        for message in po
        if message.id and isinstance(message.id, str) and message.string
    }
    return po.locale or Locale.parse(code), texts


def parse_date_field(text: str | None) -> date | None:
    """A typed date: day, month, year in any separator (``17.05.1990``, ``17/05/1990``,
    ``17051990``) or ISO (``1990-05-17``); ``None`` if it is no real day."""
    value = (text or "").strip()
    parts = [p for p in re.split(r"[.\-/\s]+", value) if p]
    if len(parts) == 1 and len(value) == 8 and value.isdigit():
        parts = [value[:2], value[2:4], value[4:]]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    day, month, year = reversed(parts) if len(parts[0]) == 4 else parts
    if len(year) != 4:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
