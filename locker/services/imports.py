"""Bulk announcements: many rows, each checked as one announcement is, one result per row.

Every row goes through :func:`locker.services.deliveries.prepare` (the validation of a single
``POST /api/v1/deliveries``) and, unless it is a dry run, :func:`~locker.services.deliveries.
write_announced`, so an imported delivery is indistinguishable from an announced one (audit
event, outbound ``delivery.announced``). A row is ``invalid`` (with the field and the reason),
a ``duplicate`` (its reference exists, or an earlier row of the same import has it), or
``created``. Rows that were parsed badly upstream arrive as :class:`RowProblem`.

Rows are written in chunks of :data:`CHUNK` per transaction: 5,000 rows are 25 commits, not
5,000, and one chunk never holds the write lock for long. A dry run writes nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, select

from locker.core import Core, DomainEvent
from locker.db import reading, transaction
from locker.errors import InvalidInput
from locker.models import Delivery
from locker.services.deliveries import Announcement, prepare, write_announced

CHUNK = 200
Result = Literal["created", "duplicate", "invalid"]


@dataclass(frozen=True)
class RowProblem:
    """A row that could not even be read as an announcement."""

    field: str
    reason: str
    reference: str | None = None


@dataclass(frozen=True)
class RowResult:
    row: int
    """1-based number of the record (a CSV's header line is not counted)."""
    result: Result
    reference: str | None
    delivery_id: str | None = None
    field: str | None = None
    reason: str | None = None


def import_announcements(
    core: Core, rows: Sequence[Announcement | RowProblem], *, dry_run: bool, actor: str
) -> list[RowResult]:
    now = core.clock.now()
    results: list[RowResult] = []
    ready: list[tuple[int, Delivery]] = []
    first_row: dict[str, int] = {}
    existing = _existing_references(core, rows)
    for number, row in enumerate(rows, start=1):
        if isinstance(row, RowProblem):
            results.append(RowResult(number, "invalid", row.reference, None, row.field, row.reason))
            continue
        try:
            delivery = prepare(core, row, now)
        except InvalidInput as err:
            results.append(
                RowResult(number, "invalid", row.reference.strip(), None, err.field, err.detail)
            )
            continue
        reference = delivery.reference
        if reference in existing:
            results.append(
                RowResult(
                    number,
                    "duplicate",
                    reference,
                    existing[reference],
                    "reference",
                    "a delivery with this reference exists already",
                )
            )
            continue
        if reference in first_row:
            results.append(
                RowResult(
                    number,
                    "duplicate",
                    reference,
                    None,
                    "reference",
                    f"row {first_row[reference]} has the same reference",
                )
            )
            continue
        first_row[reference] = number
        ready.append((number, delivery))
        results.append(RowResult(number, "created", reference, None if dry_run else delivery.id))
    if dry_run:
        return results
    written = []
    for start in range(0, len(ready), CHUNK):
        chunk = ready[start : start + CHUNK]
        with transaction(core.engine) as session:
            # checked again under the write lock: another request may have taken a reference
            taken = _taken(session, [d.reference for _n, d in chunk])
            for number, delivery in chunk:
                if delivery.reference in taken:
                    results[number - 1] = RowResult(
                        number,
                        "duplicate",
                        delivery.reference,
                        taken[delivery.reference],
                        "reference",
                        "a delivery with this reference exists already",
                    )
                    continue
                write_announced(session, delivery, actor=actor, at=now)
                written.append(delivery.id)
    core.publish(*(DomainEvent("delivery_announced", d) for d in written))
    return results


def _existing_references(core: Core, rows: Sequence[Announcement | RowProblem]) -> dict[str, str]:
    """Reference → delivery id for every row's reference already in the database."""
    wanted = sorted({r.reference.strip() for r in rows if isinstance(r, Announcement)})
    with reading(core.engine) as session:
        return _taken(session, wanted)


def _taken(session: Session, references: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(references), 500):
        chunk = list(references[start : start + 500])
        query = select(Delivery.reference, Delivery.id).where(col(Delivery.reference).in_(chunk))
        found.update(dict(session.exec(query).all()))
    return found
