"""Speech for the pages: compose, synthesise once, keep the audio for next time.

The cache is keyed by text, voice and rate and bounded in bytes (least recently used out
first); an utterance with a code or a date of birth in it is synthesised every time and never
kept, so no pickup code stays in memory after its screen. Screens, instructions, errors and
single keys are the same for everyone: after the first citizen they are played from memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.speech.engine import Espeak
from kiosk.speech.utterances import Part, compose
from locker.i18n import catalog
from locker.ports import CompartmentSpec

RATE_STEPS = range(-3, 4)
"""Slower/faster in steps of 25 % around the configured rate (about 80–310 words a minute)."""
RATE_FACTOR = 1.25


@dataclass(frozen=True)
class Spoken:
    text: str
    wav: bytes
    cached: bool
    """Played from memory rather than synthesised now."""


class SpeechCache:
    """Least-recently-used WAVs up to ``max_bytes``; safe from several threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, wav: bytes) -> None:
        with self._lock:
            if key in self._items or len(wav) > self.max_bytes:
                return
            self._items[key] = wav
            self._size += len(wav)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)


class SpeechService:
    def __init__(self, engine: Espeak, wpm: int, cache_bytes: int, office: str = "") -> None:
        self.engine = engine
        self.office = office
        """The office's name, as the screens say it."""
        self.wpm = wpm
        self.cache = SpeechCache(cache_bytes)

    def rate(self, step: int) -> int:
        """Words a minute for a slower/faster step (0: the configured rate)."""
        step = max(RATE_STEPS.start, min(RATE_STEPS.stop - 1, step))
        return round(self.wpm * RATE_FACTOR**step)

    def speak(
        self, language: str, parts: Sequence[Part], specs: Sequence[CompartmentSpec], step: int = 0
    ) -> Spoken:
        """The utterance of ``parts`` in ``language`` as WAV, from the cache where allowed."""
        texts = catalog(language, office=self.office)
        text = compose(texts, parts, specs)
        wpm = self.rate(step)
        if any(part.private for part in parts):
            return Spoken(text, self.engine.synthesise(text, texts.code, wpm), cached=False)
        key = hashlib.sha256(f"{texts.code}\0{wpm}\0{text}".encode()).hexdigest()
        if (wav := self.cache.get(key)) is not None:
            return Spoken(text, wav, cached=True)
        wav = self.engine.synthesise(text, texts.code, wpm)
        self.cache.put(key, wav)
        return Spoken(text, wav, cached=False)
