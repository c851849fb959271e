"""Authenticated encryption for the few secrets that must wait in the database.

A stored-notification row must carry the pickup code until the SMS or e-mail has gone out,
but codes are never at rest in clear: the code is sealed with AES-256-GCM under a key derived
from the installation secret, and the row's ``sealed`` column is wiped once it is sent or
dead. The delivery id is bound in as associated data, so a sealed code cannot be moved to
another delivery's messages.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class SealBroken(Exception):
    """The sealed value was changed or belongs elsewhere."""


def seal(key: bytes, data: dict[str, Any], bound_to: str) -> str:
    nonce = secrets.token_bytes(12)
    box = AESGCM(key).encrypt(nonce, json.dumps(data).encode(), bound_to.encode())
    return base64.urlsafe_b64encode(nonce + box).decode()


def unseal(key: bytes, sealed: str, bound_to: str) -> dict[str, Any]:
    raw = base64.urlsafe_b64decode(sealed.encode())
    try:
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], bound_to.encode())
    except InvalidTag:
        raise SealBroken("sealed value does not belong here or was changed") from None
    data = json.loads(plain)
    assert isinstance(data, dict)
    return data
