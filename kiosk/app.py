"""The web application: ``create_app(settings)`` builds it; the lifespan starts and stops the
controller. Nothing is built at import time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kiosk import errors, idempotency, pages
from kiosk.api import (
    admin,
    alarms,
    compartments,
    deliveries,
    imports,
    pickup,
    session,
    speech,
    statistics,
    webhooks,
)
from kiosk.body_limit import BodyLimit
from kiosk.sessions import StaffSessions
from kiosk.speech.engine import Espeak
from kiosk.speech.service import SpeechService
from locker.codes import derive_key
from locker.config import Settings
from runtime.controller import Controller

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(
    settings: Settings,
    controller: Controller | None = None,
    *,
    extra_routers: Iterable[APIRouter] = (),
) -> FastAPI:
    """The app around ``controller`` (built from ``settings`` if not given).

    A controller passed in that is not built yet is started and closed with the app; one
    already built is left to its owner. ``extra_routers`` are mounted too (the demo's ``/sim``,
    which the simulator makes: the kiosk never imports it).
    """
    controller = controller or Controller(settings)
    owned = controller.core is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            controller.start()
        try:
            yield
        finally:
            if owned:
                controller.close()

    app = FastAPI(
        title="locker",
        version="1",
        summary="Controller for municipal document pickup lockers",
        lifespan=lifespan,
    )
    app.state.controller = controller
    app.state.signer = StaffSessions(derive_key(settings.locker.secret_key, "session"))
    kiosk = settings.kiosk
    app.state.speech = SpeechService(
        Espeak(kiosk.speech_program),
        kiosk.speech_wpm,
        kiosk.speech_cache_mb * 1024 * 1024,
        settings.office.name,
    )
    app.state.frames = pickup.FrameLimiter(settings.kiosk.camera_frames_per_s)
    app.state.decoding = asyncio.Semaphore(pickup.DECODES_AT_ONCE)
    errors.install(app)
    for router in (
        imports.router,
        deliveries.router,
        pickup.router,
        speech.router,
        compartments.router,
        admin.router,
        alarms.router,
        session.router,
        webhooks.router,
        statistics.router,
        *extra_routers,
    ):
        app.include_router(router)
    pages.install(app)
    idempotency.install(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(("/api/", "/clerk")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(
        BodyLimit,
        routes={
            "/api/v1/scan": pickup.MAX_FRAME_BYTES,
            "/api/v1/deliveries/import": settings.api.import_max_bytes,
        },
    )
    # Outermost, so that everything inside sees the resolved client (kiosk.kiosks).
    app.add_middleware(
        ProxyHeadersMiddleware, trusted_hosts=list(settings.security.trusted_proxies)
    )
    return app
