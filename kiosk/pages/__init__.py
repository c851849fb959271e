"""The screens: citizen pages, clerk pages, their live event streams and admin endpoints.

``install(app)`` mounts them, and ``kiosk/static`` under ``/static``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kiosk.pages import citizen, city, clerk, staff_api, stream

STATIC = Path(__file__).parent.parent / "static"


def install(app: FastAPI) -> None:
    for router in (citizen.router, clerk.router, city.router, stream.router, staff_api.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
