"""Database tables of the core (SQLModel).

Personal data lives only in :class:`Delivery` (recipient columns) and, until a message is
sent, in :class:`Notification` (recipient address, sealed secrets); both are erased by
:func:`locker.services.housekeeping.erase_due`. Pickup codes and API keys are stored only as
keyed hashes, staff passwords only as argon2 hashes. Audit events and outbound events never
hold personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint, false
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from locker.timestamps import UtcDateTime
from locker.vocabulary import (
    AlarmKind,
    AlarmState,
    Channel,
    CompartmentState,
    DeliveryState,
    DocumentType,
    MessageKind,
    NotificationState,
    Size,
    WebhookState,
)


def _enum(enum: type[StrEnum], default: StrEnum | None = None, *, index: bool = False) -> Any:
    """A string column holding the enum's *value* (portable, readable, easy to migrate)."""
    column_type = SqlEnum(
        enum, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e]
    )
    return Field(default=default, sa_column=Column(column_type, nullable=False, index=index))


def _utc(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


class Compartment(SQLModel, table=True):
    label: str = Field(primary_key=True, max_length=16)
    size: Size = _enum(Size)
    row: int
    state: CompartmentState = _enum(CompartmentState, CompartmentState.FREE, index=True)
    delivery_id: str | None = Field(default=None, foreign_key="delivery.id", unique=True)
    fault_reason: str | None = None
    door_open: bool = False
    door_opened_at: datetime | None = _utc()
    """When the door was last seen opening (cleared when it closes)."""
    door_alarmed: bool = False
    opened_since_intent: bool = False
    """The door opened after the current intent (reserve / open) was recorded."""
    offline: bool = False
    """Its board (or pin) does not answer: nothing is allocated here until it is back."""
    updated_at: datetime | None = _utc()


class Delivery(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    reference: str = Field(unique=True, max_length=64)
    document_type: DocumentType = _enum(DocumentType)
    size: Size = _enum(Size, Size.S)
    state: DeliveryState = _enum(DeliveryState, DeliveryState.ANNOUNCED, index=True)
    compartment: str | None = Field(default=None, max_length=16)
    accessible: bool = False
    recipient_name: str | None = Field(default=None, max_length=200)
    recipient_phone: str | None = Field(default=None, max_length=32)
    recipient_email: str | None = Field(default=None, max_length=254)
    recipient_locale: str = Field(default="de", max_length=8)
    date_of_birth: date | None = None
    created_at: datetime | None = _utc(nullable=False)
    stored_at: datetime | None = _utc()
    expires_at: datetime | None = _utc(index=True)
    collected_at: datetime | None = _utc()
    returned_at: datetime | None = _utc()
    cancelled_at: datetime | None = _utc()
    expired_at: datetime | None = _utc()
    ended_at: datetime | None = _utc(index=True)
    erased_at: datetime | None = _utc()
    reminders_sent: int = 0
    failed_attempts: int = 0
    lockouts: int = 0
    locked_until: datetime | None = _utc()
    loaded_by: str | None = Field(default=None, max_length=80)
    """Who opened the compartment to load it (four-eyes loading needs someone else)."""
    witnessed_by: str | None = Field(default=None, max_length=80)
    """The second staff member who confirmed the loading (four-eyes loading)."""


class PickupCode(SQLModel, table=True):
    """A pickup code, known here only by its HMAC; single use; expires with its delivery."""

    __tablename__ = "pickup_code"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="delivery.id", index=True)
    code_hash: str = Field(unique=True, max_length=64)
    created_at: datetime | None = _utc(nullable=False)
    expires_at: datetime | None = _utc(nullable=False)
    used_at: datetime | None = _utc()
    revoked_at: datetime | None = _utc()
    legacy: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    """Issued before version 2 (ten characters): its old form is accepted, for this code
    only, until its delivery ends (migration 0006 flags every code stored at the upgrade)."""


class Notification(SQLModel, table=True):
    """The outbox: written in the same transaction as the state change it announces.

    ``sealed`` holds what must not be stored in clear (the pickup code), encrypted under a key
    derived from the installation secret; it is wiped once the message is sent or dead.
    """

    __table_args__ = (Index("ix_notification_due", "state", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str | None = Field(default=None, foreign_key="delivery.id", index=True)
    channel: Channel = _enum(Channel)
    kind: MessageKind = _enum(MessageKind)
    recipient: str | None = Field(default=None, max_length=254)
    locale: str = Field(default="de", max_length=8)
    sealed: str | None = None
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: NotificationState = _enum(NotificationState, NotificationState.PENDING)
    attempts: int = 0
    created_at: datetime | None = _utc(nullable=False)
    next_attempt_at: datetime | None = _utc(nullable=False)
    claimed_at: datetime | None = _utc()
    sent_at: datetime | None = _utc()
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    last_error: str | None = None


class OutboundEvent(SQLModel, table=True):
    """The event outbox: one thing that happened, for the sinks that carry it off the box.

    Written in the transaction of the state change it reports (:mod:`locker.event_outbox`).
    ``id`` is the global order and is never reused (SQLite ``AUTOINCREMENT``), so a sink's
    cursor stays valid after old rows are pruned; ``event_id`` is the stable public id a
    receiver uses to drop duplicates. ``data`` never holds personal data.
    """

    __tablename__ = "outbound_event"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=32)
    type: str = Field(max_length=64)
    delivery_id: str | None = Field(default=None, max_length=32, index=True)
    occurred_at: datetime | None = _utc(nullable=False, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SinkCursor(SQLModel, table=True):
    """How far one sink (webhooks, the fleet link) has carried the event outbox."""

    __tablename__ = "sink_cursor"
    name: str = Field(primary_key=True, max_length=64)
    last_event_id: int = 0
    updated_at: datetime | None = _utc(nullable=False)


class AuditEvent(SQLModel, table=True):
    """One link of the tamper-evident audit chain; see :mod:`locker.audit`."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = _utc(nullable=False)
    kind: str = Field(max_length=64, index=True)
    actor: str = Field(max_length=80)
    delivery_id: str | None = Field(default=None, max_length=32, index=True)
    compartment: str | None = Field(default=None, max_length=16)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    alert: bool = False
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """The last hash of the chain, locked while appending so that the chain never forks."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    last_id: int = 0
    last_hash: str = Field(max_length=64)


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    password_hash: str
    roles: str = ""
    failed_logins: int = 0
    locked_until: datetime | None = _utc()
    disabled: bool = False
    created_at: datetime | None = _utc(nullable=False)
    last_signed_in_at: datetime | None = _utc()


class StaffSession(SQLModel, table=True):
    """A signed-in staff member's session, so that signing out, disabling the account or a
    new password ends it on the server (:mod:`locker.services.sessions`).

    ``id`` is the SHA-256 of the cookie's random token: a copy of the database opens nothing.
    """

    __tablename__ = "staff_session"
    id: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64, index=True)
    created_at: datetime | None = _utc(nullable=False)
    last_seen_at: datetime | None = _utc(nullable=False)
    expires_at: datetime | None = _utc(nullable=False, index=True)
    """The absolute end (``security.session_max_hours`` after sign-in)."""


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    key_hash: str = Field(unique=True, max_length=64)
    roles: str = ""
    created_at: datetime | None = _utc(nullable=False)
    last_used_at: datetime | None = _utc()
    revoked_at: datetime | None = _utc()


class Throttle(SQLModel, table=True):
    """Failure counters behind rate limits and lockouts, shared by every process."""

    __table_args__ = (UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128)
    failures: int = 0
    lockouts: int = 0
    window_start: datetime | None = _utc()
    locked_until: datetime | None = _utc()
    updated_at: datetime | None = _utc()


class WebhookEndpoint(SQLModel, table=True):
    """A receiver of signed webhooks (Standard Webhooks 1.0), managed by an admin.

    The signing secrets are sealed (:mod:`locker.sealing`, bound to the endpoint id); during a
    rotation's grace period the previous secret signs too. ``after_event`` is the newest
    outbound event when the endpoint was made: it receives only what happens afterwards.
    """

    __tablename__ = "webhook_endpoint"
    id: str = Field(primary_key=True, max_length=32)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sealed_secret: str
    sealed_previous: str | None = None
    previous_until: datetime | None = _utc()
    after_event: int = 0
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime | None = _utc(nullable=False)
    updated_at: datetime | None = _utc()


class WebhookMessage(SQLModel, table=True):
    """One event for one endpoint: the webhook outbox, fanned out from the event outbox.

    ``body`` is the exact JSON text sent (frozen when fanned out, so every retry signs and
    sends the same bytes under the same ``webhook_id``).
    """

    __tablename__ = "webhook_message"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "webhook_id"),
        Index("ix_webhook_message_due", "state", "next_attempt_at"),
        Index("ix_webhook_message_order", "endpoint_id", "delivery_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: str = Field(foreign_key="webhook_endpoint.id", max_length=32)
    webhook_id: str = Field(max_length=40)
    event_type: str = Field(max_length=64)
    delivery_id: str | None = Field(default=None, max_length=32)
    body: str
    state: WebhookState = _enum(WebhookState, WebhookState.PENDING)
    attempts: int = 0
    created_at: datetime | None = _utc(nullable=False)
    next_attempt_at: datetime | None = _utc(nullable=False)
    claimed_at: datetime | None = _utc()
    sent_at: datetime | None = _utc()
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)


class IdempotencyRecord(SQLModel, table=True):
    """A POST seen with an ``Idempotency-Key``: its fingerprint and, once done, its response.

    Keyed by (caller, key); a replay with the same fingerprint gets the stored response, one
    with another fingerprint is refused. Kept ``api.idempotency_retention_hours``.
    """

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("caller", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    caller: str = Field(max_length=128)
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int | None = None
    response_body: bytes | None = None
    response_type: str | None = Field(default=None, max_length=128)
    created_at: datetime | None = _utc(nullable=False, index=True)


class Alarm(SQLModel, table=True):
    """Something a person must look at: raised and cleared by the core, acknowledged by a clerk.

    At most one alarm per cause (kind and compartment, board or delivery) is not ``cleared``.
    It names a compartment, a board or a delivery id, never a citizen.
    """

    __table_args__ = (Index("ix_alarm_cause", "kind", "state"),)
    id: str = Field(primary_key=True, max_length=32)
    kind: AlarmKind = _enum(AlarmKind)
    state: AlarmState = _enum(AlarmState, AlarmState.OPEN, index=True)
    compartment: str | None = Field(default=None, max_length=16)
    board: str | None = Field(default=None, max_length=64)
    delivery_id: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=200)
    """What the hardware or core said (for technicians; screens show the kind's own text)."""
    raised_at: datetime | None = _utc(nullable=False)
    acknowledged_at: datetime | None = _utc()
    acknowledged_by: str | None = Field(default=None, max_length=80)
    note: str | None = Field(default=None, max_length=500)
    cleared_at: datetime | None = _utc()
