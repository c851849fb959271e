"""``Idempotency-Key`` on every POST of the API, in one place: a middleware around the routes.

The store and its rules are the core's (:mod:`locker.idempotency`); this decides who the
caller is and captures the answer. The caller is the API key (by its hash, never the key
itself), or the signed-in staff member, or — for the public kiosk endpoints — the client
address. A replayed answer carries ``Idempotent-Replayed: true``. Answers of 5xx are not kept
(the request may be retried with the same key); every other answer is, for
``api.idempotency_retention_hours``.
"""

from __future__ import annotations

import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import Response

from kiosk.api.deps import core, signer
from kiosk.errors import body, status_of
from kiosk.sessions import COOKIE
from locker import idempotency
from locker.errors import DomainError

HEADER = "idempotency-key"
KEY = re.compile(r"[\x21-\x7e]{1,255}")
"""Printable ASCII without spaces, 1 to 255 characters (a UUID is the usual choice)."""


def caller_of(request: Request) -> str:
    authorization = request.headers.get("authorization", "")
    if authorization:
        return "key:" + hashlib.sha256(authorization.encode()).hexdigest()[:40]
    cookie = request.cookies.get(COOKIE)
    the_core = core(request)
    if cookie:
        session = signer(request).read(the_core, cookie)
        if session is not None:
            request.state.session = session
            return "staff:" + session.principal.name
    return "client:" + (request.client.host if request.client else "unknown")


async def honour_idempotency_key(request: Request, call_next: RequestResponseEndpoint) -> Response:
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or not request.url.path.startswith("/api/"):
        return await call_next(request)
    if not KEY.fullmatch(key):
        return JSONResponse(
            body(
                "validation_error",
                "Idempotency-Key: 1 to 255 printable characters without spaces",
                "Idempotency-Key",
            ),
            status_code=422,
        )
    the_core = core(request)
    caller = caller_of(request)
    content = await request.body()
    print_ = idempotency.fingerprint("POST", request.url.path, request.url.query, content)
    try:
        stored = await run_in_threadpool(idempotency.begin, the_core, caller, key, print_)
    except DomainError as err:
        return JSONResponse(
            body(err.code, err.detail, getattr(err, "field", None)), status_code=status_of(err)
        )
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type=stored.content_type,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = await call_next(request)
    except BaseException:
        await run_in_threadpool(idempotency.abandon, the_core, caller, key)
        raise
    if response.status_code >= 500:
        await run_in_threadpool(idempotency.abandon, the_core, caller, key)
        return response
    chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
    answer = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
    stored_answer = idempotency.StoredAnswer(
        response.status_code, answer, response.headers.get("content-type")
    )
    await run_in_threadpool(idempotency.finish, the_core, caller, key, stored_answer)
    replay = Response(answer, status_code=response.status_code)
    replay.raw_headers = [
        *(h for h in response.raw_headers if h[0].lower() != b"content-length"),
        (b"content-length", str(len(answer)).encode()),
    ]
    return replay


def install(app: FastAPI) -> None:
    app.middleware("http")(honour_idempotency_key)
