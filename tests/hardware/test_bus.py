"""The bus over a real pty against the virtual boards: exchanges, retries, faults, offline."""

from __future__ import annotations

import os
import select
import socket
import threading
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from firmware_bridge.bus import Bus, BusTiming, dialect_for
from firmware_bridge.errors import BoardTimeout, BridgeError, FrameError, PortError
from hardware.serial_bank import outcome_of
from locker.ports import UnlockOutcome
from simulator.virtual_hardware import VirtualHardware

from .support import WAIT, serial_layout

PROTOCOLS = ["cu16", "xor8a"]


@contextmanager
def bus_on_sim(protocol: str, **layout: object) -> Iterator[tuple[Bus, VirtualHardware, list[int]]]:
    config_layout = serial_layout(protocol, **layout)  # type: ignore[arg-type]
    config = config_layout.buses["bus"]
    with (
        VirtualHardware(config_layout, latency_ms=1) as sim,
        Bus(
            sim.ports["bus"], dialect_for(protocol), config.boards, config.baud, config.timing
        ) as bus,
    ):
        yield bus, sim, [board.address for board in config.boards]


def requests_seen(sim: VirtualHardware) -> list[bytes]:
    seen: list[bytes] = []
    sim.buses["bus"].observers.append(lambda frame, _: seen.append(frame))
    return seen


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_status_reads_locks_and_items(protocol: str) -> None:
    with bus_on_sim(protocol) as (bus, sim, boards):
        sim.put_item("B02")
        sim.force_door("B03")
        state = bus.read_status(boards[1])
        assert state.board == boards[1]
        assert state.closed[:4] == (True, True, False, True)
        if protocol == "cu16":
            assert state.items is not None
            assert state.items[:4] == (False, True, False, False)
        else:
            assert state.items is None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unlock_pulses_once_and_reads_back_open(protocol: str) -> None:
    with bus_on_sim(protocol) as (bus, sim, boards):
        report = bus.unlock(boards[0], 2)
        assert (report.sent, report.acknowledged, report.closed) == (True, True, False)
        assert outcome_of(report) == UnlockOutcome.UNLOCKED
        assert sim.pulses("A03") == 1
        assert sim.door_open("A03")
        assert bus.read_status(boards[0]).closed[2] is False


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_jammed_lock_stays_locked(protocol: str) -> None:
    with bus_on_sim(protocol) as (bus, sim, boards):
        sim.jam("A01")
        report = bus.unlock(boards[0], 0)
        assert outcome_of(report) == UnlockOutcome.STAYED_LOCKED
        assert sim.pulses("A01") == 1


def test_cu16_sweep_reads_every_board_with_one_request() -> None:
    with bus_on_sim("cu16", boards=(0, 1, 2, 3)) as (bus, sim, boards):
        seen = requests_seen(sim)
        results = bus.sweep()
        assert sorted(results) == boards
        assert all(not isinstance(result, BridgeError) for result in results.values())
        assert seen == [bytes.fromhex("02 F0 32 03 27")]


def test_xor8a_sweep_asks_each_board() -> None:
    with bus_on_sim("xor8a", boards=(1, 2, 3)) as (bus, sim, _):
        seen = requests_seen(sim)
        assert all(not isinstance(r, BridgeError) for r in bus.sweep().values())
        assert seen == [
            bytes.fromhex(f"80 0{b} 00 33") + bytes([0x80 ^ b ^ 0x33]) for b in (1, 2, 3)
        ]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stale_input_is_flushed_before_a_request(protocol: str) -> None:
    with bus_on_sim(protocol) as (bus, sim, boards):
        stale = dialect_for(protocol).status_request(boards[1])  # not even a reply: junk
        sim.noise(b"\x02\x00\x35\xff\xff\x00\x00\x03\x38" + stale + b"\x55" * 20)
        assert bus.read_status(boards[0]).closed[0] is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_board_offline_and_polled_back_in(protocol: str) -> None:
    with bus_on_sim(protocol, offline_poll_ms=50) as (bus, sim, boards):
        sim.board_offline(boards[1])
        results = bus.sweep()
        assert isinstance(results[boards[1]], BoardTimeout)
        assert not isinstance(results[boards[0]], BridgeError)
        assert not bus.online(boards[1])
        report = bus.unlock(boards[1], 0)
        assert outcome_of(report) == UnlockOutcome.NOT_SENT
        assert sim.pulses("B01") == 0
        sim.board_online(boards[1])
        came_back = threading.Event()
        deadline = threading.Timer(WAIT, came_back.set)
        deadline.start()
        try:
            while not came_back.is_set():
                if not isinstance(bus.sweep()[boards[1]], BridgeError):
                    break
            assert bus.online(boards[1])
        finally:
            deadline.cancel()
            deadline.join()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_corrupted_replies_are_retried(protocol: str) -> None:
    with bus_on_sim(protocol, retries=6) as (bus, sim, boards):
        sim.corrupt_replies(0.5)
        for _ in range(5):
            assert bus.read_status(boards[0]).closed[0] is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_replies_that_are_always_garbage_raise_a_frame_error(protocol: str) -> None:
    with bus_on_sim(protocol, retries=1) as (bus, sim, boards):
        sim.corrupt_replies(1.0)
        with pytest.raises(FrameError):
            bus.read_status(boards[0])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_slow_replies_within_the_timeout_are_read(protocol: str) -> None:
    with bus_on_sim(protocol, timeout_ms=150) as (bus, sim, boards):
        sim.slow_replies(40)
        assert bus.read_status(boards[0]).closed[0] is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_replies_slower_than_the_timeout_time_out(protocol: str) -> None:
    with bus_on_sim(protocol, timeout_ms=30, retries=0) as (bus, sim, boards):
        sim.slow_replies(150)
        with pytest.raises(BoardTimeout):
            bus.read_status(boards[0])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unlock_whose_reply_is_lost_is_settled_by_a_status_read(protocol: str) -> None:
    with bus_on_sim(protocol) as (bus, sim, boards):
        seen = requests_seen(sim)
        sim.lose_replies(boards[0], 1)
        report = bus.unlock(boards[0], 1)
        assert (report.sent, report.acknowledged, report.closed) == (True, False, False)
        assert outcome_of(report) == UnlockOutcome.UNLOCKED
        assert sim.pulses("A02") == 1
        unlock = dialect_for(protocol).unlock_request(boards[0], 1)
        assert seen.count(unlock) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unlock_with_no_reply_at_all_is_uncertain_and_never_resent(protocol: str) -> None:
    with bus_on_sim(protocol, retries=2) as (bus, sim, boards):
        seen = requests_seen(sim)
        sim.silence()
        report = bus.unlock(boards[0], 1)
        assert report.sent
        assert report.closed is None
        assert outcome_of(report) == UnlockOutcome.UNCERTAIN
        sim.silence(False)
        assert bus.read_status(boards[0]).closed[1] is False
        assert sim.pulses("A02") == 1
        assert seen.count(dialect_for(protocol).unlock_request(boards[0], 1)) == 1


