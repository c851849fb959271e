"""Generic "8A/80" lock boards with an XOR checksum: pure codec on bytes, and the bus dialect.

Boards are addressed 1..31; channels count from 1 on the wire. ``X`` is the XOR of every byte
before it.

Unlock, and its acknowledgement (``ST`` = the lock's feedback input, 0x11 set / 0x00 clear)::

    0x8A  BOARD  CH  0x11  X          request
    0x8A  BOARD  CH  ST    X          acknowledgement

Status of all channels::

    0x80  BOARD  0x00  0x33  X                       request
    0x80  BOARD  S(n) ... S(2)  S(1)  0x33  X        reply, n >= 1 status bytes

In the reply the **last** status byte ``S(1)`` holds channels 1-8 (bit 0 = channel 1), the one
before it 9-16, and so on. ``n`` is not implied by the channel count (an 8-channel board was
seen to send 3), so the reply ends at the first ``0x33`` followed by a matching checksum; a
board's ``status_bytes`` setting pins ``n`` where it is known. On the wire a frame also ends
after about 25 ms of silence, which :meth:`Decoder.end` stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import xor
from typing import Literal

from firmware_bridge.dialect import Exchange, RawAck, RawStatus
from firmware_bridge.errors import ChecksumError
from firmware_bridge.framing import NEED_MORE, Decoder, Found, Invalid, Scan

UNLOCK = 0x8A
STATUS = 0x80
END = 0x33
SET = 0x11
CLEAR = 0x00
MAX_STATUS_BYTES = 8
BOARDS = range(1, 32)
NUMBERS = range(1, MAX_STATUS_BYTES * 8 + 1)


def checksum(data: bytes) -> int:
    return reduce(xor, data, 0)


def _frame(*body: int) -> bytes:
    data = bytes(body)
    return data + bytes([checksum(data)])


@dataclass(frozen=True, slots=True)
class UnlockRequest:
    board: int
    number: int
    """Channel as on the wire, from 1."""

    def encode(self) -> bytes:
        return _frame(UNLOCK, self.board, self.number, SET)


@dataclass(frozen=True, slots=True)
class UnlockAck:
    board: int
    number: int
    status: int
    """0x11 (feedback input set) or 0x00 (clear)."""

    @property
    def bit(self) -> bool:
        return self.status == SET

    def encode(self) -> bytes:
        return _frame(UNLOCK, self.board, self.number, self.status)


@dataclass(frozen=True, slots=True)
class StatusRequest:
    board: int

    def encode(self) -> bytes:
        return _frame(STATUS, self.board, 0x00, END)


@dataclass(frozen=True, slots=True)
class StatusReply:
    board: int
    status: bytes
    """The status bytes in wire order (the last holds channels 1-8)."""

    @property
    def bits(self) -> int:
        """Bit ``n`` is channel ``n + 1``."""
        return int.from_bytes(self.status, "big")

    @classmethod
    def of(cls, board: int, bits: int, size: int) -> StatusReply:
        return cls(board, bits.to_bytes(size, "big"))

    def encode(self) -> bytes:
        return _frame(STATUS, self.board, *self.status, END)


Xor8aMessage = UnlockRequest | UnlockAck | StatusRequest | StatusReply
Side = Literal["requests", "replies"]


def _fixed(buffer: bytes, side: Side) -> Scan[Xor8aMessage]:
    """The 5-byte frames: both requests, and the unlock acknowledgement."""
    if len(buffer) < 5:
        return NEED_MORE
    head, board, third, fourth, check = buffer[:5]
    if head == UNLOCK:
        if third not in NUMBERS or fourth not in ((SET,) if side == "requests" else (SET, CLEAR)):
            return Invalid(1)
    elif third != 0x00 or fourth != END:
        return Invalid(1)
    if check != checksum(buffer[:4]):
        return Invalid(
            1, ChecksumError(f"8A/80 checksum {check:02X}, expected {checksum(buffer[:4]):02X}")
        )
    message: Xor8aMessage
    if head == STATUS:
        message = StatusRequest(board)
    elif side == "requests":
        message = UnlockRequest(board, third)
    else:
        message = UnlockAck(board, third, fourth)
    return Found(message, 5)


def _ends(buffer: bytes, status_bytes: int | None) -> range:
    """Indices where the END byte of a status reply may stand."""
    if status_bytes is not None:
        return range(2 + status_bytes, 3 + status_bytes)
    return range(3, 3 + MAX_STATUS_BYTES)


def _status_reply(buffer: bytes, status_bytes: int | None) -> Found[Xor8aMessage] | None:
    running = checksum(buffer[:3])
    for end in range(3, min(len(buffer) - 1, 3 + MAX_STATUS_BYTES)):
        running ^= buffer[end]
        if end in _ends(buffer, status_bytes) and buffer[end] == END and buffer[end + 1] == running:
            return Found(StatusReply(buffer[1], bytes(buffer[2:end])), end + 2)
    return None


def _longest(status_bytes: int | None) -> int:
    return 4 + (MAX_STATUS_BYTES if status_bytes is None else status_bytes)


def scan(
    buffer: bytes, side: Side = "replies", status_bytes: int | None = None
) -> Scan[Xor8aMessage]:
    """Look at a buffer that starts with 0x8A or 0x80 (see :mod:`firmware_bridge.framing`)."""
    if len(buffer) < 2:
        return NEED_MORE
    if buffer[1] not in BOARDS:
        return Invalid(1)
    if buffer[0] == UNLOCK or side == "requests":
        return _fixed(buffer, side)
    found = _status_reply(buffer, status_bytes)
    if found is not None:
        return found
    if len(buffer) >= _longest(status_bytes):
        return _bad_reply(buffer, status_bytes) or Invalid(1)
    for start in range(1, len(buffer)):
        if buffer[start] in (UNLOCK, STATUS) and isinstance(
            scan(buffer[start:], side, status_bytes), Found
        ):
            return Invalid(start)
    return NEED_MORE


def _bad_reply(buffer: bytes, status_bytes: int | None) -> Invalid | None:
    """A status reply whose END byte is in place but whose checksum is wrong."""
    for end in _ends(buffer, status_bytes):
        if end + 1 < len(buffer) and buffer[end] == END:
            return Invalid(1, ChecksumError("8A/80 status reply with a wrong checksum"))
    return None


def settle(buffer: bytes, status_bytes: int | None = None) -> Scan[Xor8aMessage]:
    """The line went quiet: a reply that cannot grow any more is complete or broken."""
    result = scan(buffer, "replies", status_bytes)
    if not isinstance(result, type(NEED_MORE)) or buffer[0] != STATUS:
        return result
    bad = _bad_reply(buffer, status_bytes)
    return NEED_MORE if bad is None else Invalid(len(buffer), bad.error)


def decoder(
    side: Side = "replies", expect: Sequence[int] | None = None, status_bytes: int | None = None
) -> Decoder[Xor8aMessage]:
    """An incremental decoder for one direction of the line (requests and replies look alike)."""
    return Decoder(
        lambda buffer: scan(buffer, side, status_bytes),
        bytes([UNLOCK, STATUS]),
        expect,
        settle=(lambda buffer: settle(buffer, status_bytes)) if side == "replies" else None,
    )


class Xor8aDialect:
    """8A/80 boards on the bus: one status exchange per board; every unlock is acknowledged."""

    name = "xor8a"
    default_baud = 9600
    boards = BOARDS
    max_channels = MAX_STATUS_BYTES * 8

    def __init__(self, status_bytes: int | None = None) -> None:
        self.status_bytes = status_bytes

    def status_request(self, board: int) -> bytes:
        return StatusRequest(board).encode()

    def sweep(self, boards: Sequence[int]) -> list[Exchange]:
        return [Exchange(self.status_request(board), frozenset({board})) for board in boards]

    def unlock_request(self, board: int, channel: int) -> bytes:
        return UnlockRequest(board, channel + 1).encode()

    def reply_decoder(self, expect: Sequence[int] | None) -> Decoder[Xor8aMessage]:
        return decoder("replies", expect, self.status_bytes)

    def status_of(self, message: object) -> RawStatus | None:
        if not isinstance(message, StatusReply):
            return None
        return RawStatus(message.board, message.bits, None, len(message.status) * 8)

    def ack_of(self, message: object, board: int, channel: int) -> RawAck | None:
        if isinstance(message, UnlockAck) and (message.board, message.number) == (
            board,
            channel + 1,
        ):
            return RawAck(board, channel, message.bit)
        return None

    def reply_size(self, boards: int) -> int:
        return boards * (4 + (self.status_bytes or 2))
