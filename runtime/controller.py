"""The composition root: the one place that builds the program from the settings.

Like gpiozero picks its pin factory, the same code runs on real boards, on GPIO or on the
simulator: the bank comes from the layout file named in ``hardware.layout``, or is handed in
(the simulator's world builds the production bank on its virtual ports and passes it here).

Building and starting are two steps, so that every client runs the same program::

    controller = Controller(settings).build()   # database, bank, core, reconciliation
    controller.start()                          # event pump, outbox worker, webhooks, housekeeping,
                                                # and the fleet link if [fleet] names a broker
    ...
    controller.close()

``build()`` starts no thread of ours (the bank's own poller threads run, since reconciliation
reads the doors); a test or the scenario runner may start only the event pump
(``controller.pump.start()``) and drive the outbox and housekeeping pass by pass.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Self

from sqlalchemy.engine import Engine

import notify
from hardware.bank import build_bank
from hardware.layout import Layout
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
from runtime.housekeeper import Housekeeper
from runtime.preflight import load_layout_setting
from runtime.pump import EventPump
from webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from fleet.box.link import FleetLink

log = logging.getLogger(__name__)


class Controller:
    """Database, lock bank, core, event pump, outbox worker and housekeeping, as one unit."""

    def __init__(
        self,
        settings: Settings,
        *,
        bank: LockBank | None = None,
        layout: Layout | None = None,
        clock: Clock | None = None,
        senders: Mapping[Channel, notify.Sender] | None = None,
        migrate_on_start: bool = False,
        housekeeping_interval_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self._bank = bank
        self._layout = layout
        self._clock = clock
        self._senders = senders
        self._migrate = migrate_on_start
        self._interval = housekeeping_interval_s
        self.engine: Engine | None = None
        self.core: Core | None = None
        self.pump: EventPump | None = None
        self.outbox: notify.OutboxRunner | None = None
        self.housekeeper: Housekeeper | None = None
        self.webhooks: WebhookDispatcher | None = None
        self.fleet: FleetLink | None = None
        self._owned_bank: LockBank | None = None
        self._started = False

    def build(self) -> Self:
        """Open the database, build the bank and the core, reconcile; start no thread of ours.

        Idempotent. Hardware events that arrive before :meth:`start` wait in the pump's queue.
        """
        if self.core is not None:
            return self
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
            core = Core(engine, self._clock or SystemClock(), settings, bank)
            sync_compartments(core)
            report = reconcile(core)
            if report.faulted:
                log.warning("compartments need a look after start-up: %s", report.faulted)
            self.pump = EventPump(core)
            self.outbox = core.outbox = notify.outbox_runner(core, self._senders)
            self.housekeeper = Housekeeper(core, self._interval)
            self.webhooks = WebhookDispatcher(core)
            if settings.fleet.broker_url:
                from fleet.box.link import FleetLink  # noqa: PLC0415 - paho only with a broker

                self.fleet = FleetLink(core)
            self.core = core
        except BaseException:
            self.close()
            raise
        return self

    def start(self) -> Self:
        """Build if needed, then start the event pump, the outbox worker and housekeeping."""
        self.build()
        if not self._started:
            assert self.pump and self.outbox and self.housekeeper and self.webhooks
            self._started = True
            self.pump.start()
            self.outbox.start()
            self.webhooks.start()
            self.housekeeper.start()
            if self.fleet is not None:
                self.fleet.start()
        return self

    def _build_bank(self) -> LockBank:
        hardware = self.settings.hardware
        if hardware.backend == "simulator":
            raise DomainError(
                "hardware.backend 'simulator' needs the simulated world (use: locker demo), or set"
                " backend = 'layout' with a layout file"
            )
        layout = self._layout or load_layout_setting(self.settings, "the settings")
        assert layout is not None  # the settings refuse backend 'layout' without one
        self._owned_bank = build_bank(layout, hardware.pin_factory)
        return self._owned_bank

    @property
    def running(self) -> Core:
        assert self.core is not None, "build() or start() the controller first"
        return self.core

    def close(self) -> None:
        """Stop in reverse order; idempotent."""
        for part in (self.fleet, self.housekeeper, self.webhooks, self.outbox, self.pump):
            if part is not None:
                part.close()
        self.fleet = None
        self.housekeeper = self.webhooks = self.outbox = self.pump = None
        if self._owned_bank is not None:
            self._owned_bank.close()
            self._owned_bank = None
        if self.engine is not None:
            self.engine.dispose()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
