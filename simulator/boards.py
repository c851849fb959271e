"""Virtual lock-control boards on the far end of a real pty, speaking the exact bytes.

The controller opens :attr:`VirtualBus.path` (the pty's slave) like any serial port. Because
a pty delivers bytes at once whatever the baud rate, the bus delays every reply by the time
the request and the reply would take on the wire (bytes × 10 / baud) plus a board latency;
the boards of a CU16 "status of all" answer one after another.
"""

from __future__ import annotations

import math
import os
import random
import select
import threading
import time
import tty
from collections.abc import Callable, Mapping
from typing import Any

from firmware_bridge import cu16, xor8a
from firmware_bridge.bus import BoardSettings, wire_time
from firmware_bridge.errors import FrameError
from hardware.layout import BusConfig
from simulator.physics import BankPhysics

RequestObserver = Callable[[bytes, float], None]
"""Called with each request and the moment its last byte is on the wire (monotonic)."""


class VirtualBus:
    def __init__(
        self,
        physics: BankPhysics,
        config: BusConfig,
        placements: Mapping[tuple[int, int], str],
        latency_s: float = 0.005,
        seed: int = 0,
        cu16_unlock_reply: bool = True,
    ) -> None:
        self.physics = physics
        self.name = config.name
        self.protocol = config.protocol
        self.baud = config.baud
        self.latency_s = latency_s
        self.boards: dict[int, BoardSettings] = {board.address: board for board in config.boards}
        self._status_bytes = config.status_bytes
        self._placements = dict(placements)
        self._random = random.Random(seed)
        self._cu16_unlock_reply = cu16_unlock_reply
        self.observers: list[RequestObserver] = []
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._line_free = 0.0
        self._thread = threading.Thread(
            target=self._run, name=f"virtual bus {self.name}", daemon=True
        )
        self._started = False
        self._closed = False

    def board_id(self, address: int) -> str:
        return f"{self.name}:{address}"

    def start(self) -> VirtualBus:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._started:
            self._thread.join()
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            os.close(fd)

    def __enter__(self) -> VirtualBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def inject(self, data: bytes) -> None:
        """Put raw bytes on the line towards the controller (noise, a stray late reply)."""
        os.write(self._master, data)

    # ------------------------------------------------------------------ the line

    def _run(self) -> None:
        decoder: Any = (
            cu16.decoder("requests") if self.protocol == "cu16" else xor8a.decoder("requests")
        )
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                data = os.read(self._master, 4096)
            except OSError:  # EIO: no one has the slave open; wait for a controller
                self._stop.wait(0.05)
                continue
            arrived = time.monotonic()
            for message in decoder.feed(data):
                if not isinstance(message, FrameError):
                    self._answer(message, arrived)

    def _answer(self, message: Any, arrived: float) -> None:
        request = message.encode()
        on_wire = max(arrived, self._line_free) + wire_time(len(request), self.baud)
        self._line_free = on_wire
        for observer in list(self.observers):
            observer(request, on_wire)
        broadcast = isinstance(message, cu16.Request) and message.command == cu16.Command.STATUS_ALL
        if not broadcast and self._offline(message.board):
            return
        replies = self._cu16(message) if self.protocol == "cu16" else self._xor8a(message)
        if self.physics.silent(self.name):
            return
        start = on_wire + self.latency_s
        for address, reply in replies:
            faults = self.physics.board_faults(self.board_id(address))
            if faults.offline:
                continue
            begin = max(start + faults.slow_ms / 1000, self._line_free)
            end = begin + wire_time(len(reply), self.baud)
            self._line_free = end
            if self.physics.take_lost_reply(self.board_id(address)):
                continue
            if self._stop.wait(max(0.0, end - time.monotonic())):
                return
            os.write(self._master, self._damage(reply, faults.corrupt_rate))

    def _offline(self, address: int) -> bool:
        return address in self.boards and self.physics.board_faults(self.board_id(address)).offline

    def _damage(self, reply: bytes, rate: float) -> bytes:
        if not rate or self._random.random() >= rate:
            return reply
        damaged = bytearray(reply)
        damaged[self._random.randrange(len(damaged))] ^= self._random.randrange(1, 256)
        return bytes(damaged)

    # ------------------------------------------------------------------ board behaviour

    def _labels(self, address: int) -> list[str]:
        return [label for (board, _), label in sorted(self._placements.items()) if board == address]

    def _pulse(self, address: int, channel: int) -> None:
        label = self._placements.get((address, channel))
        if label is not None:
            self.physics.pulse(label)

    def _bits(self, address: int) -> tuple[int, int]:
        """Lock-feedback and IR bits of a board as its inputs read (its polarity applied)."""
        settings = self.boards[address]
        locks = items = 0
        for channel in range(settings.channels):
            label = self._placements.get((address, channel))
            state = self.physics.compartment(label) if label is not None else None
            closed = state.locked if state is not None else True
            item = state.item if state is not None else False
            locks |= (closed == settings.closed_when_set) << channel
            items |= (item == settings.item_when_set) << channel
        return locks, items

    def _cu16(self, message: Any) -> list[tuple[int, bytes]]:
        if not isinstance(message, cu16.Request):
            return []
        command = message.command
        if command == cu16.Command.STATUS_ALL:
            return [(address, self._cu16_status(address, True)) for address in sorted(self.boards)]
        if message.board not in self.boards:
            return []
        if command == cu16.Command.UNLOCK:
            self._pulse(message.board, message.lock)
        elif command == cu16.Command.UNLOCK_ALL:
            for channel in range(self.boards[message.board].channels):
                self._pulse(message.board, channel)
        if command != cu16.Command.STATUS and not self._cu16_unlock_reply:
            return []
        return [(message.board, self._cu16_status(message.board, False))]

    def _cu16_status(self, address: int, all_boards: bool) -> bytes:
        locks, items = self._bits(address)
        return cu16.StatusReply(address, locks, items, all_boards).encode()

    def _xor8a(self, message: Any) -> list[tuple[int, bytes]]:
        if message.board not in self.boards:
            return []
        if isinstance(message, xor8a.UnlockRequest):
            channel = message.number - 1
            self._pulse(message.board, channel)
            locks, _ = self._bits(message.board)
            status = xor8a.SET if locks >> channel & 1 else xor8a.CLEAR
            return [
                (message.board, xor8a.UnlockAck(message.board, message.number, status).encode())
            ]
        if isinstance(message, xor8a.StatusRequest):
            settings = self.boards[message.board]
            size = self._status_bytes or math.ceil(settings.channels / 8)
            locks, _ = self._bits(message.board)
            return [(message.board, xor8a.StatusReply.of(message.board, locks, size).encode())]
        return []
