"""JSON shapes of the public API (shared/API.md): what comes in, what goes out."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from locker.alarms import AlarmView
from locker.models import Compartment, Delivery, Notification
from locker.services.deliveries import Announcement
from locker.services.loading import Loading, Placement
from locker.vocabulary import AlarmKind, AlarmState, DocumentType, Size

MAX_ID = 2**63 - 1
"""The largest integer a database column holds: every id or cursor in a request is at most
this (a larger one was a 500 from the driver, now a 422 naming the parameter)."""
MAX_OFFSET = 10_000_000
"""Paging further than this is a mistake, not a query."""


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32, description="E.164, e.g. +4915112345678")
    email: str | None = Field(default=None, max_length=254)
    locale: str = Field(default="de", max_length=8)
    date_of_birth: date | None = Field(default=None, description="second factor at pickup")
    needs_accessible: bool = Field(default=False, description="prefer a compartment in reach")


class DeliveryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=64)
    document_type: DocumentType
    size: Size = Size.S
    recipient: Recipient

    def announcement(self) -> Announcement:
        """The core's announcement (checked and normalised there)."""
        recipient = self.recipient
        return Announcement(
            reference=self.reference,
            document_type=self.document_type,
            name=recipient.name,
            phone=recipient.phone,
            email=recipient.email,
            locale=recipient.locale,
            size=self.size,
            date_of_birth=recipient.date_of_birth,
            accessible=recipient.needs_accessible,
        )


class NotificationOut(BaseModel):
    channel: str
    kind: str
    state: str
    attempts: int
    created_at: datetime | None
    sent_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationOut:
        return cls(
            channel=str(row.channel),
            kind=str(row.kind),
            state=str(row.state),
            attempts=row.attempts,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )


class DeliveryOut(BaseModel):
    id: str
    reference: str
    document_type: str
    size: str
    state: str
    compartment: str | None
    created_at: datetime | None
    stored_at: datetime | None
    expires_at: datetime | None
    collected_at: datetime | None
    returned_at: datetime | None
    cancelled_at: datetime | None
    recipient_erased: bool
    notifications: list[NotificationOut] = []

    @classmethod
    def of(cls, delivery: Delivery, notifications: list[Notification] | None = None) -> DeliveryOut:
        return cls(
            id=delivery.id,
            reference=delivery.reference,
            document_type=str(delivery.document_type),
            size=str(delivery.size),
            state=str(delivery.state),
            compartment=delivery.compartment,
            created_at=delivery.created_at,
            stored_at=delivery.stored_at,
            expires_at=delivery.expires_at,
            collected_at=delivery.collected_at,
            returned_at=delivery.returned_at,
            cancelled_at=delivery.cancelled_at,
            recipient_erased=delivery.erased_at is not None,
            notifications=[NotificationOut.of(n) for n in notifications or []],
        )


class CompartmentOut(BaseModel):
    label: str
    size: str
    row: int
    state: str
    door: str
    delivery_id: str | None
    fault_reason: str | None
    offline: bool = Field(description="its board does not answer: it is not allocated")

    @classmethod
    def of(cls, row: Compartment) -> CompartmentOut:
        return cls(
            label=row.label,
            size=str(row.size),
            row=row.row,
            state=str(row.state),
            door="open" if row.door_open else "closed",
            delivery_id=row.delivery_id,
            fault_reason=row.fault_reason,
            offline=row.offline,
        )


class PickupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(
        min_length=1,
        max_length=200,
        description="the typed code (any case and grouping) or the QR payload",
    )
    date_of_birth: date | None = None
    verify_only: bool = Field(
        default=False,
        description='check code and date of birth and open nothing: 200 {"verified": true}',
    )


class CompartmentAnswer(BaseModel):
    compartment: str


class PickupAnswer(BaseModel):
    """``{"compartment": "A03"}`` when the door opens, ``{"verified": true}`` for a check."""

    compartment: str | None = None
    verified: bool | None = None


class SkippedOut(BaseModel):
    compartment: str
    reason: str = Field(description="offline (its board did not answer) or jam (did not open)")


