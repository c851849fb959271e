"""Hardware events from the bank's threads to the core, one at a time, in order.

The bank calls back from its own poller threads and must not be kept waiting, and the core's
handlers may read the bank (reconciliation after a board comes back), which a bank callback
must not do. So callbacks only enqueue; one thread drains the queue into
:func:`locker.services.doors.handle_event`.
"""

from __future__ import annotations

import logging
import queue
import threading

from locker.core import Core
from locker.ports import HardwareEvent
from locker.services.doors import handle_event

log = logging.getLogger(__name__)
_STOP = object()


class EventPump:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="event-pump", daemon=True)
        self._unsubscribe = core.bank.subscribe(self._queue.put)

    def start(self) -> EventPump:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                assert isinstance(item, HardwareEvent)
                handle_event(self.core, item)
            except Exception:  # one bad event must not stop the locker
                log.exception("handling %s failed", item)
            finally:
                self._queue.task_done()

    def close(self) -> None:
        self._unsubscribe()
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
