"""A citizen's pickup while the controller is flooded with hostile requests (issue 11).

``locker serve`` in its own process on the demo's serial bank (:mod:`benchmarks.served`). The
citizen's ``POST /api/v1/pickup`` (valid code -> 200) is timed on a quiet controller, then
again while ``clients`` threads send, for ``flood_s`` seconds, what an attacker on a kiosk
would: decompression-bomb PNGs (12000×12000 pixels in a few hundred KB) to ``/api/v1/scan``,
wrong codes to ``/api/v1/pickup`` and bodies of ``oversized_mb`` MB to ``/api/v1/pickup``.
Every answer's status is counted; the controller's RSS is sampled throughout the flood.
Targets: pickup p50 under the flood ≤ 3× quiet, peak RSS ≤ 250 MB, no 5xx.

Why the flood comes from another kiosk: wrong codes put *their* kiosk into back-off, and a
kiosk in back-off refuses every code, valid or not, until the wait is over
(:mod:`locker.guessing`, :mod:`locker.services.pickup`). Flooding from the citizen's own
kiosk would measure 429s, not latency. So the benchmark configures two kiosks
(``security.kiosk_addresses`` = 127.0.0.1 and 127.0.0.2): the citizen at 127.0.0.1, the
flood from sockets bound to 127.0.0.2 (both are loopback on Linux). That is the real threat
of a city with several touchscreens, one of them abused.
"""

from __future__ import annotations

import functools
import http.client
import io
import itertools
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Benchmark, Figure, Target, latency_figures, percentiles, rss_mb
from benchmarks.served import Kiosk, Stored, served
from locker.codes import ALPHABET, CODE_LENGTH

CITIZEN = "127.0.0.1"
FLOODER = "127.0.0.2"
SERVED: dict[str, Any] = {"settings": {"security": {"kiosk_addresses": [CITIZEN, FLOODER]}}}
"""The :func:`~benchmarks.served.served` options: the flooder is a kiosk address too."""
BOMB_SIDE = 12_000
STATUSES = ("403", "404", "413", "429", "503", "other_4xx", "5xx", "closed")
"""How the flood's requests ended; ``closed``: the controller closed the connection before
answering (it refuses an oversized body without reading it)."""


@functools.cache
def bomb_png() -> bytes:
    """A 12000×12000 greyscale PNG: a few hundred KB on the wire, 144 MB once decoded."""
    from PIL import Image  # noqa: PLC0415 (only this benchmark needs Pillow here)

    out = io.BytesIO()
    Image.new("L", (BOMB_SIDE, BOMB_SIDE)).save(out, "PNG", optimize=True)
    return out.getvalue()


def guess() -> bytes:
    """A well-formed code drawn at random: a real guess, counted by the kiosk's back-off (a
    malformed one is refused by its form and counts for nothing)."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return json.dumps({"code": code}).encode()


class Flood:
    """``clients`` threads sending hostile requests from :data:`FLOODER` until stopped."""

    def __init__(self, port: int, clients: int, oversized_mb: float) -> None:
        self.port = port
        self.stop = threading.Event()
        self.counts: Counter[tuple[str, str]] = Counter()
        """(kind, outcome) -> how many: kinds ``bomb``, ``wrong_code``, ``oversized``."""
        self._lock = threading.Lock()
        bomb = bomb_png()
        oversized = b'{"code": "' + b"A" * int(oversized_mb * 1024 * 1024) + b'"}'
        self.kinds: list[tuple[str, str, Callable[[], bytes], str]] = [
            ("bomb", "/api/v1/scan", lambda: bomb, "image/png"),
            ("wrong_code", "/api/v1/pickup", guess, "application/json"),
            ("oversized", "/api/v1/pickup", lambda: oversized, "application/json"),
        ]
        self.threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(clients)
        ]

    def __enter__(self) -> Flood:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(FLOODER, 0)
        )

    def _client(self, first: int) -> None:
        connection = self._connect()
        kinds = itertools.islice(itertools.cycle(self.kinds), first, None)
        for kind, path, body, content_type in kinds:
            if self.stop.is_set():
                break
            try:
                connection.request("POST", path, body(), {"Content-Type": content_type})
                response = connection.getresponse()
                response.read()
                outcome = self._bucket(response.status)
            except (OSError, http.client.HTTPException):
                outcome = "closed"
                connection.close()
                connection = self._connect()
            with self._lock:
                self.counts[kind, outcome] += 1
        connection.close()

    @staticmethod
    def _bucket(status: int) -> str:
        if str(status) in STATUSES:
            return str(status)
        if status >= 500:
            return "5xx"
        return "other_4xx" if status >= 400 else str(status)


class PeakRss:
    """The largest RSS of process ``pid`` seen, sampled every ``every_s`` until stopped."""

    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        self.pid, self.every_s = pid, every_s
        self.peak = rss_mb(pid)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(5)

    def _sample(self) -> None:
        while not self.stop.wait(self.every_s):
            self.peak = max(self.peak, rss_mb(self.pid))


def timed_pickups(kiosk: Kiosk, into: list[float]) -> Callable[[Stored], str]:
    """The citizen's pickup, its seconds (code -> 200) appended to ``into``."""

    def pickup(one: Stored) -> str:
        started = time.perf_counter()
        label = kiosk.pickup(one.code)
        into.append(time.perf_counter() - started)
        return label

    return pickup


