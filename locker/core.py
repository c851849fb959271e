"""The core's context: what every service needs, handed in by the composition root.

Nothing here is global: a test builds a :class:`Core` on its own SQLite file, a manual clock
and a simulated bank; production builds one from the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from locker.clock import Clock
from locker.codes import derive_key
from locker.config import Settings
from locker.listeners import Listeners
from locker.ports import (
    CompartmentReading,
    CompartmentSpec,
    EventCallback,
    LockBank,
    Outbox,
    UnlockOutcome,
    UnlockResult,
    Unsubscribe,
)
from locker.vocabulary import DoorState


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something a screen may want to show live (sent after the transaction committed)."""

    kind: str
    delivery_id: str | None = None
    compartment: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[DomainEvent], None]


class NoBank:
    """The bank of a controller started without hardware (maintenance commands).

    Every unlock is ``NOT_SENT`` and every door ``UNKNOWN``: nothing can open by accident.
    """

    def compartments(self) -> Sequence[CompartmentSpec]:
        return ()

    def unlock(self, label: str) -> UnlockResult:
        return UnlockResult(label, UnlockOutcome.NOT_SENT, "no hardware attached")

    def read(self, label: str) -> CompartmentReading:
        return CompartmentReading(label, DoorState.UNKNOWN, online=False)

    def read_all(self) -> Mapping[str, CompartmentReading]:
        return {}

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        return lambda: None

    def close(self) -> None:
        return None


class NoOutbox:
    """The outbox drainer of a controller that sends nothing itself (maintenance commands).

    Rows written meanwhile wait in the table for the running controller's worker (its poll).
    """

    def wake(self) -> None:
        return None


class Core:
    """Engine, clock, settings and the ports, as every service receives them.

    ``outbox`` is handed in like the bank, or set by the composition root once the worker that
    drains it runs (the worker needs the core first); until then wakes go nowhere.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        settings: Settings,
        bank: LockBank | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.bank: LockBank = bank if bank is not None else NoBank()
        self.outbox: Outbox = outbox if outbox is not None else NoOutbox()
        self.settings = settings
        self.code_key = derive_key(settings.locker.secret_key, "pickup-code")
        self.seal_key = derive_key(settings.locker.secret_key, "outbox-seal")
        self.api_key_key = derive_key(settings.locker.secret_key, "api-key")
        self._listeners: Listeners[Listener] = Listeners()

    def listen(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def publish(self, *events: DomainEvent) -> None:
        for event in events:  # a screen's listener must never break a pickup
            self._listeners.call(event, what=f"a listener on {event.kind}")
