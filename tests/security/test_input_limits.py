"""Findings 3, 4 and 7: no input takes the controller down.

3. ``/api/v1/scan`` reads the image size from the header and refuses a bomb before decoding,
   takes JPEG and PNG only, and decodes a bounded number of frames at once.
4. Every route limits its body before reading it (413 ``body_too_large``).
7. Integers in queries and paths are bounded at validation (422, not a 500).
"""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import pytest
from PIL import Image

from kiosk.api import pickup as pickup_api
from kiosk.body_limit import DEFAULT_LIMIT

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` (a 20000×20000 bomb compresses to
    almost nothing; its header is all the refusal needs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)  # a few rows; the rest never gets read
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def image_bytes(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 255).save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize("side", [12_000, 20_000])
def test_a_decompression_bomb_is_refused_before_decoding(stack, side):
    answer = stack.client.post(
        "/api/v1/scan", content=png_header_only(side, side), headers={"Content-Type": "image/png"}
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "image_too_large"
    assert "more than 8,294,400 pixels" in answer.json()["detail"]


@pytest.mark.parametrize("kind", ["GIF", "TIFF", "BMP"])
def test_only_jpeg_and_png_are_frames(stack, kind):
    answer = stack.client.post("/api/v1/scan", content=image_bytes(kind))
    assert answer.status_code == 400 and answer.json()["error"] == "not_an_image"


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_plain_frames_still_decode(stack, kind):
    answer = stack.client.post("/api/v1/scan", content=image_bytes(kind))
    assert answer.status_code == 200 and answer.json() == {"codes": []}


def test_a_truncated_frame_is_a_400_in_json(stack):
    frame = image_bytes("PNG", (640, 480))
    answer = stack.client.post("/api/v1/scan", content=frame[: len(frame) // 2])
    assert answer.status_code == 400 and answer.json()["error"] == "not_an_image"


def test_decodes_at_once_are_capped_with_a_json_503(stack, monkeypatch):
    """While every decoder is busy, a further frame is refused at once (the camera sends the
    next one), not queued in memory."""
    semaphore = asyncio.Semaphore(0)  # every decoder taken
    monkeypatch.setattr(stack.client.app.state, "decoding", semaphore)
    answer = stack.client.post("/api/v1/scan", content=image_bytes("PNG"))
    assert answer.status_code == 503 and answer.json()["error"] == "scanner_busy"


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/v1/pickup", DEFAULT_LIMIT),
        ("/api/v1/session", DEFAULT_LIMIT),
        ("/api/v1/deliveries", DEFAULT_LIMIT),
        ("/api/v1/scan", pickup_api.MAX_FRAME_BYTES),
        ("/api/v1/notifications/twilio-status", DEFAULT_LIMIT),
    ],
)
def test_bodies_are_limited_per_route_before_reading(stack, path, limit):

    def chunked():
        """A body without a declared length: only reading it finds its size."""
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    answer = stack.client.post(path, content=chunked())
    assert answer.status_code == 413 and answer.json()["error"] == "body_too_large"
    declared = stack.client.post(
        path, content=b"x" * (limit + 1), headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and declared.json()["error"] == "body_too_large"


def test_the_import_has_its_own_larger_limit(stack):
    limit = stack.controller.running.settings.api.import_max_bytes
    answer = stack.client.post(
        "/api/v1/deliveries/import",
        content=b"x" * (limit + 1),
        headers={**stack.as_role("clerk"), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 413 and answer.json()["error"] == "body_too_large"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/deliveries?offset=9223372036854775808",
        "/api/v1/deliveries?offset=99999999999999999999999",
        "/api/v1/deliveries?limit=9223372036854775808",
        "/api/v1/events?after=9223372036854775808",
        "/api/v1/events?after=-1",
        "/api/v1/webhooks/x/messages?limit=18446744073709551616",
    ],
)
def test_huge_integers_are_422_naming_the_parameter(stack, path):
    answer = stack.client.get(path, headers=stack.as_role("all"))
    assert answer.status_code == 422, answer.text
    name = path.split("?")[1].split("=")[0]
    assert answer.json()["error"] == "validation_error" and answer.json()["field"] == name


def test_a_huge_path_id_is_422(stack):
    answer = stack.client.post(
        "/api/v1/webhooks/messages/9223372036854775808/redeliver", headers=stack.as_role("all")
    )
    assert answer.status_code == 422 and answer.json()["error"] == "validation_error"
