"""Kerong CU16 (KU16, NCU16L): pure codec on bytes, and the bus dialect.

Requests, 5 bytes::

    STX   ADDR                CMD   ETX   SUM
    0x02  board<<4 | lock     1B    0x03  sum of the four bytes before it, & 0xFF

    CMD 0x30 status of one board   0x31 unlock one lock
        0x32 status of all boards (ADDR 0xF0)   0x33 unlock every lock of a board

Status replies, 9 bytes::

    STX   ADDR      CMD        L1-8  L9-16  IR1-8  IR9-16  ETX   SUM
    0x02  board<<4  0x35|0x36  1B    1B     1B     1B      0x03  sum of the eight bytes before
                    (0x35 answers 0x30, 0x36 answers 0x32)

Bit 0 of ``L1-8`` is lock 1 (channel 0). Whether a set lock bit means *closed* and a set IR bit
means *item present* is a per-board setting applied above this layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from firmware_bridge.dialect import Exchange, RawAck, RawStatus
from firmware_bridge.errors import ChecksumError
from firmware_bridge.framing import NEED_MORE, Decoder, Found, Invalid, Scan

STX = 0x02
ETX = 0x03
BROADCAST_ADDRESS = 0xF0
REQUEST_SIZE = 5
REPLY_SIZE = 9


class Command(IntEnum):
    STATUS = 0x30
    UNLOCK = 0x31
    STATUS_ALL = 0x32
    UNLOCK_ALL = 0x33
    STATUS_REPLY = 0x35
    STATUS_ALL_REPLY = 0x36


REQUESTS = frozenset({Command.STATUS, Command.UNLOCK, Command.STATUS_ALL, Command.UNLOCK_ALL})
REPLIES = frozenset({Command.STATUS_REPLY, Command.STATUS_ALL_REPLY})


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def _frame(address: int, command: int, payload: bytes = b"") -> bytes:
    body = bytes([STX, address, command, *payload, ETX])
    return body + bytes([checksum(body)])


def _address(board: int, lock: int) -> int:
    if not 0 <= board <= 15 or not 0 <= lock <= 15:
        raise ValueError(f"CU16 board and lock are 0..15, got board {board} lock {lock}")
    return board << 4 | lock


@dataclass(frozen=True, slots=True)
class Request:
    """A request to a board; ``lock`` is the low nibble of ADDR (0 where unused)."""

    command: Command
    board: int
    lock: int = 0

    def encode(self) -> bytes:
        return _frame(_address(self.board, self.lock), self.command)


def status_request(board: int) -> Request:
    return Request(Command.STATUS, board)


def unlock_request(board: int, lock: int) -> Request:
    return Request(Command.UNLOCK, board, lock)


def status_all_request() -> Request:
    return Request(Command.STATUS_ALL, BROADCAST_ADDRESS >> 4, BROADCAST_ADDRESS & 0x0F)


def unlock_all_request(board: int) -> Request:
    return Request(Command.UNLOCK_ALL, board)


@dataclass(frozen=True, slots=True)
class StatusReply:
    """A board's status: ``locks`` and ``items`` are 16-bit maps, bit ``n`` = channel ``n``."""

    board: int
    locks: int
    items: int
    all_boards: bool = False
    lock: int = 0

    def encode(self) -> bytes:
        command = Command.STATUS_ALL_REPLY if self.all_boards else Command.STATUS_REPLY
        payload = bytes(
            [self.locks & 0xFF, self.locks >> 8 & 0xFF, self.items & 0xFF, self.items >> 8 & 0xFF]
        )
        return _frame(_address(self.board, self.lock), command, payload)


Cu16Message = Request | StatusReply
Side = Literal["requests", "replies", "both"]


def scan(buffer: bytes, side: Side = "both") -> Scan[Cu16Message]:
    """Look at a buffer that starts with STX (see :mod:`firmware_bridge.framing`)."""
    if len(buffer) < 3:
        return NEED_MORE
    command = buffer[2]
    accepted = {"requests": REQUESTS, "replies": REPLIES, "both": REQUESTS | REPLIES}[side]
    if command not in accepted:
        return Invalid(1)
    size = REQUEST_SIZE if command in REQUESTS else REPLY_SIZE
    if len(buffer) < size:
        return NEED_MORE
    frame = buffer[:size]
    if frame[-2] != ETX:
        return Invalid(1)
    if frame[-1] != checksum(frame[:-1]):
        return Invalid(
            1, ChecksumError(f"CU16 checksum {frame[-1]:02X}, expected {checksum(frame[:-1]):02X}")
        )
    board, lock = frame[1] >> 4, frame[1] & 0x0F
    if size == REQUEST_SIZE:
        return Found(Request(Command(command), board, lock), size)
    reply = StatusReply(
        board=board,
        locks=frame[3] | frame[4] << 8,
        items=frame[5] | frame[6] << 8,
        all_boards=command == Command.STATUS_ALL_REPLY,
        lock=lock,
    )
    return Found(reply, size)


def decoder(side: Side = "both", expect: Sequence[int] | None = None) -> Decoder[Cu16Message]:
    """An incremental decoder; ``expect`` lists the boards whose frames are wanted."""
    return Decoder(lambda buffer: scan(buffer, side), bytes([STX]), expect)


class Cu16Dialect:
    """CU16 on the bus: one broadcast reads every board; an unlock may or may not be answered."""

    name = "cu16"
    default_baud = 19200
    boards = range(16)
    max_channels = 16

    def status_request(self, board: int) -> bytes:
        return status_request(board).encode()

    def sweep(self, boards: Sequence[int]) -> list[Exchange]:
        if len(boards) == 1:
            return [Exchange(self.status_request(boards[0]), frozenset(boards))]
        return [Exchange(status_all_request().encode(), frozenset(boards))]

    def unlock_request(self, board: int, channel: int) -> bytes:
        return unlock_request(board, channel).encode()

    def reply_decoder(self, expect: Sequence[int] | None) -> Decoder[Cu16Message]:
        return decoder("replies", expect)

    def status_of(self, message: object) -> RawStatus | None:
        if not isinstance(message, StatusReply):
            return None
        return RawStatus(message.board, message.locks, message.items, self.max_channels)

    def ack_of(self, message: object, board: int, channel: int) -> RawAck | None:
        status = self.status_of(message)
        if status is None or status.board != board:
            return None
        return RawAck(board, channel, bool(status.lock_bits >> channel & 1), status)

    def reply_size(self, boards: int) -> int:
        return REPLY_SIZE * boards
