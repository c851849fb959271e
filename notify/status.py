"""Twilio's delivery reports (status callbacks), verified and applied to the outbox.

Framework-free, so the kiosk mounts it at ``POST`` :data:`notify.STATUS_PATH` in a few lines
and tests call it directly::

    try:
        notify.apply_twilio_status(core, str(request.url), form, request.headers)
    except notify.BadSignature:
        return 403

The signature (``X-Twilio-Signature``) is checked with twilio's ``RequestValidator`` against
the *configured* callback URL (the one we gave Twilio), never the URL the request arrived on,
which a reverse proxy rewrites; the request's own URL is used only when no public URL is
configured (development). The default algorithm is HMAC-SHA1 keyed with the auth token;
when ``X-Twilio-Webhooks-Signature-Settings`` names ``algorithm=HMAC_SHA256`` the key is the
SharedKey secret (``sms.webhook_key_secret``, falling back to the auth token).

Reports move a row forward only (:func:`locker.outbox.apply_provider_report`): ``sent`` →
``delivered``; ``failed`` / ``undelivered`` → ``dead`` with an audit alert (the code was wiped
when the SMS was accepted, so it cannot be resent; a clerk has to reach the citizen).
Intermediate reports (queued, sending, sent) change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import (
    HMAC_SHA256,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from locker import outbox
from locker.core import Core
from notify.sms import status_callback_url

FAILED_STATUSES = frozenset({"failed", "undelivered"})


class BadSignature(Exception):
    """The request is not signed by Twilio for this installation: answer 403."""


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def verify_signature(
    core: Core, url: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> None:
    """Raise :class:`BadSignature` unless Twilio signed exactly these parameters for us."""
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise BadSignature(f"the {SIGNATURE_HEADER} header is missing")
    sms = core.settings.sms
    algorithm = get_signature_algorithm(_header(headers, SIGNATURE_SETTINGS_HEADER))
    secret = sms.auth_token
    if algorithm.upper() == HMAC_SHA256 and sms.webhook_key_secret:
        secret = sms.webhook_key_secret
    if not secret:
        raise BadSignature("no auth token is configured (sms.auth_token), so nothing verifies")
    target = status_callback_url(core.settings) or url
    if not RequestValidator(secret).validate(target, dict(params), signature, algorithm):
        raise BadSignature(f"the {SIGNATURE_HEADER} does not match this request")


def apply_twilio_status(
    core: Core, url: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> bool:
    """Verify one status callback and apply it; ``False`` if no row has that message SID.

    ``url`` is the URL the request arrived on; it counts only when no public URL is configured.
    """
    verify_signature(core, url, params, headers)
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    error_code = params.get("ErrorCode", "")[:8]
    outcome: outbox.ReportOutcome = None
    if status == "delivered":
        outcome = "delivered"
    elif status in FAILED_STATUSES:
        outcome = "undelivered"
    return outbox.apply_provider_report(
        core,
        sid,
        outcome,
        actor="twilio",
        reason=f"twilio {status} {error_code}".strip(),
        error_code=error_code,
    )
