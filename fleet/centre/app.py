"""The centre's web app: the fleet API for the back office and the control room for the staff.

``create_app(centre)`` builds it; the lifespan starts and closes the centre if it is not started
yet. Errors leave as ``{"error": code, "detail": sentence}`` like a box's API; every route
needs a centre API key (``Authorization: Bearer``) or a control-room session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from fleet.centre import keys, views
from fleet.centre.keys import Caller
from fleet.centre.relay import BoxNotFound, RelayResult
from fleet.centre.service import Centre
from fleet.contract import Announcement

HERE = Path(__file__).parent
COOKIE = "fleet_session"
STREAM_LIFETIME_S = 55.0
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self';"
        " img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Problem(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def centre_of(request: Request) -> Centre:
    found = request.app.state.centre
    assert isinstance(found, Centre)
    return found


def caller_of(request: Request) -> Caller | None:
    centre = centre_of(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Problem(
                401, "unauthenticated", "Send the API key as: Authorization: Bearer <key>."
            )
        found = keys.authenticate(centre.db, key.strip())
        if found is None:
            raise Problem(401, "unauthenticated", "This API key is not valid.")
        return found
    token = request.cookies.get(COOKIE)
    return keys.session_caller(centre.db, token, centre.clock.now()) if token else None


def need(*roles: str) -> Any:
    def check(request: Request) -> Caller:
        caller = caller_of(request)
        if caller is None:
            raise Problem(401, "unauthenticated", "Sign in, or send an API key.")
        if roles and not caller.roles & set(roles):
            raise Problem(403, "forbidden", f"This needs the role {' or '.join(roles)}.")
        return caller

    return Depends(check)


Reader = Annotated[Caller, need()]
Clerk = Annotated[Caller, need("clerk")]
Technician = Annotated[Caller, need("technician")]


class OpenRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="why (audited on both sides)")


api = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])


def _relayed(result: RelayResult) -> JSONResponse:
    return JSONResponse(result.body, status_code=result.status)


def _relay(request: Request) -> Any:
    relay = centre_of(request).relay
    assert relay is not None
    return relay


@api.get("/boxes", response_model=list[views.BoxSummary])
def list_boxes(request: Request, who: Reader) -> list[views.BoxSummary]:
    """Every box: online state, last seen, occupancy, free compartments by size, alarms, version."""
    return views.boxes(centre_of(request).db)


@api.get("/boxes/{box_id}", response_model=views.BoxDetail)
def one_box(request: Request, box_id: str, who: Reader) -> views.BoxDetail:
    """One box with its recent events and commands."""
    found = views.box(centre_of(request).db, box_id)
    if found is None:
        raise Problem(404, "not_found", f"No box {box_id!r} has reported to this centre.")
    return found


def _send(call: Any) -> JSONResponse:
    try:
        return _relayed(call())
    except BoxNotFound as err:
        raise Problem(404, "not_found", f"No box {err} has reported to this centre.") from None


@api.post("/boxes/{box_id}/deliveries", status_code=201)
def announce(request: Request, box_id: str, body: Announcement, who: Clerk) -> JSONResponse:
    """Announce a document at one box; the box's answer (its delivery id, or its error)."""
    return _send(lambda: _relay(request).announce(box_id, body, actor=f"centre:{who.name}"))


@api.post("/boxes/{box_id}/deliveries/{delivery_id}/cancel")
def cancel(request: Request, box_id: str, delivery_id: str, who: Clerk) -> JSONResponse:
    """Withdraw a delivery at one box."""
    return _send(lambda: _relay(request).cancel(box_id, delivery_id, actor=f"centre:{who.name}"))


@api.post("/boxes/{box_id}/compartments/{label}/open")
def remote_open(
    request: Request, box_id: str, label: str, body: OpenRequest, who: Technician
) -> JSONResponse:
    """A technician's remote open, with a reason (audited at the centre and at the box)."""
    return _send(
        lambda: _relay(request).open(box_id, label, body.reason, actor=f"centre:{who.name}")
    )


