"""What the bus needs to know about a board protocol, and the board-neutral results it returns.

A :class:`Dialect` turns "status of board 3" or "unlock channel 5" into bytes and turns decoded
replies back into :class:`RawStatus` / :class:`RawAck`; the bus (``bus.py``) does the talking.
Channels are numbered from 0 here, whatever the wire uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from firmware_bridge.framing import Decoder


@dataclass(frozen=True, slots=True)
class RawStatus:
    """Input bits as the board reported them; bit ``n`` is channel ``n``. No polarity applied."""

    board: int
    lock_bits: int
    item_bits: int | None
    channels: int


@dataclass(frozen=True, slots=True)
class RawAck:
    """A board's answer to an unlock: the lock-feedback bit of that channel and/or a full status."""

    board: int
    channel: int
    lock_bit: bool | None = None
    status: RawStatus | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the boards whose replies it asks for."""

    request: bytes
    boards: frozenset[int]


class Dialect(Protocol):
    name: str
    default_baud: int
    boards: range
    """Valid board addresses."""
    max_channels: int

    def status_request(self, board: int) -> bytes: ...

    def sweep(self, boards: Sequence[int]) -> list[Exchange]:
        """The exchanges that read the status of all ``boards`` with the fewest frames."""
        ...

    def unlock_request(self, board: int, channel: int) -> bytes: ...

    def reply_decoder(self, expect: Sequence[int] | None) -> Decoder[Any]: ...

    def status_of(self, message: object) -> RawStatus | None: ...

    def ack_of(self, message: object, board: int, channel: int) -> RawAck | None: ...

    def reply_size(self, boards: int) -> int:
        """Bytes a status exchange for ``boards`` boards brings back (for timeouts and floors)."""
        ...
