"""Server-sent events from the core's :class:`DomainEvent`\\ s to the screens.

* ``GET /api/v1/stream`` (staff): every event, as ``event: <kind>`` with the delivery id,
  compartment and data, so the clerk screen shows "stored" the moment the door closes.
* ``GET /api/v1/kiosk/stream`` (public): only ``opened`` and ``closed`` with a compartment
  label; the pickup screen ends when the citizen closes the door. Nothing about deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from kiosk.api.deps import core, need
from locker.core import DomainEvent
from locker.services.accounts import Principal
from locker.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["screens"])
Staff = Annotated[Principal, Depends(need(Role.CLERK, Role.TECHNICIAN, Role.ADMIN))]
HEARTBEAT_S = 15.0
LIFETIME_S = 55.0
"""A stream ends by itself after this long and the browser reconnects at once (``retry``):
a server that is stopping waits for open responses, and a kiosk never closes its own."""
CLOSING = {
    "door_closed",
    "compartment_closed",
    "delivery_stored",
    "delivery_collected",
    "delivery_returned",
}
Pick = Callable[[DomainEvent], tuple[str, dict[str, Any]] | None]


def everything(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    return event.kind, {
        "delivery_id": event.delivery_id,
        "compartment": event.compartment,
        "data": event.data,
    }


def doors_only(event: DomainEvent) -> tuple[str, dict[str, Any]] | None:
    if event.compartment is None:
        return None
    if event.kind == "door_opened":
        return "opened", {"compartment": event.compartment}
    if event.kind in CLOSING:
        return "closed", {"compartment": event.compartment}
    return None


async def event_lines(request: Request, pick: Pick) -> AsyncIterator[str]:
    """The SSE body: the events ``pick`` lets through, and a comment line now and then."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=256)

    def put(item: tuple[str, dict[str, Any]]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(item)

    def listener(event: DomainEvent) -> None:
        picked = pick(event)
        if picked is not None:
            loop.call_soon_threadsafe(put, picked)

    stop = core(request).listen(listener)
    ends = loop.time() + LIFETIME_S
    try:
        # "ready" only now that the listener is registered: a screen that waits for it misses
        # nothing (the browser's "open" comes with the headers, possibly before this point).
        yield "retry: 500\n: connected\n\nevent: ready\ndata: {}\n\n"
        while (left := ends - loop.time()) > 0:
            try:
                kind, data = await asyncio.wait_for(queue.get(), min(HEARTBEAT_S, left))
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            yield f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n"
    finally:
        stop()


def sse(request: Request, pick: Pick) -> StreamingResponse:
    return StreamingResponse(
        event_lines(request, pick),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/stream")
def staff_stream(request: Request, who: Staff) -> StreamingResponse:
    """Every domain event, live (server-sent events), for the clerk screens."""
    return sse(request, everything)


@router.get("/kiosk/stream")
def kiosk_stream(request: Request) -> StreamingResponse:
    """Doors opening and closing, by compartment label only, for the pickup screen."""
    return sse(request, doors_only)
