"""The one simulated world behind a controller, built by :func:`build_world`.

A :class:`SimulatedWorld` holds everything outside the controller that the demo, the drills,
the scenario runner, the benchmarks and the tests fake:

* the hardware (:class:`~simulator.virtual_hardware.VirtualHardware`): the bank's physics,
  virtual lock boards behind ptys and gpiozero mock pins;
* optionally the production bank wired to it (``with_bank``), for a controller in the same
  process; a controller in another process opens the ptys itself (``locker sim world``);
* the SMS and mail stand-ins and their common :class:`~simulator.inbox.Inbox`;
* a clock that can jump ahead (the demo's :class:`~locker.clock.OffsetClock`, or a test's
  :class:`~locker.clock.ManualClock`).

The verbs of ``/sim`` (shared/API.md) are its methods; :mod:`simulator.control` serves them.
With a ``state_dir`` the physical state (doors, items, faults), the inbox, the message faults
and the clock's offset are written to ``simulator.json`` at every change, atomically and in the
thread that made it, so a demo killed at any moment finds the world as it was. A state file
that cannot be read is refused (:class:`WorldStateError`), never silently replaced by an empty
world: that would lose documents the controller believes are inside.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from hardware.bank import CompositeBank
from hardware.layout import Layout
from locker.clock import ManualClock, OffsetClock
from simulator import saved_state
from simulator.inbox import Inbox
from simulator.smtp_standin import SmtpStandin
from simulator.twilio_standin import TwilioStandin
from simulator.virtual_hardware import VirtualHardware, load_demo_layout

log = logging.getLogger(__name__)
STATE_FILE = "simulator.json"
HardwareFault = Literal[
    "jam", "board_offline", "corrupt_replies", "slow_replies", "silence", "left_open"
]
MessageFault = Literal["sms_down", "smtp_down"]
FaultKind = Literal[HardwareFault, MessageFault]
MESSAGE_FAULTS: tuple[str, ...] = get_args(MessageFault)
Verb = Literal["close", "force", "open", "item"]


class WorldClock(Protocol):
    def now(self) -> Any: ...

    def advance(self, seconds: float) -> Any: ...


class WorldError(ValueError):
    """A request the world cannot carry out (an unknown compartment, a closed door, …)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


class WorldStateError(RuntimeError):
    """The saved world cannot be read; starting empty would lose documents."""


