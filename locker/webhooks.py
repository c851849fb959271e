"""Webhooks to the city's registry software: endpoints, and the webhook outbox behind them.

A sink of the event outbox (:mod:`locker.event_outbox`), not a second outbox: the core writes
one :class:`~locker.models.OutboundEvent` per state change in the transaction of that change;
this module turns those events into rows of :class:`~locker.models.WebhookMessage`, one per
subscribed endpoint, and ``webhooks/`` sends them (Standard Webhooks 1.0).

* **Fan-out** (:func:`fan_out`): the events after the sink cursor ``webhooks`` become one
  message per enabled endpoint that subscribed to the type and existed before the event
  (``after_event``). The body is frozen then — the exact JSON text every attempt signs and
  sends — and ``webhook_id`` is the event's own ``event_id``. Rows are inserted first, the
  cursor advanced after; a crash in between fans the same events out again, and the unique
  (endpoint, webhook id) pair makes that a no-op. Nothing is lost, nothing doubled.
* **Claim** (:func:`claim_due`, one transaction): due rows become ``sending`` with one more
  attempt, exactly as the notification outbox does (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
  ``SKIP LOCKED``); a ``sending`` row whose lease ran out (its sender died between sending
  and recording) is claimed again and sent again **with the same webhook id**. Receivers drop
  duplicates by that id, as the spec asks.
* **Order per delivery.** A message is not claimed while an *earlier* message of the same
  endpoint about the same delivery is still pending, failed (waiting for a retry) or sending:
  a receiver sees ``delivery.stored`` before ``delivery.collected``, even when the first one
  needed retries. A dead message no longer holds the later ones back (they go on; the dead
  one waits for an admin's redeliver, after which it arrives late, marked by its timestamp).
  Events that name no delivery (alarms) are not ordered among themselves.
* **Finish** (one transaction each, only while the row is still this claim): ``sent`` on any
  2xx; a failure schedules the next attempt by the spec's schedule (:data:`RETRY_DELAYS_S`:
  5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with up to 10 % jitter, later if the receiver's
  ``Retry-After`` says so) and the eighth failure makes it ``dead`` (audit alert, visible to
  admins, :func:`redeliver` sends it again). ``410 Gone`` disables the endpoint: nothing more
  is sent to it, its messages stay where they are.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from locker import audit, event_outbox, sealing
from locker.core import Core
from locker.db import is_sqlite, reading, transaction
from locker.errors import InvalidInput, NotFound
from locker.models import OutboundEvent, WebhookEndpoint, WebhookMessage
from locker.vocabulary import WebhookState as W

SINK: Final = "webhooks"
EVENT_TYPES: Final = (
    "delivery.announced",
    "delivery.stored",
    "delivery.collected",
    "delivery.expired",
    "delivery.returned",
    "delivery.cancelled",
    "notification.dead",
    "alarm.raised",
    "alarm.cleared",
)
ALARM_EVENTS: Final = ("alarm.raised", "alarm.cleared")
RETRY_DELAYS_S: Final = (5, 300, 1800, 7200, 18000, 36000, 36000)
"""Wait after failed attempt 1, 2, …; the attempt after the last wait is the final one."""
MAX_ATTEMPTS: Final = len(RETRY_DELAYS_S) + 1
JITTER: Final = 0.1
RETRY_AFTER_CAP_S: Final = 36000
OPEN_STATES: Final = (W.PENDING, W.FAILED, W.SENDING)
"""A message in one of these holds back later messages of its delivery to its endpoint."""
ACTOR: Final = "webhooks"
SECRET_BYTES: Final = 32


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as admins see it: never its secret."""

    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    previous_secret_until: datetime | None
    pending: int
    dead: int


@dataclass(frozen=True)
class Claim:
    """A claimed message: what the sender needs to sign and send it."""

    id: int
    attempt: int
    endpoint_id: str
    url: str
    webhook_id: str
    event_type: str
    body: str
    secrets: tuple[str, ...]
    """The current secret first, then the previous one while its grace period lasts."""


