"""Silence, offline alerts and the alert outbox with its SMTP worker.

:func:`sweep` (every few seconds, on the centre's clock, so a test advances a
:class:`~locker.clock.ManualClock`): a box whose messages stopped ``offline_after_s`` ago is
offline (the broker's last will usually said so already); a box offline longer than
``offline_alert_after_s`` gets one alert row per outage, written in the transaction that
notices it. Alarm alerts are written by the ingest (:mod:`fleet.centre.store`).

:func:`send_due` e-mails pending alerts to the on-call staff over SMTP, retrying with back-off;
an alert is ``sent``, or ``dead`` after ``max_attempts``, or ``skipped`` when nobody is on call.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from fleet.centre import tables
from fleet.centre.config import CentreSettings
from locker.config import EmailSection
from notify.mail import connect

log = logging.getLogger(__name__)
BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 1800.0


def sweep(engine: Engine, settings: CentreSettings, now: datetime) -> set[str]:
    """Mark silent boxes offline and write offline alerts; return the boxes changed."""
    silent_since = now - timedelta(seconds=settings.centre.offline_after_s)
    alert_after = now - timedelta(seconds=settings.alerts.offline_alert_after_s)
    box = tables.box
    changed: set[str] = set()
    with engine.begin() as connection:
        silent = connection.execute(
            update(box)
            .where(box.c.online.is_(True), box.c.last_seen < silent_since)
            .values(online=False, status_reason="silent", offline_since=box.c.last_seen)
            .returning(box.c.box_id)
        ).scalars()
        changed.update(silent)
        due = connection.execute(
            select(box.c.box_id, box.c.offline_since)
            .where(
                box.c.online.is_(False),
                box.c.offline_alerted.is_(False),
                box.c.offline_since < alert_after,
            )
            .with_for_update(skip_locked=True)
        ).all()
        for box_id, since in due:
            minutes = int((now - since).total_seconds() // 60)
            queue_alert(
                connection,
                box_id,
                "offline",
                f"Schließfachanlage {box_id} ist offline",
                f"Die Schließfachanlage {box_id} meldet sich seit {minutes} Minuten nicht"
                f" (zuletzt gesehen {since.isoformat()}).\n\nSie arbeitet vor Ort weiter;"
                " Ereignisse kommen nach, sobald sie wieder verbunden ist.",
                now,
            )
            connection.execute(
                update(box).where(box.c.box_id == box_id).values(offline_alerted=True)
            )
            changed.add(box_id)
    return changed


def queue_alert(
    connection: Connection, box_id: str, kind: str, subject: str, body: str, now: datetime
) -> None:
    """One alert row, in the caller's transaction (the one that noticed its cause)."""
    connection.execute(
        insert(tables.alert).values(
            box_id=box_id,
            kind=kind,
            subject=subject,
            body=body,
            created_at=now,
            state="pending",
            attempts=0,
            next_attempt_at=now,
        )
    )


def send_due(engine: Engine, settings: CentreSettings, now: datetime, *, limit: int = 20) -> int:
    """E-mail the alerts that are due; return how many were sent."""
    alerts, smtp = settings.alerts, settings.smtp
    alert = tables.alert
    with engine.begin() as connection:
        due = (
            connection.execute(
                select(alert)
                .where(alert.c.state == "pending", alert.c.next_attempt_at <= now)
                .order_by(alert.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            .mappings()
            .all()
        )
        sent = 0
        for row in due:
            if not alerts.recipients or not smtp.enabled:
                values: dict[str, object] = {"state": "skipped"}
            else:
                try:
                    _send(smtp, alerts.recipients, row["subject"], row["body"])
                    values = {"state": "sent", "sent_at": now, "attempts": row["attempts"] + 1}
                    sent += 1
                except (OSError, smtplib.SMTPException) as err:
                    attempts = row["attempts"] + 1
                    wait = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
                    values = {
                        "state": "dead" if attempts >= alerts.max_attempts else "pending",
                        "attempts": attempts,
                        "last_error": f"{type(err).__name__}: {err}"[:500],
                        "next_attempt_at": now + timedelta(seconds=wait),
                    }
                    log.warning("alert %s not sent: %s", row["id"], err)
            connection.execute(update(alert).where(alert.c.id == row["id"]).values(**values))
    return sent


def _send(smtp: EmailSection, recipients: list[str], subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="fleet.locker")
    message.set_content(body)
    with connect(smtp) as session:
        session.send_message(message)
