"""What the kiosk says: every screen's text, keys, the code and date read back, and where the
open compartment is — composed here from the catalog, in the screen's language.

A page asks for a list of *parts* (:class:`Part`): a screen by name, one catalog text, a
string to spell (a key as pressed, the typed code in its groups), a date, or a compartment's
place. Only the screens' own texts can be spoken this way (never a citizen's message), so
what is heard is what the screen shows, and a screen with no spoken text fails a test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_date

from locker.i18n import MESSAGE_PREFIX, Catalog
from locker.ports import CompartmentSpec

PLACE = "{place}"
ERROR = "{error}"
SCREENS: Mapping[str, tuple[str, ...]] = {
    "welcome": ("welcome_heading", "welcome_text", "speech_help"),
    "scan": ("scan_heading", "scan_instruction", "code_label", "speech_keyboard"),
    "dob": ("dob_heading", "dob_instruction", "speech_keypad"),
    "confirm": ("confirm_heading", "confirm_text", "speech_confirm"),
    "open": ("open_heading", PLACE, "open_instruction", "speech_open"),
    "done": ("done_heading", "done_text"),
    "error": ("error_heading", ERROR, "speech_error"),
    "idle": ("idle_heading", "idle_text", "speech_idle"),
}
"""Each screen (and the inactivity warning) as spoken: catalog keys, the open compartment's
place, the error's own text."""
ERRORS = (
    "err_code_invalid",
    "err_expired",
    "err_rate_limited",
    "err_rate_limited_one",
    "err_rate_limited_seconds",
    "err_code_used",
    "err_code_revoked",
    "err_not_a_kiosk",
    "err_wrong_locker",
    "err_hardware",
    "err_already_open",
    "err_network",
)
KEY_NAMES = {"back": "key_delete", "clear": "key_clear"}
"""On-screen keys that are words, not characters."""


class UnknownText(ValueError):
    """A part names no screen text (or a citizen's message, which is never spoken here)."""


@dataclass(frozen=True)
class Part:
    """One piece of an utterance; exactly one of the fields is set."""

    screen: str | None = None
    key: str | None = None
    values: Mapping[str, str | int] = field(default_factory=dict)
    spell: str | None = None
    date: date | None = None
    place: str | None = None

    @property
    def private(self) -> bool:
        """Part of a code or a date of birth: never cached, never logged."""
        return self.date is not None or (self.spell is not None and len(self.spell) > 1)


def compose(catalog: Catalog, parts: Iterable[Part], specs: Sequence[CompartmentSpec]) -> str:
    """The text of an utterance, sentences joined by a space."""
    return " ".join(piece for part in parts if (piece := _text(catalog, part, specs)))


def _sentences(pieces: Iterable[str]) -> str:
    """Texts of a screen as sentences: a heading gets its full stop, so it is heard as one."""
    return " ".join(p if p[-1] in ".!?:…" else p + "." for p in pieces if p)


def _text(catalog: Catalog, part: Part, specs: Sequence[CompartmentSpec]) -> str:
    if part.screen is not None:
        if part.screen not in SCREENS:
            raise UnknownText(f"no screen {part.screen!r}")
        return _sentences(_screen_piece(catalog, key, part, specs) for key in SCREENS[part.screen])
    if part.key is not None:
        return _catalog_text(catalog, part.key, part.values)
    if part.spell is not None:
        return spelled(catalog, part.spell)
    if part.date is not None:
        return catalog("speech_date", date=spoken_date(catalog, part.date))
    if part.place is not None:
        return place(catalog, specs, part.place)
    return ""


def _screen_piece(catalog: Catalog, key: str, part: Part, specs: Sequence[CompartmentSpec]) -> str:
    if key == PLACE:
        return place(catalog, specs, str(part.values.get("label", "")))
    if key == ERROR:
        error = str(part.values.get("error", "err_network"))
        return _catalog_text(catalog, error if error in ERRORS else "err_network", part.values)
    return _catalog_text(catalog, key, part.values)


def _catalog_text(catalog: Catalog, key: str, values: Mapping[str, str | int]) -> str:
    if key.startswith(MESSAGE_PREFIX) or key not in catalog.texts:
        raise UnknownText(f"no screen text {key!r}")
    wanted = set(re.findall(r"\{(\w+)\}", catalog.texts[key]))
    return catalog(key, **{name: values.get(name, "") for name in wanted})


def spelled(catalog: Catalog, typed: str) -> str:
    """A key as pressed (``K``, ``Letzte Ziffer löschen``), or a code in its groups, each
    character on its own: ``K 7 M 4 Q, X 9 T 2 B``."""
    if typed in KEY_NAMES:
        return catalog(KEY_NAMES[typed])
    if len(typed) == 1:
        return catalog("speech_character", character=_character(catalog, typed.upper()))
    groups = [g for g in re.split(r"[\s\-_.·/]+", typed.upper()) if g]
    said = ", ".join(" ".join(_character(catalog, c) for c in group) for group in groups)
    return catalog("speech_code", code=said)


def _character(catalog: Catalog, char: str) -> str:
    """A character as espeak-ng should say it (a letter alone is read by its name)."""
    return (
        catalog("speech_hyphen")
        if char == "-"
        else catalog("speech_space")
        if char == " "
        else char
    )


def spoken_date(catalog: Catalog, value: date) -> str:
    """A date as it is said (``17. Mai 1990``, ``17 May 1990``)."""
    return str(format_date(value, "long", locale=catalog.locale))


def place(catalog: Catalog, specs: Sequence[CompartmentSpec], label: str) -> str:
    """Where compartment ``label`` is: its row from the bottom and its place from the left in
    that row, across the bank as the screen draws it (columns by the label's letters)."""
    spec = next((s for s in specs if s.label == label), None)
    if spec is None:
        return catalog("open_heading", label=label)
    row = [s.label for s in sorted(specs, key=_drawn) if s.row == spec.row]
    return catalog(
        "speech_place",
        label=label,
        row=ordinal(catalog, "speech_ordinals_row", spec.row),
        column=ordinal(catalog, "speech_ordinals_place", row.index(label) + 1),
    )


def _drawn(spec: CompartmentSpec) -> tuple[str, str]:
    """The order of the bank's picture: by column (the label's letters), then by label."""
    return (re.sub(r"\d+$", "", spec.label), spec.label)


def ordinal(catalog: Catalog, key: str, number: int) -> str:
    """``3`` → ``dritte`` (from the catalog's list), beyond the list ``13.`` / ``number 13``."""
    words = catalog(key).split("|")
    if 1 <= number <= len(words):
        return words[number - 1]
    return catalog("speech_ordinal_number", number=number)
