"""The composition root: the one place that builds the program from the settings.

Like gpiozero picks its pin factory, the same code runs on real boards, on GPIO or on the
simulator, chosen by ``hardware.backend`` alone. Nothing is built at import time: a
:class:`Controller` is made and started by the app's lifespan, a CLI command or a test.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Self

from sqlalchemy.engine import Engine

import notify
from hardware.bank import build_bank
from hardware.layout import load_layout
from kiosk.housekeeping import Housekeeper
from kiosk.pump import EventPump
from locker import migrate
from locker.clock import Clock, SystemClock
from locker.config import Settings
from locker.core import Core
from locker.db import make_engine
from locker.errors import DomainError
from locker.ports import LockBank
from locker.services.compartments import sync_compartments
from locker.services.reconcile import reconcile
from locker.vocabulary import Channel

if TYPE_CHECKING:
    from kiosk.simulation import Simulation

log = logging.getLogger(__name__)


class Controller:
    """Database, lock bank, core, event pump, outbox worker and housekeeping, as one unit."""

    def __init__(
        self,
        settings: Settings,
        *,
        simulation: Simulation | None = None,
        bank: LockBank | None = None,
        clock: Clock | None = None,
        senders: Mapping[Channel, notify.Sender] | None = None,
        migrate_on_start: bool = False,
        housekeeping_interval_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self.simulation = simulation
        self._bank = bank
        self._clock = clock
        self._senders = senders
        self._migrate = migrate_on_start
        self._interval = housekeeping_interval_s
        self.engine: Engine | None = None
        self.core: Core | None = None
        self.pump: EventPump | None = None
        self.outbox: notify.OutboxRunner | None = None
        self.housekeeper: Housekeeper | None = None
        self._owned_bank: LockBank | None = None

    def start(self) -> Self:
        settings = self.settings
        try:
            engine = self.engine = make_engine(
                settings.database_url, busy_timeout_ms=settings.database.busy_timeout_ms
            )
            if self._migrate:
                migrate.upgrade(engine)
            elif not migrate.is_current(engine):
                raise DomainError("The database is not up to date; run: locker db upgrade")
            bank = self._bank or self._build_bank()
            clock = self._clock or (self.simulation.clock if self.simulation else SystemClock())
            core = self.core = Core(engine, clock, settings, bank)
            sync_compartments(core)
            report = reconcile(core)
            if report.faulted:
                log.warning("compartments need a look after start-up: %s", report.faulted)
            self.pump = EventPump(core).start()
            self.outbox = notify.start_worker(core, self._senders)
            self.housekeeper = Housekeeper(core, self._interval).start()
        except BaseException:
            self.close()
            raise
        return self

    def _build_bank(self) -> LockBank:
        hardware = self.settings.hardware
        if self.simulation is not None:
            assert self.simulation.bank is not None
            return self.simulation.bank
        if hardware.backend == "simulator":
            raise DomainError("the simulator backend needs a Simulation (use: locker demo)")
        assert hardware.layout is not None
        self._owned_bank = build_bank(load_layout(Path(hardware.layout)), hardware.pin_factory)
        return self._owned_bank

    @property
    def running(self) -> Core:
        assert self.core is not None, "start() the controller first"
        return self.core

    def close(self) -> None:
        """Stop in reverse order; idempotent."""
        for part in (self.housekeeper, self.outbox, self.pump):
            if part is not None:
                part.close()
        self.housekeeper = self.outbox = self.pump = None
        if self._owned_bank is not None:
            self._owned_bank.close()
            self._owned_bank = None
        if self.engine is not None:
            self.engine.dispose()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
