"""GSM-7 (3GPP TS 23.038) arithmetic: how many characters and segments an SMS body costs.

A body made only of the basic table travels as GSM-7: 160 characters fit one segment, each
character of the extension table (``€ [ ] { } \\ ~ ^ |`` and form feed) costs two, because it
is sent as ESC plus a second septet. One character outside both tables (say ``ł`` or an
emoji) turns the whole message into UCS-2, where only 70 characters fit. Concatenated
messages lose room to the user-data header: 153 septets (GSM-7) or 67 characters (UCS-2) per
segment.

:func:`to_gsm7` replaces what GSM-7 cannot carry (``ł`` → ``l``, ``’`` → ``'``), so that a
city's odd location name never quietly doubles the price of every SMS.
"""

from __future__ import annotations

import unicodedata

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "\f^{}\\[~]|€"
SINGLE_SEGMENT = 160
_BASIC = frozenset(BASIC)
_EXTENSION = frozenset(EXTENSION)
_PER_SEGMENT_GSM = 153
_SINGLE_UCS2 = 70
_PER_SEGMENT_UCS2 = 67
_LOOKALIKES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": ",",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
    }
)


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def gsm7_length(text: str) -> int:
    """Septets ``text`` needs in GSM-7; :class:`ValueError` if it cannot be sent as GSM-7."""
    length = 0
    for ch in text:
        if ch in _BASIC:
            length += 1
        elif ch in _EXTENSION:
            length += 2
        else:
            raise ValueError(f"{ch!r} (U+{ord(ch):04X}) is not in the GSM-7 alphabet")
    return length


def segments(text: str) -> int:
    """How many SMS segments ``text`` is sent as."""
    if is_gsm7(text):
        length = gsm7_length(text)
        return 1 if length <= SINGLE_SEGMENT else -(-length // _PER_SEGMENT_GSM)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= _SINGLE_UCS2 else -(-units // _PER_SEGMENT_UCS2)


def to_gsm7(text: str) -> str:
    """``text`` with every character GSM-7 lacks replaced by its closest GSM-7 spelling."""
    out = []
    for ch in text.translate(_LOOKALIKES):
        if ch in _BASIC or ch in _EXTENSION:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and is_gsm7(base) else "?")
    return "".join(out)
