"""What the local SMS and mail stand-ins received: the demo's ``GET /sim/messages``.

Each entry has the shape of shared/API.md, oldest first::

    {"channel": "sms", "to": "+4915112345678", "body": "...", "code": "K7M4-Q9XT-2BHD"}
    {"channel": "email", "to": "a@example.org", "body": "<plain-text part>", "code": ...,
     "raw": "<the whole MIME message>"}

``code`` is the pickup code found in the text as it is shown to people, or ``None``. The
inbox is thread-safe (both stand-ins write from their own threads), can be waited on without
sleeping, and round-trips through a list of dicts so that the demo can persist it.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Iterable
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

from locker.codes import ALPHABET, CODE_LENGTH, GROUP
from locker.listeners import Listeners

_GROUP = f"[{ALPHABET}]{{{GROUP}}}"
_CODE = re.compile(
    rf"(?<![0-9A-Z])({_GROUP}(?:-{_GROUP}){{{CODE_LENGTH // GROUP - 1}}})(?![0-9A-Z-])"
)

Entry = dict[str, Any]


def find_code(text: str) -> str | None:
    """The first pickup code (``K7M4-Q9XT-2BHD``) in ``text``, as shown there."""
    found = _CODE.search(text)
    return found.group(1) if found else None


def plain_text(raw: str) -> str:
    """The plain-text part of a MIME message (empty if it has none)."""
    parsed = message_from_string(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""


class Inbox:
    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: list[Entry] = [dict(e) for e in entries]
        self._changed = threading.Condition()
        self._watchers: Listeners[Callable[[], None]] = Listeners()

    def watch(self, watcher: Callable[[], None]) -> Callable[[], None]:
        """Call ``watcher()`` after every message, in the stand-in's thread, before the stand-in
        answers the sender (so a world saved by it never misses a message counted as sent).
        Returns the function that stops it."""
        return self._watchers.add(watcher)

    def add_sms(self, to: str, body: str) -> Entry:
        return self._add({"channel": "sms", "to": to, "body": body, "code": find_code(body)})

    def add_email(self, to: str, raw: str) -> Entry:
        body = plain_text(raw)
        entry = {"channel": "email", "to": to, "body": body, "code": find_code(body), "raw": raw}
        return self._add(entry)

    def _add(self, entry: Entry) -> Entry:
        with self._changed:
            self._entries.append(entry)
            self._changed.notify_all()
        for watcher in self._watchers:  # a failing save fails the send: it is not lost
            watcher()
        return copy.deepcopy(entry)

    def messages(self, channel: str | None = None, to: str | None = None) -> list[Entry]:
        """Copies of the entries, oldest first, optionally only one channel or recipient."""
        with self._changed:
            return [
                copy.deepcopy(e)
                for e in self._entries
                if (channel is None or e["channel"] == channel) and (to is None or e["to"] == to)
            ]

    def since(self, index: int) -> list[Entry]:
        """Copies of the entries from position ``index`` on (a reader's cursor over a long run)."""
        with self._changed:
            return [copy.deepcopy(e) for e in self._entries[index:]]

    def __len__(self) -> int:
        with self._changed:
            return len(self._entries)

    def wait_for(
        self, predicate: Callable[[list[Entry]], bool], timeout: float = 10.0
    ) -> list[Entry]:
        """Block until ``predicate(entries)`` holds; :class:`TimeoutError` after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self._entries), timeout):
                raise TimeoutError(f"inbox condition not met within {timeout} s")
            return copy.deepcopy(self._entries)

    def wait_for_count(self, count: int, timeout: float = 10.0) -> list[Entry]:
        return self.wait_for(lambda entries: len(entries) >= count, timeout)

    def clear(self) -> None:
        with self._changed:
            self._entries.clear()
            self._changed.notify_all()

    def to_list(self) -> list[Entry]:
        return self.messages()

    @classmethod
    def from_list(cls, entries: Iterable[Entry]) -> Inbox:
        return cls(entries)
