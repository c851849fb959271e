"""Commands from the centre, carried out through the core's services and answered.

Each command runs exactly as the box's own API would run it (``announce``, ``cancel``, a
technician's ``open`` with its reason), under the actor ``fleet:<who at the centre>``, so the
core's audit log records it like any other; one more audit event ``fleet_command`` records the
transaction id and the answer's status. A domain error becomes the answer's error, with the
status the box's API would give.

A command past its ``expires_at`` is refused (``410 expired``): the centre has told its
caller by then that the box did not answer. A repeated ``transaction_id`` (QoS 1 may deliver
twice) gets the first answer again, from memory: a command lives only until it expires, and
after a restart the services themselves refuse a repeat (an announced reference exists, a
cancelled delivery cannot be cancelled again).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime

from fleet.contract import (
    AnnounceCommand,
    Answer,
    AnswerError,
    CancelCommand,
    OpenCommand,
    status_of,
)
from locker import audit
from locker.core import Core
from locker.db import transaction
from locker.errors import DomainError
from locker.services import deliveries, technician

log = logging.getLogger(__name__)
Command = AnnounceCommand | CancelCommand | OpenCommand
REMEMBERED = 1000


class CommandHandler:
    def __init__(self, core: Core, box_id: str) -> None:
        self.core = core
        self.box_id = box_id
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def handle(self, command: Command) -> Answer:
        with self._lock:
            known = self._answers.get(command.transaction_id)
        if known is not None:
            return known
        now = self.core.clock.now()
        answer = self._run(command, now)
        with self._lock:
            self._answers[command.transaction_id] = answer
            while len(self._answers) > REMEMBERED:
                self._answers.popitem(last=False)
        return answer

    def _run(self, command: Command, now: datetime) -> Answer:
        actor = f"fleet:{command.actor}"[:80]
        if now > command.expires_at:
            answer = self._error(command, now, "expired", "The command arrived after it expired.")
        else:
            try:
                answer = self._carry_out(command, actor, now)
            except DomainError as err:
                answer = self._error(
                    command, now, err.code, err.detail, getattr(err, "field", None)
                )
        with transaction(self.core.engine) as session:
            audit.record(
                session,
                at=now,
                kind="fleet_command",
                actor=actor,
                command=command.command,
                transaction_id=command.transaction_id,
                status=answer.status,
            )
        return answer

    def _carry_out(self, command: Command, actor: str, now: datetime) -> Answer:
        if isinstance(command, AnnounceCommand):
            new = command.announcement
            delivery = deliveries.announce(
                self.core,
                deliveries.Announcement(
                    reference=new.reference,
                    document_type=new.document_type,
                    name=new.recipient.name,
                    phone=new.recipient.phone,
                    email=new.recipient.email,
                    locale=new.recipient.locale,
                    size=new.size,
                    date_of_birth=new.recipient.date_of_birth,
                    accessible=new.recipient.needs_accessible,
                ),
                actor=actor,
            )
            result = {
                "delivery_id": delivery.id,
                "reference": delivery.reference,
                "state": str(delivery.state),
            }
            return self._ok(command, now, 201, result)
        if isinstance(command, CancelCommand):
            delivery = deliveries.cancel(self.core, command.delivery_id, actor=actor)
            result = {"delivery_id": delivery.id, "state": str(delivery.state)}
            return self._ok(command, now, 200, result)
        technician.open_for_service(
            self.core, command.compartment, reason=command.reason, actor=actor
        )
        return self._ok(command, now, 202, {"compartment": command.compartment})

    def _ok(self, command: Command, now: datetime, status: int, result: dict[str, str]) -> Answer:
        return Answer(
            box_id=self.box_id,
            sent_at=now,
            transaction_id=command.transaction_id,
            ok=True,
            status=status,
            result=result,
        )

    def _error(
        self, command: Command, now: datetime, code: str, detail: str, field: str | None = None
    ) -> Answer:
        return Answer(
            box_id=self.box_id,
            sent_at=now,
            transaction_id=command.transaction_id,
            ok=False,
            status=status_of(code),
            error=AnswerError(error=code, detail=detail, field=field),
        )
