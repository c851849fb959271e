"""``locker hw status|unlock`` and ``locker sim boards``: in-process and across processes."""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware import cli as hw_cli
from simulator import cli as sim_cli
from simulator.virtual_hardware import VirtualHardware

from .support import WAIT, serial_layout

LOCKER = Path(sys.executable).with_name("locker")


def locker(*argv: str) -> subprocess.CompletedProcess[str]:
    """The real console script in a process of its own."""
    return subprocess.run(
        [str(LOCKER), *argv], capture_output=True, text=True, timeout=30, check=False
    )


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="locker")
    commands = parser.add_subparsers(dest="command", required=True)
    hw_cli.register(commands)
    sim_cli.register(commands)
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture(params=["cu16", "xor8a"])
def boards(request: pytest.FixtureRequest) -> Iterator[tuple[VirtualHardware, str, list[str]]]:
    protocol = request.param
    with VirtualHardware(serial_layout(protocol), latency_ms=1) as sim:
        first = str(sim.layout.buses["bus"].boards[0].address)
        yield sim, protocol, ["--port", sim.ports["bus"], "--protocol", protocol, "--board", first]


def test_hw_status_prints_every_channel(
    boards: tuple[VirtualHardware, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, protocol, options = boards
    sim.force_door("A02")
    sim.put_item("A03")
    channels = "16" if protocol == "cu16" else "8"
    assert run(["hw", "status", *options, "--channels", channels]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["board"] == int(options[-1])
    assert [c["channel"] for c in out["channels"]] == list(range(int(channels)))
    assert [c["closed"] for c in out["channels"][:3]] == [True, False, True]
    assert out["channels"][2]["item"] is (True if protocol == "cu16" else None)


def test_hw_unlock_pulses_and_confirms(
    boards: tuple[VirtualHardware, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, _, options = boards
    assert run(["hw", "unlock", *options, "--channel", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["channel"], out["outcome"], out["closed"]) == (1, "unlocked", False)
    assert sim.pulses("A02") == 1


def test_hw_unlock_of_a_jammed_lock_fails_plainly(
    boards: tuple[VirtualHardware, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, _, options = boards
    sim.jam("A01")
    assert run(["hw", "unlock", *options, "--channel", "0"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["outcome"] == "stayed_locked"
    assert captured.err.count("\n") == 1
    assert "still reads closed" in captured.err


def test_hw_status_when_the_board_does_not_answer(
    boards: tuple[VirtualHardware, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, _, options = boards
    sim.board_offline(int(options[-1]))
    assert run(["hw", "status", *options, "--timeout-ms", "50"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("locker hw: board ")
    assert "did not answer" in captured.err
    assert captured.err.count("\n") == 1


def test_hw_status_when_the_reply_is_garbage(
    boards: tuple[VirtualHardware, str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, _, options = boards
    sim.corrupt_replies(1.0)
    assert run(["hw", "status", *options, "--timeout-ms", "50"]) == 1
    err = capsys.readouterr().err
    assert "not valid" in err
    assert err.count("\n") == 1


def test_hw_when_the_port_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(tmp_path / "ttyUSB9")
    assert run(["hw", "status", "--port", port, "--board", "0"]) == 1
    assert run(["hw", "unlock", "--port", port, "--board", "0", "--channel", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("could not open port") == 2
    assert captured.err.count("\n") == 2


def test_hw_rejects_an_address_the_protocol_does_not_have(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["hw", "status", "--port", "/dev/null", "--protocol", "xor8a", "--board", "0"]) == 1
    assert "not a xor8a address" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["cu16", "xor8a"])
def test_locker_hw_against_locker_sim_boards_in_another_process(
    protocol: str, tmp_path: Path
) -> None:
    link = tmp_path / "bus"
    command = [
        str(LOCKER),
        "sim",
        "boards",
        "--link",
        str(link),
        "--boards",
        "2",
        "--protocol",
        protocol,
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as sim:
        try:
            assert sim.stdout is not None
            ready, _, _ = select.select([sim.stdout], [], [], 20)
            assert ready, "locker sim boards did not start"
            assert str(link) in sim.stdout.readline()
            assert link.is_symlink()
            board = "1" if protocol == "cu16" else "2"
            port = ["--port", str(link), "--protocol", protocol, "--board", board]

            status = locker("hw", "status", *port)
            assert status.returncode == 0, status.stderr
            assert all(c["closed"] for c in json.loads(status.stdout)["channels"])

            unlock = locker("hw", "unlock", *port, "--channel", "5")
            assert unlock.returncode == 0, unlock.stderr
            assert json.loads(unlock.stdout)["outcome"] == "unlocked"

            closed = [
                c["closed"] for c in json.loads(locker("hw", "status", *port).stdout)["channels"]
            ]
            assert closed.count(False) == 1
            assert closed[5] is False

            silent = locker("hw", "status", *port[:-1], "9", "--timeout-ms", "50")
            assert silent.returncode == 1
            assert "did not answer" in silent.stderr
        finally:
            sim.send_signal(signal.SIGTERM)
            assert sim.wait(WAIT * 4) == 0
    assert not os.path.lexists(link)
