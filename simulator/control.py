"""``/sim``: the one HTTP control surface of the simulated world (shared/API.md).

:func:`control_router` serves a :class:`~simulator.world.SimulatedWorld`'s verbs and the
developer's page (``page/sim.html``: the bank drawn live from ``/sim/state``, the inbox from
``/sim/messages``, a button for every verb); ``/sim/stream`` says ``changed`` (server-sent
events) after every change of a door, lock, item, fault or message, so a drill in another
process waits on the world instead of polling it. ``locker demo`` mounts it into the controller's
web app, with a :class:`ControllerView` so the page shows the controller's state of each
compartment and a clock jump runs housekeeping at once; ``locker sim world`` serves it alone
(:func:`control_app`) for a controller in another process.

Errors are :class:`locker.errors.InvalidInput` (422, naming the field), which the kiosk's error
mapper and :func:`control_app`'s own handler answer in the API's JSON error form.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from locker.errors import InvalidInput
from simulator.world import FaultKind, SimulatedWorld, Verb, WorldError

PAGE = Path(__file__).parent / "page"
TEMPLATES = Jinja2Templates(directory=PAGE)
PAGE_FILES = {"sim.js": "text/javascript", "sim.css": "text/css"}
STREAM_LIFETIME_S = 55.0
"""A stream ends by itself after this long (a stopping server need not wait for it)."""
STREAM_HEARTBEAT_S = 15.0


@dataclass(frozen=True)
class ControllerView:
    """What the controller in the same process adds to ``/sim``.

    ``compartment_states``: label → the controller's state of it, for the page;
    ``after_clock_jump``: runs what is due after the clock moved (housekeeping, the outbox) and
    says what it did (``{"expired": [...], "reminded": [...]}``).
    """

    compartment_states: Callable[[], Mapping[str, str]]
    after_clock_jump: Callable[[], dict[str, list[str]]]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    present: bool


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: FaultKind
    target: str = Field(default="", max_length=64)
    on: bool


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0, le=400 * 86_400)


def control_router(world: SimulatedWorld, view: ControllerView | None = None) -> APIRouter:
    """The ``/sim`` routes for ``world``."""
    router = APIRouter(prefix="/sim", tags=["simulator"])

    def state() -> dict[str, Any]:
        found = world.state()
        if view is not None:
            states = view.compartment_states()
            for entry in found["compartments"]:
                entry["controller"] = states.get(entry["label"])
        return found

    def act(label: str, verb: Verb, present: bool | None = None) -> dict[str, Any]:
        try:
            world.act(label, verb, present)
        except WorldError as err:
            raise InvalidInput(err.field, err.detail) from None
        return state()

    @router.get("", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> HTMLResponse:
        """The simulator's control page."""
        return TEMPLATES.TemplateResponse(request, "sim.html", {"state": state()})

    @router.get("/page/{name}", include_in_schema=False)
    def page_file(name: str) -> FileResponse:
        if name not in PAGE_FILES:
            raise InvalidInput("name", f"no such file {name!r}")
        return FileResponse(PAGE / name, media_type=PAGE_FILES[name])

    @router.get("/state", name="sim_state")
    def get_state() -> dict[str, Any]:
        """Every compartment (door, lock, item, faults), the boards, buses, clock and faults."""
        return state()

    @router.post("/compartments/{label}/close")
    def close_door(label: str) -> dict[str, Any]:
        """A person closes the door."""
        return act(label, "close")

    @router.post("/compartments/{label}/force")
    def force_door(label: str) -> dict[str, Any]:
        """Someone forces the door open (tamper)."""
        return act(label, "force")

    @router.post("/compartments/{label}/open")
    def open_door(label: str) -> dict[str, Any]:
        """A person pulls an unlatched door open."""
        return act(label, "open")

    @router.post("/compartments/{label}/item")
    def item(label: str, body: ItemIn) -> dict[str, Any]:
        """Put the document in, or take it out (the door must be open)."""
        return act(label, "item", body.present)

    @router.post("/faults")
    def fault(body: FaultIn) -> dict[str, Any]:
        """Break something, or mend it: ``{"kind", "target", "on"}``."""
        try:
            world.set_fault(body.kind, body.target, body.on)
        except WorldError as err:
            raise InvalidInput(err.field, err.detail) from None
        return state()

    @router.post("/clock/advance")
    def advance(body: ClockIn) -> dict[str, Any]:
        """Jump the clock ahead; expiries, reminders and erasure due by then happen at once."""
        world.advance_clock(body.seconds)
        done = view.after_clock_jump() if view is not None else {}
        return {
            "now": world.clock.now().isoformat(),
            "expired": done.get("expired", []),
            "reminded": done.get("reminded", []),
        }

    @router.get("/stream", include_in_schema=False)
    def stream(request: Request) -> StreamingResponse:
        return StreamingResponse(
            changes(request, world),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/messages")
    def messages() -> list[dict[str, Any]]:
        """What the SMS and mail stand-ins received, oldest first."""
        return world.inbox.to_list()

    return router


async def changes(request: Request, world: SimulatedWorld) -> AsyncIterator[str]:
    """``event: changed`` after every change of the world (coalesced while one is unsent)."""
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop has already ended
            loop.call_soon_threadsafe(changed.set)

    stops = [world.hardware.physics.watch(wake), world.inbox.watch(wake)]
    ends = loop.time() + STREAM_LIFETIME_S
    try:
        yield "retry: 500\n: connected\n\n"
        while (left := ends - loop.time()) > 0:
            try:
                await asyncio.wait_for(changed.wait(), min(STREAM_HEARTBEAT_S, left))
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            changed.clear()
            yield "event: changed\ndata: {}\n\n"
    finally:
        for stop in stops:
            with contextlib.suppress(ValueError):
                stop()


def control_app(world: SimulatedWorld) -> FastAPI:
    """``/sim`` alone, for ``locker sim world`` (the controller runs in another process)."""
    app = FastAPI(title="locker simulated world", version="1")
    app.include_router(control_router(world))

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        content = {"error": exc.code, "detail": exc.detail, "field": exc.field}
        return JSONResponse(content, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            ".".join(str(p) for p in e.get("loc", ()) if p != "body") + ": " + e.get("msg", "")
            for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "validation_error", "detail": "; ".join(problems)}, status_code=422
        )

    return app
