"""The words of every message, per language: one catalog per locale, German first.

Rules every text here follows (``tests/notify/test_messages.py`` checks them):

* the document type is never named; it is always "Ihr Dokument" / "your document", because an
  SMS preview on a locked phone is read by whoever holds it;
* the stored SMS (code, place, date until) fits one GSM-7 segment with a 40-character
  location, and so does every other SMS;
* placeholders: ``{location}``, ``{until}`` (end of the pickup period), ``{at}`` (when it
  happened), ``{code}`` (the grouped pickup code, stored messages only), ``{name}`` (the
  installation's name).

A new language is one more :class:`Catalog` in :data:`CATALOGS`, with a date format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from locker.vocabulary import MessageKind

FALLBACK_LOCALE = "de"


@dataclass(frozen=True)
class Template:
    subject: str
    sms: str
    lead: tuple[str, ...]
    """Paragraphs of the e-mail before the code and QR code (if the kind has them)."""
    tail: tuple[str, ...] = ()
    """Paragraphs after them."""


@dataclass(frozen=True)
class Catalog:
    greeting: str
    code_label: str
    qr_alt: str
    closing: str
    footer: str
    when: Callable[[datetime], str]
    """A local time as people of this language write it."""
    templates: Mapping[MessageKind, Template]


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

GERMAN = Catalog(
    greeting="Guten Tag,",
    code_label="Ihr Abholcode",
    qr_alt="QR-Code zum Abholen",
    closing="Mit freundlichen Grüßen\n{name}",
    footer=(
        "Diese Nachricht wurde automatisch versandt. Antworten auf diese E-Mail werden nicht"
        " gelesen."
    ),
    when=lambda t: f"{t:%d.%m.%Y}, {t:%H:%M} Uhr",
    templates={
        MessageKind.STORED: Template(
            subject="Ihr Dokument liegt zur Abholung bereit",
            sms="Ihr Dokument liegt bereit im Abholfach: {location}. Abholcode: {code},"
            " gültig bis {until}.",
            lead=("Ihr Dokument liegt für Sie im Abholfach bereit: {location}.",),
            tail=(
                "Halten Sie den QR-Code vor die Kamera am Abholfach oder tippen Sie den"
                " Abholcode am Bildschirm ein. Je nach Dokument werden Sie zusätzlich nach"
                " Ihrem Geburtsdatum gefragt.",
                "Sie können Ihr Dokument bis {until} abholen. Danach geht es an die ausgebende"
                " Stelle zurück.",
                "Bitte geben Sie den Abholcode nicht weiter.",
            ),
        ),
        MessageKind.REMINDER: Template(
            subject="Erinnerung: Ihr Dokument wartet auf Sie",
            sms="Erinnerung: Ihr Dokument liegt noch bis {until} bereit: {location}. Code:"
            " siehe erste Nachricht.",
            lead=(
                "Ihr Dokument liegt noch bis {until} für Sie im Abholfach bereit: {location}.",
                "Bitte nutzen Sie den Abholcode aus unserer ersten Nachricht. Danach geht Ihr"
                " Dokument an die ausgebende Stelle zurück.",
            ),
        ),
        MessageKind.EXPIRY: Template(
            subject="Abholfrist abgelaufen",
            sms="Die Abholfrist ist abgelaufen. Ihr Dokument geht an die ausgebende Stelle"
            " zurück. Bitte vereinbaren Sie dort einen Termin.",
            lead=(
                "Die Abholfrist für Ihr Dokument ist abgelaufen; der Abholcode gilt nicht mehr.",
                "Ihr Dokument geht an die ausgebende Stelle zurück. Bitte vereinbaren Sie dort"
                " einen Termin zur Abholung.",
            ),
        ),
        MessageKind.COLLECTED: Template(
            subject="Ihr Dokument wurde abgeholt",
            sms="Ihr Dokument wurde am {at} abgeholt. Waren Sie das nicht? Bitte melden Sie"
            " sich sofort bei der ausgebenden Stelle.",
            lead=(
                "Ihr Dokument wurde am {at} aus dem Abholfach abgeholt: {location}.",
                "Waren Sie das nicht? Bitte melden Sie sich sofort bei der ausgebenden Stelle.",
            ),
        ),
        MessageKind.RETURNED: Template(
            subject="Ihr Dokument ist wieder bei der ausgebenden Stelle",
            sms="Ihr Dokument wurde aus dem Abholfach genommen und liegt wieder bei der"
            " ausgebenden Stelle. Bitte vereinbaren Sie dort einen Termin.",
            lead=(
                "Ihr Dokument wurde am {at} aus dem Abholfach genommen und liegt wieder bei der"
                " ausgebenden Stelle.",
                "Bitte vereinbaren Sie dort einen Termin zur Abholung.",
            ),
        ),
    },
)

ENGLISH = Catalog(
    greeting="Hello,",
    code_label="Your pickup code",
    qr_alt="QR code for collection",
    closing="Kind regards\n{name}",
    footer="This message was sent automatically. Replies to this e-mail are not read.",
    when=lambda t: f"{t.day} {_MONTHS_EN[t.month - 1]} {t.year}, {t:%H:%M}",
    templates={
        MessageKind.STORED: Template(
            subject="Your document is ready for collection",
            sms="Your document is ready for collection at {location}. Pickup code: {code},"
            " valid until {until}.",
            lead=("Your document is ready for you in the locker: {location}.",),
            tail=(
                "Hold the QR code up to the camera at the locker or type the pickup code on"
                " the screen. For some documents you will also be asked for your date of"
                " birth.",
                "You can collect your document until {until}. After that it goes back to the"
                " issuing office.",
                "Please do not share the pickup code with anyone.",
            ),
        ),
        MessageKind.REMINDER: Template(
            subject="Reminder: your document is waiting for you",
            sms="Reminder: your document is waiting until {until} at {location}. Use the"
            " pickup code from our first message.",
            lead=(
                "Your document is still waiting for you in the locker until {until}: {location}.",
                "Please use the pickup code from our first message. After that date your"
                " document goes back to the issuing office.",
            ),
        ),
        MessageKind.EXPIRY: Template(
            subject="Pickup period ended",
            sms="The pickup period has ended. Your document goes back to the issuing office."
            " Please make an appointment there.",
            lead=(
                "The pickup period for your document has ended; the pickup code is no longer"
                " valid.",
                "Your document goes back to the issuing office. Please make an appointment"
                " there to collect it.",
            ),
        ),
        MessageKind.COLLECTED: Template(
            subject="Your document has been collected",
            sms="Your document was collected on {at}. If this was not you, please contact the"
            " issuing office immediately.",
            lead=(
                "Your document was collected from the locker on {at}: {location}.",
                "If this was not you, please contact the issuing office immediately.",
            ),
        ),
        MessageKind.RETURNED: Template(
            subject="Your document is back at the issuing office",
            sms="Your document has been taken out of the locker and is back at the issuing"
            " office. Please make an appointment there.",
            lead=(
                "Your document was taken out of the locker on {at} and is back at the issuing"
                " office.",
                "Please make an appointment there to collect it.",
            ),
        ),
    },
)

CATALOGS: Mapping[str, Catalog] = {"de": GERMAN, "en": ENGLISH}


def catalog_for(locale: str) -> tuple[str, Catalog]:
    """The catalog of ``locale``'s language (``en-GB`` → ``en``), German if we have none."""
    language = locale.split("-", 1)[0].split("_", 1)[0].lower()
    if language in CATALOGS:
        return language, CATALOGS[language]
    return FALLBACK_LOCALE, CATALOGS[FALLBACK_LOCALE]
