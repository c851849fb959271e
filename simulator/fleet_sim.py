"""``locker fleet sim``: N simulated boxes on one machine, each a whole box, reporting to a broker.

Each box is the real program: its own simulated world (:func:`simulator.world.build_world`:
one CU16 board behind a pty, 8 S + 5 M + 3 L compartments), its own
:class:`runtime.controller.Controller` on its own SQLite file, and so its own event outbox and
:class:`fleet.box.link.FleetLink`. What is simulated is the world and its people: a clerk who
loads announced documents, citizens who read the code from their phone (a :class:`Phones`
sender in place of the SMS gateway) and take the document out, and now and then a fault — a
forced door (an alarm) that a technician clears, or a board that stops answering for a while.

To fit 50 boxes at about one event a second each on two cores, the boxes do not have a thread
of their own for their people: one scheduler thread per process walks every box's next step
(announce → load → close → pick up → close: five events a journey), and the virtual boards
are polled every ``POLL_MS`` instead of the default 200 ms. ``--processes`` spreads the boxes
over several processes (the GIL lets one process use one core).
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import logging
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hardware.layout import CompartmentConfig, Layout
from locker import event_outbox
from locker.config import load_settings
from locker.db import reading
from locker.errors import DomainError
from locker.models import Compartment
from locker.services import deliveries, loading, pickup, technician
from locker.services.lookup import delivery_by_id
from locker.vocabulary import Channel, DocumentType, Size
from notify.messages import Rendered
from runtime.controller import Controller
from simulator.board_layouts import board_layout
from simulator.world import SimulatedWorld, build_world

log = logging.getLogger(__name__)
POLL_MS = 1000
STEP_RETRY_S = 0.2
BORN = date(1980, 2, 29)


def sim_layout() -> Layout:
    """One CU16 board: 8 S, 5 M and 3 L compartments, polled every ``POLL_MS``."""
    base = board_layout("cu16", 1, 16, None)
    bus = base.buses["bus"]

    def sized(c: CompartmentConfig) -> CompartmentConfig:
        channel = int(c.label[1:]) - 1
        size = Size.S if channel < 8 else Size.M if channel < 13 else Size.L
        return replace(c, size=size, row=channel % 4 + 1)

    return replace(
        base,
        compartments=tuple(sized(c) for c in base.compartments),
        buses={"bus": replace(bus, poll_ms=POLL_MS)},
    )


class Phones:
    """The citizens' phones: an SMS "sent" to a number is read by its owner (the pickup code)."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self._count = 0

    def send(self, recipient: str, message: Rendered, *, now: datetime) -> str:
        if message.code:
            self.codes[recipient] = message.code
        self._count += 1
        return f"SM{self._count:032d}"

    def close(self) -> None:
        return None


@dataclass
class Journey:
    number: int
    reference: str
    phone: str
    delivery_id: str = ""
    label: str = ""


