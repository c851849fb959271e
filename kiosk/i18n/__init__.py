"""Message catalogs of the screens: one JSON file per language in this folder.

Adding a language is adding a file ``<code>.json`` with the same keys as ``en.json``; a key
missing from it falls back to English. Two keys describe the language itself: ``_name`` (its
own name, shown on the language switch) and ``_dir`` (``ltr`` or ``rtl``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DEFAULT = "de"
FALLBACK = "en"


@dataclass(frozen=True)
class Catalog:
    code: str
    messages: dict[str, str]

    @property
    def name(self) -> str:
        return self.messages.get("_name", self.code)

    @property
    def direction(self) -> str:
        return "rtl" if self.messages.get("_dir") == "rtl" else "ltr"

    def __call__(self, key: str, **values: Any) -> str:
        """The message ``key`` with ``{placeholders}`` filled in."""
        text = self.messages.get(key, key)
        return text.format(**values) if values else text


@cache
def languages() -> tuple[str, ...]:
    """The language codes there is a catalog for, the default first."""
    found = sorted(p.stem for p in HERE.glob("*.json"))
    return tuple(sorted(found, key=lambda code: code != DEFAULT))


@cache
def catalog(code: str | None) -> Catalog:
    """The catalog for ``code`` (the default language if there is none for it)."""
    if code not in languages():
        code = DEFAULT
    assert code is not None
    messages = _read(FALLBACK) | _read(code)
    return Catalog(code, messages)


def _read(code: str) -> dict[str, str]:
    data = json.loads((HERE / f"{code}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return {str(key): str(value) for key, value in data.items()}
