"""Both decoders on random bytes: no unexpected exception, no frame with a bad checksum accepted."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import cu16, xor8a
from firmware_bridge.errors import FrameError
from firmware_bridge.framing import Decoder

DECODERS: dict[str, Callable[[], Decoder[Any]]] = {
    "cu16 requests": lambda: cu16.decoder("requests"),
    "cu16 replies": lambda: cu16.decoder("replies", expect=[0, 1, 2]),
    "xor8a requests": lambda: xor8a.decoder("requests"),
    "xor8a replies": lambda: xor8a.decoder("replies", expect=[1, 2]),
}
CHECKSUMS = {"cu16": cu16.checksum, "xor8a": xor8a.checksum}

START_HEAVY = st.lists(
    st.one_of(
        st.sampled_from([0x02, 0x03, 0x80, 0x8A, 0x33, 0x11, 0x00, 0x35, 0x31]), st.integers(0, 255)
    ),
    max_size=80,
).map(bytes)


def _cuts(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in pairwise(edges)]


def _run(name: str, chunks: list[bytes]) -> list[object]:
    decoder = DECODERS[name]()
    results: list[object] = []
    for chunk in chunks:
        results += decoder.feed(chunk)
    results += decoder.end()
    assert decoder.pending == 0
    return results


def _accepted_frames_are_sound(name: str, data: bytes, results: list[object]) -> None:
    check = CHECKSUMS[name.split(maxsplit=1)[0]]
    for item in results:
        if isinstance(item, FrameError):
            continue
        frame = item.encode()  # type: ignore[attr-defined]
        assert frame in data, f"{item} was not in the input"
        assert frame[-1] == check(frame[:-1]), f"{item} accepted with a bad checksum"


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(DECODERS)), data=START_HEAVY, cuts=st.lists(st.integers(0, 80)))
def test_random_bytes_never_break_a_decoder(name: str, data: bytes, cuts: list[int]) -> None:
    results = _run(name, _cuts(data, cuts))
    _accepted_frames_are_sound(name, data, results)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    garbage=START_HEAVY,
    board=st.integers(0, 2),
    locks=st.integers(0, 0xFFFF),
    items=st.integers(0, 0xFFFF),
    cuts=st.lists(st.integers(0, 120)),
)
def test_a_cu16_reply_after_any_garbage_is_found(
    garbage: bytes, board: int, locks: int, items: int, cuts: list[int]
) -> None:
    reply = cu16.StatusReply(board, locks, items)
    data = garbage + reply.encode()
    results = _run("cu16 replies", _cuts(data, cuts))
    _accepted_frames_are_sound("cu16 replies", data, results)
    assert reply in results


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    garbage=START_HEAVY,
    board=st.integers(1, 2),
    status=st.binary(min_size=1, max_size=3).filter(lambda b: 0x33 not in b),
    cuts=st.lists(st.integers(0, 120)),
)
def test_an_xor8a_reply_after_any_garbage_is_found(
    garbage: bytes, board: int, status: bytes, cuts: list[int]
) -> None:
    reply = xor8a.StatusReply(board, status)
    data = garbage + reply.encode()
    results = _run("xor8a replies", _cuts(data, cuts))
    _accepted_frames_are_sound("xor8a replies", data, results)
    assert results[-1] == reply or reply in results


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(DECODERS)), data=START_HEAVY, flip=st.integers(1, 255))
def test_a_damaged_last_byte_is_never_accepted(name: str, data: bytes, flip: int) -> None:
    frame = {
        "cu16 requests": cu16.unlock_request(0, 3).encode(),
        "cu16 replies": cu16.StatusReply(1, 0x1234, 0x0F0F).encode(),
        "xor8a requests": xor8a.UnlockRequest(1, 4).encode(),
        "xor8a replies": xor8a.StatusReply(2, b"\x01\x02").encode(),
    }[name]
    damaged = frame[:-1] + bytes([frame[-1] ^ flip])
    results = _run(name, [data + damaged])
    _accepted_frames_are_sound(name, data + damaged, results)