class LoadAnswer(CompartmentAnswer):
    """Where the document goes, and why there (shared/API.md gives only ``compartment``)."""

    needs_accessible: bool = Field(description="the recipient asked for a compartment in reach")
    within_reach: bool = Field(
        description="the handle lies in the reach range (policy.reach_min_mm..reach_max_mm);"
        " false for a recipient who needs it means no reachable compartment was free or fitted"
    )
    witness_needed: bool = Field(
        default=False, description="four-eyes loading: a second person must confirm"
    )
    size: Size
    requested_size: Size
    skipped: list[SkippedOut] = Field(
        default_factory=list, description="compartments tried first that did not open"
    )
    unusable: dict[str, int] = Field(
        default_factory=dict,
        description="when a larger size was used: compartments of the requested size by why"
        " they could not be used (occupied, offline, fault, out_of_service)",
    )

    @classmethod
    def of(cls, loading: Loading, placed: Placement) -> LoadAnswer:
        return cls(
            compartment=loading.compartment,
            needs_accessible=placed.needs_accessible,
            within_reach=placed.within_reach,
            size=loading.size,
            requested_size=loading.requested_size,
            skipped=[SkippedOut(compartment=s.label, reason=s.reason) for s in loading.skipped],
            unusable=loading.unusable,
        )


class AlarmOut(BaseModel):
    id: str
    kind: AlarmKind
    state: AlarmState
    compartment: str | None
    board: str | None
    delivery_id: str | None
    reason: str | None = Field(description="what the hardware or core said (for technicians)")
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    cleared_at: datetime | None

    @classmethod
    def of(cls, alarm: AlarmView) -> AlarmOut:
        return cls(**{name: getattr(alarm, name) for name in cls.model_fields})


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=500, description="what is being done about it")


class OpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out_of_service: bool
    reason: str = Field(min_length=1, max_length=200)


class ClearFaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_inside: bool = Field(description="what the technician found inside")


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str
    delivery_id: str | None
    compartment: str | None
    alert: bool
    detail: dict[str, Any]
    hash: str


class ProblemOut(BaseModel):
    field: str
    reason: str
    detail: str


class ErrorOut(BaseModel):
    """An error; a screen shows the catalog text of ``error`` (or ``field`` + ``reason``)."""

    error: str
    detail: str = Field(description="for developers and logs, in English; never shown on screen")
    field: str | None = None
    reason: str | None = Field(default=None, description="finer cause, e.g. phone_invalid")
    errors: list[ProblemOut] | None = Field(default=None, description="every problem (422)")


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, description="https:// URL of the receiver")
    events: list[str] = Field(min_length=1, max_length=20, description="event types to receive")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    previous_secret_until: datetime | None = Field(
        description="while set, the previous secret signs too (after a rotation)"
    )
    pending: int = Field(description="messages waiting to be sent or retried")
    dead: int = Field(description="messages given up after the last retry")


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="whsec_…: shown only in this answer")


class WebhookMessageOut(BaseModel):
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


class ImportRowOut(BaseModel):
    row: int = Field(description="1-based record number (a CSV header line is not counted)")
    result: str = Field(description="created, duplicate or invalid")
    reference: str | None
    delivery_id: str | None = None
    field: str | None = None
    reason: str | None = None


class ImportOut(BaseModel):
    dry_run: bool
    created: int
    duplicate: int
    invalid: int
    rows: list[ImportRowOut]


class SpeechPartIn(BaseModel):
    """One piece of an utterance: a screen, a catalog text, a string to spell (a key, the
    typed code), a date, or a compartment's place. Exactly one of them."""

    model_config = ConfigDict(extra="forbid")
    screen: str | None = Field(default=None, max_length=32)
    key: str | None = Field(default=None, max_length=64)
    values: dict[str, Annotated[str, Field(max_length=64)] | int] = Field(
        default_factory=dict, max_length=6
    )
    spell: str | None = Field(default=None, min_length=1, max_length=64)
    date: dt.date | None = None
    place: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _exactly_one(self) -> SpeechPartIn:
        given = [self.screen, self.key, self.spell, self.date, self.place]
        if sum(value is not None for value in given) != 1:
            raise ValueError("give exactly one of screen, key, spell, date, place")
        return self


class SpeechIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lang: str = Field(default="de", max_length=16, description="the screen's language")
    rate: int = Field(default=0, ge=-3, le=3, description="slower (-) or faster (+) steps")
    parts: list[SpeechPartIn] = Field(min_length=1, max_length=8)


class ContactIn(BaseModel):
    """The recipient's new contact: both fields replace the old ones (empty or absent: none)."""

    model_config = ConfigDict(extra="forbid")
    phone: str | None = Field(default=None, max_length=32, description="mobile number, E.164")
    email: str | None = Field(default=None, max_length=254)
    locale: str | None = Field(default=None, max_length=8)


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(ge=1, le=90, description="days added to the pickup period")


class StepOut(BaseModel):
    at: datetime
    kind: str
    actor: str
    compartment: str | None


class WitnessIn(BaseModel):
    """The second staff member's own credentials (four-eyes loading)."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
