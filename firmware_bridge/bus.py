"""One serial bus of lock boards: one thread owns the port, one transaction at a time.

Every public method queues a job for the bus thread and waits for its result, so any number
of threads may call in; unlocks jump the queue ahead of status reads. Each exchange flushes
stale input, writes one request and reads until the expected replies are in or the timeout
(wire time of the exchange plus ``timeout_s``) runs out.

* Status reads are retried up to ``retries`` times.
* An unlock is written **once**. Its acknowledgement (if the protocol sends one) may say the
  lock is open; otherwise the outcome is settled by a status read, and if that fails too the
  report says so (``closed=None``) — the caller calls it uncertain, it is never resent.
* A board whose status read fails (after retries) is marked offline and is then probed only
  every ``offline_poll_s``; an unlock for an offline board is not sent unless a probe answers.

The port is opened with :func:`serial.serial_for_url`, so ``/dev/ttyUSB0``, ``socket://host:port``
and ``spy://…`` all work, and is reopened on the next job after a port error.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

import serial

from firmware_bridge.cu16 import Cu16Dialect
from firmware_bridge.dialect import Dialect, RawStatus
from firmware_bridge.errors import BoardTimeout, BridgeError, FrameError, PortError
from firmware_bridge.framing import Decoder
from firmware_bridge.xor8a import Xor8aDialect

T = TypeVar("T")
PROTOCOLS = ("cu16", "xor8a")
_UNLOCK_PRIORITY = 0
_STATUS_PRIORITY = 1


def dialect_for(protocol: str, status_bytes: int | None = None) -> Dialect:
    if protocol == "cu16":
        return Cu16Dialect()
    if protocol == "xor8a":
        return Xor8aDialect(status_bytes)
    raise ValueError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")


def wire_time(size: int, baud: int) -> float:
    """Seconds ``size`` bytes take on an 8N1 line (10 bits a byte)."""
    return size * 10 / baud


@dataclass(frozen=True, slots=True)
class BoardSettings:
    """One board on the bus and how to read its inputs."""

    address: int
    channels: int = 16
    closed_when_set: bool = True
    """A set lock-feedback bit means the lock is closed (most CU16 sources); false inverts."""
    item_when_set: bool = True
    """A set IR bit means something lies in the compartment; false inverts."""


@dataclass(frozen=True, slots=True)
class BusTiming:
    timeout_s: float = 0.5
    """Allowance for a board's answer beyond the wire time of the exchange."""
    retries: int = 2
    """Extra attempts of a failed status read."""
    ack_timeout_s: float = 0.3
    """How long to wait for an unlock's acknowledgement before reading the status."""
    offline_poll_s: float = 2.0
    """How often an offline board is probed."""


@dataclass(frozen=True, slots=True)
class BoardState:
    """A board's inputs after its polarity settings; ``items`` is ``None`` without IR sensors."""

    board: int
    closed: tuple[bool, ...]
    items: tuple[bool, ...] | None


@dataclass(frozen=True, slots=True)
class UnlockReport:
    board: int
    channel: int
    sent: bool
    acknowledged: bool = False
    closed: bool | None = None
    """The lock read back after the pulse: False open, True still closed, None unknown."""
    detail: str = ""


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    run: Callable[[], Any] = field(compare=False)
    future: Future[Any] = field(compare=False)


class BusClosed(BridgeError):
    """The bus was closed while a job waited."""


