"""The citizen's assistance choices for one session: speech, its rate, high contrast, large
text — carried in the page address (``?speech=on&rate=1&contrast=high&text=large``).

They live only in the address of the session's pages: every link of the session carries
them, and the end of a session (the return to ``/`` after the pickup or after inactivity)
drops them, so the next citizen finds the kiosk silent and in its usual look. Nothing is
stored in the browser or on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request

RATES = range(-3, 4)


@dataclass(frozen=True)
class Assistance:
    speech: bool = False
    rate: int = 0
    contrast: bool = False
    large: bool = False

    @classmethod
    def of(cls, request: Request) -> Assistance:
        asked = request.query_params
        try:
            rate = int(asked.get("rate", "0"))
        except ValueError:
            rate = 0
        return cls(
            speech=asked.get("speech") == "on",
            rate=rate if rate in RATES else 0,
            contrast=asked.get("contrast") == "high",
            large=asked.get("text") == "large",
        )

    @property
    def query(self) -> str:
        """What links of this session append to their address (``&speech=on…``, or nothing)."""
        keep: dict[str, str] = {}
        if self.speech:
            keep["speech"] = "on"
            if self.rate:
                keep["rate"] = str(self.rate)
        if self.contrast:
            keep["contrast"] = "high"
        if self.large:
            keep["text"] = "large"
        return "&" + urlencode(keep) if keep else ""

    @property
    def active(self) -> bool:
        return self.speech or self.contrast or self.large

    @property
    def classes(self) -> str:
        """Classes of the page's root element, so the first paint is already in the right look."""
        return " ".join(
            name
            for name, on in (("high-contrast", self.contrast), ("large-text", self.large))
            if on
        )