class SimulatedWorld:
    def __init__(
        self,
        layout: Layout,
        *,
        state_dir: Path | None = None,
        latency_ms: float = 5.0,
        seed: int = 0,
        clock: WorldClock | None = None,
        with_bank: bool = True,
        sms: bool = True,
        email: bool = True,
        settle_timeout_s: float = 15.0,
    ) -> None:
        self.state_path = state_dir / STATE_FILE if state_dir else None
        saved = self._read([c.label for c in layout.compartments])
        self._save_lock = threading.Lock()
        self.bank: CompositeBank | None = None
        self.twilio: TwilioStandin | None = None
        self.smtp: SmtpStandin | None = None
        self.hardware = VirtualHardware(layout, latency_ms, seed, state=saved.get("world"))
        try:
            self.hardware.start()
            if with_bank:
                self.bank = self.hardware.production_bank(settle_timeout_s)
            self.inbox = Inbox(saved.get("inbox", []))
            self.twilio = TwilioStandin(self.inbox).start() if sms else None
            self.smtp = SmtpStandin(self.inbox).start() if email else None
            offset = timedelta(seconds=float(saved.get("clock_offset_s", 0)))
            self.clock: WorldClock = clock if clock is not None else OffsetClock(offset)
            self.message_faults = dict.fromkeys(MESSAGE_FAULTS, False)
            for kind, on in saved.get("message_faults", {}).items():
                self._message_fault(kind, bool(on))
        except BaseException:
            self.close()
            raise
        if self.state_path is not None:
            self.hardware.physics.watch(self.changed)
            self.inbox.watch(self.changed)
            self.save()

    @property
    def layout(self) -> Layout:
        return self.hardware.layout

    @property
    def labels(self) -> list[str]:
        return self.hardware.physics.labels

    def standin_settings(self) -> dict[str, dict[str, Any]]:
        """``[sms]`` and ``[email]`` settings that send through the local stand-ins."""
        return {
            "sms": self.twilio.settings() if self.twilio else {"enabled": False},
            "email": self.smtp.settings() if self.smtp else {"enabled": False},
        }

    # -- the verbs of /sim -----------------------------------------------------------------

    def act(self, label: str, verb: Verb, present: bool | None = None) -> None:
        """A person at compartment ``label``: close, force or open its door, put in or take out."""
        if label not in self.hardware.physics.labels:
            raise WorldError("label", f"There is no compartment {label!r} in the simulated bank.")
        if verb == "close":
            self.hardware.close_door(label)
        elif verb == "force":
            self.hardware.force_door(label)
        elif verb == "open":
            self.hardware.open_door(label)
        else:
            if not self.hardware.door_open(label):
                raise WorldError("label", f"The door of {label} is closed; open it first.")
            self.hardware.set_item(label, bool(present))

    def set_fault(self, kind: str, target: str, on: bool) -> None:
        """``POST /sim/faults``: a hardware fault, or the SMS gateway / mail server down."""
        if kind in MESSAGE_FAULTS:
            self._message_fault(kind, on)
            self.changed()
            return
        try:
            self.hardware.set_fault(kind, target, on)
        except (ValueError, KeyError) as err:
            raise WorldError("target", str(err).strip("'\"")) from None

    def _message_fault(self, kind: str, on: bool) -> None:
        standin = self.twilio if kind == "sms_down" else self.smtp
        if kind not in MESSAGE_FAULTS:
            raise WorldError("kind", f"unknown message fault {kind!r}")
        if standin is not None:
            standin.set_down(on)
        self.message_faults[kind] = on

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.changed()

    def state(self) -> dict[str, Any]:
        """``GET /sim/state``: every compartment, the boards and buses, the clock, faults."""
        state = self.hardware.state()
        state["clock"] = self.clock.now().isoformat()
        state["message_faults"] = sorted(k for k, on in self.message_faults.items() if on)
        return state

    # -- persistence -----------------------------------------------------------------------

    def changed(self) -> None:
        """Something changed (the world, a message, a fault, the clock): save now."""
        try:
            self.save()
        except OSError:
            log.exception("could not save the simulator state")

    def _read(self, labels: list[str]) -> dict[str, Any]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        try:
            data = json.loads(self.state_path.read_bytes())
            wrong = saved_state.problems(data, labels)
            if wrong:
                raise ValueError("; ".join(wrong))
            assert isinstance(data, dict)
            return data
        except (ValueError, UnicodeDecodeError) as err:
            raise WorldStateError(
                f"the simulated world saved in {self.state_path} cannot be read ({err}). It holds"
                " where every document is; starting with an empty world would lose them. Repair"
                " or move the file away (then reconciliation puts the compartments the database"
                " still counts as occupied into fault)."
            ) from None

    def save(self) -> None:
        if self.state_path is None:
            return
        with self._save_lock:  # the snapshot too: a later one is never overwritten by an older
            data = {
                "world": self.hardware.to_dict(),
                "inbox": self.inbox.to_list(),
                "clock_offset_s": (
                    self.clock.offset.total_seconds() if isinstance(self.clock, OffsetClock) else 0
                ),
                "message_faults": self.message_faults,
            }
            temporary = self.state_path.with_suffix(".tmp")
            with temporary.open("w") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.state_path)

    def close(self) -> None:
        """Stop the bank, the stand-ins and the virtual boards; idempotent."""
        for part in (self.bank, self.twilio, self.smtp):
            if part is not None:
                part.close()
        self.bank = self.twilio = self.smtp = None
        self.hardware.close()

    def __enter__(self) -> SimulatedWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_world(
    layout: Layout | None = None,
    *,
    state_dir: Path | None = None,
    latency_ms: float = 5.0,
    seed: int = 0,
    clock: WorldClock | ManualClock | OffsetClock | None = None,
    with_bank: bool = True,
    sms: bool = True,
    email: bool = True,
) -> SimulatedWorld:
    """The simulated world of ``layout`` (the demo bank if none), running; ``close()`` it."""
    return SimulatedWorld(
        layout or load_demo_layout(),
        state_dir=state_dir,
        latency_ms=latency_ms,
        seed=seed,
        clock=clock,
        with_bank=with_bank,
        sms=sms,
        email=email,
    )


@contextmanager
def simulated_world(layout: Layout | None = None, **options: Any) -> Iterator[SimulatedWorld]:
    """:func:`build_world` as a context manager."""
    world = build_world(layout, **options)
    try:
        yield world
    finally:
        world.close()
