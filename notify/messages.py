"""Turning an outbox row's facts into the words of one message: SMS text, e-mail text and HTML.

Rendering is pure: the same :class:`Facts` always give the same :class:`Rendered`, so every
template in every locale can be checked without a network. Times are shown in the
installation's timezone. The e-mail's HTML has no remote resources at all: the only image is
the QR code, attached inline and referenced by ``cid:``; no tracking pixel, no web fonts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from locker import codes
from locker.config import Settings
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
    """The pickup code as people read it (``K7M4Q-X9T2B``), for stored messages."""
    qr: str | None
    """The QR payload, for stored messages: the e-mail shows it as an inline image."""

    @property
    def text(self) -> str:
        """The e-mail's plain-text part."""
        parts = [*self.lead]
        if self.code:
            parts.append(f"{self.code_label}: {self.code}")
        parts += [*self.tail, self.closing, "-- \n" + self.footer]
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
        body += [para(_html(p)) for p in (*self.tail, self.closing)]
        small = '<p style="margin:2em 0 0 0;color:#555;font-size:0.85em">{}</p>'
        body.append(small.format(_html(self.footer)))
        return (
            f'<!DOCTYPE html>\n<html lang="{self.locale}"><head><meta charset="utf-8">'
            f"<title>{_html(self.subject)}</title></head>\n"
            '<body style="font-family:sans-serif;font-size:16px;line-height:1.5;color:#111">\n'
            + "\n".join(body)
            + "\n</body></html>\n"
        )


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def render(facts: Facts) -> Rendered:
    locale, catalog = catalog_for(facts.locale)
    texts = template(catalog, facts.kind)

    def when(moment: datetime | None) -> str:
        return catalog.when(moment.astimezone(facts.timezone)) if moment else ""

    shown_code = codes.display(facts.code) if facts.code else None
    values = {
        "location": facts.location,
        "until": when(facts.until),
        "at": when(facts.at),
        "code": shown_code or "",
        "name": facts.installation,
    }
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
    )


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
    )


def stored_sms_segments(settings: Settings) -> dict[str, int]:
    """Segments of the stored SMS per shipped language with this installation's location.

    Checked at start-up: a location long enough to push the code SMS into two segments
    doubles the cost of every message, so the worker warns about it.
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
                )
            ).sms
        )
        for locale in locales()
    }
