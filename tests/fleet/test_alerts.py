"""Alert e-mail to the on-call staff over real SMTP (aiosmtpd): an alarm from a box, and a box
offline longer than the setting; written to the alert outbox first, retried when SMTP is down."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string, policy

import pytest

from fleet.centre.service import Centre
from fleet.contract import BoxEvent, BoxStatus, Topic, topic
from simulator.smtp_standin import SmtpStandin

from .conftest import Stored, centre_settings

ON_CALL = "leitstand@stadt.example"


def subject(mail: dict[str, str]) -> str:
    return str(message_from_string(mail["raw"], policy=policy.default)["Subject"])


@pytest.fixture
def smtp() -> Iterator[SmtpStandin]:
    with SmtpStandin() as standin:
        yield standin


@pytest.fixture
def alerting(broker, centre_db, credentials, clock, smtp) -> Iterator[Centre]:
    settings = centre_settings(
        broker,
        centre_db,
        credentials,
        alerts={"recipients": [ON_CALL], "offline_alert_after_s": 300},
        smtp=smtp.settings(),
    )
    with Centre(settings, clock=clock, watch=False) as centre:
        assert centre.ingest is not None and centre.ingest.wait_connected(10)
        yield centre


def test_an_alarm_and_a_long_outage_reach_the_on_call_staff(alerting, box_client, clock, smtp):
    stored = Stored(alerting)
    box = box_client("box-1")
    now = clock.now()
    online = BoxStatus(box_id="box-1", sent_at=now, online=True, reason="connected")
    box.publish(topic("box-1", Topic.STATUS), online.wire(), retain=True)
    alarm = BoxEvent(
        message_id="evt_00aa11",
        box_id="box-1",
        sent_at=now,
        seq=1,
        prev_seq=0,
        type="alarm.raised",
        occurred_at=now,
        data={"kind": "forced_door", "compartment": "A07"},
    )
    box.publish(topic("box-1", Topic.EVENTS), alarm.wire())
    box.publish(topic("box-1", Topic.EVENTS), alarm.wire())  # a duplicate raises no second alert
    stored.wait(lambda: stored.query("SELECT count(*) FROM box_event")[0][0] == 1)

    smtp.outage("421")
    alerting.check()
    assert stored.query("SELECT state, attempts FROM alert") == [("pending", 1)]
    assert smtp.inbox.messages() == []
    smtp.outage(None)
    clock.advance(60)
    alerting.check()
    (mail,) = smtp.inbox.messages("email")
    assert mail["to"] == ON_CALL
    assert subject(mail) == "Alarm an Schließfachanlage box-1: forced_door"
    assert "A07" in mail["body"]

    lost = BoxStatus(box_id="box-1", sent_at=clock.now(), online=False, reason="lost")
    box.publish(topic("box-1", Topic.STATUS), lost.wire(), retain=True)
    stored.wait(lambda: stored.query("SELECT online FROM box") == [(False,)])
    clock.advance(299)
    alerting.check()
    assert len(smtp.inbox.messages("email")) == 1  # not yet: offline for less than 300 s
    clock.advance(2)
    alerting.check()
    alerting.check()
    offline = smtp.inbox.messages("email")[1:]
    assert [m["to"] for m in offline] == [ON_CALL]
    assert subject(offline[0]) == "Schließfachanlage box-1 ist offline"
