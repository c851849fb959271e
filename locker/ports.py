"""Ports: what the core needs from the outside world, as ``typing.Protocol``.

The core never imports an adapter; ``hardware/`` (serial boards, GPIO) and ``simulator/``
implement :class:`LockBank`, ``notify/`` implements :class:`Outbox`, and the composition root
hands them in.

Contract of :meth:`LockBank.unlock` (every implementation passes the same contract tests):

* it pulses the lock **at most once** per call; a lost reply is never answered by a resend;
* it returns an :class:`UnlockResult` whose ``outcome`` says what is known afterwards:

  ============  ============================================================================
  UNLOCKED      the board acknowledged, or a status read shows the lock open / door open
  NOT_SENT      nothing reached the lock (board offline, port error): safe to try again later
  STAYED_LOCKED the command went out but the lock still reads closed (jammed lock)
  UNCERTAIN     the command may have gone out and the state could not be read back
  ============  ============================================================================

* it never raises for a hardware problem; ``KeyError`` for an unknown label is a programming error.

Events (:class:`HardwareEvent`) are delivered to subscribers from the bank's own thread; a
subscriber must be quick and must not call back into the bank from the callback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from locker.vocabulary import DoorState, Size


@dataclass(frozen=True, slots=True)
class CompartmentSpec:
    """A compartment as the layout describes it. ``row`` counts from 1 at the bottom;
    ``handle_mm`` is the handle's height above the floor, where the layout gives it."""

    label: str
    size: Size
    row: int
    handle_mm: int | None = None


@dataclass(frozen=True, slots=True)
class CompartmentReading:
    """What the hardware reports about one compartment right now.

    ``locked`` and ``item`` are ``None`` where the hardware has no such sensor;
    ``online`` is ``False`` when the board or pin behind it cannot be read (then ``door`` is
    ``UNKNOWN``).
    """

    label: str
    door: DoorState
    locked: bool | None = None
    item: bool | None = None
    online: bool = True


class UnlockOutcome(StrEnum):
    UNLOCKED = "unlocked"
    NOT_SENT = "not_sent"
    STAYED_LOCKED = "stayed_locked"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True, slots=True)
class UnlockResult:
    label: str
    outcome: UnlockOutcome
    detail: str = ""


class EventKind(StrEnum):
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    FORCED_OPEN = "forced_open"
    """The door opened with no unlock before it (tamper). Sent instead of DOOR_OPENED."""
    LOCK_FAULT = "lock_fault"
    """No door-open within the configured time after an unlock."""
    ITEM_CHANGED = "item_changed"
    BOARD_OFFLINE = "board_offline"
    BOARD_ONLINE = "board_online"


@dataclass(frozen=True, slots=True)
class HardwareEvent:
    """One thing the hardware noticed.

    ``label`` names the compartment (``None`` for board events); ``board`` names the board or
    bus (``None`` for compartment events of a GPIO bank); ``labels`` lists the compartments a
    board event concerns; ``item`` carries the new occupancy for ITEM_CHANGED.
    """

    kind: EventKind
    label: str | None = None
    board: str | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)
    item: bool | None = None
    detail: str = ""


EventCallback = Callable[[HardwareEvent], None]
Unsubscribe = Callable[[], None]


class LockBank(Protocol):
    """A bank of compartments whose locks the controller can open and whose doors it can see."""

    def compartments(self) -> Sequence[CompartmentSpec]:
        """Every compartment of the bank, in layout order."""
        ...

    def unlock(self, label: str) -> UnlockResult:
        """Pulse the lock of ``label`` once and report what is known afterwards (see module doc)."""
        ...

    def read(self, label: str) -> CompartmentReading:
        """Read one compartment's door, lock and item state from the hardware now."""
        ...

    def read_all(self) -> Mapping[str, CompartmentReading]:
        """Read every compartment, grouped into as few bus transactions as the hardware allows."""
        ...

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        """Call ``callback`` for every :class:`HardwareEvent` from now on."""
        ...

    def close(self) -> None:
        """Stop threads and release ports and pins; idempotent."""
        ...


class Outbox(Protocol):
    """What drains an outbox table (``notify/``'s runner for the notification outbox).

    The core writes outbox rows in the transaction of the state change they report, and calls
    :meth:`wake` once that transaction has committed, so that the rows leave at once instead
    of at the drainer's next poll; the poll remains only as a safety net (rows that became due
    by the clock alone, or were written by another process). A wake is only a hint: a drainer
    that misses one still finds the rows at its next poll, so nothing depends on it but latency.

    Threads: :meth:`wake` is called from whichever thread committed (a web request, the event
    pump, the housekeeper), right after the commit. It must return at once: never block, never
    touch the database, never raise (setting a :class:`threading.Event` is the intended body).
    """

    def wake(self) -> None:
        """Rows were committed that are due now: look at them soon, from your own thread."""
        ...
