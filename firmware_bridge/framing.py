"""The incremental decoder every codec shares.

A codec supplies one pure function, ``scan(buffer) -> Scan``, that looks at the start of a
buffer which begins with a start byte and says one of three things:

* :class:`Found` — a whole valid frame of ``size`` bytes, decoded into a message;
* :class:`Invalid` — these ``size`` bytes cannot start a frame; ``error`` is ``None`` for plain
  garbage (skipped silently) or a :class:`FrameError` worth reporting (bad checksum);
* :data:`NEED_MORE` — the buffer may be the beginning of a frame: read more.

:class:`Decoder` keeps the buffer between reads. Its contract:

* :meth:`Decoder.feed` accepts bytes split anywhere and returns, in order, every message and
  every reportable :class:`FrameError` completed by them; bytes before a start byte are garbage
  and are skipped (counted in :attr:`Decoder.skipped`);
* a frame from a board other than ``expect`` yields an :class:`AddressError` instead of the
  message;
* :meth:`Decoder.end` is called when the line has gone quiet: a partial frame left in the
  buffer becomes a :class:`TruncatedFrame` (or whatever the codec's ``settle`` makes of it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from firmware_bridge.errors import AddressError, FrameError, TruncatedFrame


class Message(Protocol):
    @property
    def board(self) -> int: ...

    def encode(self) -> bytes: ...


M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class Found(Generic[M]):
    message: M
    size: int


@dataclass(frozen=True, slots=True)
class Invalid:
    size: int
    error: FrameError | None = None


class NeedMore:
    """Singleton marker: the buffer may be the start of a frame."""

    __slots__ = ()


NEED_MORE = NeedMore()

Scan = Found[M] | Invalid | NeedMore


class Decoder(Generic[M]):
    """Turns a byte stream into messages and frame errors (see the module docstring)."""

    def __init__(
        self,
        scan: Callable[[bytes], Scan[M]],
        start_bytes: bytes,
        expect: Collection[int] | None = None,
        settle: Callable[[bytes], Scan[M]] | None = None,
    ) -> None:
        self._scan = scan
        self._settle = settle
        self._starts = frozenset(start_bytes)
        self._expect = None if expect is None else frozenset(expect)
        self._buffer = bytearray()
        self.skipped = 0

    @property
    def pending(self) -> int:
        """Bytes held back as the possible beginning of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[M | FrameError]:
        self._buffer += data
        out: list[M | FrameError] = []
        while self._drop_garbage():
            result = self._scan(bytes(self._buffer))
            if isinstance(result, NeedMore):
                break
            self._take(result, out)
        return out

    def end(self) -> list[M | FrameError]:
        """The line went quiet: settle whatever is left in the buffer."""
        out: list[M | FrameError] = []
        while self._drop_garbage():
            result = (self._settle or self._scan)(bytes(self._buffer))
            if isinstance(result, NeedMore):
                out.append(
                    TruncatedFrame(f"line quiet after {len(self._buffer)} byte(s) of a frame")
                )
                self._buffer.clear()
                break
            self._take(result, out)
        return out

    def _take(self, result: Found[M] | Invalid, out: list[M | FrameError]) -> None:
        del self._buffer[: result.size]
        if isinstance(result, Invalid):
            if result.error is None:
                self.skipped += result.size
            else:
                out.append(result.error)
            return
        message = result.message
        if self._expect is not None and message.board not in self._expect:
            out.append(AddressError(f"frame from board {message.board}", message.board))
        else:
            out.append(message)

    def _drop_garbage(self) -> bool:
        """Drop bytes before the first start byte; true if a candidate frame start remains."""
        for index, byte in enumerate(self._buffer):
            if byte in self._starts:
                self.skipped += index
                del self._buffer[:index]
                return True
        self.skipped += len(self._buffer)
        self._buffer.clear()
        return False


def decode_one(decoder: Decoder[M], data: bytes) -> M:
    """Decode exactly one whole frame or raise the :class:`FrameError` that explains why not."""
    results = decoder.feed(data) + decoder.end()
    for item in results:
        if isinstance(item, FrameError):
            raise item
    messages = [item for item in results if not isinstance(item, FrameError)]
    if len(messages) != 1:
        raise FrameError(f"expected one frame, found {len(messages)}")
    return messages[0]
