"""A camera frame to an open lock: a 640×480 JPEG with the QR code posted to ``/api/v1/scan``
→ code decoded → ``/api/v1/pickup`` accepted → last byte of the unlock frame on the wire; and
the two HTTP calls on their own. ``locker serve`` in its own process on the demo's serial
boards (:mod:`benchmarks.served`), its camera frame limit set for the run
(``[kiosk] camera_frames_per_s``; a real camera sends about 3 a second).
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.harness import Benchmark, Figure, latency_figures
from benchmarks.qr_decode import camera_frame
from benchmarks.served import Stored, served
from locker import codes

SERVED: dict[str, Any] = {"settings": {"kiosk": {"camera_frames_per_s": 1000}}}
"""The :func:`~benchmarks.served.served` options: the camera frame limit raised for the run."""


def run(samples: int) -> list[Figure]:
    total: list[float] = []
    scans: list[float] = []
    pickups: list[float] = []
    with served(**SERVED) as server:
        kiosk = server.kiosk

        def by_camera(one: Stored) -> str:
            frame = camera_frame(codes.qr_payload("bench", one.code))

            def ask() -> str:
                started = time.monotonic()
                found = kiosk.citizen.post("/api/v1/scan", frame, "image/jpeg")["codes"]
                scanned = time.monotonic()
                label = kiosk.pickup(found[0])
                scans.append(scanned - started)
                pickups.append(time.monotonic() - scanned)
                return label

            label, seconds = kiosk.to_the_wire(ask)
            total.append(seconds)
            return label

        kiosk.cycles(samples, by_camera)
    return [
        *latency_figures("frame_to_unlock", "camera frame -> unlock frame on the wire", total),
        *latency_figures("scan_request", "POST /api/v1/scan (frame -> code)", scans),
        *latency_figures("pickup_request", "POST /api/v1/pickup (code -> 200)", pickups),
    ]


BENCHMARK = Benchmark(
    title="pickup by camera over HTTP (locker serve, demo bank's boards)",
    run=run,
    full={"samples": 40},
    smoke={"samples": 1},
)
