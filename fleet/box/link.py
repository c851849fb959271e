"""The box's link to the city's centre: a sink of the event outbox, and the command handler.

Started by the runtime like the outbox worker (``runtime/controller.py``) when
``[fleet] broker_url`` is set. It never stands between a citizen and a document: every
service commits locally first, the link reads the committed outbox afterwards, from its own
threads, and a broker that is gone only means the outbox grows until it is back.

**Events.** The sink's cursor (``fleet``, in the box's database) is the last event the
*centre* confirmed with a receipt (``stored through seq N``), not the last one the broker
took: a broker that crashed before passing messages on loses nothing. The publisher sends
events after the cursor in order, QoS 1, each with its ``event_id`` as ``message_id`` and its
outbox id as ``seq`` (``prev_seq`` the one before), at most ``WINDOW`` ahead of the last
receipt. On every (re)connect, and when no receipt comes for ``resend_after_s`` (doubling up
to ten minutes), it starts again from the cursor: the centre drops what it has by id.

**Waiting.** The publisher thread waits on events, never on a poll of the outbox: a commit
that wrote events (:func:`locker.event_outbox.wake_on_events`), a receipt, a domain or bank
event that changes the state, paho's ``on_connect`` after an outage, or :meth:`close`. Its only
timers are its own duties (the next heartbeat, the throttled state and cursor, the resend
deadline); while the broker is away it has none and sleeps until ``on_connect``. Events a
process other than this one writes go out with the next pass (a heartbeat at the latest).

**State.** Retained ``status`` (online; the last will says ``lost``), retained ``state`` on
connect and at most every ``STATE_MIN_INTERVAL_S`` after a change, heartbeats every
``heartbeat_s``.

**Commands** arrive on the box's own topic, wait in a queue for the command thread (never in
paho's network thread) and are answered on ``answers`` (:mod:`fleet.box.commands`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from fleet import mqtt as fleet_mqtt
from fleet.box.commands import Command, CommandHandler
from fleet.box.snapshot import BoardWatch, build_state, events_after
from fleet.contract import (
    BoxEvent,
    BoxStatus,
    Heartbeat,
    Receipt,
    Topic,
    check_box_id,
    parse_command,
    topic,
)
from locker import event_outbox
from locker.config import FleetSection
from locker.core import Core, DomainEvent
from locker.ports import HardwareEvent

log = logging.getLogger(__name__)
SINK = "fleet"
WINDOW = 500
"""Events sent ahead of the last receipt at most (what a long outage of the centre may cost
in duplicates at the broker)."""
BATCH = 100
STATE_MIN_INTERVAL_S = 5.0
"""Retained state at most this often (the control room is live to within it)."""
COALESCE_S = 0.02
ADVANCE_EVERY_S = 1.0
"""The durable cursor moves at most this often (a write transaction each time): a box that
stops in between sends those events again, and the centre drops them by id."""
MAX_RESEND_S = 600.0
SESSION_EXPIRY_S = 3600


RETRY_S = 0.25
MAX_RETRY_S = 30.0
"""After a failed pass (the database busy, say) the publisher waits RETRY_S, doubling up to
this, before it tries again."""


@dataclass
class _Timers:
    """The publisher's own clock-driven duties (``time.monotonic`` seconds)."""

    progress: float
    """When the centre last showed progress (a receipt), for the resend deadline."""
    resend_wait: float
    heartbeat_due: float = 0.0
    state_sent: float = 0.0
    advanced: float = 0.0


def box_id_of(core: Core) -> str:
    fleet = core.settings.fleet
    return check_box_id(fleet.box_id or core.settings.locker.bank_id.lower())


