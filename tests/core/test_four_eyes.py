"""Four-eyes loading: nothing is stored or sent until a second clerk confirmed while the door
was open; a door closed before that leaves the loading open, and it can be opened again."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from locker.db import reading
from locker.errors import IllegalTransition, InvalidInput, PermissionDenied, SecondPersonRequired
from locker.models import AuditEvent, Notification
from locker.services import accounts, loading
from locker.vocabulary import Role

from ..conftest import make_settings
from .support import build_core, delivery, new_delivery

PASSWORD = "correct horse battery"


@pytest.fixture
def core(engine, clock, tmp_path, world):
    built = build_core(
        engine, clock, make_settings(tmp_path, policy={"four_eyes_loading": True}), world
    )
    for name, roles in (("anna", {Role.CLERK}), ("ben", {Role.CLERK}), ("tech", {Role.TECHNICIAN})):
        accounts.add_user(built, name, PASSWORD, frozenset(roles), actor="test")
    return built


def messages(core) -> int:
    with reading(core.engine) as session:
        return len(session.exec(select(Notification)).all())


def test_a_second_clerk_confirms_before_the_door_closes_and_both_are_audited(core, world):
    delivery_id = new_delivery(core, "FE-1")
    label = loading.start_loading(core, delivery_id, actor="user:anna")
    with pytest.raises(IllegalTransition):  # the door has not opened yet: nothing to see
        loading.confirm(core, delivery_id, username="ben", password=PASSWORD, actor="user:anna")
    world.deliver(core)
    with pytest.raises(InvalidInput):
        loading.confirm(core, delivery_id, username="ben", password="wrong", actor="user:anna")
    with pytest.raises(SecondPersonRequired):
        loading.confirm(core, delivery_id, username="anna", password=PASSWORD, actor="user:anna")
    with pytest.raises(PermissionDenied):
        loading.confirm(core, delivery_id, username="tech", password=PASSWORD, actor="user:anna")
    assert (
        loading.confirm(core, delivery_id, username="ben", password=PASSWORD, actor="user:anna")
        == "user:ben"
    )
    world.put(label, delivery_id)
    world.close_door(label)
    world.deliver(core)
    assert str(delivery(core, delivery_id).state) == "stored"
    with reading(core.engine) as session:
        confirmed = session.exec(
            select(AuditEvent).where(col(AuditEvent.kind) == "loading_confirmed")
        ).one()
    assert confirmed.actor == "user:ben" and confirmed.detail["loaded_by"] == "user:anna"


def test_a_door_closed_unconfirmed_stores_nothing_until_reopened_and_confirmed(core, world):
    delivery_id = new_delivery(core, "FE-2")
    label = loading.start_loading(core, delivery_id, actor="user:anna")
    world.deliver(core)
    world.put(label, delivery_id)
    world.close_door(label)
    world.deliver(core)
    assert str(delivery(core, delivery_id).state) == "loading"
    assert messages(core) == 0
    with pytest.raises(IllegalTransition):  # closed: the second person cannot see it
        loading.confirm(core, delivery_id, username="ben", password=PASSWORD, actor="user:anna")
    assert loading.reopen(core, delivery_id, actor="user:anna") == label
    world.deliver(core)
    loading.confirm(core, delivery_id, username="ben", password=PASSWORD, actor="user:anna")
    world.close_door(label)
    world.deliver(core)
    assert str(delivery(core, delivery_id).state) == "stored"
    assert messages(core) == 2  # SMS and e-mail, once
