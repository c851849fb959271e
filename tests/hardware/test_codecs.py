"""The byte examples of shared/PROTOCOLS.md, fed whole, split anywhere and byte by byte."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from firmware_bridge import cu16, xor8a
from firmware_bridge.errors import AddressError, ChecksumError, FrameError, TruncatedFrame
from firmware_bridge.framing import Decoder, decode_one

DecoderFactory = Callable[..., Decoder[Any]]

# (name, decoder factory, bytes as written in PROTOCOLS.md, the message they mean)
VECTORS: list[tuple[str, DecoderFactory, str, object]] = [
    ("cu16 unlock b0 ch0", lambda **kw: cu16.decoder("requests", **kw), "02 00 31 03 36",
     cu16.Request(cu16.Command.UNLOCK, 0, 0)),
    ("cu16 unlock b0 ch15", lambda **kw: cu16.decoder("requests", **kw), "02 0F 31 03 45",
     cu16.Request(cu16.Command.UNLOCK, 0, 15)),
    ("cu16 unlock b1 ch0", lambda **kw: cu16.decoder("requests", **kw), "02 10 31 03 46",
     cu16.Request(cu16.Command.UNLOCK, 1, 0)),
    ("cu16 status b0", lambda **kw: cu16.decoder("requests", **kw), "02 00 30 03 35",
     cu16.Request(cu16.Command.STATUS, 0, 0)),
    ("cu16 status all", lambda **kw: cu16.decoder("requests", **kw), "02 F0 32 03 27",
     cu16.Request(cu16.Command.STATUS_ALL, 15, 0)),
    ("cu16 reply b0 closed", lambda **kw: cu16.decoder("replies", **kw),
     "02 00 35 FF FF 00 00 03 38", cu16.StatusReply(0, 0xFFFF, 0)),
    ("8a unlock b1 ch1", lambda **kw: xor8a.decoder("requests", **kw), "8A 01 01 11 9B",
     xor8a.UnlockRequest(1, 1)),
    ("8a ack b1 ch1", lambda **kw: xor8a.decoder("replies", **kw), "8A 01 01 00 8A",
     xor8a.UnlockAck(1, 1, 0x00)),
    ("80 query b1", lambda **kw: xor8a.decoder("requests", **kw), "80 01 00 33 B2",
     xor8a.StatusRequest(1)),
    ("80 reply b1 ch1", lambda **kw: xor8a.decoder("replies", **kw), "80 01 00 01 33 B3",
     xor8a.StatusReply(1, b"\x00\x01")),
]  # fmt: skip
IDS = [vector[0] for vector in VECTORS]


def feed_all(decoder: Decoder[Any], *chunks: bytes) -> list[object]:
    out: list[object] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_vector_fed_whole(name: str, make: DecoderFactory, text: str, message: object) -> None:
    data = bytes.fromhex(text)
    decoder = make()
    assert decoder.feed(data) == [message]
    assert decoder.pending == 0
    assert decoder.end() == []


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_vector_split_in_two_at_every_point(
    name: str, make: DecoderFactory, text: str, message: object
) -> None:
    data = bytes.fromhex(text)
    for cut in range(1, len(data)):
        assert feed_all(make(), data[:cut], data[cut:]) == [message], f"cut at {cut}"


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_vector_one_byte_at_a_time(
    name: str, make: DecoderFactory, text: str, message: object
) -> None:
    data = bytes.fromhex(text)
    decoder = make()
    assert feed_all(decoder, *(data[i : i + 1] for i in range(len(data)))) == [message]


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_vector_encodes_to_the_documented_bytes(
    name: str, make: DecoderFactory, text: str, message: object
) -> None:
    assert message.encode() == bytes.fromhex(text)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_garbage_before_a_frame_is_skipped(
    name: str, make: DecoderFactory, text: str, message: object
) -> None:
    data = bytes.fromhex(text)
    garbage = bytes([0xFF, 0x00, 0x03, 0x55, data[0], 0x99])
    decoder = make()
    assert decoder.feed(garbage + data) == [message]
    assert decoder.skipped >= len(garbage) - 1
    assert feed_all(make(), *(bytes([b]) for b in garbage + data)) == [message]


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_broken_checksum_is_a_checksum_error(
    name: str, make: DecoderFactory, text: str, message: object
) -> None:
    data = bytearray(bytes.fromhex(text))
    data[-1] ^= 0x01
    decoder = make()
    results = decoder.feed(bytes(data)) + decoder.end()
    assert [type(r) for r in results] == [ChecksumError]
    with pytest.raises(ChecksumError):
        decode_one(make(), bytes(data))


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_a_good_frame_after_a_broken_one_is_still_read(
    name: str, make: DecoderFactory, text: str, message: object
) -> None:
    data = bytes.fromhex(text)
    broken = data[:-1] + bytes([data[-1] ^ 0x40])
    results = feed_all(make(), broken, data)
    assert results[-1] == message
    assert all(isinstance(r, FrameError) for r in results[:-1])


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_frame_from_another_board_is_an_address_error(
    name: str, make: DecoderFactory, text: str, message: object
) -> None:
    board = message.board  # type: ignore[attr-defined]
    results = make(expect=[board + 1]).feed(bytes.fromhex(text))
    assert len(results) == 1
    assert isinstance(results[0], AddressError)
    assert results[0].board == board
    assert make(expect=[board]).feed(bytes.fromhex(text)) == [message]


@pytest.mark.parametrize(("name", "make", "text", "message"), VECTORS, ids=IDS)
def test_truncated_frame_is_reported_when_the_line_goes_quiet(
    name: str, make: DecoderFactory, text: str, message: object
) -> None:
    data = bytes.fromhex(text)
    for cut in range(1, len(data)):
        decoder = make()
        assert decoder.feed(data[:cut]) == []
        results = decoder.end()
        assert [type(r) for r in results] == [TruncatedFrame], f"cut at {cut}"
        with pytest.raises(TruncatedFrame):
            decode_one(make(), data[:cut])


def test_two_frames_in_one_read_come_out_in_order() -> None:
    first = bytes.fromhex("02 00 35 FF FF 00 00 03 38")
    second = cu16.StatusReply(1, 0x00F0, 0x0001, all_boards=True).encode()
    assert cu16.decoder("replies").feed(first + second) == [
        cu16.StatusReply(0, 0xFFFF, 0),
        cu16.StatusReply(1, 0x00F0, 0x0001, all_boards=True),
    ]


def test_cu16_checksum_is_the_low_byte_of_the_sum() -> None:
    assert cu16.checksum(bytes.fromhex("02 F0 32 03")) == 0x27
    assert cu16.status_all_request().encode() == bytes.fromhex("02 F0 32 03 27")
    assert cu16.unlock_request(1, 0).encode() == bytes.fromhex("02 10 31 03 46")


def test_cu16_status_bits_map_channel_zero_to_bit_zero_of_the_first_byte() -> None:
    reply = decode_one(cu16.decoder("replies"), cu16.StatusReply(2, 0b1 | 1 << 9, 1 << 15).encode())
    assert isinstance(reply, cu16.StatusReply)
    assert reply.board == 2
    assert reply.encode()[3:7] == bytes([0x01, 0x02, 0x00, 0x80])


def test_xor8a_last_status_byte_holds_channels_one_to_eight() -> None:
    reply = xor8a.StatusReply(1, bytes([0x00, 0x02, 0x01]))  # 3 bytes from an 8-channel board
    assert reply.bits == 0x0201
    assert reply.encode() == bytes.fromhex("80 01 00 02 01 33") + bytes(
        [xor8a.checksum(bytes.fromhex("80 01 00 02 01 33"))]
    )
    assert xor8a.decoder("replies").feed(reply.encode()) == [reply]


def test_xor8a_reply_length_can_be_pinned_per_board() -> None:
    # a status byte that happens to look like the end of a shorter frame
    reply = xor8a.StatusReply(1, bytes([0x33, 0x33 ^ 0x80 ^ 0x01 ^ 0x33, 0x01]))
    assert xor8a.decoder("replies", status_bytes=3).feed(reply.encode()) == [reply]


def test_xor8a_unlock_channel_is_counted_from_one_on_the_wire() -> None:
    assert xor8a.Xor8aDialect().unlock_request(1, 0) == bytes.fromhex("8A 01 01 11 9B")
