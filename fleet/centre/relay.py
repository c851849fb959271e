"""Commands from the centre to one box, and the answer back to the caller that waits for it.

:meth:`Relay.send` records the command (who, what, when, why: the centre's side of the audit)
before publishing it, QoS 1 with a message expiry of ``command_timeout_s`` (a box that comes
back later never sees a stale command; the box also refuses one past ``expires_at``), then
waits for the answer with the same ``transaction_id``. A box that does not answer in time
gets ``504 box_unreachable``; one the centre knows to be offline, ``503 box_offline`` at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from fleet import mqtt as fleet_mqtt
from fleet.centre import tables
from fleet.centre.ingest import Ingest
from fleet.centre.store import Outcome
from fleet.contract import (
    AnnounceCommand,
    Announcement,
    Answer,
    CancelCommand,
    OpenCommand,
    Topic,
    topic,
)

C = TypeVar("C", AnnounceCommand, CancelCommand, OpenCommand)


@dataclass(frozen=True)
class RelayResult:
    """The box's answer, or the centre's own error when there was none."""

    status: int
    body: dict[str, Any]
    transaction_id: str


class BoxNotFound(LookupError):
    pass


class Relay:
    def __init__(self, ingest: Ingest, engine: Engine, timeout_s: float) -> None:
        self.ingest = ingest
        self.engine = engine
        self.timeout_s = timeout_s
        self._waiting: dict[str, tuple[threading.Event, list[Answer]]] = {}
        self._lock = threading.Lock()
        ingest.listen(self._answered)

    def _answered(self, outcome: Outcome) -> None:
        for answer in outcome.answers:
            with self._lock:
                waiting = self._waiting.get(answer.transaction_id)
            if waiting is not None:
                waiting[1].append(answer)
                waiting[0].set()

    def announce(self, box_id: str, announcement: Announcement, *, actor: str) -> RelayResult:
        command = self._command(AnnounceCommand, box_id, actor, announcement=announcement)
        return self._send(command, subject=announcement.reference, reason=None)

    def cancel(self, box_id: str, delivery_id: str, *, actor: str) -> RelayResult:
        command = self._command(CancelCommand, box_id, actor, delivery_id=delivery_id)
        return self._send(command, subject=delivery_id, reason=None)

    def open(self, box_id: str, compartment: str, reason: str, *, actor: str) -> RelayResult:
        command = self._command(OpenCommand, box_id, actor, compartment=compartment, reason=reason)
        return self._send(command, subject=compartment, reason=reason)

    def _command(self, kind: type[C], box_id: str, actor: str, **fields: Any) -> C:
        now = self.ingest.clock.now()
        expires = now + timedelta(seconds=self.timeout_s)
        return kind(box_id=box_id, sent_at=now, expires_at=expires, actor=actor, **fields)

    def _send(
        self,
        command: AnnounceCommand | CancelCommand | OpenCommand,
        *,
        subject: str,
        reason: str | None,
    ) -> RelayResult:
        txn = command.transaction_id
        with self.engine.begin() as connection:
            online = connection.execute(
                select(tables.box.c.online).where(tables.box.c.box_id == command.box_id)
            ).scalar_one_or_none()
            if online is None:
                raise BoxNotFound(command.box_id)
            connection.execute(
                insert(tables.command).values(
                    transaction_id=txn,
                    box_id=command.box_id,
                    command=command.command,
                    subject=subject[:64],
                    reason=reason,
                    actor=command.actor,
                    issued_at=command.sent_at,
                    expires_at=command.expires_at,
                    state="sent" if online else "not_sent",
                )
            )
        if not online:
            return RelayResult(
                503,
                {"error": "box_offline", "detail": f"Box {command.box_id} is offline."},
                txn,
            )
        done = threading.Event()
        answers: list[Answer] = []
        with self._lock:
            self._waiting[txn] = (done, answers)
        try:
            self.ingest.client.publish(
                topic(command.box_id, Topic.COMMANDS),
                command.wire(),
                qos=1,
                properties=fleet_mqtt.expiring(self.timeout_s),
            )
            answered = done.wait(self.timeout_s)
        finally:
            with self._lock:
                self._waiting.pop(txn, None)
        if not answered or not answers:
            with self.engine.begin() as connection:
                connection.execute(
                    update(tables.command)
                    .where(tables.command.c.transaction_id == txn, tables.command.c.state == "sent")
                    .values(state="unanswered")
                )
            return RelayResult(
                504,
                {
                    "error": "box_unreachable",
                    "detail": f"Box {command.box_id} did not answer within {self.timeout_s:g} s.",
                },
                txn,
            )
        answer = answers[0]
        if answer.ok:
            return RelayResult(answer.status, {**(answer.result or {}), "transaction_id": txn}, txn)
        error = answer.error.model_dump(exclude_none=True) if answer.error else {}
        return RelayResult(answer.status, {**error, "transaction_id": txn}, txn)