class FleetLink:
    """Publisher and command threads of one box; :meth:`start`, :meth:`close`."""

    def __init__(self, core: Core, settings: FleetSection | None = None) -> None:
        self.core = core
        self.settings = settings or core.settings.fleet
        self.box_id = box_id_of(core)
        self.commands = CommandHandler(core, self.box_id)
        self.boards = BoardWatch()
        self.address = fleet_mqtt.parse_broker_url(self.settings.broker_url)
        lost = BoxStatus(box_id=self.box_id, sent_at=core.clock.now(), online=False, reason="lost")
        self.client = fleet_mqtt.make_client(
            f"locker-{self.box_id}",
            self.address,
            username=self.settings.username or self.box_id,
            password=self.settings.password,
            ca_file=self.settings.ca_file or None,
            will=fleet_mqtt.Will(topic(self.box_id, Topic.STATUS), lost.wire()),
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._fresh_connection = False
        self._receipt = 0
        self._commands: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._unsubscribe: list[Any] = []
        self._state_dirty = True
        self.confirmed = 0
        self.published = 0
        self.started_at = time.monotonic()

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> FleetLink:
        self.confirmed = event_outbox.register_sink(self.core, SINK, from_start=True)
        self.published = self.confirmed
        self._unsubscribe = [
            event_outbox.wake_on_events(self.core, self._wake.set),
            self.core.listen(self._on_domain),
            self.core.bank.subscribe(self._on_bank),
        ]
        for name, target in (
            ("fleet-publisher", self._publish_loop),
            ("fleet-commands", self._command_loop),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        fleet_mqtt.connect(
            self.client,
            self.address,
            keepalive_s=self.settings.keepalive_s,
            session_expiry_s=SESSION_EXPIRY_S,
        )
        return self

    def close(self) -> None:
        """Say goodbye (retained offline status), disconnect, stop the threads; idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        self._commands.put(None)
        for stop in self._unsubscribe:
            stop()
        if self._connected.is_set():
            goodbye = BoxStatus(
                box_id=self.box_id,
                sent_at=self.core.clock.now(),
                online=False,
                reason="disconnected",
            )
            info = self.client.publish(
                topic(self.box_id, Topic.STATUS), goodbye.wire(), qos=1, retain=True
            )
            info.wait_for_publish(timeout=2)
        fleet_mqtt.stop(self.client)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- callbacks (other threads: note and wake, nothing more) -------------------------------

    def _on_domain(self, _event: DomainEvent) -> None:
        self._state_dirty = True
        self._wake.set()

    def _on_bank(self, event: HardwareEvent) -> None:
        if self.boards(event):
            self._state_dirty = True
            self._wake.set()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("the broker refused box %s: %s", self.box_id, reason)
            return
        client.subscribe(
            [(topic(self.box_id, Topic.COMMANDS), 1), (topic(self.box_id, Topic.RECEIPTS), 1)]
        )
        self._fresh_connection = True
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            if message.topic == topic(self.box_id, Topic.RECEIPTS):
                receipt = Receipt.model_validate_json(message.payload)
                self._receipt = max(self._receipt, receipt.stored_through)
                self._wake.set()
            elif message.topic == topic(self.box_id, Topic.COMMANDS):
                command = parse_command(bytes(message.payload))
                if command.box_id == self.box_id:
                    self._commands.put(command)
        except (ValidationError, ValueError) as err:
            log.warning("ignored a message on %s that breaks the contract: %s", message.topic, err)

    # -- the publisher ------------------------------------------------------------------------

    def _publish_loop(self) -> None:
        timers = _Timers(progress=time.monotonic(), resend_wait=self.settings.resend_after_s)
        failures = 0
        while not self._stop.is_set():
            pause = self._pause(timers, time.monotonic())
            if self._wake.wait(pause):
                self._stop.wait(COALESCE_S)  # one step of the core publishes several events
            self._wake.clear()
            if self._stop.is_set() or not self._connected.is_set():
                continue
            try:
                self._publish_pass(timers, time.monotonic())
                failures = 0
            except Exception:
                log.exception("box %s: the fleet publisher failed; trying again", self.box_id)
                failures += 1
                self._stop.wait(min(MAX_RETRY_S, RETRY_S * 2 ** min(failures, 10)))

    def _pause(self, timers: _Timers, now: float) -> float | None:
        """Until the publisher's next own duty; ``None`` (until woken) while disconnected:
        paho reconnects by itself (back-off 1-15 s) and ``_on_connect`` wakes the publisher."""
        if not self._connected.is_set():
            return None
        due = [timers.heartbeat_due]
        if self._state_dirty:
            due.append(timers.state_sent + STATE_MIN_INTERVAL_S)
        if self._receipt > self.confirmed:
            due.append(timers.advanced + ADVANCE_EVERY_S)
        if self.published > self.confirmed:
            due.append(timers.progress + timers.resend_wait)
        return max(0.0, min(due) - now)

    def _publish_pass(self, timers: _Timers, now: float) -> None:
        if self._fresh_connection:
            self._fresh_connection = False
            self.published = self.confirmed
            self._send_status()
            self._state_dirty = True
            timers.progress = now
        if self._receipt > self.confirmed and now >= timers.advanced + ADVANCE_EVERY_S:
            timers.advanced = now
            self.confirmed = event_outbox.advance(
                self.core, SINK, min(self._receipt, self.published)
            )
            timers.progress, timers.resend_wait = now, self.settings.resend_after_s
        elif self._receipt > self.confirmed:
            timers.progress = now  # the centre is receiving; the cursor follows shortly
        if self.published > self.confirmed and now >= timers.progress + timers.resend_wait:
            log.info(
                "box %s: no receipt for %.0f s, sending again", self.box_id, timers.resend_wait
            )
            self.published = self.confirmed
            timers.progress = now
            timers.resend_wait = min(MAX_RESEND_S, timers.resend_wait * 2)
        self._send_events()
        if self._state_dirty and now >= timers.state_sent + STATE_MIN_INTERVAL_S:
            self._state_dirty = False
            timers.state_sent = now
            self._send_state()
        if now >= timers.heartbeat_due:
            timers.heartbeat_due = now + self.settings.heartbeat_s
            self._send_heartbeat(now)

    def _send_events(self) -> None:
        while self.published - self.confirmed < WINDOW and self._connected.is_set():
            ahead = self.published - self.confirmed
            events = event_outbox.read_after(
                self.core, SINK, limit=min(BATCH, WINDOW - ahead), after=self.published
            )
            if not events:
                return
            sent_at = self.core.clock.now()
            for event in events:
                message = BoxEvent(
                    message_id=event.event_id,
                    box_id=self.box_id,
                    sent_at=sent_at,
                    seq=event.id,
                    prev_seq=self.published,
                    type=event.type,
                    occurred_at=event.occurred_at,
                    delivery_id=event.delivery_id,
                    data=event.data,
                )
                self.client.publish(topic(self.box_id, Topic.EVENTS), message.wire(), qos=1)
                self.published = event.id
            self._state_dirty = True

    def _send_status(self) -> None:
        status = BoxStatus(
            box_id=self.box_id, sent_at=self.core.clock.now(), online=True, reason="connected"
        )
        self.client.publish(topic(self.box_id, Topic.STATUS), status.wire(), qos=1, retain=True)

    def _send_state(self) -> None:
        state = build_state(
            self.core,
            self.box_id,
            self.boards.boards(),
            self.unconfirmed(),
            self.core.clock.now(),
        )
        self.client.publish(topic(self.box_id, Topic.STATE), state.wire(), qos=1, retain=True)

    def _send_heartbeat(self, now: float) -> None:
        beat = Heartbeat(
            box_id=self.box_id,
            sent_at=self.core.clock.now(),
            uptime_s=round(now - self.started_at, 1),
            published_seq=self.published,
            confirmed_seq=self.confirmed,
        )
        self.client.publish(topic(self.box_id, Topic.HEARTBEAT), beat.wire(), qos=0)

    def unconfirmed(self) -> int:
        """Events the centre has not confirmed yet (the fleet sink's backlog)."""
        return events_after(self.core, self.confirmed)

    # -- commands -----------------------------------------------------------------------------

    def _command_loop(self) -> None:
        while True:
            command = self._commands.get()
            if command is None:
                return
            try:
                answer = self.commands.handle(command)
            except Exception:
                log.exception("box %s: command %s failed", self.box_id, command.transaction_id)
                continue
            self.client.publish(topic(self.box_id, Topic.ANSWERS), answer.wire(), qos=1)