@dataclass(frozen=True)
class MessageView:
    id: int
    endpoint_id: str
    webhook_id: str
    event_type: str
    delivery_id: str | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime


Outcome = Literal["sent", "retrying", "dead", "gone", "stale"]


# -- endpoints --------------------------------------------------------------------------------


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (the spec asks for 24 to 64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_url(url: str, *, allow_http: bool) -> str:
    """An absolute http(s) URL without credentials or fragment, or :class:`InvalidInput`."""
    url = url.strip()
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise InvalidInput("url", f"the URL must start with {wanted}")
    if not parts.hostname:
        raise InvalidInput("url", "the URL names no host")
    if parts.username or parts.password:
        raise InvalidInput("url", "put no user name or password into the URL")
    if parts.fragment:
        raise InvalidInput("url", "the URL must not have a #fragment")
    if len(url) > 2000:
        raise InvalidInput("url", "the URL is longer than 2000 characters")
    return url


def check_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise InvalidInput("events", f"name at least one event: {', '.join(EVENT_TYPES)}")
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            "events", f"unknown event {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
        )
    return [e for e in EVENT_TYPES if e in set(events)]


def create_endpoint(
    core: Core, url: str, events: Sequence[str], *, actor: str
) -> tuple[EndpointView, str]:
    """A new endpoint and its secret (shown to the caller once, stored only sealed)."""
    url = check_url(url, allow_http=core.settings.webhooks.allow_http)
    wanted = check_events(events)
    event_outbox.register_sink(core, SINK)
    secret = new_secret()
    endpoint_id = "ep_" + secrets.token_hex(8)
    now = core.clock.now()
    with transaction(core.engine) as session:
        newest = session.exec(select(func.max(OutboundEvent.id))).one() or 0
        row = WebhookEndpoint(
            id=endpoint_id,
            url=url,
            events=wanted,
            sealed_secret=_seal(core, secret, endpoint_id),
            after_event=int(newest),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        audit.record(
            session, at=now, kind="webhook_created", actor=actor, endpoint=endpoint_id, url=url
        )
        session.flush()
        view = _view(session, row)
    return view, secret


def rotate_secret(core: Core, endpoint_id: str, *, actor: str) -> tuple[EndpointView, str]:
    """A new secret; the old one signs too for ``webhooks.rotation_grace_hours``."""
    secret = new_secret()
    now = core.clock.now()
    grace = timedelta(hours=core.settings.webhooks.rotation_grace_hours)
    with transaction(core.engine) as session:
        row = _endpoint(session, endpoint_id)
        row.sealed_previous = row.sealed_secret if grace else None
        row.previous_until = now + grace if grace else None
        row.sealed_secret = _seal(core, secret, endpoint_id)
        row.updated_at = now
        session.add(row)
        audit.record(
            session, at=now, kind="webhook_secret_rotated", actor=actor, endpoint=endpoint_id
        )
        session.flush()
        view = _view(session, row)
    return view, secret


def delete_endpoint(core: Core, endpoint_id: str, *, actor: str) -> None:
    """Remove the endpoint and every message still waiting for it."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        row = _endpoint(session, endpoint_id)
        session.exec(delete(WebhookMessage).where(col(WebhookMessage.endpoint_id) == row.id))
        session.delete(row)
        audit.record(
            session, at=now, kind="webhook_deleted", actor=actor, endpoint=endpoint_id, url=row.url
        )


def list_endpoints(core: Core) -> list[EndpointView]:
    with reading(core.engine) as session:
        rows = session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at)))
        return [_view(session, row) for row in rows]


def get_endpoint(core: Core, endpoint_id: str) -> EndpointView:
    with reading(core.engine) as session:
        return _view(session, _endpoint(session, endpoint_id))


def current_secrets(core: Core, row: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    found = [_unseal(core, row.sealed_secret, row.id)]
    if row.sealed_previous and row.previous_until and now < row.previous_until:
        found.append(_unseal(core, row.sealed_previous, row.id))
    return tuple(found)


# -- what a webhook says ----------------------------------------------------------------------


def event_data(event: event_outbox.Event) -> dict[str, Any]:
    """The ``data`` of the webhook for one outbound event: the one mapping point.

    Delivery events and ``notification.dead`` carry what :func:`locker.event_outbox.
    delivery_facts` put there (ids, reference, document type, state, compartment, times).
    ``alarm.raised`` / ``alarm.cleared`` (:data:`ALARM_EVENTS`) are recorded into the event
    outbox by the alarms of issue 12 with their own impersonal data (alarm id, kind,
    compartment or board, times); they pass through here as recorded — shape them here if
    they ever need it. Whatever the type, a key that could name or reach a person is dropped.
    """
    return {k: v for k, v in event.data.items() if k not in audit.PERSONAL_KEYS}


def body_of(event: event_outbox.Event) -> str:
    """The JSON text of the webhook: ``{"type", "timestamp", "data"}``, minified."""
    payload = {
        "type": event.type,
        "timestamp": _iso(event.occurred_at),
        "data": event_data(event),
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


# -- the webhook outbox -----------------------------------------------------------------------


def fan_out(core: Core, *, limit: int = 100) -> int:
    """Turn events after the sink's cursor into messages; return how many events were read."""
    event_outbox.register_sink(core, SINK)
    events = event_outbox.read_after(core, SINK, limit=limit)
    if not events:
        return 0
    now = core.clock.now()
    with transaction(core.engine) as session:
        endpoints = session.exec(
            select(WebhookEndpoint).where(col(WebhookEndpoint.enabled) == True)
        ).all()
        ids = [e.event_id for e in events]
        seen = {
            (m.endpoint_id, m.webhook_id)
            for m in session.exec(
                select(WebhookMessage).where(col(WebhookMessage.webhook_id).in_(ids))
            )
        }
        for event in events:
            for endpoint in endpoints:
                if event.type not in endpoint.events or event.id <= endpoint.after_event:
                    continue
                if (endpoint.id, event.event_id) in seen:
                    continue
                session.add(
                    WebhookMessage(
                        endpoint_id=endpoint.id,
                        webhook_id=event.event_id,
                        event_type=event.type,
                        delivery_id=event.delivery_id,
                        body=body_of(event),
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
    event_outbox.advance(core, SINK, events[-1].id)
    return len(events)


def claim_due(core: Core, *, limit: int = 100) -> list[Claim]:
    """Claim due messages, oldest first, none behind an open earlier one of its delivery."""
    now = core.clock.now()
    lease = timedelta(seconds=core.settings.webhooks.lease_s)
    earlier = aliased(WebhookMessage)
    blocked = exists().where(
        col(earlier.endpoint_id) == col(WebhookMessage.endpoint_id),
        col(earlier.delivery_id) == col(WebhookMessage.delivery_id),
        col(earlier.id) < col(WebhookMessage.id),
        col(earlier.state).in_(OPEN_STATES),
    )
    due = or_(
        and_(
            col(WebhookMessage.state).in_((W.PENDING, W.FAILED)),
            col(WebhookMessage.next_attempt_at) <= now,
        ),
        and_(
            col(WebhookMessage.state) == W.SENDING,
            col(WebhookMessage.claimed_at) <= now - lease,
        ),
    )
    query = (
        select(WebhookMessage, WebhookEndpoint)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookMessage.endpoint_id))
        .where(col(WebhookEndpoint.enabled) == True, due, ~blocked)
        .order_by(col(WebhookMessage.id))
        .limit(limit)
    )
    if not is_sqlite(core.engine):
        query = query.with_for_update(skip_locked=True, of=WebhookMessage)
    claims = []
    with transaction(core.engine) as session:
        for message, endpoint in session.exec(query).all():
            message.state = W.SENDING
            message.attempts += 1
            message.claimed_at = now
            session.add(message)
            assert message.id is not None
            claims.append(
                Claim(
                    id=message.id,
                    attempt=message.attempts,
                    endpoint_id=endpoint.id,
                    url=endpoint.url,
                    webhook_id=message.webhook_id,
                    event_type=message.event_type,
                    body=message.body,
                    secrets=current_secrets(core, endpoint, now),
                )
            )
    return claims


def next_due(core: Core) -> datetime | None:
    """When the next waiting message falls due: a retry, or a claim whose lease runs out."""
    lease = timedelta(seconds=core.settings.webhooks.lease_s)
    with reading(core.engine) as session:
        retry = session.exec(
            select(func.min(WebhookMessage.next_attempt_at)).where(
                col(WebhookMessage.state).in_((W.PENDING, W.FAILED))
            )
        ).one()
        claimed = session.exec(
            select(func.min(WebhookMessage.claimed_at)).where(
                col(WebhookMessage.state) == W.SENDING
            )
        ).one()
    moments = [m for m in (retry, claimed + lease if claimed else None) if m is not None]
    return min(moments) if moments else None


def record_sent(core: Core, claim: Claim, status: int) -> Outcome:
    with transaction(core.engine) as session:
        message = _claimed(session, claim)
        if message is None:
            return "stale"
        message.state = W.SENT
        message.sent_at = core.clock.now()
        message.last_status = status
        message.last_error = None
        session.add(message)
    return "sent"


def record_failure(
    core: Core,
    claim: Claim,
    *,
    status: int | None,
    error: str,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> Outcome:
    """A failed attempt: the next one by the schedule, or dead after the last."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        message = _claimed(session, claim)
        if message is None:
            return "stale"
        message.last_status = status
        message.last_error = error[:500]
        if message.attempts >= MAX_ATTEMPTS:
            message.state = W.DEAD
            audit.record(
                session,
                at=now,
                kind="webhook_dead",
                actor=ACTOR,
                delivery_id=message.delivery_id,
                alert=True,
                endpoint=claim.endpoint_id,
                webhook_id=message.webhook_id,
                attempts=message.attempts,
                error=message.last_error,
            )
            outcome: Outcome = "dead"
        else:
            wait = next_delay_s(message.attempts, rng or random.Random())
            if retry_after_s is not None:
                wait = max(wait, min(retry_after_s, RETRY_AFTER_CAP_S))
            message.state = W.FAILED
            message.next_attempt_at = now + timedelta(seconds=wait)
            outcome = "retrying"
        session.add(message)
    return outcome


def record_gone(core: Core, claim: Claim, *, status: int = 410) -> Outcome:
    """The receiver answered ``410 Gone``: disable its endpoint; the message waits."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        message = _claimed(session, claim)
        if message is None:
            return "stale"
        message.state = W.FAILED
        message.last_status = status
        message.last_error = "410 Gone: the receiver asked for no more webhooks"
        message.next_attempt_at = now
        session.add(message)
        for other in session.exec(
            select(WebhookMessage).where(
                col(WebhookMessage.endpoint_id) == claim.endpoint_id,
                col(WebhookMessage.state) == W.SENDING,
            )
        ):
            other.state = W.FAILED  # claimed in the same pass: their claims are void now
            session.add(other)
        endpoint = _endpoint(session, claim.endpoint_id)
        endpoint.enabled = False
        endpoint.disabled_reason = f"410 Gone on {_iso(now)}"
        endpoint.updated_at = now
        session.add(endpoint)
        audit.record(
            session,
            at=now,
            kind="webhook_disabled",
            actor=ACTOR,
            alert=True,
            endpoint=claim.endpoint_id,
            reason="410 Gone",
        )
    return "gone"


def next_delay_s(failed_attempt: int, rng: random.Random) -> float:
    """The wait after failed attempt ``failed_attempt`` (from 1): the schedule plus jitter."""
    base = RETRY_DELAYS_S[min(failed_attempt, len(RETRY_DELAYS_S)) - 1]
    return base * (1 + JITTER * rng.random())


def messages(
    core: Core, *, endpoint_id: str | None = None, state: W | None = None, limit: int = 200
) -> list[MessageView]:
    """Messages newest first (for the admin screen and the API)."""
    query = select(WebhookMessage).order_by(col(WebhookMessage.id).desc()).limit(limit)
    if endpoint_id is not None:
        query = query.where(col(WebhookMessage.endpoint_id) == endpoint_id)
    if state is not None:
        query = query.where(col(WebhookMessage.state) == state)
    with reading(core.engine) as session:
        return [_message_view(m) for m in session.exec(query)]


def redeliver(core: Core, message_id: int, *, actor: str) -> MessageView:
    """Send a dead message again (same webhook id, attempts from the start)."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        message = session.get(WebhookMessage, message_id)
        if message is None:
            raise NotFound(f"There is no webhook message {message_id}.")
        if message.state != W.DEAD:
            raise InvalidInput("message", f"message {message_id} is {message.state}, not dead")
        message.state = W.PENDING
        message.attempts = 0
        message.next_attempt_at = now
        message.claimed_at = None
        session.add(message)
        audit.record(
            session,
            at=now,
            kind="webhook_redelivered",
            actor=actor,
            delivery_id=message.delivery_id,
            endpoint=message.endpoint_id,
            webhook_id=message.webhook_id,
        )
        return _message_view(message)


def prune_sent(core: Core) -> int:
    """Delete sent messages older than the event retention; return how many."""
    cutoff = core.clock.now() - timedelta(days=core.settings.outbox.event_retention_days)
    with transaction(core.engine) as session:
        result = session.exec(
            delete(WebhookMessage).where(
                col(WebhookMessage.state) == W.SENT, col(WebhookMessage.sent_at) < cutoff
            )
        )
        return int(result.rowcount or 0)


# -- helpers ----------------------------------------------------------------------------------


def _seal(core: Core, secret: str, endpoint_id: str) -> str:
    return sealing.seal(core.seal_key, {"secret": secret}, f"webhook:{endpoint_id}")


def _unseal(core: Core, sealed: str, endpoint_id: str) -> str:
    return str(sealing.unseal(core.seal_key, sealed, f"webhook:{endpoint_id}")["secret"])


def _endpoint(session: Session, endpoint_id: str) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise NotFound(f"There is no webhook endpoint {endpoint_id!r}.")
    return row


def _claimed(session: Session, claim: Claim) -> WebhookMessage | None:
    message = session.get(WebhookMessage, claim.id)
    if message is None or message.state != W.SENDING or message.attempts != claim.attempt:
        return None
    return message


def _view(session: Session, row: WebhookEndpoint) -> EndpointView:
    counts = dict(
        session.exec(
            select(WebhookMessage.state, func.count())
            .where(col(WebhookMessage.endpoint_id) == row.id)
            .group_by(col(WebhookMessage.state))
        ).all()
    )
    assert row.created_at is not None
    return EndpointView(
        id=row.id,
        url=row.url,
        events=list(row.events),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        previous_secret_until=row.previous_until if row.sealed_previous else None,
        pending=sum(int(counts.get(s, 0)) for s in OPEN_STATES),
        dead=int(counts.get(W.DEAD, 0)),
    )


def _message_view(m: WebhookMessage) -> MessageView:
    assert m.id is not None and m.created_at is not None
    return MessageView(
        id=m.id,
        endpoint_id=m.endpoint_id,
        webhook_id=m.webhook_id,
        event_type=m.event_type,
        delivery_id=m.delivery_id,
        state=str(m.state),
        attempts=m.attempts,
        next_attempt_at=m.next_attempt_at,
        last_status=m.last_status,
        last_error=m.last_error,
        created_at=m.created_at,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
