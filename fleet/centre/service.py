"""The centre's composition root: database, subscriber, relay and the watcher, as one unit.

Built without threads, started explicitly (like the box's runtime)::

    centre = Centre(settings).build()   # engine, migrations, the demo key
    centre.start()                      # subscriber, writer, watcher
    ...
    centre.close()

The watcher runs :func:`fleet.centre.alerts.sweep` and :func:`~fleet.centre.alerts.send_due`
every ``check_interval_s`` on the centre's clock; a test with a manual clock calls
:meth:`Centre.check` itself after advancing it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Self

from sqlalchemy.engine import Engine

from fleet.centre import alerts, db, keys
from fleet.centre.config import CentreSettings
from fleet.centre.ingest import Ingest
from fleet.centre.relay import Relay
from fleet.centre.store import Outcome
from locker.clock import Clock, SystemClock
from locker.listeners import Listeners

log = logging.getLogger(__name__)
Changed = Callable[[set[str]], None]


class Centre:
    def __init__(
        self,
        settings: CentreSettings,
        *,
        clock: Clock | None = None,
        check_interval_s: float = 5.0,
        watch: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.check_interval_s = check_interval_s
        self._watch = watch
        self.engine: Engine | None = None
        self.ingest: Ingest | None = None
        self.relay: Relay | None = None
        self._listeners: Listeners[Changed] = Listeners()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._started = False

    def build(self) -> Self:
        if self.engine is not None:
            return self
        self.engine = db.make_engine(self.settings.centre.database_url)
        db.upgrade(self.engine)
        if self.settings.centre.demo:
            keys.seed_demo_key(self.engine, self.clock.now())
        self.ingest = Ingest(self.settings, self.engine, self.clock)
        self.ingest.listen(self._ingested)
        self.relay = Relay(self.ingest, self.engine, self.settings.centre.command_timeout_s)
        return self

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> Self:
        self.build()
        assert self.ingest is not None
        if self._started:
            return self
        self._started = True
        self.ingest.start()
        if self._watch and self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch_loop, name="fleet-watch", daemon=True
            )
            self._watcher.start()
        return self

    @property
    def db(self) -> Engine:
        assert self.engine is not None, "build() the centre first"
        return self.engine

    def listen(self, listener: Changed) -> Callable[[], None]:
        """``listener(box_ids)`` after anything about those boxes changed (for live pages)."""
        return self._listeners.add(listener)

    def _changed(self, boxes: set[str]) -> None:
        if boxes:
            self._listeners.call(boxes, what="a change listener")

    def _ingested(self, outcome: Outcome) -> None:
        self._changed(outcome.changed)

    def check(self) -> None:
        """One pass of the watcher: silence, offline alerts, alert e-mail."""
        now = self.clock.now()
        self._changed(alerts.sweep(self.db, self.settings, now))
        alerts.send_due(self.db, self.settings, now)

    def _watch_loop(self) -> None:
        while not self._stop.wait(self.check_interval_s):
            try:
                self.check()
            except Exception:
                log.exception("the centre's watcher failed; trying again")

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
            self._watcher = None
        if self.ingest is not None:
            self.ingest.close()
        if self.engine is not None:
            self.engine.dispose()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