@dataclass
class SimulatedBox:
    """One box: world, controller (with its fleet link) and the people in front of it."""

    box_id: str
    world: SimulatedWorld
    controller: Controller
    phones: Phones
    rng: random.Random
    journeys: int = 0
    faults: int = 0
    failures: int = 0
    journey: Journey | None = None
    step: int = 0
    repairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def core(self) -> Any:
        return self.controller.running

    def door_seen_open(self, label: str) -> bool:
        with reading(self.core.engine) as session:
            compartment = session.get(Compartment, label)
            return bool(compartment and compartment.door_open) and self.world.hardware.door_open(
                label
            )

    def state_of(self, delivery_id: str) -> str:
        with reading(self.core.engine) as session:
            return str(delivery_by_id(session, delivery_id).state)

    def advance(self) -> float:
        """Take the next step of the current journey; return when to come back (seconds)."""
        if self.journey is None:
            self.journeys += 1
            number = self.journeys
            self.journey = Journey(
                number,
                f"{self.box_id.upper()}-{number:06d}",
                f"+49151{self.rng.randrange(10**8):08d}",
            )
            self.step = 0
        journey = self.journey
        try:
            done = self._step(journey)
        except DomainError as err:
            self.failures += 1
            log.debug("%s: %s at step %d: %s", self.box_id, journey.reference, self.step, err)
            self.journey = None  # give up this journey; the next one starts afresh
            return 1.0
        if done:
            self.step += 1
            if self.step == 5:
                self.journey = None
            return 0.0
        return STEP_RETRY_S

    def _step(self, journey: Journey) -> bool:
        """``True`` when the step happened (one event), ``False`` to wait a little."""
        if self.step == 0:
            journey.delivery_id = deliveries.announce(
                self.core,
                deliveries.Announcement(
                    reference=journey.reference,
                    document_type=DocumentType.OTHER,
                    name="Simulierte Bürgerin",
                    phone=journey.phone,
                    size=self.rng.choice([Size.S, Size.S, Size.M, Size.L]),
                ),
                actor="sim-office",
            ).id
            return True
        if self.step == 1:
            journey.label = loading.start_loading(self.core, journey.delivery_id, actor="sim-clerk")
            return True
        if self.step == 2:
            if not self.door_seen_open(journey.label):
                return False
            self.world.hardware.set_item(journey.label, True)
            self.world.hardware.close_door(journey.label)
            return True
        if self.step == 3:
            code = self.phones.codes.get(journey.phone)
            if code is None or self.state_of(journey.delivery_id) != "stored":
                return False
            pickup.pickup(self.core, code, date_of_birth=None, kiosk="sim-kiosk")
            return True
        if not self.door_seen_open(journey.label):
            return False
        self.world.hardware.set_item(journey.label, False)
        self.world.hardware.close_door(journey.label)
        return True

    def fault(self) -> float:
        """A forced door on a free compartment (an alarm), repaired later by a technician."""
        with reading(self.core.engine) as session:
            free = [c.label for c in session.query(Compartment).filter_by(state="free")]
        busy = {self.journey.label} if self.journey else set()
        candidates = [label for label in free if label not in busy]
        if not candidates:
            return 5.0
        label = self.rng.choice(candidates)
        self.faults += 1
        self.world.act(label, "force")
        self.repairs.append((label, "close"))
        return 3.0

    def repair(self) -> None:
        while self.repairs:
            label, _ = self.repairs.pop()
            with contextlib.suppress(Exception):
                self.world.act(label, "close")
            with contextlib.suppress(DomainError):
                technician.clear_fault(self.core, label, document_inside=False, actor="sim-tech")

    def close(self) -> None:
        self.controller.close()
        self.world.close()


def open_box(
    box_id: str,
    data_dir: Path,
    broker_url: str,
    password: str,
    *,
    seed: int,
    heartbeat_s: float,
    keepalive_s: int,
    ca_file: str = "",
) -> SimulatedBox:
    directory = data_dir / box_id
    directory.mkdir(parents=True, exist_ok=True)
    world = build_world(sim_layout(), seed=seed, sms=False, email=False, latency_ms=1.0)
    try:
        settings = load_settings(
            environ={},
            overrides={
                "locker": {"demo": True, "bank_id": box_id, "data_dir": str(directory)},
                "sms": {"enabled": True},
                "policy": {"second_factor_documents": []},
                "fleet": {
                    "broker_url": broker_url,
                    "box_id": box_id,
                    "password": password,
                    "heartbeat_s": heartbeat_s,
                    "keepalive_s": keepalive_s,
                    "resend_after_s": 10.0,
                    "ca_file": ca_file,
                },
            },
        )
        phones = Phones()
        controller = Controller(
            settings,
            bank=world.bank,
            senders={Channel.SMS: phones},
            migrate_on_start=True,
        ).start()
    except BaseException:
        world.close()
        raise
    return SimulatedBox(box_id, world, controller, phones, random.Random(seed))


class Scheduler:
    """One thread walking every box of this process: each box's next step when it is due."""

    def __init__(
        self,
        boxes: list[SimulatedBox],
        rate: float,
        fault_rate: float,
        seed: int,
        stop: threading.Event,
    ) -> None:
        self.boxes = boxes
        self.gap = 1.0 / rate if rate > 0 else 0.0
        self.fault_rate = fault_rate
        self.rng = random.Random(seed)
        self.stop = stop

    def run(self, until: float) -> None:
        """Walk the boxes until ``until`` (monotonic; 0: until stopped). Rate 0: nobody comes."""
        start = time.monotonic()
        if not self.gap:
            self.stop.wait(until - start if until else None)
            return
        # Each box keeps its own pace: a step that had to wait for a door is made up by the
        # next ones (at most one step behind), so a box makes ``rate`` events a second.
        pace = [start + self.rng.uniform(0, self.gap) for _ in self.boxes]
        due: list[tuple[float, int, str]] = [(p, i, "step") for i, p in enumerate(pace)]
        heapq.heapify(due)
        while due and not self.stop.is_set():
            when, index, what = heapq.heappop(due)
            wait = when - time.monotonic()
            if wait > 0 and self.stop.wait(wait):
                return
            if until and time.monotonic() >= until:
                return
            box = self.boxes[index]
            try:
                if what == "repair":
                    box.repair()
                    continue
                again = box.advance()
                if (
                    again == 0.0
                    and self.fault_rate
                    and self.rng.random() < self.fault_rate * self.gap
                ):
                    later = box.fault()
                    heapq.heappush(due, (time.monotonic() + later, index, "repair"))
            except Exception:
                log.exception("%s: the simulated people stumbled", box.box_id)
                again = 1.0
            now = time.monotonic()
            if again == 0.0:
                pace[index] = max(pace[index] + self.gap, now - self.gap)
                heapq.heappush(due, (max(pace[index], now), index, "step"))
            else:
                pace[index] = max(pace[index], now + again - self.gap)
                heapq.heappush(due, (now + again, index, "step"))


