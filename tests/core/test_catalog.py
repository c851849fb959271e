"""The one catalog of screens and messages: both languages have every text, with the same
placeholders, and nothing in a template or script asks for a text that is not there."""

from __future__ import annotations

import re
from pathlib import Path
from string import Formatter

from babel.messages.pofile import read_po

from locker import i18n

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("de", "en")


def msgids(code: str) -> dict[str, str]:
    with (i18n.LOCALE_DIR / code / "LC_MESSAGES" / "locker.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def test_both_languages_are_shipped_german_first() -> None:
    assert i18n.languages() == SHIPPED


def test_every_msgid_exists_and_is_translated_in_both_languages() -> None:
    german, english = msgids("de"), msgids("en")
    assert set(german) == set(english), set(german) ^ set(english)
    assert [key for key, text in (german | english).items() if not text.strip()] == []
    words = re.compile(r"[^\W\d_]{2,}\s")  # a sentence, not a name or "{field}: {reason}"
    untranslated = [
        key
        for key in german
        if german[key] == english[key] and words.search(re.sub(r"\{\w+\}", "", german[key]))
    ]
    assert untranslated == []


def test_placeholders_are_the_same_in_both_languages() -> None:
    """Every msgid checked; the failure names each one that differs, not just the first."""
    german, english = msgids("de"), msgids("en")
    assert len(german) > 200
    differing = [
        f"{key}: de {sorted(placeholders(german[key]))} en {sorted(placeholders(english[key]))}"
        for key in sorted(german.keys() & english.keys())
        if placeholders(german[key]) != placeholders(english[key])
    ]
    assert differing == []


def used_keys() -> set[str]:
    """Keys the templates (``t('…')``) and scripts (``t("…")``) name literally."""
    found: set[str] = set()
    pattern = re.compile(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""")
    for folder in ("kiosk/templates", "kiosk/static"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".html", ".js"):
                found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_text_a_screen_asks_for_is_in_the_catalog() -> None:
    keys = used_keys()
    assert len(keys) > 100
    assert sorted(keys - set(msgids("en"))) == []


def test_pages_get_the_screen_texts_and_not_the_messages() -> None:
    german = i18n.catalog("de")
    assert "welcome_heading" in german.messages
    assert not any(key.startswith(i18n.MESSAGE_PREFIX) for key in german.messages)
    assert german("msg_stored_subject") == "Ihr Dokument liegt zur Abholung bereit"


def test_a_locale_of_the_language_finds_its_catalog_and_others_the_default() -> None:
    assert i18n.catalog("en-GB").code == "en"
    assert i18n.catalog("de_AT").code == "de"
    assert i18n.catalog("fr").code == "de"
    assert i18n.catalog(None).code == "de"
