"""The scenario runner: a simulated period through the real controller, as fast as it goes.

The real core services (announce, load, pickup, retrieval, housekeeping, technician) run on a
SQLite file with a manual clock; the real :class:`~hardware.serial_bank.SerialBoardBank`
drives virtual CU16 boards on a pty at 19200 baud; door events come from its poller through
the event pump into :func:`locker.services.doors.handle_event`; SMS go through the real twilio
client to the local stand-in, and each citizen reads the pickup code from the SMS received.

Time: the clock jumps from one planned happening to the next. Clerks load during opening
hours, citizens come by a daily curve (mostly 7–22 h), some never; faults (jammed locks,
boards offline, an SMS outage, a forced door, doors left open) come at random moments. Every
``tick_minutes`` housekeeping (expiry, reminders, door alarms) and one outbox pass run.

::

    result = run_scenario(load_spec("week"), workdir)
    print(result.report())
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlmodel import col, func, select

from locker.clock import ManualClock
from locker.config import load_settings
from locker.core import Core
from locker.db import reading
from locker.errors import (
    CodeExpired,
    CodeInvalid,
    HardwareFault,
    HardwareUnavailable,
    IllegalTransition,
    NoCompartmentFree,
    RateLimited,
)
from locker.models import AuditEvent, Compartment, Delivery
from locker.services import deliveries, housekeeping, loading, pickup, retrieval, technician
from locker.vocabulary import CompartmentState, DeliveryState, DocumentType, Size
from notify import OutboxWorker, build_senders
from runtime.controller import Controller
from simulator.inbox import Inbox
from simulator.scenario_report import ScenarioResult, Tally
from simulator.scenario_rig import EventLog, scenario_layout
from simulator.scenario_spec import LOCAL, START, ScenarioSpec
from simulator.world import SimulatedWorld, simulated_world

log = logging.getLogger(__name__)

# Relative weight of a citizen arriving in each hour of the day (0–23): mostly 7–22 h.
ARRIVAL_CURVE = (0, 0, 0, 0, 0, 0, 1, 4, 6, 5, 5, 6, 8, 8, 6, 6, 8, 10, 10, 8, 6, 4, 2, 1)
OPENING_HOURS = {0: (8, 16), 1: (8, 16), 2: (8, 13), 3: (8, 18), 4: (8, 13), 5: (9, 12)}
"""Weekday → (first, last) hour the citizens' office loads and retrieves (local time).

