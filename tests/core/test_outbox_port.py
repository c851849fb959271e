"""The Outbox port: the core wakes its drainer after each commit that queued messages."""

from __future__ import annotations

import pytest

from locker import outbox
from locker.core import Core, NoOutbox
from locker.db import transaction
from locker.models import Delivery
from locker.services import housekeeping
from locker.services.deliveries import cancel
from locker.vocabulary import MessageKind

from .support import build_core, load, new_delivery


class Drainer:
    """An Outbox that notes each wake and what was committed by then."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.backlog_at_wake: list[int] = []

    def wake(self) -> None:
        self.backlog_at_wake.append(outbox.backlog(self.core))


@pytest.fixture
def drainer(core: Core) -> Drainer:
    core.outbox = drainer = Drainer(core)
    return drainer


def test_a_core_without_a_drainer_wakes_nobody(engine, clock, settings, world):
    core = build_core(engine, clock, settings, world)
    assert isinstance(core.outbox, NoOutbox)
    load(core, world, new_delivery(core, "REF-0"))
    assert outbox.backlog(core) == 2  # they wait for a running controller's worker


def test_storing_wakes_once_after_the_commit_for_both_messages(core, world, drainer):
    d = new_delivery(core, "REF-1")  # announcing queues nothing
    assert drainer.backlog_at_wake == []
    load(core, world, d)
    assert drainer.backlog_at_wake == [2]  # sms + e-mail, one transaction, committed


def test_every_service_that_queues_wakes(core, world, clock, drainer):
    expiring, cancelled = new_delivery(core, "REF-E"), new_delivery(core, "REF-C")
    load(core, world, expiring)
    load(core, world, cancelled)
    cancel(core, cancelled, actor="clerk")  # queues nothing: the citizen learns at the desk
    clock.advance(days=3, seconds=1)
    housekeeping.run_due(core)  # the first reminder, for the one still stored
    clock.advance(days=core.settings.policy.pickup_days)
    housekeeping.run_due(core)  # its expiry notice
    assert drainer.backlog_at_wake == [2, 4, 6, 8]


def test_no_wake_when_the_transaction_rolls_back(core, world, drainer):
    d = new_delivery(core, "REF-R")

    def queue_then_fail() -> None:
        with transaction(core.engine) as session:
            delivery = session.get(Delivery, d)
            assert delivery is not None
            outbox.enqueue(core, session, delivery, MessageKind.EXPIRY, at=core.clock.now())
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        queue_then_fail()
    assert drainer.backlog_at_wake == []
    assert outbox.backlog(core) == 0


def test_a_failing_wake_does_not_undo_or_fail_the_commit(core, world):
    class Broken:
        def wake(self) -> None:
            raise OSError("the drainer is gone")

    core.outbox = Broken()
    load(core, world, new_delivery(core, "REF-B"))
    assert outbox.backlog(core) == 2
