"""The wire between a box and the centre: topics and payloads, one pydantic model each.

The box, the centre, the simulator and ``docs/fleet.asyncapi.yaml`` (generated from these
models by :mod:`fleet.asyncapi`; a test keeps the file in step) all use this module::

    lockers/{box_id}/status     box → centre  retained, QoS 1; the last will says offline
    lockers/{box_id}/state      box → centre  retained, QoS 1; occupancy, health, backlog
    lockers/{box_id}/heartbeat  box → centre  QoS 0, every ``heartbeat_s``
    lockers/{box_id}/events     box → centre  QoS 1, from the box's event outbox, in order
    lockers/{box_id}/receipts   centre → box  QoS 1, "stored through seq N": the box may forget
    lockers/{box_id}/commands   centre → box  QoS 1, with a transaction id and an expiry
    lockers/{box_id}/answers    box → centre  QoS 1, the answer to one command

Two ids, as Open-Locker's ADR-0002 separates them: every message has a ``message_id`` that a
receiver uses to drop duplicates (QoS 1 is at least once; for events it is the outbox's
``event_id``, the same on every resend); commands and answers share a ``transaction_id``
that ties the answer to its command and makes a repeated command answer the same.
No payload from a box holds a name, phone number, e-mail address or date of birth; the only
personal data on the wire is an announcement *to* a box (the recipient it must notify).
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from locker.vocabulary import DeliveryState, DocumentType, Size

TOPIC_ROOT: Final = "lockers"
BOX_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")
"""A box id is also its broker user name and one topic level: no ``/``, ``+``, ``#``."""
CENTRE_USER: Final = "fleet-centre"
PERSONAL_KEYS: Final = (
    "name",
    "phone",
    "email",
    "recipient",
    "date_of_birth",
    "code",
    "password",
    "key",
)
"""Keys no message from a box may carry (the audit log's list; the contract forbids them)."""


class Topic(StrEnum):
    STATUS = "status"
    STATE = "state"
    HEARTBEAT = "heartbeat"
    EVENTS = "events"
    RECEIPTS = "receipts"
    COMMANDS = "commands"
    ANSWERS = "answers"


def topic(box_id: str, kind: Topic) -> str:
    return f"{TOPIC_ROOT}/{box_id}/{kind.value}"


def parse_topic(name: str) -> tuple[str, Topic] | None:
    """``(box_id, kind)`` of a fleet topic, or ``None`` for anything else."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != TOPIC_ROOT or not BOX_ID.fullmatch(parts[1]):
        return None
    try:
        return parts[1], Topic(parts[2])
    except ValueError:
        return None


def check_box_id(box_id: str) -> str:
    if not BOX_ID.fullmatch(box_id) or box_id == CENTRE_USER:
        raise ValueError(
            f"box id {box_id!r}: 1 to 48 lowercase letters, digits, '-' or '_' (and not"
            f" {CENTRE_USER!r}); it is the box's broker user name and part of its topics"
        )
    return box_id


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def new_transaction_id() -> str:
    return "txn_" + secrets.token_hex(12)


MessageId = Annotated[str, Field(min_length=8, max_length=40, pattern=r"^[a-z]+_[0-9a-f]+$")]
BoxId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")]
Count = Annotated[int, Field(ge=0)]


class Message(BaseModel):
    """What every message carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    message_id: MessageId = Field(default_factory=new_message_id)
    box_id: BoxId
    sent_at: AwareDatetime

    def wire(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


# -- box → centre ------------------------------------------------------------------------------


class BoxStatus(Message):
    """Retained: is the box connected. ``lost`` is the last will the broker sends for it."""

    online: bool
    reason: Literal["connected", "disconnected", "lost"]


class SizeCounts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    free: Count = 0
    reserved: Count = 0
    occupied: Count = 0
    opening: Count = 0
    fault: Count = 0
    out_of_service: Count = 0


class Boards(BaseModel):
    """Which lock boards answer: none listed and no compartment unreachable means all do."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    offline: list[str] = Field(default_factory=list, description="names of boards not answering")
    compartments_unreachable: Count = Field(0, description="compartments whose board is silent")


class Backlog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    notifications: Count = Field(description="messages to citizens waiting to be sent")
    events: Count = Field(description="events the centre has not confirmed yet")


class BoxState(Message):
    """Retained: the box as it is now, published on connect and whenever it changes."""

    version: str = Field(description="software version of the box")
    health: Literal["ok", "degraded"]
    compartments: dict[Size, SizeCounts] = Field(description="compartments by size and state")
    boards: Boards
    open_alarms: Count
    dead_messages: Count = Field(description="messages to citizens given up (dead)")
    backlog: Backlog

    def totals(self) -> dict[str, int]:
        """Compartments, occupied and free over every size."""
        counts = list(self.compartments.values())
        return {
            "compartments": sum(sum(c.model_dump().values()) for c in counts),
            "occupied": sum(c.occupied for c in counts),
            "free": sum(c.free for c in counts),
        }


class Heartbeat(Message):
    """Not retained, QoS 0: the box is alive; the centre marks it offline when they stop."""

    uptime_s: Annotated[float, Field(ge=0)]
    published_seq: Count = Field(description="last event seq handed to the broker")
    confirmed_seq: Count = Field(description="last event seq the centre confirmed")


def _impersonal(data: dict[str, Any]) -> dict[str, Any]:
    leaked = sorted(set(PERSONAL_KEYS).intersection(data))
    if leaked:
        raise ValueError(f"events carry no personal data: {leaked}")
    return data


class DeliveryFacts(BaseModel):
    """What a ``delivery.*`` event says: ids, reference, state, compartment and times."""

    model_config = ConfigDict(extra="allow", frozen=True)
    delivery_id: str
    reference: str
    document_type: DocumentType
    state: DeliveryState
    compartment: str | None
    created_at: AwareDatetime | None = None
    stored_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    collected_at: AwareDatetime | None = None
    returned_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None


class BoxEvent(Message):
    """One event of the box's outbox. ``message_id`` is its ``event_id`` (the same on every
    resend); ``seq`` its place in the box's order and ``prev_seq`` the one sent before it, so
    the centre stores a box's events without gaps (:class:`Receipt`)."""

    seq: Annotated[int, Field(ge=1)]
    prev_seq: Count
    type: Annotated[str, Field(pattern=r"^[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*$")] = Field(
        description="delivery.<state>, alarm.raised, alarm.cleared, notification.dead, fault.*"
    )
    occurred_at: AwareDatetime
    delivery_id: str | None = None
    data: dict[str, Any] = Field(
        json_schema_extra={"propertyNames": {"not": {"enum": list(PERSONAL_KEYS)}}},
        description="for delivery.* the DeliveryFacts; never personal data",
    )

    _no_personal_data = field_validator("data")(_impersonal)


