"""Every error leaves the app as ``{"error": code, "detail": sentence}`` (shared/API.md).

Domain errors are mapped to HTTP statuses here and nowhere else. ``detail`` is for developers;
a screen shows the catalog text of ``error``, or for bad input of ``field`` and ``reason``
(docs/kiosk.md, *Errors on screen*). Bad input names the field and a reason code: the core's
(``phone_invalid``) or, for a request the schema refuses, pydantic's error type
(``string_too_short``, ``missing``), every problem in ``errors``. What a text needs besides
(``compartment``, ``state``) comes as further keys.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from locker import errors


class NotAnImage(errors.DomainError):
    code = "not_an_image"


class BodyTooLarge(errors.DomainError):
    code = "body_too_large"


class UnsupportedType(errors.DomainError):
    code = "unsupported_media_type"


class SpeechUnavailable(errors.DomainError):
    """The synthesiser is missing or failed: the screen still shows everything."""

    code = "speech_unavailable"


STATUS: dict[type[errors.DomainError], int] = {
    NotAnImage: 400,
    BodyTooLarge: 413,
    UnsupportedType: 415,
    SpeechUnavailable: 503,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.IllegalTransition: 409,
    errors.InvalidInput: 422,
    errors.NoCompartmentFree: 409,
    errors.CodeInvalid: 404,
    errors.SecondFactorRequired: 428,
    errors.DateOfBirthWrong: 403,
    errors.CodeExpired: 410,
    errors.CodeUsed: 409,
    errors.CodeRevoked: 410,
    errors.WrongLocker: 409,
    errors.RateLimited: 429,
    errors.HardwareUnavailable: 503,
    errors.HardwareFault: 503,
    errors.PermissionDenied: 403,
    errors.AuthenticationFailed: 401,
}


def status_of(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 409


def body(
    code: str, detail: str, field: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    found: dict[str, Any] = {"error": code, "detail": detail}
    if field:
        found["field"] = field
    if reason:
        found["reason"] = reason
    return found


async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, errors.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    content = exc.facts | body(exc.code, exc.detail, getattr(exc, "field", None), exc.reason)
    if isinstance(exc, errors.WrongLocker):
        content["bank_id"] = exc.bank_id
    return JSONResponse(content, status_code=status_of(exc), headers=headers)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for problem in exc.errors():
        loc = [str(p) for p in problem.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        reason = str(problem.get("type", "invalid"))
        problems.append({"field": field, "reason": reason, "detail": problem.get("msg", "")})
    first = problems[0] if problems else {"field": "body", "reason": "invalid"}
    detail = "; ".join(f"{p['field']}: {p['detail']}" for p in problems)
    content = body("validation_error", detail, first["field"], first["reason"])
    content["errors"] = problems
    return JSONResponse(content, status_code=422)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(
        body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug still answers in the API's form (and is logged with its traceback by the server);
    never a plain-text 500."""
    return JSONResponse(
        body("internal_error", "Something went wrong on the controller; it has been logged."),
        status_code=500,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(errors.DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
