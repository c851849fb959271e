"""Writing notifications into the outbox, in the caller's transaction.

The core decides *that* a citizen is told something and to which contacts; ``notify/``
decides *how* (templates, channels) and drains the rows. One row per contact channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from locker import sealing
from locker.models import Delivery, Notification
from locker.vocabulary import Channel, MessageKind


def contacts(delivery: Delivery) -> list[tuple[Channel, str]]:
    found: list[tuple[Channel, str]] = []
    if delivery.recipient_phone:
        found.append((Channel.SMS, delivery.recipient_phone))
    if delivery.recipient_email:
        found.append((Channel.EMAIL, delivery.recipient_email))
    return found


def enqueue(
    session: Session,
    delivery: Delivery,
    kind: MessageKind,
    *,
    at: datetime,
    seal_key: bytes,
    secrets: dict[str, Any] | None = None,
    **context: str | int | None,
) -> list[Notification]:
    """Queue ``kind`` for every contact of ``delivery``; ``secrets`` are sealed, not stored."""
    rows = []
    for channel, address in contacts(delivery):
        row = Notification(
            delivery_id=delivery.id,
            channel=channel,
            kind=kind,
            recipient=address,
            locale=delivery.recipient_locale,
            sealed=sealing.seal(seal_key, secrets, delivery.id) if secrets else None,
            context=dict(context),
            created_at=at,
            next_attempt_at=at,
        )
        session.add(row)
        rows.append(row)
    return rows
