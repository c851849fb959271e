"""Statistics for clerks and admins, and the public open-data files."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from kiosk.api.deps import CoreDep, need
from kiosk.schemas import ErrorOut
from locker import open_data, statistics
from locker.errors import InvalidInput
from locker.services.accounts import Principal
from locker.vocabulary import Role

router = APIRouter(tags=["statistics"])
Staff = Annotated[Principal, Depends(need(Role.CLERK, Role.ADMIN))]
MAX_DAYS = 3 * 366


def period(core: CoreDep, first: date | None, last: date | None) -> tuple[date, date]:
    """``from``/``to`` checked; by default the last 30 local days up to today."""
    today = statistics.Calendar(core).local(core.clock.now()).date()
    last = last or today
    first = first or last - timedelta(days=29)
    if first > last:
        raise InvalidInput("from", "from must not be after to")
    if (last - first).days > MAX_DAYS:
        raise InvalidInput("from", f"ask for at most {MAX_DAYS} days at once")
    return first, last


@router.get(
    "/api/v1/statistics",
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def get_statistics(
    core: CoreDep,
    who: Staff,
    first: Annotated[date | None, Query(alias="from", description="first local day")] = None,
    last: Annotated[date | None, Query(alias="to", description="last local day (included)")] = None,
    granularity: Annotated[statistics.Granularity, Query()] = "day",
) -> dict[str, Any]:
    """Counts per period and document type, dwell times, pickups by hour and weekday, and the
    share collected outside the office's opening hours."""
    first, last = period(core, first, last)
    return statistics.report(core, first, last, granularity)


@router.get(
    open_data.CSV_PATH, response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
def pickups_csv(core: CoreDep) -> Response:
    """Complete months per document type; counts below 5 suppressed (empty)."""
    return Response(
        open_data.pickups_csv(core),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="pickups.csv"'},
    )


@router.get(open_data.CATALOG_PATH, responses={200: {"content": {"application/ld+json": {}}}})
def catalog(core: CoreDep, request: Request) -> JSONResponse:
    """DCAT-AP.de metadata of ``pickups.csv``."""
    base = core.settings.kiosk.public_url or str(request.base_url)
    return JSONResponse(open_data.catalog(core, base), media_type="application/ld+json")
