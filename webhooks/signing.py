"""The Standard Webhooks signature, made by the reference library (``standardwebhooks``).

``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256>`` over
``{webhook-id}.{webhook-timestamp}.{body}``, one per secret: during a rotation's grace period
the current and the previous secret both sign, so a receiver holding either one verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def signature_header(secrets: Sequence[str], webhook_id: str, timestamp: int, body: str) -> str:
    when = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(Webhook(secret).sign(webhook_id, when, body) for secret in secrets)


def headers(secrets: Sequence[str], webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The request headers of one attempt (``timestamp``: the attempt's Unix seconds)."""
    return {
        "content-type": "application/json",
        "user-agent": "locker-webhooks/1",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, webhook_id, timestamp, body),
    }
