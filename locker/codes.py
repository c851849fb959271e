"""Pickup codes: made from ``secrets``, shown grouped, typed any way, stored only as an HMAC.

Alphabet: Crockford base32 (digits and capitals without I, L, O, U), so nothing looks alike;
typing maps the look-alikes back (``O``→``0``, ``I``/``L``→``1``) and ignores case, spaces
and dashes. Twelve characters carry 60 bits, shown in three groups of four; docs/security.md
shows why that, with pickups only at the kiosks and their back-off, bounds a year of guessing
below 10⁻⁶.

The QR code carries ``LOCKER2:<bank id>:<code>`` (version 2: the twelve-character code), so a
code shown at the wrong locker can be told apart from a wrong code.

Legacy codes: before version 2 a code had ten characters (50 bits, shown ``K7M4Q-X9T2B``) and
its QR code carried ``LOCKER1:<bank id>:<code>``. Codes issued then are still read, typed or
scanned, so an upgrade does not lock out citizens with a document waiting; they are marked
:attr:`ScannedCode.legacy` and the pickup accepts them only for codes the upgrade's migration
flagged as legacy (``pickup_code.legacy``), which end with their deliveries. New codes always
have twelve characters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from locker.errors import CodeInvalid

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
GROUP = 4
QR_PREFIX = "LOCKER2"
LEGACY_LENGTH = 10
"""Length of a code issued before version 2 (still accepted for its own delivery)."""
LEGACY_QR_PREFIX = "LOCKER1"
_QR = re.compile(r"^LOCKER(\d+):", re.IGNORECASE)
EXAMPLE = "K7M4Q9XT2BHD"
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.·/]+")
_VALID = re.compile(f"^[{ALPHABET}]+$")


def new_code() -> str:
    """A fresh code, canonical form (no separators)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def display(code: str) -> str:
    """``K7M4Q9XT2BHD`` → ``K7M4-Q9XT-2BHD``: what a person reads and types."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(typed: str, lengths: tuple[int, ...] = (CODE_LENGTH, LEGACY_LENGTH)) -> str:
    """Canonical form of what a person typed, or :class:`CodeInvalid` saying what is wrong.

    ``lengths``: the forms allowed (a code of now, or one issued before version 2); the error
    names only the current form, which every new message carries."""
    code = _SEPARATORS.sub("", typed.strip().upper()).translate(_LOOK_ALIKES)
    if len(code) not in lengths:
        raise CodeInvalid(
            f"A pickup code has {CODE_LENGTH} letters and digits, like {display(EXAMPLE)}."
        )
    if not _VALID.match(code):
        raise CodeInvalid(
            "A pickup code contains only digits and the letters A–Z without I, L, O and U."
        )
    return code


@dataclass(frozen=True, slots=True)
class ScannedCode:
    code: str
    bank_id: str | None
    """The bank named by a QR payload; ``None`` for a typed code."""
    legacy: bool = False
    """Of the form issued before version 2 (ten characters, ``LOCKER1``)."""


def qr_payload(bank_id: str, code: str) -> str:
    return f"{QR_PREFIX}:{bank_id}:{code}"


def parse_input(text: str) -> ScannedCode:
    """Accept a typed code or a whole QR payload (``LOCKER2``, or ``LOCKER1`` with a legacy
    code); any other version is explained."""
    stripped = text.strip()
    version = _QR.match(stripped)
    if version:
        parts = stripped.split(":")
        prefix = version.group(0)[:-1].upper()
        forms = {QR_PREFIX: CODE_LENGTH, LEGACY_QR_PREFIX: LEGACY_LENGTH}
        if len(parts) != 3 or prefix not in forms:
            raise CodeInvalid("This QR code is not a pickup code of this locker system.")
        code = normalise(parts[2], (forms[prefix],))
        return ScannedCode(code, parts[1], legacy=prefix == LEGACY_QR_PREFIX)
    code = normalise(stripped)
    return ScannedCode(code, None, legacy=len(code) == LEGACY_LENGTH)


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A separate key per purpose from the one installation secret."""
    return hmac.new(secret_key.encode(), b"locker/" + purpose.encode(), hashlib.sha256).digest()


def code_hash(key: bytes, code: str) -> str:
    """Keyed hash of a canonical code: the only form in which a code is stored."""
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