def read_passwords(path: Path | None) -> dict[str, str]:
    """``user:password`` lines (the format ``mosquitto_passwd -U`` reads)."""
    if path is None:
        return {}
    found = {}
    for line in path.read_text().splitlines():
        user, sep, password = line.partition(":")
        if sep:
            found[user.strip()] = password.strip()
    return found


def run_boxes(box_ids: list[str], options: dict[str, Any]) -> int:
    """Run these boxes in this process.

    Traffic runs for ``seconds`` (then the boxes close), or until SIGUSR1 (nobody comes any
    more; the boxes stay up and keep reporting) or SIGTERM/SIGINT (the boxes close).
    """
    passwords = read_passwords(options.get("passwords"))
    data_dir = Path(options["data_dir"])
    boxes: list[SimulatedBox] = []
    closing = threading.Event()
    quiet = threading.Event()

    def stop(*_: object) -> None:
        closing.set()
        quiet.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, lambda *_: quiet.set())
    try:
        for number, box_id in enumerate(box_ids):
            if closing.is_set():
                return 0
            boxes.append(
                open_box(
                    box_id,
                    data_dir,
                    options["broker_url"],
                    passwords.get(box_id, options.get("password") or box_id),
                    seed=options["seed"] * 1000 + number,
                    heartbeat_s=options["heartbeat"],
                    keepalive_s=options["keepalive"],
                )
            )
        print(f"fleet sim: {len(boxes)} boxes running: {', '.join(box_ids)}", flush=True)
        if options.get("report_events"):
            for box in boxes:
                event_outbox.wake_on_events(box.core, _reporter(box.box_id))
        scheduler = Scheduler(boxes, options["rate"], options["fault_rate"], options["seed"], quiet)
        seconds = options["seconds"]
        scheduler.run(time.monotonic() + seconds if seconds else 0.0)
        if not seconds:
            closing.wait()
    finally:
        for box in boxes:
            box.close()
    return 0


def _reporter(box_id: str) -> Callable[[], None]:
    """``--report-events``: one line on stdout after every commit that wrote outbound events,
    so that a test watching a box's outbox (while the broker is down, say) wakes on it."""

    def report() -> None:
        print(f"{box_id}: events written", flush=True)

    return report


def _worker(box_ids: list[str], options: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.WARNING)
    run_boxes(box_ids, options)


def run(args: argparse.Namespace) -> int:
    """``locker fleet sim``."""
    if args.ids:
        box_ids = [part.strip() for part in args.ids.split(",") if part.strip()]
    else:
        box_ids = [f"{args.prefix}-{n}" for n in range(1, args.boxes + 1)]
    if not box_ids:
        print("--boxes must be at least 1", file=sys.stderr)
        return 2
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="locker-fleet-sim-"))
    options = {
        "broker_url": args.broker_url,
        "password": args.password,
        "passwords": args.passwords,
        "data_dir": str(data_dir),
        "seed": args.seed,
        "rate": args.rate,
        "fault_rate": args.fault_rate,
        "seconds": args.seconds,
        "heartbeat": args.heartbeat,
        "keepalive": args.keepalive,
        "report_events": args.report_events,
    }
    processes = max(1, min(args.processes or (1 if len(box_ids) <= 10 else 2), len(box_ids)))
    if processes == 1:
        logging.basicConfig(level=logging.WARNING)
        return run_boxes(box_ids, options)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_worker, args=(box_ids[k::processes], options), name=f"sim-{k}")
        for k in range(processes)
    ]
    for worker in workers:
        worker.start()

    def forward(signum: int, _frame: object) -> None:
        for worker in workers:
            if worker.is_alive() and worker.pid:
                os.kill(worker.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(signum, forward)
    for worker in workers:
        worker.join()
    return max((w.exitcode or 0) for w in workers)
