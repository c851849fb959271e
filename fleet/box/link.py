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
POLL_S = 5.0
"""The publisher looks at the outbox this often even when no domain event woke it."""
COALESCE_S = 0.02
ADVANCE_EVERY_S = 1.0
"""The durable cursor moves at most this often (a write transaction each time): a box that
stops in between sends those events again, and the centre drops them by id."""
MAX_RESEND_S = 600.0
SESSION_EXPIRY_S = 3600


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
        heartbeat_due = 0.0
        state_sent = 0.0
        advanced = 0.0
        resend_wait = self.settings.resend_after_s
        progress = time.monotonic()
        while not self._stop.is_set():
            if self._wake.wait(ADVANCE_EVERY_S if self._receipt > self.confirmed else POLL_S):
                self._stop.wait(COALESCE_S)  # one step of the core publishes several events
            self._wake.clear()
            if self._stop.is_set() or not self._connected.is_set():
                continue
            try:
                now = time.monotonic()
                if self._fresh_connection:
                    self._fresh_connection = False
                    self.published = self.confirmed
                    self._send_status()
                    self._state_dirty = True
                    progress = now
                if self._receipt > self.confirmed and now - advanced >= ADVANCE_EVERY_S:
                    advanced = now
                    self.confirmed = event_outbox.advance(
                        self.core, SINK, min(self._receipt, self.published)
                    )
                    progress, resend_wait = now, self.settings.resend_after_s
                elif self._receipt > self.confirmed:
                    progress = now  # the centre is receiving; the cursor follows shortly
                if self.published > self.confirmed and now - progress > resend_wait:
                    log.info(
                        "box %s: no receipt for %.0f s, sending again", self.box_id, resend_wait
                    )
                    self.published = self.confirmed
                    progress, resend_wait = now, min(MAX_RESEND_S, resend_wait * 2)
                self._send_events()
                if self._state_dirty and now - state_sent >= STATE_MIN_INTERVAL_S:
                    self._state_dirty = False
                    state_sent = now
                    self._send_state()
                if now >= heartbeat_due:
                    heartbeat_due = now + self.settings.heartbeat_s
                    self._send_heartbeat(now)
            except Exception:
                log.exception("box %s: the fleet publisher failed; trying again", self.box_id)

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
