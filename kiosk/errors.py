"""Every error leaves the app as ``{"error": code, "detail": sentence}`` (shared/API.md).

Domain errors are mapped to HTTP statuses here and nowhere else.
"""

from __future__ import annotations

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
    errors.CodeExpired: 410,
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


def body(code: str, detail: str, field: str | None = None) -> dict[str, str]:
    found = {"error": code, "detail": detail}
    if field:
        found["field"] = field
    return found


async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, errors.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    content = body(exc.code, exc.detail, getattr(exc, "field", None))
    if isinstance(exc, errors.WrongLocker):
        content["bank_id"] = exc.bank_id
    return JSONResponse(content, status_code=status_of(exc), headers=headers)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    first_field = None
    for problem in exc.errors():
        loc = [str(p) for p in problem.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        first_field = first_field or field
        problems.append(f"{field}: {problem.get('msg', 'invalid')}")
    return JSONResponse(body("validation_error", "; ".join(problems), first_field), status_code=422)


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


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