class AnswerError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    error: str = Field(description="machine code, as the box's own API would answer")
    detail: str = Field(description="a sentence for a person")
    field: str | None = None


class Answer(Message):
    """The box's answer to one command (the same answer again for a repeated command)."""

    transaction_id: MessageId
    ok: bool
    status: Annotated[int, Field(ge=200, le=599)] = Field(
        description="the HTTP status the box's own API would give"
    )
    result: dict[str, Any] | None = Field(default=None, description="delivery_id, state, …")
    error: AnswerError | None = None

    _no_personal_data = field_validator("result")(
        lambda value: _impersonal(value) if value is not None else value
    )


# -- centre → box ------------------------------------------------------------------------------


class Receipt(Message):
    """The centre has stored every event of the box up to ``stored_through`` (its seq)."""

    stored_through: Count


class Recipient(BaseModel):
    """Who the box notifies: this is the one place personal data crosses the wire (inwards)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32, description="E.164")
    email: str | None = Field(default=None, max_length=254)
    locale: str = Field(default="de", max_length=8)
    date_of_birth: date | None = Field(default=None, description="second factor at pickup")
    needs_accessible: bool = False


class Announcement(BaseModel):
    """A document for the box: the body of the box's own ``POST /api/v1/deliveries``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    reference: str = Field(min_length=1, max_length=64)
    document_type: DocumentType
    size: Size = Size.S
    recipient: Recipient


class CommandBase(Message):
    transaction_id: MessageId = Field(default_factory=new_transaction_id)
    expires_at: AwareDatetime = Field(description="a box does not act on it afterwards")
    actor: str = Field(max_length=80, description="who at the centre sent it (audited)")


class AnnounceCommand(CommandBase):
    command: Literal["announce"] = "announce"
    announcement: Announcement


class CancelCommand(CommandBase):
    command: Literal["cancel"] = "cancel"
    delivery_id: str = Field(min_length=1, max_length=32)


class OpenCommand(CommandBase):
    """A technician's remote open of one compartment, with the reason for the audit logs."""

    command: Literal["open"] = "open"
    compartment: str = Field(min_length=1, max_length=16)
    reason: str = Field(min_length=1, max_length=200)


Command = Annotated[AnnounceCommand | CancelCommand | OpenCommand, Field(discriminator="command")]


class CommandEnvelope(BaseModel):
    """Parses any command by its ``command`` field."""

    command: Command


ERROR_STATUS: Final = {
    "not_found": 404,
    "invalid_input": 422,
    "expired": 410,
    "hardware_unavailable": 503,
    "hardware_fault": 503,
    "forbidden": 403,
}
"""The HTTP status a box answers with for an error code (others: 409, as the box's API)."""


def status_of(code: str) -> int:
    return ERROR_STATUS.get(code, 409)


PAYLOADS: Final[dict[Topic, tuple[type[BaseModel], ...]]] = {
    Topic.STATUS: (BoxStatus,),
    Topic.STATE: (BoxState,),
    Topic.HEARTBEAT: (Heartbeat,),
    Topic.EVENTS: (BoxEvent,),
    Topic.RECEIPTS: (Receipt,),
    Topic.COMMANDS: (AnnounceCommand, CancelCommand, OpenCommand),
    Topic.ANSWERS: (Answer,),
}
"""Which payloads travel on which topic (the AsyncAPI channels)."""


def parse_command(payload: bytes) -> AnnounceCommand | CancelCommand | OpenCommand:
    return CommandEnvelope.model_validate_json(b'{"command":' + payload + b"}").command
