"""Names shared by every layer: sizes, states, document types, roles.

They are ``StrEnum`` so that they are stored, serialised and compared as the plain strings
that the public API (shared/API.md) uses.
"""

from __future__ import annotations

from enum import StrEnum


class Size(StrEnum):
    """Compartment and document size; a document fits every compartment at least as big."""

    S = "S"
    M = "M"
    L = "L"

    @property
    def rank(self) -> int:
        return _SIZE_RANK[self]

    def fits_into(self, compartment: Size) -> bool:
        return self.rank <= compartment.rank


_SIZE_RANK = {Size.S: 0, Size.M: 1, Size.L: 2}


class DocumentType(StrEnum):
    ID_CARD = "id_card"
    PASSPORT = "passport"
    DRIVING_LICENCE = "driving_licence"
    RESIDENCE_PERMIT = "residence_permit"
    OTHER = "other"


class DeliveryState(StrEnum):
    ANNOUNCED = "announced"
    LOADING = "loading"
    STORED = "stored"
    COLLECTING = "collecting"
    COLLECTED = "collected"
    EXPIRED = "expired"
    RETRIEVING = "retrieving"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class CompartmentState(StrEnum):
    FREE = "free"
    RESERVED = "reserved"
    OCCUPIED = "occupied"
    OPENING = "opening"
    FAULT = "fault"
    OUT_OF_SERVICE = "out_of_service"


class DoorState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class Role(StrEnum):
    CLERK = "clerk"
    TECHNICIAN = "technician"
    ADMIN = "admin"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class MessageKind(StrEnum):
    """What a notification tells the citizen; templates are keyed by it."""

    STORED = "stored"
    REMINDER = "reminder"
    EXPIRY = "expiry"
    COLLECTED = "collected"
    RETURNED = "returned"
    ALARM = "alarm"
    """To the on-call contact, not a citizen: an alarm was raised (no personal data)."""


class NotificationState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


class WebhookState(StrEnum):
    """A webhook message to one endpoint (:class:`locker.models.WebhookMessage`)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


class AlarmKind(StrEnum):
    """What needs a person: shown on every clerk screen until it is cleared."""

    JAM = "jam"
    """The lock did not open after an unlock."""
    FORCED_DOOR = "forced_door"
    DOOR_LEFT_OPEN = "door_left_open"
    BOARD_OFFLINE = "board_offline"
    MESSAGE_DEAD = "message_dead"
    """A message to a citizen could not be delivered."""
    LOW_CAPACITY = "low_capacity"
    FAULT = "fault"
    """Any other fault a person must look at (e.g. an interrupted opening after a power cut)."""


class AlarmState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    """A clerk has seen it and said what is being done; the cause is still there."""
    CLEARED = "cleared"