def test_missing_port_is_a_port_error_and_nothing_is_sent(tmp_path: Path) -> None:
    layout = serial_layout("cu16")
    config = layout.buses["bus"]
    with Bus(str(tmp_path / "ttyNONE"), "cu16", config.boards, timing=BusTiming()) as bus:
        with pytest.raises(PortError, match="ttyNONE"):
            bus.open()
        with pytest.raises(PortError):
            bus.read_status(0)
        assert outcome_of(bus.unlock(0, 0)) == UnlockOutcome.NOT_SENT
        assert all(isinstance(r, PortError) for r in bus.sweep().values())


def test_spy_url_works_and_logs_the_traffic(tmp_path: Path) -> None:
    layout = serial_layout("cu16")
    config = layout.buses["bus"]
    log = tmp_path / "spy.txt"
    with VirtualHardware(layout, latency_ms=1) as sim:
        url = f"spy://{sim.ports['bus']}?file={log}"
        with Bus(url, "cu16", config.boards, timing=config.timing) as bus:
            assert bus.read_status(0).closed[0] is True
    assert "02 00 30 03 35" in log.read_text()


def test_many_threads_share_one_bus() -> None:
    with bus_on_sim("cu16") as (bus, sim, boards):
        errors: list[BaseException] = []

        def work(board: int) -> None:
            try:
                for _ in range(5):
                    assert bus.read_status(board).board == board
            except BaseException as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(boards[i % 2],)) for i in range(4)]
        for thread in threads:
            thread.start()
        report = bus.unlock(boards[0], 3)
        for thread in threads:
            thread.join(WAIT)
        assert not errors
        assert outcome_of(report) == UnlockOutcome.UNLOCKED
        assert sim.pulses("A04") == 1


def test_close_is_idempotent_and_later_calls_fail_cleanly() -> None:
    with bus_on_sim("cu16") as (bus, _, _):
        bus.close()
        bus.close()
        with pytest.raises(BridgeError):
            bus.read_status(0)
        assert outcome_of(bus.unlock(0, 0)) == UnlockOutcome.NOT_SENT


def test_socket_url_reaches_boards_behind_a_tcp_converter() -> None:
    """``socket://`` as for an RS-485-to-Ethernet converter: a TCP port relaying to the line."""
    layout = serial_layout("cu16")
    config = layout.buses["bus"]
    with (
        VirtualHardware(layout, latency_ms=1) as sim,
        socket.create_server(("127.0.0.1", 0)) as server,
    ):
        line = os.open(sim.ports["bus"], os.O_RDWR | os.O_NOCTTY)
        tty.setraw(line)
        stop = threading.Event()

        def relay() -> None:
            connection, _ = server.accept()
            with connection:
                while not stop.is_set():
                    ready, _, _ = select.select([connection, line], [], [], 0.05)
                    if connection in ready:
                        data = connection.recv(4096)
                        if not data:
                            return
                        os.write(line, data)
                    if line in ready:
                        connection.sendall(os.read(line, 4096))

        converter = threading.Thread(target=relay)
        converter.start()
        try:
            url = f"socket://127.0.0.1:{server.getsockname()[1]}"
            with Bus(url, "cu16", config.boards, timing=config.timing) as bus:
                assert bus.read_status(1).closed[0] is True
                assert outcome_of(bus.unlock(1, 2)) == UnlockOutcome.UNLOCKED
            assert sim.pulses("B03") == 1
        finally:
            stop.set()
            converter.join(WAIT)
            os.close(line)
