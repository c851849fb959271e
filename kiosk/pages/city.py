"""The clerk screens of issue 13: statistics with SVG charts (clerks, admins) and the webhook
endpoints with their given-up messages (admins)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from kiosk.api.deps import core
from kiosk.api.statistics import period
from kiosk.pages.charts import Bar, bar_chart
from kiosk.pages.clerk import local, staff_page
from kiosk.pages.render import language
from locker import statistics, webhooks
from locker.errors import InvalidInput
from locker.i18n import parse_date_field
from locker.vocabulary import Role, WebhookState

router = APIRouter(prefix="/clerk", include_in_schema=False)
STAFF = frozenset({Role.CLERK, Role.ADMIN})


@router.get("/statistics")
def statistics_page(request: Request) -> Response:
    return staff_page(request, "clerk/statistics.html", STAFF, _statistics)


def _day(request: Request, name: str) -> date | None:
    """The day of a date field, as the screen's language writes it (or ISO)."""
    return parse_date_field(request.query_params.get(name))


def _statistics(request: Request) -> dict[str, Any]:
    t = language(request)
    the_core = core(request)
    granularity = request.query_params.get("granularity", "day")
    if granularity not in ("day", "week", "month"):
        granularity = "day"
    try:
        first, last = period(the_core, _day(request, "from"), _day(request, "to"))
    except InvalidInput:
        first, last = period(the_core, None, None)
    found = statistics.report(the_core, first, last, granularity)  # type: ignore[arg-type]
    periods = found["periods"]
    titles = [
        t("stats_chart_periods", granularity=t(f"stats_{granularity}")),
        t("stats_chart_hours"),
        t("stats_chart_weekdays"),
    ]
    bars = [
        [
            Bar(p["start"][5:] if granularity == "day" else p["start"], p["collected"])
            for p in periods
        ],
        [Bar(f"{h}", n) for h, n in enumerate(found["pickups_by_hour"])],
        [Bar(t(f"weekday_{d}"), n) for d, n in found["pickups_by_weekday"].items()],
    ]
    ids, every = (
        ("chart-periods", "chart-hours", "chart-weekdays"),
        (max(1, len(periods) // 10), 3, 1),
    )
    charts = [
        (title, bar_chart(i, title, b, label_every=e))
        for i, title, b, e in zip(ids, titles, bars, every, strict=True)
    ]
    after = found["collected_outside_opening_hours"]
    share = after["share"]
    return {
        "report": found,
        "charts": charts,
        "kinds": statistics.KINDS,
        "granularity": granularity,
        "first": t.date_field(first),
        "last": t.date_field(last),
        "share": f"{share * 100:.0f}" if share is not None else None,
    }


@router.get("/webhooks")
def webhooks_page(request: Request) -> Response:
    return staff_page(request, "clerk/webhooks.html", frozenset({Role.ADMIN}), _webhooks)


def _webhooks(request: Request) -> dict[str, Any]:
    the_core = core(request)
    dead = [
        {**m.__dict__, "created": local(request, m.created_at)}
        for m in webhooks.messages(the_core, state=WebhookState.DEAD)
    ]
    urls = {e.id: e.url for e in webhooks.list_endpoints(the_core)}
    return {
        "endpoints": webhooks.list_endpoints(the_core),
        "event_types": webhooks.EVENT_TYPES,
        "dead": [{**m, "url": urls.get(m["endpoint_id"], "")} for m in dead],
    }
