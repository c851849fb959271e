"""The box as the centre sees it (the retained ``state`` message), read from the box's database.

One read transaction: compartments by size and state, messages to citizens waiting and dead,
open alarms (:func:`open_alarms`); the boards come from the bank's own events
(:class:`BoardWatch`), since reading every door again would cost a bus sweep.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import func
from sqlmodel import col, select

from fleet.contract import Backlog, Boards, BoxState, SizeCounts
from locker import alarms
from locker.core import Core
from locker.db import reading
from locker.models import Compartment, Notification, OutboundEvent
from locker.ports import EventKind, HardwareEvent
from locker.vocabulary import NotificationState, Size


def software_version() -> str:
    try:
        return version("locker")
    except PackageNotFoundError:  # a checkout that is not installed
        return "0+unknown"


def events_after(core: Core, seq: int) -> int:
    """How many outbound events come after ``seq`` (what the centre has not confirmed)."""
    with reading(core.engine) as session:
        count = session.exec(
            select(func.count()).select_from(OutboundEvent).where(col(OutboundEvent.id) > seq)
        ).one()
    return int(count)


def open_alarms(core: Core) -> int:
    """Alarms whose cause is not over (open or acknowledged), as the clerks' alarm bar counts
    them (:mod:`locker.alarms`). Their ``alarm.raised`` / ``alarm.acknowledged`` /
    ``alarm.cleared`` events come through the event outbox like every other event."""
    return alarms.count_not_cleared(core)


class BoardWatch:
    """Boards the bank reported offline (``BOARD_OFFLINE`` / ``BOARD_ONLINE`` events)."""

    def __init__(self) -> None:
        self._offline: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: HardwareEvent) -> bool:
        """Note a bank event; ``True`` when the boards changed."""
        if event.kind not in (EventKind.BOARD_OFFLINE, EventKind.BOARD_ONLINE):
            return False
        name = event.board or "?"
        with self._lock:
            if event.kind is EventKind.BOARD_OFFLINE:
                self._offline[name] = event.labels
            else:
                self._offline.pop(name, None)
        return True

    def boards(self) -> Boards:
        with self._lock:
            return Boards(
                offline=sorted(self._offline),
                compartments_unreachable=sum(len(labels) for labels in self._offline.values()),
            )


def build_state(
    core: Core, box_id: str, boards: Boards, unconfirmed: int, now: datetime
) -> BoxState:
    counts: dict[Size, dict[str, int]] = defaultdict(dict)
    with reading(core.engine) as session:
        rows = session.exec(
            select(Compartment.size, Compartment.state, func.count()).group_by(
                col(Compartment.size), col(Compartment.state)
            )
        ).all()
        waiting = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(
                col(Notification.state).in_([NotificationState.PENDING, NotificationState.FAILED])
            )
        ).one()
        dead = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.state) == NotificationState.DEAD)
        ).one()
    for size, state, count in rows:
        counts[Size(size)][str(state)] = int(count)
    degraded = bool(boards.offline or boards.compartments_unreachable)
    return BoxState(
        box_id=box_id,
        sent_at=now,
        version=software_version(),
        health="degraded" if degraded else "ok",
        compartments={
            size: SizeCounts(**counts[size]) for size in sorted(counts, key=lambda s: s.rank)
        },
        boards=boards,
        open_alarms=open_alarms(core),
        dead_messages=int(dead),
        backlog=Backlog(notifications=int(waiting), events=unconfirmed),
    )