def run(samples: int, flood_s: float, clients: int, oversized_mb: float) -> list[Figure]:
    bomb_png()  # made before anything is timed
    quiet: list[float] = []
    flooded: list[float] = []
    with served(**SERVED) as server:
        kiosk = server.kiosk
        kiosk.cycles(samples, timed_pickups(kiosk, quiet))
        baseline_mb = rss_mb(server.pid)
        flood = Flood(server.port, clients, oversized_mb)
        with PeakRss(server.pid) as memory, flood:
            started = time.monotonic()
            ends = started + flood_s
            while time.monotonic() < ends or not flooded:
                kiosk.cycles(min(samples, len(kiosk.world.labels)), timed_pickups(kiosk, flooded))
            flood.stop.set()
            lasted = time.monotonic() - started
        by_kind = flood.counts
    quiet_p50 = percentiles(quiet).p50_ms
    flood_p50 = percentiles(flooded).p50_ms
    counts: Counter[str] = Counter()
    for (_kind, outcome), n in by_kind.items():
        counts[outcome] += n
    sent = sum(counts.values())

    def kinds_of(outcome: str) -> str:
        found = [f"{k} {n}" for (k, o), n in sorted(by_kind.items()) if o == outcome and n]
        return f" ({', '.join(found)})" if found else ""

    return [
        *latency_figures("quiet_pickup", "POST /api/v1/pickup, quiet (code -> 200)", quiet),
        *latency_figures("flood_pickup", "POST /api/v1/pickup, under the flood", flooded),
        Figure(
            "flood_p50_ratio", flood_p50 / quiet_p50, "x", "pickup p50, flood / quiet", Target(3)
        ),
        Figure("baseline_rss_mb", baseline_mb, "MB", "RSS of locker serve before the flood"),
        Figure("peak_rss_mb", memory.peak, "MB", "peak RSS during the flood", Target(250)),
        Figure("flood_seconds", lasted, "s", f"flood from {FLOODER}, {clients} clients"),
        Figure("flood_requests", sent, "", "hostile requests answered or cut off"),
        Figure("flood_per_s", sent / lasted, "/s", "hostile requests per second"),
        *(
            Figure(
                f"answered_{status}",
                counts.get(status, 0),
                "",
                f"  of which {status}{kinds_of(status)}",
                Target(0) if status == "5xx" else None,
            )
            for status in STATUSES
        ),
        Figure(
            "answered_other",
            sent - sum(counts.get(s, 0) for s in STATUSES),
            "",
            "  of which anything else (2xx, 3xx)",
            Target(0),
        ),
    ]


BENCHMARK = Benchmark(
    title="pickup latency and controller memory under a flood of hostile requests",
    run=run,
    full={"samples": 48, "flood_s": 30.0, "clients": 3, "oversized_mb": 4.0},
    smoke={"samples": 1, "flood_s": 0.2, "clients": 1, "oversized_mb": 0.1},
)
