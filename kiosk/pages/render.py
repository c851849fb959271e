"""Rendering a page: the Jinja2 environment, the language of the request, the page context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from kiosk.api.deps import controller
from locker.i18n import DEFAULT, Catalog, catalog, languages

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def language(request: Request) -> Catalog:
    """The screen's language: ``?lang=`` if there is a catalog for it, else the default; the
    office's name filled in (one name on every screen and in every message)."""
    office = controller(request).settings.office.name
    return catalog(request.query_params.get("lang"), office=office)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """Render ``template`` in the request's language with the common context."""
    t = language(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "lang": t.code,
            "dir": t.direction,
            "languages": [catalog(code) for code in languages()],
            "default_lang": DEFAULT,
            **context,
        },
        status_code=status_code,
    )
