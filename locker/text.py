"""Free text typed by people (references, names, reasons, notes): printable, or refused.

A CR, LF or NUL in a reference or a reason ends up in a CSV export, a log line or an e-mail
header; other control characters hide text on a screen. Such text is refused with the field's
name, reason ``not_printable``, instead of being stored.
"""

from __future__ import annotations

from locker.errors import InvalidInput


def printable(field: str, value: str) -> str:
    """``value`` without surrounding white space, if every character is printable."""
    text = value.strip()
    if not text.isprintable():
        bad = next(c for c in text if not c.isprintable())
        raise InvalidInput(
            field,
            f"{field} contains a character that cannot be shown (U+{ord(bad):04X});"
            " use letters, digits, spaces and punctuation",
            "not_printable",
        )
    return text
