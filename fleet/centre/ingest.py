"""The centre's subscriber: MQTT in, batches into PostgreSQL, receipts out.

paho's network thread only parses and queues (a payload that breaks the contract, or claims
another box's id than its topic, is logged and dropped); one writer thread takes whatever has
queued — up to ``batch_max`` messages — and stores it in one transaction
(:func:`fleet.centre.store.ingest`), then sends each box a receipt for what is stored and
tells the listeners (the control room's streams, the relay waiting for answers).

A message is acknowledged to the broker when it is queued, not when it is stored: a centre
killed in between loses those messages from the broker, but their boxes get no receipt for
them and send them again, so nothing is lost. The centre's session is persistent (fixed
client id, ``clean_start`` off), so what arrives while it restarts waits at the broker.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from fleet import mqtt as fleet_mqtt
from fleet.centre.config import CentreSettings
from fleet.centre.store import Incoming, Outcome, ingest
from fleet.contract import (
    PAYLOADS,
    Receipt,
    Topic,
    parse_topic,
    topic,
)
from locker.clock import Clock
from locker.listeners import Listeners

log = logging.getLogger(__name__)
SUBSCRIPTIONS = [Topic.STATUS, Topic.STATE, Topic.HEARTBEAT, Topic.EVENTS, Topic.ANSWERS]
SESSION_EXPIRY_S = 7 * 24 * 3600
QUEUE_MAX = 2000
"""Messages parsed but not stored yet, at most: when the writer falls behind (a catch-up),
paho's thread waits, and the broker holds the rest (flow control instead of memory)."""
Listener = Callable[[Outcome], None]


def parse(kind: Topic, payload: bytes) -> Any:
    """A box's payload as its contract model; ``ValueError`` when it breaks the contract."""
    (model,) = PAYLOADS[kind]
    return model.model_validate_json(payload)


class Ingest:
    def __init__(
        self,
        settings: CentreSettings,
        engine: Engine,
        clock: Clock,
        *,
        batch_max: int = 500,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.batch_max = batch_max
        self._queue: queue.Queue[Incoming | None] = queue.Queue(maxsize=QUEUE_MAX)
        self._listeners: Listeners[Listener] = Listeners()
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        broker = settings.broker
        self.address = fleet_mqtt.parse_broker_url(broker.url)
        self.client = fleet_mqtt.make_client(
            broker.client_id,
            self.address,
            username=broker.username,
            password=broker.password,
            ca_file=broker.ca_file or None,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def listen(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def start(self) -> None:
        self._writer = threading.Thread(target=self._write_loop, name="fleet-writer", daemon=True)
        self._writer.start()
        fleet_mqtt.connect(
            self.client, self.address, keepalive_s=30, session_expiry_s=SESSION_EXPIRY_S
        )

    def close(self) -> None:
        self._stop.set()
        fleet_mqtt.stop(self.client)
        self._connected.clear()
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=10)
            self._writer = None

    # -- paho's thread ------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("the broker refused the centre: %s", reason)
            return
        client.subscribe([(topic("+", kind), 1) for kind in SUBSCRIPTIONS])
        self._connected.set()
        log.info("centre connected to the broker")

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        found = parse_topic(message.topic)
        if found is None:
            return
        box_id, kind = found
        try:
            payload = parse(kind, bytes(message.payload))
        except (ValidationError, ValueError) as err:
            log.warning("dropped a message on %s that breaks the contract: %s", message.topic, err)
            return
        if payload.box_id != box_id:
            log.warning("dropped a message on %s naming box %s", message.topic, payload.box_id)
            return
        self._queue.put(Incoming(box_id, kind, payload, self.clock.now(), bool(message.retain)))

    # -- the writer ---------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.batch_max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            self._store(batch)

    def _store(self, batch: list[Incoming]) -> None:
        attempt = 0
        while True:
            try:
                outcome = ingest(self.engine, batch, self.clock.now())
                break
            except Exception:
                attempt += 1
                log.exception("could not store %d messages (attempt %d)", len(batch), attempt)
                if self._stop.wait(min(10.0, 0.5 * attempt)):
                    return  # closing: no receipt went out, so the boxes send them again
        now = self.clock.now()
        for box_id, seq in outcome.receipts.items():
            receipt = Receipt(box_id=box_id, sent_at=now, stored_through=seq)
            self.client.publish(topic(box_id, Topic.RECEIPTS), receipt.wire(), qos=1)
        self._listeners.call(outcome, what="an ingest listener")
