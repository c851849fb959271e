"""What a channel raises when a message did not go out.

``reason`` is short and free of personal data (``twilio 400/21211``, ``smtp 421``,
``ConnectionRefusedError``): it is stored in the outbox row and copied into audit events,
while a gateway's own message may quote the phone number or address.
"""

from __future__ import annotations


class SendFailed(Exception):
    permanent = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientFailure(SendFailed):
    """Worth trying again later: the gateway is down, busy or misconfigured for now."""


class PermanentFailure(SendFailed):
    """Never worth retrying: this recipient cannot get this message (invalid number...)."""

    permanent = True
