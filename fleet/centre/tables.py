"""The centre's tables in PostgreSQL (SQLAlchemy Core: the writer inserts in batches with
``ON CONFLICT DO NOTHING``, which is how duplicates are dropped).

Nothing here names a citizen: events hold what the boxes send (ids, references, states,
compartments, times); commands keep the reference of an announcement, never its recipient.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def _at(name: str, *, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


box = Table(
    "box",
    metadata,
    Column("box_id", String(48), primary_key=True),
    Column("online", Boolean, nullable=False, default=False),
    Column("status_reason", String(16), nullable=False, default="unknown"),
    _at("first_seen", nullable=False),
    _at("last_seen", nullable=False),
    _at("offline_since"),
    Column("offline_alerted", Boolean, nullable=False, default=False),
    Column("state", JSONB),
    _at("state_sent_at"),
    Column("version", String(40)),
    Column("last_seq", BigInteger),
    Column("events_stored", BigInteger, nullable=False, default=0),
)

box_event = Table(
    "box_event",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("box_id", String(48), ForeignKey("box.box_id"), nullable=False),
    Column("message_id", String(40), nullable=False, unique=True),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("delivery_id", String(32)),
    _at("occurred_at", nullable=False),
    _at("sent_at", nullable=False),
    _at("received_at", nullable=False),
    _at("stored_at", nullable=False),
    Column("data", JSONB, nullable=False),
    Index("ix_box_event_box_seq", "box_id", "seq"),
)

command = Table(
    "command",
    metadata,
    Column("transaction_id", String(40), primary_key=True),
    Column("box_id", String(48), ForeignKey("box.box_id"), nullable=False, index=True),
    Column("command", String(16), nullable=False),
    Column("subject", String(64), nullable=False, doc="reference, delivery id or compartment"),
    Column("reason", String(200)),
    Column("actor", String(80), nullable=False),
    _at("issued_at", nullable=False),
    _at("expires_at", nullable=False),
    Column("state", String(16), nullable=False, default="sent"),
    _at("answered_at"),
    Column("status", Integer),
    Column("answer", JSONB),
)

alert = Table(
    "alert",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("box_id", String(48), ForeignKey("box.box_id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    _at("created_at", nullable=False),
    Column("state", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    _at("next_attempt_at", nullable=False),
    _at("sent_at"),
    Column("last_error", Text),
    Index("ix_alert_due", "state", "next_attempt_at"),
)

api_key = Table(
    "api_key",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("roles", String(64), nullable=False),
    _at("created_at", nullable=False),
    _at("revoked_at"),
)

page_session = Table(
    "page_session",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_name", String(64), nullable=False),
    _at("created_at", nullable=False),
    _at("expires_at", nullable=False),
)
