"""Kiosk benchmark: a camera frame to an open lock, over real HTTP, on the simulated bank.

* pickup by camera: a 640×480 JPEG camera frame with the QR code posted to ``/api/v1/scan``
  → code decoded (pyzbar) → ``/api/v1/pickup`` accepted → last byte of the unlock frame on
  the simulated RS-485 wire (the virtual board's clock, real baud-rate timing), p50/p99; and
  the two HTTP calls on their own.
* decode: pyzbar on one 640×480 frame, QR symbology only: the raw decode of a grey image, and
  what the scan endpoint does per frame (JPEG decode, grey, decode), with and without a code
  in the picture (most frames a camera sends have none).

The real app runs under uvicorn with the controller, the simulated boards (demo layout, GPIO
compartments set aside: their unlock is no frame on the wire) and the SMS stand-in. The
per-client camera frame limit (10/s, for abuse) is lifted for the run: a real camera sends
about 3 frames a second. Run ``python benchmarks/bench_kiosk.py [--json] [--samples N]``;
``run()`` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import qrcode
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode

from firmware_bridge import cu16
from hardware.layout import SerialPlace
from kiosk.api import pickup as pickup_api
from kiosk.app import create_app
from kiosk.demo import sim_router, world_controller
from kiosk.pages.serving import ThreadedServer
from locker import codes
from locker.config import load_settings
from locker.core import Core
from locker.db import reading
from locker.services import deliveries, loading, technician
from locker.services.lookup import compartment_by_label, delivery_by_id
from locker.vocabulary import DocumentType
from runtime.controller import Controller
from simulator.world import SimulatedWorld, build_world

WIDTH, HEIGHT = 640, 480
BATCH = 8


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000}


def camera_frame(payload: str | None, quality: int = 85) -> bytes:
    """A grey 640×480 JPEG, as the kiosk page sends, with the QR of ``payload`` if given."""
    frame = Image.new("L", (WIDTH, HEIGHT), 200)
    if payload is not None:
        qr = qrcode.make(payload, box_size=8, border=4).get_image().convert("L")
        frame.paste(qr, ((WIDTH - qr.width) // 2, (HEIGHT - qr.height) // 2))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=quality)
    return out.getvalue()


def bench_decode(samples: int) -> dict[str, Any]:
    with_code = camera_frame(codes.qr_payload("bench", codes.new_code()))
    without = camera_frame(None)
    grey = Image.open(io.BytesIO(with_code)).convert("L")
    figures: dict[str, Any] = {}
    for name, work in (
        ("pyzbar_qr_only", lambda: decode(grey, symbols=[ZBarSymbol.QRCODE])),
        ("pyzbar_all_symbologies", lambda: decode(grey)),
        ("scan_endpoint_work_with_code", lambda: pickup_api.decode_frame(with_code)),
        ("scan_endpoint_work_no_code", lambda: pickup_api.decode_frame(without)),
    ):
        assert name.endswith("no_code") or work(), f"{name}: the QR code was not found"
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            work()
            timings.append(time.perf_counter() - started)
        figures[name] = _percentiles(timings)
    figures["frame_bytes"] = len(with_code)
    return figures


@contextmanager
def served() -> Iterator[tuple[str, Controller, SimulatedWorld]]:
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-") as scratch:
        overrides: dict[str, dict[str, Any]] = {
            "locker": {"demo": True, "bank_id": "bench", "data_dir": scratch},
            "hardware": {"backend": "simulator"},
            "notify": {"poll_interval_s": 0.1},
            "email": {"enabled": False},
        }
        world = build_world()
        try:
            for section, values in world.standin_settings().items():
                overrides.setdefault(section, {}).update(values)
            overrides["email"] = {"enabled": False}
            settings = load_settings(environ={}, overrides=overrides)
            controller = world_controller(
                world, settings, migrate_on_start=True, housekeeping_interval_s=3600
            )
            app = create_app(settings, controller, extra_routers=[sim_router(world, controller)])
            server = ThreadedServer(app)
            base = server.start()
            try:
                yield base, controller, world
            finally:
                server.stop()
        finally:
            world.close()


class Client:
    """One kept-alive HTTP/1.1 connection, as the kiosk's browser keeps one."""

    def __init__(self, base: str) -> None:
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)

    def post(
        self, path: str, body: bytes, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        self.connection.request("POST", path, body, {"Content-Type": content_type})
        response = self.connection.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        self.connection.close()


class Watch:
    """Wakes the benchmark on any change of the core or the simulated world."""

    def __init__(self, core: Core, simulation: SimulatedWorld) -> None:
        self.changed = threading.Condition()
        core.listen(lambda _event: self.poke())
        simulation.hardware.physics.listen(lambda _label: self.poke())

    def poke(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def until(self, condition: Any, timeout: float = 10.0) -> None:
        with self.changed:
            if not self.changed.wait_for(condition, timeout):
                raise RuntimeError("the simulated locker did not get there in time")


def _door_seen_open(core: Core, simulation: SimulatedWorld, label: str) -> bool:
    with reading(core.engine) as session:
        seen = compartment_by_label(session, label).door_open
    return bool(seen and simulation.hardware.door_open(label))


def _state(core: Core, delivery_id: str) -> str:
    with reading(core.engine) as session:
        return str(delivery_by_id(session, delivery_id).state)


def watch_the_wire(core: Core, simulation: SimulatedWorld, watch: Watch) -> list[float]:
    """Set the GPIO compartments aside (their unlock is no frame on the wire) and return the
    list that collects when each unlock frame is fully on the simulated wire."""
    layout = simulation.hardware.layout
    serial = {c.label for c in layout.compartments if isinstance(c.place, SerialPlace)}
    for spec in core.bank.compartments():
        if spec.label not in serial:
            technician.set_out_of_service(core, spec.label, True, reason="bench", actor="bench")
    on_wire: list[float] = []

    def observe(frame: bytes, when: float) -> None:
        if frame[2] == cu16.Command.UNLOCK:
            on_wire.append(when)
            watch.poke()

    for bus in simulation.hardware.buses.values():
        bus.observers.append(observe)
    return on_wire


def take_and_close(
    core: Core, simulation: SimulatedWorld, watch: Watch, delivery_id: str, label: str
) -> None:
    """The citizen takes the document out and closes the door; wait until it is collected."""
    watch.until(lambda: _door_seen_open(core, simulation, label))
    simulation.hardware.take_item(label)
    simulation.hardware.close_door(label)
    watch.until(lambda: _state(core, delivery_id) == "collected")


def bench_pickup(samples: int) -> dict[str, Any]:
    with served() as (base, controller, simulation):
        core = controller.running
        watch = Watch(core, simulation)
        on_wire = watch_the_wire(core, simulation, watch)
        total: list[float] = []
        scans: list[float] = []
        pickups: list[float] = []
        limit = pickup_api._frames.rate
        pickup_api._frames.rate = 1e9
        try:
            client = Client(base)
            try:
                done = 0
                while done < samples:
                    batch = store_batch(core, simulation, watch, min(BATCH, samples - done), done)
                    for delivery_id, label, code in batch:
                        frame = camera_frame(codes.qr_payload("bench", code))
                        on_wire.clear()
                        started = time.monotonic()
                        found = client.post("/api/v1/scan", frame, "image/jpeg")[1]["codes"]
                        scanned = time.monotonic()
                        status, answer = client.post(
                            "/api/v1/pickup", json.dumps({"code": found[0]}).encode()
                        )
                        answered = time.monotonic()
                        assert status == 200, answer
                        assert answer["compartment"] == label
                        watch.until(lambda: bool(on_wire))
                        total.append(on_wire[0] - started)
                        scans.append(scanned - started)
                        pickups.append(answered - scanned)
                        take_and_close(core, simulation, watch, delivery_id, label)
                    done += len(batch)
            finally:
                client.close()
        finally:
            pickup_api._frames.rate = limit
    return {
        "samples": samples,
        "frame_to_unlock_on_wire": _percentiles(total),
        "scan_request": _percentiles(scans),
        "pickup_request": _percentiles(pickups),
    }


def store_batch(
    core: Core, simulation: SimulatedWorld, watch: Watch, count: int, offset: int
) -> list[tuple[str, str, str]]:
    """``count`` stored deliveries with their compartment and pickup code (from the SMS)."""
    batch = []
    for index in range(offset, offset + count):
        phone = f"+49151{index:08d}"
        delivery = deliveries.announce(
            core,
            deliveries.Announcement(
                reference=f"BENCH-{index}",
                document_type=DocumentType.OTHER,
                name="Bench",
                phone=phone,
            ),
            actor="bench",
        )
        label = loading.start_loading(core, delivery.id, actor="bench")
        watch.until(lambda label=label: _door_seen_open(core, simulation, label))
        simulation.hardware.put_item(label)
        simulation.hardware.close_door(label)
        watch.until(lambda d=delivery.id: _state(core, d) == "stored")
        batch.append((delivery.id, label, phone))
    inbox = simulation.inbox
    phones = {phone for _d, _l, phone in batch}
    entries = inbox.wait_for(lambda es: phones <= {e["to"] for e in es if e["code"]}, 30)
    code_of = {e["to"]: codes.normalise(e["code"]) for e in entries if e["code"]}
    return [(d, label, code_of[phone]) for d, label, phone in batch]


def run(samples: int = 40, decode_samples: int = 100) -> dict[str, Any]:
    """Every figure of this benchmark as one JSON-ready dict."""
    return {"decode_640x480": bench_decode(decode_samples), "pickup": bench_pickup(samples)}


def table(result: dict[str, Any]) -> str:
    decode_figures = result["decode_640x480"]
    pickup = result["pickup"]
    lines = [
        f"kiosk on the simulator ({pickup['samples']} pickups, real HTTP, 19200 baud)",
        "",
        f"{'measure':<46}{'p50 ms':>9}{'p99 ms':>9}",
    ]
    rows = [
        ("camera frame -> unlock frame on the wire", pickup["frame_to_unlock_on_wire"]),
        ("  POST /api/v1/scan (frame -> code)", pickup["scan_request"]),
        ("  POST /api/v1/pickup (code -> 200)", pickup["pickup_request"]),
        ("pyzbar decode 640x480, QR only", decode_figures["pyzbar_qr_only"]),
        ("pyzbar decode 640x480, all symbologies", decode_figures["pyzbar_all_symbologies"]),
        (
            "scan work per frame (JPEG+grey+decode), code",
            decode_figures["scan_endpoint_work_with_code"],
        ),
        ("scan work per frame, no code in view", decode_figures["scan_endpoint_work_no_code"]),
    ]
    for name, figures in rows:
        lines.append(f"{name:<46}{figures['p50_ms']:>9.2f}{figures['p99_ms']:>9.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args(argv)
    result = run(args.samples)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
