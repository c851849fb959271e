"""Helpers for core tests: build a core on a world, and read what the citizen was sent."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from locker import sealing
from locker.clock import ManualClock
from locker.config import Settings
from locker.core import Core
from locker.db import reading
from locker.models import Compartment, Delivery, Notification
from locker.services.compartments import sync_compartments
from locker.services.deliveries import Announcement, announce
from locker.vocabulary import DocumentType, MessageKind, Size

from .scripted_bank import ScriptedBank


def build_core(engine: Engine, clock: ManualClock, settings: Settings, world: ScriptedBank) -> Core:
    core = Core(engine, clock, settings, world)
    sync_compartments(core)
    return core


def new_delivery(
    core: Core,
    reference: str,
    *,
    size: Size = Size.S,
    document_type: DocumentType = DocumentType.PASSPORT,
    dob: date | None = date(1990, 5, 17),
    accessible: bool = False,
) -> str:
    return announce(
        core,
        Announcement(
            reference=reference,
            document_type=document_type,
            name="Erika Mustermann",
            phone="+49 151 23456789",
            email="erika@example.org",
            size=size,
            date_of_birth=dob,
            accessible=accessible,
        ),
        actor="test",
    ).id


def code_sent(core: Core, delivery_id: str) -> str:
    """The pickup code as the citizen received it (unsealed from the outbox)."""
    with reading(core.engine) as session:
        row = session.exec(
            select(Notification).where(
                col(Notification.delivery_id) == delivery_id,
                col(Notification.kind) == MessageKind.STORED,
            )
        ).first()
        assert row is not None and row.sealed is not None
        return str(sealing.unseal(core.seal_key, row.sealed, delivery_id)["code"])


def delivery(core: Core, delivery_id: str) -> Delivery:
    with reading(core.engine) as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        return found


def compartment(core: Core, label: str) -> Compartment:
    with reading(core.engine) as session:
        found = session.get(Compartment, label)
        assert found is not None
        return found


def load(core: Core, world: ScriptedBank, delivery_id: str) -> str:
    """A clerk loads the document and closes the door; returns the compartment."""
    from locker.services.loading import start_loading

    label = start_loading(core, delivery_id, actor="clerk")
    world.deliver(core)
    world.put(label, delivery_id)
    world.close_door(label)
    world.deliver(core)
    return label
