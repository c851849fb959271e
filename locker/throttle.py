"""Failure counters behind rate limits and lockouts, kept in the database for every process.

Two kinds, both keyed by a string such as ``kiosk:<id>`` or ``delivery:<id>``:

* **Lockout with growing back-off** (:func:`fail`): after ``max_failures`` failures in a row
  the key is locked for ``base_s``; every further lockout doubles it, up to ``max_s``. A
  success (:func:`succeed`) forgets the failures and the back-off.
* **Window budget** (:func:`spend`): at most ``limit`` failures per fixed window (one hour),
  whatever anybody does; this is what bounds guessing in docs/security.md, since a success
  does not refill it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from locker.models import Throttle

WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Backoff:
    max_failures: int
    base_s: int
    max_s: int

    def lock_seconds(self, lockouts: int) -> int:
        """Length of the ``lockouts``-th lockout (1-based)."""
        return min(self.max_s, self.base_s * (1 << min(lockouts - 1, 32)))


def _row(session: Session, key: str) -> Throttle:
    row = session.exec(select(Throttle).where(col(Throttle.key) == key)).one_or_none()
    if row is None:
        row = Throttle(key=key)
        session.add(row)
    return row


def seconds_locked(session: Session, key: str, now: datetime) -> int:
    """Seconds until ``key`` may try again; 0 when it may now."""
    row = session.exec(select(Throttle).where(col(Throttle.key) == key)).one_or_none()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return 0
    return math.ceil((row.locked_until - now).total_seconds())


def fail(session: Session, key: str, rule: Backoff, now: datetime) -> int:
    """Count a failure; return the seconds of the lockout it started (0 if none)."""
    row = _row(session, key)
    row.failures += 1
    row.updated_at = now
    locked = 0
    if row.failures >= rule.max_failures:
        row.lockouts += 1
        row.failures = 0
        locked = rule.lock_seconds(row.lockouts)
        row.locked_until = now + timedelta(seconds=locked)
    session.add(row)
    return locked


def failures_in_a_row(session: Session, key: str) -> int:
    """Failures of ``key`` since its last success or lockout."""
    row = session.exec(select(Throttle).where(col(Throttle.key) == key)).one_or_none()
    return row.failures if row is not None else 0


def succeed(session: Session, key: str) -> None:
    row = session.exec(select(Throttle).where(col(Throttle.key) == key)).one_or_none()
    if row is not None:
        row.failures = 0
        row.lockouts = 0
        row.locked_until = None
        session.add(row)


def spend(session: Session, key: str, limit: int, now: datetime) -> None:
    """Count a failure against the fixed-window budget of ``key``."""
    row = _row(session, key)
    if row.window_start is None or now - row.window_start >= WINDOW:
        row.window_start = now
        row.failures = 0
    row.failures += 1
    row.updated_at = now
    if row.failures >= limit:
        row.locked_until = row.window_start + WINDOW
    session.add(row)