class Bus:
    """See the module docstring. A context manager; :meth:`close` is idempotent."""

    def __init__(
        self,
        url: str,
        protocol: str | Dialect,
        boards: Sequence[BoardSettings],
        baud: int | None = None,
        timing: BusTiming | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        on_written: Callable[[bytes, float], None] | None = None,
    ) -> None:
        self.url = url
        self.dialect = dialect_for(protocol) if isinstance(protocol, str) else protocol
        self.baud = baud or self.dialect.default_baud
        self.timing = timing or BusTiming()
        self.boards = {settings.address: settings for settings in boards}
        for address in self.boards:
            if address not in self.dialect.boards:
                raise ValueError(f"board {address} is not a valid {self.dialect.name} address")
        self._monotonic = monotonic
        self._on_written = on_written
        self._online = dict.fromkeys(self.boards, True)
        self._errors: dict[int, BridgeError] = {}
        self._next_probe = dict.fromkeys(self.boards, 0.0)
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._port: serial.Serial | None = None
        self._closed = threading.Event()
        self._gate = threading.Lock()
        """Makes "closed?" and "queue a job" one step, so no job is queued after the drain."""
        self._thread = threading.Thread(target=self._serve, name=f"bus {url}", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- public API (any thread)

    def open(self) -> None:
        """Open the port now (it is opened lazily otherwise); raises :class:`PortError`."""
        self._call(_STATUS_PRIORITY, self._ensure_open)

    def read_status(self, board: int) -> BoardState:
        """One board's inputs, with retries; raises :class:`BridgeError` if it cannot be read."""
        return self._call(_STATUS_PRIORITY, lambda: self._status_job(board))

    def sweep(self) -> dict[int, BoardState | BridgeError]:
        """Every board's inputs (or why not), in as few exchanges as the protocol allows."""
        return self._call(_STATUS_PRIORITY, self._sweep_job)

    def unlock(self, board: int, channel: int) -> UnlockReport:
        """Pulse one lock once and read back what happened (never raises for the hardware)."""
        self._check_channel(board, channel)
        try:
            return self._call(_UNLOCK_PRIORITY, lambda: self._unlock_job(board, channel))
        except BridgeError as err:
            return UnlockReport(board, channel, sent=False, detail=str(err))

    def online(self, board: int) -> bool:
        return self._online[board]

    def ping(self, timeout: float) -> bool:
        """Whether the owner thread runs a job within ``timeout`` s (the watchdog's question).

        The no-op waits behind at most the exchange in progress, so a False means the thread
        is stuck, not that a board is slow. It never touches the port.
        """
        future: Future[None] = Future()
        with self._gate:
            if self._closed.is_set():
                return False
            self._jobs.put(_Job(_UNLOCK_PRIORITY, next(self._seq), lambda: None, future))
        try:
            future.result(timeout)
        except (FutureTimeout, BusClosed):
            return False
        return True

    def close(self) -> None:
        with self._gate:
            if self._closed.is_set():
                return
            self._closed.set()
            self._jobs.put(_Job(-1, -1, lambda: None, Future()))
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- the bus thread

    def _call(self, priority: int, run: Callable[[], T]) -> T:
        future: Future[T] = Future()
        with self._gate:
            if self._closed.is_set():
                raise BusClosed(f"bus {self.url} is closed")
            self._jobs.put(_Job(priority, next(self._seq), run, future))
        return future.result()

    def _serve(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if self._closed.is_set():
                    job.future.set_exception(BusClosed(f"bus {self.url} is closed"))
                    break
                try:
                    job.future.set_result(job.run())
                except BaseException as err:  # handed to the caller's thread
                    job.future.set_exception(err)
        finally:
            self._drain()
            self._close_port()

    def _drain(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if not job.future.done():
                job.future.set_exception(BusClosed(f"bus {self.url} is closed"))

    def _ensure_open(self) -> serial.Serial:
        if self._port is not None:
            return self._port
        options: dict[str, Any] = {"baudrate": self.baud, "timeout": self.timing.timeout_s}
        if "://" not in self.url:
            options["exclusive"] = True
        try:
            self._port = serial.serial_for_url(self.url, **options)
        except (serial.SerialException, OSError, ValueError) as err:
            reason = err.args[-1] if err.args and isinstance(err.args[-1], str) else str(err)
            raise PortError(
                reason if self.url in reason else f"cannot open {self.url}: {reason}"
            ) from err
        return self._port

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    # ---------------------------------------------------------------- exchanges

    def _exchange(
        self,
        request: bytes,
        decoder: Decoder[Any],
        wanted: Callable[[object], bool],
        count: int,
        allowance: float,
    ) -> tuple[list[object], list[FrameError]]:
        """Flush, write ``request``, collect up to ``count`` wanted messages before the deadline."""
        port = self._ensure_open()
        writing = False
        try:
            port.reset_input_buffer()
            writing = True
            port.write(request)
            port.flush()
            written = self._monotonic()
            if self._on_written is not None:
                self._on_written(request, written)
            expected = self.dialect.reply_size(count)
            deadline = written + wire_time(expected, self.baud) + allowance
            got: list[object] = []
            errors: list[FrameError] = []
            while len(got) < count:
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    break
                port.timeout = remaining
                chunk = port.read(1)
                if not chunk:
                    break
                waiting = port.in_waiting
                if waiting:
                    chunk += port.read(waiting)
                self._sort(decoder.feed(chunk), wanted, got, errors)
            if len(got) < count:
                self._sort(decoder.end(), wanted, got, errors)
            if not got and not errors and decoder.skipped:
                errors.append(FrameError(f"{decoder.skipped} byte(s) of garbage, no valid frame"))
            return got, errors
        except (serial.SerialException, OSError) as err:
            self._close_port()
            raise PortError(f"{self.url}: {err}", request_sent=writing) from err

    @staticmethod
    def _sort(
        items: list[Any],
        wanted: Callable[[object], bool],
        got: list[object],
        errors: list[FrameError],
    ) -> None:
        for item in items:
            if isinstance(item, FrameError):
                errors.append(item)
            elif wanted(item):
                got.append(item)

    def _read_once(self, board: int) -> BoardState:
        got, errors = self._exchange(
            self.dialect.status_request(board),
            self.dialect.reply_decoder([board]),
            lambda message: self.dialect.status_of(message) is not None,
            1,
            self.timing.timeout_s,
        )
        if got:
            return self._state(self._raw(got[0]))
        if errors:
            raise errors[0]
        raise BoardTimeout(f"board {board} on {self.url} did not answer", board)

    def _status_job(self, board: int, retries: int | None = None) -> BoardState:
        attempts = 1 + (self.timing.retries if retries is None else retries)
        error: BridgeError = BoardTimeout(f"board {board} on {self.url} did not answer", board)
        for _ in range(attempts):
            try:
                state = self._read_once(board)
            except PortError:
                raise
            except BridgeError as err:
                error = err
                continue
            self._mark(board, None)
            return state
        self._mark(board, error)
        raise error

    def _sweep_job(
        self,
    ) -> dict[int, BoardState | BridgeError]:
        now = self._monotonic()
        results: dict[int, BoardState | BridgeError] = {}
        online = [board for board in self.boards if self._online[board]]
        try:
            for exchange in self.dialect.sweep(online) if online else []:
                got, _ = self._exchange(
                    exchange.request,
                    self.dialect.reply_decoder(sorted(exchange.boards)),
                    lambda message: self.dialect.status_of(message) is not None,
                    len(exchange.boards),
                    self.timing.timeout_s,
                )
                for message in got:
                    state = self._state(self._raw(message))
                    results[state.board] = state
                    self._mark(state.board, None)
            for board in self.boards:
                if board in results:
                    continue
                if self._online[board] or now >= self._next_probe[board]:
                    retries = None if self._online[board] else 0
                    try:
                        results[board] = self._status_job(board, retries)
                    except PortError:
                        raise
                    except BridgeError as err:
                        results[board] = err
                else:
                    results[board] = self._errors[board]
        except PortError as err:
            for board in self.boards:
                self._mark(board, err)
                results.setdefault(board, err)
        return results

    def _unlock_job(self, board: int, channel: int) -> UnlockReport:
        if not self._online[board]:
            try:
                self._status_job(board, retries=0)
            except BridgeError as err:
                return UnlockReport(
                    board, channel, sent=False, detail=f"board {board} offline: {err}"
                )
        request = self.dialect.unlock_request(board, channel)
        try:
            got, _ = self._exchange(
                request,
                self.dialect.reply_decoder([board]),
                lambda message: self.dialect.ack_of(message, board, channel) is not None,
                1,
                self.timing.ack_timeout_s,
            )
        except PortError as err:
            return UnlockReport(board, channel, sent=err.request_sent, detail=str(err))
        ack = self.dialect.ack_of(got[0], board, channel) if got else None
        settings = self.boards[board]
        if (
            ack is not None
            and ack.lock_bit is not None
            and ack.lock_bit != settings.closed_when_set
        ):
            return UnlockReport(board, channel, sent=True, acknowledged=True, closed=False)
        try:
            state = self._status_job(board)
        except BridgeError as err:
            return UnlockReport(
                board,
                channel,
                sent=True,
                acknowledged=ack is not None,
                detail=f"read-back failed: {err}",
            )
        return UnlockReport(
            board, channel, sent=True, acknowledged=ack is not None, closed=state.closed[channel]
        )

    # ---------------------------------------------------------------- helpers

    def _raw(self, message: object) -> RawStatus:
        raw = self.dialect.status_of(message)
        assert raw is not None
        return raw

    def _state(self, raw: RawStatus) -> BoardState:
        settings = self.boards[raw.board]
        closed = tuple(
            bool(raw.lock_bits >> channel & 1) == settings.closed_when_set
            for channel in range(settings.channels)
        )
        items = None
        if raw.item_bits is not None:
            items = tuple(
                bool(raw.item_bits >> channel & 1) == settings.item_when_set
                for channel in range(settings.channels)
            )
        return BoardState(raw.board, closed, items)

    def _mark(self, board: int, error: BridgeError | None) -> None:
        if error is None:
            self._online[board] = True
            self._errors.pop(board, None)
            return
        self._online[board] = False
        self._errors[board] = error
        self._next_probe[board] = self._monotonic() + self.timing.offline_poll_s

    def _check_channel(self, board: int, channel: int) -> None:
        settings = self.boards.get(board)
        if settings is None:
            raise KeyError(f"board {board} is not on bus {self.url}")
        if not 0 <= channel < settings.channels:
            raise KeyError(f"board {board} has no channel {channel}")


def states(results: Mapping[int, BoardState | BridgeError]) -> dict[int, BoardState]:
    """Only the boards that answered."""
    return {board: result for board, result in results.items() if isinstance(result, BoardState)}
