"""Sending signed webhooks (Standard Webhooks 1.0): a sink of the core's event outbox.

The rows, their fan-out and every state change belong to the core (:mod:`locker.webhooks`);
this package signs and sends. :class:`WebhookDispatcher` is started by ``runtime/``.
"""

from webhooks.dispatcher import PassReport, WebhookDispatcher
from webhooks.signing import signature_header

__all__ = ["PassReport", "WebhookDispatcher", "signature_header"]
