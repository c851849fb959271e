"""pyzbar on one 640×480 camera frame: the raw decode of a grey image (QR only, and every
symbology for comparison), and what ``POST /api/v1/scan`` does per frame (JPEG decode, grey,
decode) with and without a code in view — most frames a camera sends have none.
Target: QR-only p99 ≤ 20 ms.
"""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode

from benchmarks.harness import Benchmark, Figure, latency_figures, timed
from kiosk.api.pickup import decode_frame
from locker import codes

WIDTH, HEIGHT = 640, 480
TARGET_P99_MS = 20.0


def camera_frame(payload: str | None, quality: int = 85) -> bytes:
    """A grey 640×480 JPEG, as the kiosk page sends, with the QR of ``payload`` if given."""
    frame = Image.new("L", (WIDTH, HEIGHT), 200)
    if payload is not None:
        qr = qrcode.make(payload, box_size=8, border=4).get_image().convert("L")
        frame.paste(qr, ((WIDTH - qr.width) // 2, (HEIGHT - qr.height) // 2))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=quality)
    return out.getvalue()


def run(samples: int) -> list[Figure]:
    with_code = camera_frame(codes.qr_payload("bench", codes.new_code()))
    without = camera_frame(None)
    grey = Image.open(io.BytesIO(with_code)).convert("L")
    if not decode(grey, symbols=[ZBarSymbol.QRCODE]) or not decode_frame(with_code):
        raise RuntimeError("the QR code in the benchmark's frame was not found")
    figures = latency_figures(
        "qr_only",
        "pyzbar 640x480, QR only",
        timed(lambda: decode(grey, symbols=[ZBarSymbol.QRCODE]), samples),
        target_p99_ms=TARGET_P99_MS,
    )
    figures += latency_figures(
        "all_symbologies", "pyzbar 640x480, all symbologies", timed(lambda: decode(grey), samples)
    )
    figures += latency_figures(
        "scan_with_code",
        "scan work per frame (JPEG+grey+decode), code",
        timed(lambda: decode_frame(with_code), samples),
    )
    figures += latency_figures(
        "scan_no_code",
        "scan work per frame, no code in view",
        timed(lambda: decode_frame(without), samples),
    )
    figures.append(Figure("frame_bytes", len(with_code), "B", "camera frame (JPEG) size"))
    return figures


BENCHMARK = Benchmark(
    title="QR decoding of a 640x480 camera frame",
    run=run,
    full={"samples": 100},
    smoke={"samples": 1},
)