pages = APIRouter(include_in_schema=False)


def _templates(request: Request) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    zone = ZoneInfo(centre_of(request).settings.centre.timezone)

    def local(moment: datetime | None, pattern: str = "%d.%m.%Y %H:%M:%S") -> str:
        return moment.astimezone(zone).strftime(pattern) if moment else "–"

    templates.env.filters["local"] = local
    return templates


@pages.get("/")
def control_room(request: Request) -> Response:
    caller = caller_of(request)
    if caller is None:
        return RedirectResponse("/signin", status_code=303)
    boxes = views.boxes(centre_of(request).db)
    return _templates(request).TemplateResponse(
        request,
        "control_room.html",
        {"boxes": boxes, "caller": caller, "online": sum(b.online for b in boxes)},
    )


@pages.get("/boxes/{box_id}")
def box_page(request: Request, box_id: str) -> Response:
    caller = caller_of(request)
    if caller is None:
        return RedirectResponse("/signin", status_code=303)
    found = views.box(centre_of(request).db, box_id)
    if found is None:
        raise Problem(404, "not_found", f"Keine Anlage {box_id!r} bekannt.")
    return _templates(request).TemplateResponse(
        request, "box.html", {"box": found, "caller": caller, "labels": views.EVENT_LABELS}
    )


@pages.get("/signin")
def signin_page(request: Request, failed: bool = False) -> Response:
    return _templates(request).TemplateResponse(request, "signin.html", {"failed": failed})


@pages.post("/signin")
def signin(request: Request, key: Annotated[str, Form(max_length=200)]) -> Response:
    centre = centre_of(request)
    caller = keys.authenticate(centre.db, key.strip())
    if caller is None:
        return RedirectResponse("/signin?failed=true", status_code=303)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        keys.open_session(centre.db, caller, centre.clock.now()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=keys.SESSION_HOURS * 3600,
    )
    return response


@pages.post("/signout")
def signout(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        keys.close_session(centre_of(request).db, token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@pages.get("/stream")
async def stream(request: Request, who: Reader) -> StreamingResponse:
    """Server-sent events: ``changed`` with the ids of boxes whose page should be redrawn."""
    centre = centre_of(request)
    loop = asyncio.get_running_loop()
    changes: asyncio.Queue[set[str]] = asyncio.Queue(maxsize=64)

    def put(boxes: set[str]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            changes.put_nowait(boxes)

    async def lines() -> AsyncIterator[str]:
        def changed(boxes: set[str]) -> None:
            loop.call_soon_threadsafe(put, set(boxes))

        stop = centre.listen(changed)
        ends = loop.time() + STREAM_LIFETIME_S
        try:
            yield "retry: 1000\n: connected\n\n"
            while (left := ends - loop.time()) > 0:
                try:
                    boxes = await asyncio.wait_for(changes.get(), min(15.0, left))
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                yield f"event: changed\ndata: {json.dumps(sorted(boxes))}\n\n"
        finally:
            stop()

    return StreamingResponse(lines(), media_type="text/event-stream")


@pages.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    centre = centre_of(request)
    broker = bool(centre.ingest and centre.ingest.connected)
    return JSONResponse({"status": "ok" if broker else "degraded", "broker": broker})


def create_app(centre: Centre) -> FastAPI:
    """The app around ``centre``; one not started yet is started and closed with the app."""
    owned = not centre.started

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            centre.start()
        try:
            yield
        finally:
            if owned:
                centre.close()

    app = FastAPI(title="locker fleet centre", version="1", lifespan=lifespan)
    app.state.centre = centre
    app.include_router(api)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            {"error": exc.code, "detail": exc.detail}, status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        return JSONResponse(
            {"error": "invalid_input", "detail": f"{field}: {first['msg']}", "field": field},
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse({"error": code, "detail": str(exc.detail)}, status_code=exc.status_code)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
