"""Notifications: the outbox worker and its channels (SMS through Twilio, e-mail over SMTP).

What the composition root wires::

    runner = core.outbox = notify.outbox_runner(core)   # built, not started; the core's
    runner.start()                               # Outbox port: woken after every commit
    ...                                          # that queued a message
    runner.close()                               # on shutdown

    notify.apply_twilio_status(core, str(request.url), form, headers)  # POST notify.STATUS_PATH
    # raises notify.BadSignature -> answer 403

Tests drive :class:`OutboxWorker` pass by pass (:meth:`OutboxWorker.run_once`) with a manual
clock. See docs/notifications.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from locker.config import Settings
from locker.core import Core
from locker.vocabulary import Channel
from notify.mail import SmtpMailer
from notify.messages import STORED_SMS_SEGMENTS, stored_sms_segments
from notify.sms import STATUS_PATH, TwilioSms, status_callback_url
from notify.status import BadSignature, apply_twilio_status
from notify.worker import OutboxRunner, OutboxWorker, PassReport, Sender

log = logging.getLogger(__name__)
__all__ = [
    "STATUS_PATH",
    "BadSignature",
    "OutboxRunner",
    "OutboxWorker",
    "PassReport",
    "Sender",
    "apply_twilio_status",
    "build_senders",
    "outbox_runner",
    "start_worker",
    "status_callback_url",
]


def build_senders(settings: Settings) -> dict[Channel, Sender]:
    """The channels enabled in the settings; rows of a disabled channel wait in the outbox."""
    senders: dict[Channel, Sender] = {}
    if settings.sms.enabled:
        senders[Channel.SMS] = TwilioSms(settings)
    if settings.email.enabled:
        senders[Channel.EMAIL] = SmtpMailer(settings)
    return senders


def outbox_runner(core: Core, senders: Mapping[Channel, Sender] | None = None) -> OutboxRunner:
    """The worker that drains the outbox, not started yet (``start()``, later ``close()``).

    Hand it to the core (``core.outbox = runner``) so that a queued message leaves at once;
    until then rows wait for the poll.
    """
    senders = build_senders(core.settings) if senders is None else senders
    found = stored_sms_segments(core.settings).items()
    too_long = {k: v for k, v in found if v > STORED_SMS_SEGMENTS}
    if Channel.SMS in senders and too_long:
        log.warning(
            "locker.location, office.name and office.phone are so long that the pickup-code SMS"
            " takes %s segments; shorten them",
            too_long,
        )
    return OutboxRunner(OutboxWorker(core, senders))


def start_worker(core: Core, senders: Mapping[Channel, Sender] | None = None) -> OutboxRunner:
    """Start draining the outbox in background threads; ``close()`` the result to stop."""
    return outbox_runner(core, senders).start()
