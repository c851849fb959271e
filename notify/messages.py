"""Turning an outbox row's facts into the words of one message: SMS text, e-mail text and HTML.

Rendering is pure: the same :class:`Facts` always give the same :class:`Rendered`, so every
template in every locale can be checked without a network. Times are shown in the
installation's timezone. The e-mail's HTML has no remote resources at all: the only image is
the QR code, attached inline and referenced by ``cid:``; no tracking pixel, no web fonts.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_day_names

from locker import codes
from locker.config import OfficeSection, Settings
from locker.i18n import Catalog
from locker.vocabulary import MessageKind
from notify import gsm
from notify.texts import catalog_for, locales, template


@dataclass(frozen=True)
class Facts:
    """Everything a message says, already unsealed; never stored."""

    kind: MessageKind
    locale: str
    location: str
    installation: str
    at: datetime
    """When the announced thing happened (the row's creation time), timezone-aware."""
    timezone: ZoneInfo
    until: datetime | None = None
    code: str | None = None
    qr: str | None = None
    office: OfficeSection = field(default_factory=OfficeSection)
    birth_date_asked: bool = False
    """The kiosk will ask for the date of birth (the code message says so)."""

    alarm_kind: str = ""
    """For an on-call alert: the kind of alarm, its place and its id (no personal data)."""
    place: str = ""
    alarm_id: str = ""


@dataclass(frozen=True)
class Rendered:
    locale: str
    subject: str
    sms: str
    lead: tuple[str, ...]
    tail: tuple[str, ...]
    closing: str
    footer: str
    code_label: str
    qr_alt: str
    code: str | None
    """The pickup code as people read it (``K7M4-Q9XT-2BHD``), for stored messages."""
    qr: str | None
    """The QR payload, for stored messages: the e-mail shows it as an inline image."""
    contact: tuple[str, ...] = ()
    """How to reach the office: a heading and one line each (name, address, phone, ...)."""

    @property
    def text(self) -> str:
        """The e-mail's plain-text part."""
        parts = [*self.lead]
        if self.code:
            parts.append(f"{self.code_label}: {self.code}")
        parts += [*self.tail, *self._contact(), self.closing, "-- \n" + self.footer]
        return "\n\n".join(parts) + "\n"

    def html(self, qr_cid: str | None) -> str:
        """The e-mail's HTML part; ``qr_cid`` names the inline QR image (without ``<>``)."""
        para = '<p style="margin:0 0 1em 0">{}</p>'.format
        body = [para(_html(p)) for p in self.lead]
        if self.code:
            big = '<span style="font-family:monospace;font-size:1.8em">{}</span>'
            body.append(para(f"{_html(self.code_label)}:<br>{big.format(_html(self.code))}"))
        if self.qr and qr_cid:
            image = '<img src="cid:{}" alt="{}">'
            body.append(para(image.format(html.escape(qr_cid), _html(self.qr_alt))))
        body += [para(_html(p)) for p in (*self.tail, *self._contact(), self.closing)]
        small = '<p style="margin:2em 0 0 0;color:#555;font-size:0.85em">{}</p>'
        body.append(small.format(_html(self.footer)))
        return (
            f'<!DOCTYPE html>\n<html lang="{self.locale}"><head><meta charset="utf-8">'
            f"<title>{_html(self.subject)}</title></head>\n"
            '<body style="font-family:sans-serif;font-size:16px;line-height:1.5;color:#111">\n'
            + "\n".join(body)
            + "\n</body></html>\n"
        )

    def _contact(self) -> list[str]:
        return ["\n".join(self.contact)] if self.contact else []


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def render(facts: Facts) -> Rendered:
    locale, catalog = catalog_for(facts.locale)
    texts = template(catalog, facts.kind, facts.birth_date_asked)
    office = facts.office

    def when(moment: datetime | None) -> str:
        return catalog.when(moment.astimezone(facts.timezone)) if moment else ""

    shown_code = codes.display(facts.code) if facts.code else None
    values = {
        "location": facts.location,
        "until": when(facts.until),
        "at": when(facts.at),
        "code": shown_code or "",
        "name": facts.installation,
        "office": office.name,
        "phone": office.phone,
        "alarm": catalog(f"alarm_kind_{facts.alarm_kind}") if facts.alarm_kind else "",
        "place": facts.place or "–",
        "alarm_id": facts.alarm_id,
    }
    values["contact"] = catalog("msg_contact_phone" if office.phone else "msg_contact", **values)
    return Rendered(
        locale=locale,
        subject=texts.subject.format_map(values),
        sms=gsm.to_gsm7(texts.sms.format_map(values)),
        lead=tuple(p.format_map(values) for p in (catalog("msg_greeting"), *texts.lead)),
        tail=tuple(p.format_map(values) for p in texts.tail),
        closing=catalog("msg_closing").format_map(values),
        footer=catalog("msg_footer"),
        code_label=catalog("msg_code_label"),
        qr_alt=catalog("msg_qr_alt"),
        code=shown_code,
        qr=facts.qr,
        contact=contact_lines(catalog, office),
    )


def contact_lines(catalog: Catalog, office: OfficeSection) -> tuple[str, ...]:
    """The e-mail's "How to reach us" block: what of ``[office]`` is set, in this language."""
    lines = [catalog("msg_contact_heading"), office.name]
    if office.address:
        lines.append(office.address)
    if office.phone:
        lines.append(catalog("msg_contact_line_phone", phone=office.phone))
    if office.opening_hours:
        hours = opening_hours(catalog, office.opening_hours)
        lines.append(catalog("msg_contact_line_hours", hours=hours))
    if office.web:
        lines.append(catalog("msg_contact_line_web", web=office.web))
    return tuple(lines)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def opening_hours(catalog: Catalog, hours: Mapping[Any, Sequence[str]]) -> str:
    """``Mo. 08:00–12:00; Do. 08:00–12:00, 14:00–18:00`` with the language's day names."""
    names = get_day_names("abbreviated", locale=catalog.locale)
    days = []
    for index, day in enumerate(WEEKDAYS):
        if hours.get(day):
            spans = ", ".join(span.replace("-", "–") for span in hours[day])
            days.append(f"{names[index]} {spans}")
    return "; ".join(days)


def facts_from(
    settings: Settings,
    *,
    kind: MessageKind,
    locale: str,
    context: dict[str, Any],
    created_at: datetime,
    secrets: dict[str, Any] | None,
) -> Facts:
    """The facts of an outbox row (``context`` as the core wrote it, ``secrets`` unsealed)."""
    until = context.get("expires_at")
    return Facts(
        kind=kind,
        locale=locale,
        location=str(context.get("location") or settings.locker.location),
        installation=settings.locker.name,
        at=created_at,
        timezone=ZoneInfo(settings.locker.timezone),
        until=datetime.fromisoformat(until) if until else None,
        code=(secrets or {}).get("code"),
        qr=(secrets or {}).get("qr"),
        office=settings.office,
        birth_date_asked=bool(context.get("birth_date_asked")),
        alarm_kind=str(context.get("alarm_kind") or ""),
        place=str(context.get("place") or ""),
        alarm_id=str(context.get("alarm_id") or ""),
    )


STORED_SMS_SEGMENTS = 2
"""What the code SMS may take: place, code, date, the date-of-birth note, office and phone."""


def stored_sms_segments(settings: Settings) -> dict[str, int]:
    """Segments of the longest stored SMS (with the date-of-birth note) per shipped language
    with this installation's location and office.

    Checked at start-up: a location or office long enough to push the code SMS beyond
    :data:`STORED_SMS_SEGMENTS` makes every message dearer, so the worker warns about it.
    """
    widest = datetime(2026, 12, 30, 20, 59, tzinfo=ZoneInfo("UTC"))
    return {
        locale: gsm.segments(
            render(
                Facts(
                    kind=MessageKind.STORED,
                    locale=locale,
                    location=settings.locker.location,
                    installation=settings.locker.name,
                    at=widest,
                    timezone=ZoneInfo(settings.locker.timezone),
                    until=widest,
                    code="0" * codes.CODE_LENGTH,
                    office=settings.office,
                    birth_date_asked=True,
                )
            ).sms
        )
        for locale in locales()
    }
