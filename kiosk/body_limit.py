"""Request bodies are limited per route *before* they are read (413 ``body_too_large``).

A pure ASGI middleware, outside every route: a declared ``Content-Length`` above the route's
limit is refused at once, without reading a byte; a body without a length (chunked) is read
up to the limit and refused as soon as it passes it. The route then gets the body it would
have got, so nothing behind this ever holds more than the limit in memory. The limits are
small by default (a JSON announcement is a few hundred bytes) and larger only where a route
needs it: camera frames and the bulk import.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_LIMIT = 64 * 1024
"""Every JSON endpoint: the largest announcement is well under 4 KB."""


class BodyLimit:
    """``routes``: path prefix → limit in bytes (the longest matching prefix wins)."""

    def __init__(self, app: App, routes: dict[str, int], default: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.routes = sorted(routes.items(), key=lambda item: -len(item[0]))
        self.default = default

    def limit_for(self, path: str) -> int:
        return next(
            (limit for prefix, limit in self.routes if path.startswith(prefix)), self.default
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        if declared is not None:  # the server delivers no more than the declared length
            await self.app(scope, receive, send)
            return
        # No length given: read up to the limit here, then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then http.disconnect, when it comes

    return replay


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": "body_too_large",
            "detail": f"The request body is larger than {limit} bytes, the most this accepts.",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
