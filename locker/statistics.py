"""Pickup statistics, and the open-data file made from them.

Computed from the deliveries' own timestamps (``created_at``, ``stored_at``, ``collected_at``,
``expired_at``, ``returned_at``, ``cancelled_at``) and document types: these stay when the
recipient's data is erased (:func:`locker.services.housekeeping.erase_due` clears the contact
columns only), so the figures never need, and never keep alive, anything personal. Times are
counted in the locker's local time zone (``locker.timezone``); "outside opening hours" means a
pickup whose local time falls in no span of ``office.opening_hours`` for its weekday.

**Open data** (:func:`open_data_rows`): one row per complete month and document type, counts
only, no reference, no id. Any count below :data:`SUPPRESS_BELOW` is left empty (suppressed),
and so is a median built from fewer pickups. No totals are published, so a suppressed cell
cannot be recovered by subtraction.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import col, select

from locker.core import Core
from locker.db import reading
from locker.models import Delivery
from locker.vocabulary import DocumentType

Granularity = Literal["day", "week", "month"]
KINDS: Final = ("announced", "stored", "collected", "expired", "returned", "cancelled")
COLUMN_OF: Final = {
    "announced": "created_at",
    "stored": "stored_at",
    "collected": "collected_at",
    "expired": "expired_at",
    "returned": "returned_at",
    "cancelled": "cancelled_at",
}
SUPPRESS_BELOW: Final = 5
OPEN_DATA_KINDS: Final = ("announced", "stored", "collected", "expired", "returned")
OPEN_DATA_COLUMNS: Final = (
    "month",
    "document_type",
    *OPEN_DATA_KINDS,
    "collected_outside_opening_hours",
    "median_hours_stored_to_collected",
)
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Facts:
    """What statistics may know of one delivery: its type and its times, nothing else."""

    document_type: str
    times: dict[str, datetime]


def load_facts(core: Core, start: datetime, end: datetime) -> list[Facts]:
    """Deliveries with any counted moment in ``[start, end)`` (UTC)."""
    columns = [getattr(Delivery, c) for c in COLUMN_OF.values()]
    touched = or_(*(and_between(c, start, end) for c in columns))
    with reading(core.engine) as session:
        rows = session.exec(select(Delivery.document_type, *columns).where(touched)).all()
    found = []
    for row in rows:
        document_type, *moments = row
        times = {c: m for c, m in zip(COLUMN_OF.values(), moments, strict=True) if m is not None}
        found.append(Facts(str(document_type), times))
    return found


def and_between(column: Any, start: datetime, end: datetime) -> Any:
    return (col(column) >= start) & (col(column) < end)


class Calendar:
    """Local time, buckets and opening hours of this installation."""

    def __init__(self, core: Core) -> None:
        self.zone = ZoneInfo(core.settings.locker.timezone)
        self.hours = {
            day: [_span(s) for s in spans]
            for day, spans in core.settings.office.opening_hours.items()
        }

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def utc_start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    def bucket(self, moment: datetime, granularity: Granularity) -> date:
        day = self.local(moment).date()
        if granularity == "week":
            return day - timedelta(days=day.weekday())
        if granularity == "month":
            return day.replace(day=1)
        return day

    def open_at(self, moment: datetime) -> bool:
        local = self.local(moment)
        now = local.time()
        spans = self.hours.get(WEEKDAYS[local.weekday()], [])
        return any(start <= now < end for start, end in spans)


def report(core: Core, first: date, last: date, granularity: Granularity = "day") -> dict[str, Any]:
    """The statistics of the local days ``first`` to ``last`` (both included)."""
    calendar = Calendar(core)
    start, end = calendar.utc_start_of(first), calendar.utc_start_of(last + timedelta(days=1))
    facts = load_facts(core, start, end)
    periods: dict[date, Counter[str]] = defaultdict(Counter)
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    by_hour, by_weekday = [0] * 24, [0] * 7
    dwell: list[float] = []
    outside = 0
    for fact in facts:
        for kind, moment in _moments(fact, start, end):
            periods[calendar.bucket(moment, granularity)][kind] += 1
            by_type[fact.document_type][kind] += 1
            totals[kind] += 1
            if kind != "collected":
                continue
            local = calendar.local(moment)
            by_hour[local.hour] += 1
            by_weekday[local.weekday()] += 1
            outside += not calendar.open_at(moment)
            if "stored_at" in fact.times:
                dwell.append((moment - fact.times["stored_at"]).total_seconds() / 3600)
    collected = totals["collected"]
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "granularity": granularity,
        "timezone": str(calendar.zone),
        "totals": _counts(totals),
        "periods": [
            {"start": day.isoformat(), **_counts(periods[day])}
            for day in _buckets(calendar, first, last, granularity)
        ],
        "by_document_type": {d.value: _counts(by_type[d.value]) for d in DocumentType},
        "stored_to_collected_hours": {
            "count": len(dwell),
            "median": _round(statistics.median(dwell)) if dwell else None,
            "p90": _round(percentile(dwell, 90)) if dwell else None,
        },
        "pickups_by_hour": by_hour,
        "pickups_by_weekday": dict(zip(WEEKDAYS, by_weekday, strict=True)),
        "collected_outside_opening_hours": {
            "count": outside,
            "share": round(outside / collected, 4) if collected else None,
        },
        "opening_hours": core.settings.office.opening_hours,
    }


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (a value that occurred, as a reader expects of "90 % within")."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


def open_data_rows(core: Core) -> tuple[list[dict[str, str]], date | None, date | None]:
    """Rows for ``pickups.csv`` (every complete month), and the period they cover."""
    calendar = Calendar(core)
    this_month = calendar.local(core.clock.now()).date().replace(day=1)
    with reading(core.engine) as session:
        oldest = session.exec(
            select(Delivery.created_at).order_by(col(Delivery.created_at))
        ).first()
    if oldest is None:
        return [], None, None
    first = calendar.local(oldest).date().replace(day=1)
    if first >= this_month:
        return [], None, None
    facts = load_facts(core, calendar.utc_start_of(first), calendar.utc_start_of(this_month))
    cells: dict[tuple[date, str], Counter[str]] = defaultdict(Counter)
    dwell: dict[tuple[date, str], list[float]] = defaultdict(list)
    for fact in facts:
        for kind, moment in _moments(fact, None, calendar.utc_start_of(this_month)):
            key = (calendar.bucket(moment, "month"), fact.document_type)
            cells[key][kind] += 1
            if kind == "collected":
                cells[key]["outside"] += not calendar.open_at(moment)
                if "stored_at" in fact.times:
                    dwell[key].append((moment - fact.times["stored_at"]).total_seconds() / 3600)
    rows = []
    for month in _buckets(calendar, first, this_month - timedelta(days=1), "month"):
        for document_type in DocumentType:
            counts = cells[(month, document_type.value)]
            hours = dwell[(month, document_type.value)]
            rows.append(
                {
                    "month": month.strftime("%Y-%m"),
                    "document_type": document_type.value,
                    **{k: suppressed(counts[k]) for k in OPEN_DATA_KINDS},
                    "collected_outside_opening_hours": suppressed(counts["outside"]),
                    "median_hours_stored_to_collected": (
                        f"{statistics.median(hours):.1f}" if len(hours) >= SUPPRESS_BELOW else ""
                    ),
                }
            )
    return rows, first, this_month - timedelta(days=1)


def suppressed(count: int) -> str:
    """The count as published: empty when below :data:`SUPPRESS_BELOW` (zero included)."""
    return str(count) if count >= SUPPRESS_BELOW else ""


def _moments(fact: Facts, start: datetime | None, end: datetime) -> Iterable[tuple[str, datetime]]:
    for kind, column in COLUMN_OF.items():
        moment = fact.times.get(column)
        if moment is not None and (start is None or moment >= start) and moment < end:
            yield kind, moment


def _buckets(calendar: Calendar, first: date, last: date, granularity: Granularity) -> list[date]:
    found: list[date] = []
    day = first
    while day <= last:
        bucket = calendar.bucket(calendar.utc_start_of(day), granularity)
        if not found or found[-1] != bucket:
            found.append(bucket)
        day += timedelta(days=1)
    return found


def _counts(counter: Counter[str]) -> dict[str, int]:
    return {k: counter[k] for k in KINDS}


def _span(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start), (time.max if end == "24:00" else time.fromisoformat(end))


def _round(value: float) -> float:
    return round(value, 2)