Loading happens on weekdays only; Saturday mornings are for retrieving expired documents.
"""
DOCUMENTS = (
    (DocumentType.ID_CARD, Size.S, 45),
    (DocumentType.PASSPORT, Size.S, 30),
    (DocumentType.DRIVING_LICENCE, Size.S, 10),
    (DocumentType.RESIDENCE_PERMIT, Size.M, 10),
    (DocumentType.OTHER, Size.L, 5),
)


RETRY = (HardwareUnavailable, HardwareFault, pickup.AlreadyOpening)
"""What a person is told to come back later for."""


# --------------------------------------------------------------------------- people


@dataclass
class Citizen:
    number: int
    reference: str
    phone: str
    born: date
    comes: bool
    delay_days: float
    leaves_door_open: bool
    delivery_id: str = ""
    code: str | None = None
    tries: int = 0


# --------------------------------------------------------------------------- the run


class ScenarioRun:
    def __init__(self, spec: ScenarioSpec, core: Core, world: SimulatedWorld):
        self.spec = spec
        self.core = core
        self.world = world
        self.sim = world.hardware
        self.inbox: Inbox = world.inbox
        assert isinstance(core.clock, ManualClock)
        self.clock: ManualClock = core.clock
        self.random = random.Random(spec.seed)
        self.tally = Tally()
        self.log = EventLog(core)
        self.worker = OutboxWorker(core, build_senders(core.settings), rng=random.Random(0))
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self.citizens: dict[str, Citizen] = {}
        self.by_phone: dict[str, Citizen] = {}
        self._seen_messages = 0
        self._retrievals: set[str] = set()
        self.occupancy: list[tuple[datetime, int]] = []
        self.end = START + timedelta(days=spec.days)

    # -- planning --------------------------------------------------------------------

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        if when < self.end:
            heapq.heappush(self.queue, (when, next(self._order), action))

    def office_time(self, after: datetime, earliest_hour: int | None = None) -> datetime:
        """The first moment at or after ``after`` when the office is open (+ a few minutes)."""
        moment = after.astimezone(LOCAL)
        for _ in range(14):
            hours = OPENING_HOURS.get(moment.weekday())
            if hours is not None:
                first, last = hours
                first = max(first, earliest_hour or first)
                opening = moment.replace(hour=first, minute=0, second=0, microsecond=0)
                closing = moment.replace(hour=last, minute=0, second=0, microsecond=0)
                if moment < closing:
                    return max(moment, opening) + timedelta(minutes=self.random.randint(1, 20))
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
        raise AssertionError("the office never opens")

    def arrival(self, after: datetime, delay_days: float) -> datetime:
        """A citizen's visit: about ``delay_days`` later, at an hour drawn from the curve."""
        day = (after + timedelta(days=delay_days)).astimezone(LOCAL)
        for _ in range(30):
            hour = self.random.choices(range(24), ARRIVAL_CURVE)[0]
            moment = day.replace(hour=hour, minute=self.random.randint(0, 59), second=0)
            if moment > after + timedelta(minutes=10):
                return moment
            day += timedelta(days=1)
        raise AssertionError("no arrival found")

    def plan(self) -> None:
        spec = self.spec
        workdays = [
            START + timedelta(days=d)
            for d in range(spec.days)
            if (START + timedelta(days=d)).weekday() < 5
        ] or [START]
        for number in range(spec.deliveries):
            day = workdays[number * len(workdays) // spec.deliveries]
            first, last = OPENING_HOURS.get(day.weekday(), (8, 16))
            when = day + timedelta(hours=self.random.uniform(first, last - 0.1))
            self.at(when, functools.partial(self.load, number))
        for kinds, count in (
            (self.start_jam, spec.jams),
            (self.start_board_outage, spec.board_outages),
            (self.start_sms_outage, spec.sms_outages),
            (self.force_door, spec.forced_doors),
        ):
            for _ in range(count):
                self.at(self.daytime(), kinds)
        tick = timedelta(minutes=spec.tick_minutes)
        moment = START + tick
        while moment < self.end:
            self.at(moment, self.tick)
            moment += tick

    def daytime(self) -> datetime:
        day = START + timedelta(days=self.random.randrange(self.spec.days))
        return day + timedelta(hours=self.random.uniform(8, 20))

    # -- running ---------------------------------------------------------------------

    def run(self) -> None:
        self.plan()
        self.sample()
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            if when > self.clock.now():
                self.clock.set(when)
            action()
            self.deliver_messages()
            self.sample()
        self.clock.set(self.end)
        self.tick()
        self.sample()

    def tick(self) -> None:
        report = housekeeping.run_due(self.core)
        for delivery_id in report.expired:
            self.tally.expired += 1
            self.at(
                self.office_time(self.clock.now()), functools.partial(self.retrieve, delivery_id)
            )

    def deliver_messages(self) -> None:
        """Send what is due; a citizen who got the code plans a visit."""
        while self.worker.run_once().claimed:
            pass
        entries = self.inbox.messages()
        for entry in entries[self._seen_messages :]:
            citizen = self.by_phone.get(entry["to"])
            if citizen is None or not entry["code"] or citizen.code is not None:
                continue
            citizen.code = entry["code"]
            if citizen.comes:
                visit = self.arrival(self.clock.now(), citizen.delay_days)
                self.at(visit, functools.partial(self.collect, citizen))
        self._seen_messages = len(entries)

    def sample(self) -> None:
        with reading(self.core.engine) as session:
            count = session.exec(
                select(func.count())
                .select_from(Compartment)
                .where(col(Compartment.delivery_id) != None)
            ).one()
        now = self.clock.now()
        if not self.occupancy or self.occupancy[-1][1] != count:
            self.occupancy.append((now, int(count)))

    # -- what people do --------------------------------------------------------------

    def new_citizen(self, number: int) -> Citizen:
        comes = self.random.random() >= self.spec.no_show
        # Most come within a day or two; a few only near or after the end of the pickup time.
        delay = min(self.random.lognormvariate(-0.2, 0.9), self.spec.pickup_days + 1.0)
        return Citizen(
            number=number,
            reference=f"{self.spec.name.upper()}-{number:04d}",
            phone=f"+49151{20_000_000 + number}",
            born=date(1950, 1, 1) + timedelta(days=self.random.randrange(20_000)),
            comes=comes,
            delay_days=delay,
            leaves_door_open=False,
        )

    def load(self, number: int, citizen: Citizen | None = None) -> None:
        if citizen is None:
            citizen = self.new_citizen(number)
            kind, size, _ = self.random.choices(DOCUMENTS, [w for *_, w in DOCUMENTS])[0]
            delivery = deliveries.announce(
                self.core,
                deliveries.Announcement(
                    reference=citizen.reference,
                    document_type=kind,
                    name=f"Bürger {number}",
                    phone=citizen.phone,
                    size=size,
                    date_of_birth=citizen.born,
                ),
                actor="back-office",
            )
            citizen.delivery_id = delivery.id
            self.citizens[delivery.id] = citizen
            self.by_phone[citizen.phone] = citizen
        try:
            label = self.open_and_wait(
                lambda: loading.start_loading(self.core, citizen.delivery_id, actor="clerk")
            )
        except NoCompartmentFree:
            self.tally.waited_for_space += 1
            self.later(timedelta(hours=1), lambda: self.load(number, citizen), office=True)
            return
        except (*RETRY, IllegalTransition):  # still resolving an interrupted opening
            self.later(timedelta(minutes=30), lambda: self.load(number, citizen), office=True)
            return
        mark = self.log.mark()
        self.sim.put_item(label)
        self.sim.close_door(label)
        self.log.wait("delivery_stored", mark, compartment=label)
        self.tally.loaded += 1

    def collect(self, citizen: Citizen) -> None:
        assert citizen.code is not None
        citizen.tries += 1
        try:
            label = self.open_and_wait(
                lambda: (
                    pickup.pickup(
                        self.core, citizen.code or "", date_of_birth=citizen.born, kiosk="kiosk-1"
                    ).compartment
                )
            )
        except (CodeExpired, CodeInvalid):  # after expiry, or after it went back (used codes)
            self.tally.came_too_late += 1
            return
        except RateLimited as locked:  # the kiosk is locked out (late citizens' codes count)
            self.tally.kiosk_lockouts += 1
            self.later(timedelta(seconds=locked.retry_after_s + 60), lambda: self.collect(citizen))
            return
        except RETRY:
            # The screen said the code stays valid and to try again later: they do.
            self.tally.turned_away += 1
            if citizen.tries < 6:
                back = self.arrival(self.clock.now(), self.random.uniform(0.05, 1.0))
                self.at(back, lambda: self.collect(citizen))
            return
        self.sim.take_item(label)
        if self.tally.doors_left_open < self.spec.doors_left_open and self.random.random() < 0.05:
            self.tally.doors_left_open += 1
            self.sim.leave_open(label)
            self.later(timedelta(minutes=12), lambda: self.close_left_open(label))
            return
        self.close_and_wait(label, "delivery_collected")
        self.tally.collected += 1

    def close_left_open(self, label: str) -> None:
        self.tick()  # the door alarm is due by now
        self.sim.leave_open(label, False)
        self.close_and_wait(label, "delivery_collected")
        self.tally.collected += 1

    def retrieve(self, delivery_id: str) -> None:
        if delivery_id in self._retrievals:
            return
        try:
            label = self.open_and_wait(
                lambda: retrieval.start_retrieval(self.core, delivery_id, actor="clerk")
            )
        except (*RETRY, IllegalTransition):
            self.later(timedelta(hours=1), lambda: self.retrieve(delivery_id), office=True)
            return
        self._retrievals.add(delivery_id)
        self.sim.take_item(label)
        self.close_and_wait(label, "delivery_returned")
        self.tally.returned += 1

    def open_and_wait(self, opening: Callable[[], str]) -> str:
        mark = self.log.mark()
        label = opening()
        self.log.wait("door_opened", mark, compartment=label)
        return label

    def close_and_wait(self, label: str, kind: str) -> None:
        mark = self.log.mark()
        self.sim.close_door(label)
        self.log.wait(kind, mark, compartment=label)

    def later(self, delay: timedelta, action: Callable[[], None], office: bool = False) -> None:
        when = self.clock.now() + delay
        self.at(self.office_time(when) if office else when, action)

    # -- faults ----------------------------------------------------------------------

    def some_occupied(self) -> str | None:
        """A random compartment holding a document (a fault's victim), if any."""
        with reading(self.core.engine) as session:
            labels = list(
                session.exec(
                    select(Compartment.label).where(
                        col(Compartment.state) == CompartmentState.OCCUPIED
                    )
                )
            )
        return self.random.choice(labels) if labels else None

    def start_jam(self) -> None:
        label = self.some_occupied()
        if label is not None:
            self.tally.jams += 1
            self.sim.jam(label)
            self.later(timedelta(hours=3), lambda: self.repair(label), office=True)

    def force_door(self) -> None:
        label = self.some_occupied()
        if label is not None:
            self.tally.forced_doors += 1
            mark = self.log.mark()
            self.sim.force_door(label)
            self.log.wait("alarm", mark, compartment=label)
            self.sim.close_door(label)
            self.later(timedelta(hours=1), lambda: self.repair(label), office=True)

    def repair(self, label: str) -> None:
        """A technician frees the lock and tells the controller whether the document is in."""
        self.sim.unjam(label)
        with reading(self.core.engine) as session:
            compartment = session.get(Compartment, label)
            faulted = compartment is not None and compartment.state == CompartmentState.FAULT
        if faulted:
            inside = self.sim.physics.compartment(label).item
            technician.clear_fault(self.core, label, document_inside=inside, actor="technician")
            self.tally.repairs += 1

    def start_board_outage(self) -> None:
        board = self.random.randrange(self.spec.boards)
        self.tally.board_outages += 1
        mark = self.log.mark()
        self.sim.board_offline(board)
        self.log.wait("board_offline", mark)
        minutes = self.random.uniform(20, 45)
        self.later(timedelta(minutes=minutes), lambda: self.end_board_outage(board))

    def end_board_outage(self, board: int) -> None:
        mark = self.log.mark()
        self.sim.board_online(board)
        self.log.wait("board_online", mark)

    def start_sms_outage(self) -> None:
        self.tally.sms_outages += 1
        self.world.set_fault("sms_down", "", True)
        self.later(timedelta(hours=1), lambda: self.world.set_fault("sms_down", "", False))

    # -- the result ------------------------------------------------------------------

    def result(self, wall_s: float, started: datetime) -> ScenarioResult:
        with reading(self.core.engine) as session:
            rows = session.exec(select(Delivery)).all()
            states = Counter(str(d.state) for d in rows)
            dwell = [
                (d.collected_at - d.stored_at).total_seconds() / 3600
                for d in rows
                if d.state == DeliveryState.COLLECTED and d.collected_at and d.stored_at
            ]
            alarms = Counter(
                e.kind
                for e in session.exec(select(AuditEvent).where(col(AuditEvent.alert) == True))
            )
            compartments = Counter(str(c.state) for c in session.exec(select(Compartment)))
            stored = {d.id for d in rows if d.stored_at is not None}
        codes = Counter(m["to"] for m in self.inbox.messages() if m["code"])
        once = all(codes[c.phone] == 1 for d, c in self.citizens.items() if d in stored)
        return ScenarioResult(
            spec=self.spec,
            tally=self.tally,
            states=dict(states),
            alarms=dict(alarms),
            dwell_hours=dwell,
            occupancy=self.occupancy,
            messages=len(self.inbox),
            codes_sent_once=once and set(codes.values()) <= {1},
            wall_s=wall_s,
            start=started.astimezone(LOCAL),
            end=self.end,
            compartment_states=dict(compartments),
        )

    def close(self) -> None:
        self.log.close()
        self.worker.close()


@contextmanager
def scenario_controller(spec: ScenarioSpec, workdir: Path) -> Iterator[ScenarioRun]:
    """The real controller (the runtime's composition root, built but with only its event pump
    started) on the simulated world, with a manual clock; the run drives housekeeping and the
    outbox pass by pass."""
    clock = ManualClock(START)
    with simulated_world(
        scenario_layout(spec),
        latency_ms=spec.board_latency_ms,
        seed=spec.seed,
        clock=clock,
        email=False,
    ) as world:
        settings = load_settings(
            environ={},
            overrides={
                "locker": {"demo": True, "bank_id": "sim", "data_dir": str(workdir)},
                "policy": {
                    "pickup_days": spec.pickup_days,
                    "reminder_after_days": 2,
                    "reminder_before_expiry_days": 1,
                },
                **world.standin_settings(),
            },
        )
        with closing(
            Controller(settings, bank=world.bank, clock=clock, migrate_on_start=True).build()
        ) as controller:
            assert controller.pump is not None
            controller.pump.start()
            run = ScenarioRun(spec, controller.running, world)
            try:
                yield run
            finally:
                run.close()


def run_scenario(
    spec: ScenarioSpec,
    workdir: Path | None = None,
    chart: Path | None = None,
) -> ScenarioResult:
    """Run ``spec`` to its end; write the occupancy chart to ``chart`` if given."""
    shm = Path("/dev/shm")  # noqa: S108 - a real SQLite file, on memory-backed storage if any
    scratch_root = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="locker-scenario-", dir=scratch_root) as scratch:
        where = workdir or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        with scenario_controller(spec, where) as run:
            started = time.perf_counter()
            run.run()
            result = run.result(time.perf_counter() - started, START)
    if chart is not None:
        from simulator.scenario_chart import draw_occupancy  # noqa: PLC0415 - Pillow on demand

        draw_occupancy(result, chart)
        result.chart = chart
    return result
