"""Alarms: what a person must look at, from the moment the core notices it until it is over.

The core raises an alarm where it notices the cause (a jammed lock, a forced door, a door left
open, a board that stopped answering, a message to a citizen that died, too few free
compartments) and clears it where the cause ends (the technician cleared the fault, the door
closed, the board answers again, a new message went out, compartments are free again). A clerk
*acknowledges* an alarm with a note: seen, and this is being done; it stays on the screens
until its cause is cleared.

=============  ==========================================================================
state          meaning
=============  ==========================================================================
open           raised, nobody has said anything yet
acknowledged   a clerk has seen it (who, when, the note: in the row and the audit log)
cleared        the cause is over
=============  ==========================================================================

Every change is written in the caller's transaction together with one audit event and one
outbound event (``alarm.raised``, ``alarm.acknowledged``, ``alarm.cleared``) for the webhooks
and the fleet link, and a :class:`~locker.core.DomainEvent` ``alarm_changed`` is published
after the commit for the live screens. A raised alarm may also be sent to the on-call contact
(``[alarms]`` settings) through the notification outbox: the row is written in the same
transaction and sent at least once under its own id. Nothing here names a citizen: an alarm
names a compartment, a board or a delivery id.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from locker import audit, event_outbox, outbox
from locker.core import Core, DomainEvent
from locker.db import after_commit, reading, transaction
from locker.errors import IllegalTransition, InvalidInput, NotFound
from locker.models import Alarm, Compartment
from locker.vocabulary import AlarmKind, AlarmState, Channel, CompartmentState, MessageKind

COMPARTMENT_FAULTS: Final = (AlarmKind.JAM, AlarmKind.FORCED_DOOR, AlarmKind.FAULT)
"""Alarms that end when their compartment leaves ``fault``."""
NOT_CLEARED: Final = (AlarmState.OPEN, AlarmState.ACKNOWLEDGED)
NOTE_MAX: Final = 500


@dataclass(frozen=True, slots=True)
class AlarmView:
    """An alarm as screens and the API show it."""

    id: str
    kind: AlarmKind
    state: AlarmState
    compartment: str | None
    board: str | None
    delivery_id: str | None
    reason: str | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    cleared_at: datetime | None

    @classmethod
    def of(cls, row: Alarm) -> AlarmView:
        assert row.raised_at is not None
        return cls(
            id=row.id,
            kind=AlarmKind(row.kind),
            state=AlarmState(row.state),
            compartment=row.compartment,
            board=row.board,
            delivery_id=row.delivery_id,
            reason=row.reason,
            raised_at=row.raised_at,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            note=row.note,
            cleared_at=row.cleared_at,
        )


def _facts(row: Alarm) -> dict[str, Any]:
    """What the outbound events say of an alarm (the webhooks' and fleet's ``data``)."""
    return {
        "alarm_id": row.id,
        "kind": str(row.kind),
        "state": str(row.state),
        "compartment": row.compartment,
        "board": row.board,
        "delivery_id": row.delivery_id,
        "raised_at": row.raised_at.isoformat() if row.raised_at else None,
        "cleared_at": row.cleared_at.isoformat() if row.cleared_at else None,
    }


def _changed(
    core: Core | None,
    session: Session,
    row: Alarm,
    what: str,
    at: datetime,
    *,
    actor: str = "core",
    **detail: Any,
) -> None:
    """One change of an alarm, told everywhere it must be: the audit event ``alarm_<what>``,
    the outbound event ``alarm.<what>`` and, after the commit, ``alarm_changed`` for screens."""
    audit.record(
        session,
        at=at,
        kind=f"alarm_{what}",
        actor=actor,
        compartment=row.compartment,
        delivery_id=row.delivery_id,
        alarm=row.id,
        alarm_kind=str(row.kind),
        **detail,
    )
    event_outbox.record(
        session, f"alarm.{what}", at=at, delivery_id=row.delivery_id, data=_facts(row)
    )
    if core is not None:
        event = DomainEvent(
            "alarm_changed", row.delivery_id, row.compartment, {"kind": str(row.kind), "what": what}
        )
        after_commit(session, lambda: core.publish(event))


def _at(column: Any, value: str | None) -> Any:
    return col(column) == value if value else col(column).is_(None)


def _same_cause(
    kind: AlarmKind, compartment: str | None, board: str | None, delivery_id: str | None
) -> Any:
    return (
        (col(Alarm.kind) == kind)
        & col(Alarm.state).in_(NOT_CLEARED)
        & _at(Alarm.compartment, compartment)
        & _at(Alarm.board, board)
        & _at(Alarm.delivery_id, delivery_id)
    )


def raise_alarm(
    core: Core,
    session: Session,
    kind: AlarmKind,
    *,
    at: datetime,
    compartment: str | None = None,
    board: str | None = None,
    delivery_id: str | None = None,
    reason: str = "",
) -> Alarm | None:
    """Raise ``kind`` for its cause in the caller's transaction; ``None`` if it is raised already.

    Alerts the on-call contact when the settings name one for this kind.
    """
    cause = _same_cause(kind, compartment, board, delivery_id)
    if session.exec(select(Alarm).where(cause)).first():
        return None
    row = Alarm(
        id="alm_" + secrets.token_hex(8),
        kind=kind,
        compartment=compartment,
        board=board,
        delivery_id=delivery_id,
        reason=reason[:200] or None,
        raised_at=at,
    )
    session.add(row)
    _changed(core, session, row, "raised", at, board=board)
    _alert_on_call(core, session, row, at)
    return row


def _alert_on_call(core: Core, session: Session, row: Alarm, at: datetime) -> None:
    settings = core.settings.alarms
    if row.kind not in settings.oncall_kinds:
        return
    to = [(Channel.SMS, settings.oncall_phone), (Channel.EMAIL, settings.oncall_email)]
    outbox.enqueue_staff(
        core,
        session,
        [(channel, address) for channel, address in to if address],
        MessageKind.ALARM,
        at=at,
        locale=settings.oncall_locale,
        alarm_id=row.id,
        alarm_kind=str(row.kind),
        place=row.compartment or row.board or "",
        location=core.settings.locker.location,
    )


def clear(
    session: Session,
    kinds: Iterable[AlarmKind],
    *,
    at: datetime,
    core: Core | None = None,
    compartment: str | None = None,
    board: str | None = None,
    delivery_id: str | None = None,
    any_place: bool = False,
) -> list[Alarm]:
    """Clear the alarms of ``kinds`` at the places given (a compartment, a board, a delivery),
    or wherever they are with ``any_place``."""
    query = select(Alarm).where(col(Alarm.kind).in_(list(kinds)), col(Alarm.state).in_(NOT_CLEARED))
    places = [
        col(column) == value
        for column, value in (
            (Alarm.compartment, compartment),
            (Alarm.board, board),
            (Alarm.delivery_id, delivery_id),
        )
        if value
    ]
    if not places and not any_place:
        raise ValueError("name the place of the alarms to clear, or say any_place")
    query = query.where(*places)
    rows = list(session.exec(query))
    for row in rows:
        row.state = AlarmState.CLEARED
        row.cleared_at = at
        session.add(row)
        _changed(core, session, row, "cleared", at)
    return rows


def acknowledge(core: Core, alarm_id: str, *, note: str, actor: str) -> AlarmView:
    """A clerk has seen the alarm and says what is being done (audited)."""
    note = " ".join(note.split())
    if not note:
        raise InvalidInput("note", "say what is being done about it (it goes into the audit log)")
    if len(note) > NOTE_MAX:
        raise InvalidInput("note", f"a note has at most {NOTE_MAX} characters")
    now = core.clock.now()
    with transaction(core.engine) as session:
        row = session.get(Alarm, alarm_id)
        if row is None:
            raise NotFound(f"There is no alarm {alarm_id!r}.")
        if row.state != AlarmState.OPEN:
            raise IllegalTransition(f"Alarm {alarm_id} is {row.state}, not open.")
        row.state = AlarmState.ACKNOWLEDGED
        row.acknowledged_at = now
        row.acknowledged_by = actor
        row.note = note
        session.add(row)
        _changed(core, session, row, "acknowledged", now, actor=actor, note=note)
        return AlarmView.of(row)


def listed(core: Core, state: AlarmState | None = None, *, limit: int = 200) -> list[AlarmView]:
    """Alarms, open first, then acknowledged, then cleared; newest first within each."""
    order = case(
        (col(Alarm.state) == AlarmState.OPEN, 0),
        (col(Alarm.state) == AlarmState.ACKNOWLEDGED, 1),
        else_=2,
    )
    query = select(Alarm).order_by(order, col(Alarm.raised_at).desc(), col(Alarm.id)).limit(limit)
    if state is not None:
        query = query.where(col(Alarm.state) == state)
    with reading(core.engine) as session:
        return [AlarmView.of(row) for row in session.exec(query)]


def not_cleared(core: Core) -> list[AlarmView]:
    """What the alarm bar shows: every alarm whose cause is not over."""
    with reading(core.engine) as session:
        return current(session)


def current(session: Session) -> list[AlarmView]:
    order = case((col(Alarm.state) == AlarmState.OPEN, 0), else_=1)
    rows = session.exec(
        select(Alarm)
        .where(col(Alarm.state).in_(NOT_CLEARED))
        .order_by(order, col(Alarm.raised_at).desc())
    )
    return [AlarmView.of(row) for row in rows]


def count_not_cleared(core: Core) -> int:
    with reading(core.engine) as session:
        found = session.exec(
            select(func.count()).select_from(Alarm).where(col(Alarm.state).in_(NOT_CLEARED))
        ).one()
    return int(found)


def check_capacity(core: Core, session: Session, *, at: datetime) -> None:
    """Raise the capacity alarm when too few compartments are free and usable; clear it else."""
    wanted = core.settings.alarms.low_capacity_free
    session.flush()
    free = session.exec(
        select(func.count())
        .select_from(Compartment)
        .where(col(Compartment.state) == CompartmentState.FREE, col(Compartment.offline) == False)
    ).one()
    if wanted and int(free) < wanted:
        raise_alarm(core, session, AlarmKind.LOW_CAPACITY, at=at, reason=f"{free} free")
    else:
        clear(session, (AlarmKind.LOW_CAPACITY,), at=at, core=core, any_place=True)
