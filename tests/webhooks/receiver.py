"""A webhook receiver on 127.0.0.1 that verifies every request with ``standardwebhooks``.

The verifier is the reference library, written by no one here: a request it refuses gets
400 and is kept in ``rejected``. Tests switch the receiver ``down`` (its socket really
closed: connections are refused) and ``up`` again on the same port, or make it answer a
fixed status (500, 410, …). Waits are on a condition, never on sleeps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ..waiting import Changes


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: str
    signature: str
    body: str
    payload: dict[str, Any]


@dataclass
class Receiver:
    secret: str = ""
    status: int = 204
    """What a verified request is answered with."""
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _port: int = 0
    _changed: Changes = field(default_factory=Changes)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/hooks/locker"

    def up(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length).decode()
                headers = dict(self.headers.items())
                status = receiver.take(body, headers)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = self._thread = None

    def take(self, body: str, headers: dict[str, str]) -> int:
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as err:
            with self._changed:
                self.rejected.append(str(err))
                self._changed.notify()
            return 400
        lower = {k.lower(): v for k, v in headers.items()}
        with self._changed:
            self.received.append(
                Received(
                    lower["webhook-id"],
                    lower["webhook-timestamp"],
                    lower["webhook-signature"],
                    body,
                    payload,
                )
            )
            self._changed.notify()
        return self.status

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        self._changed.wait_for(
            lambda: len(self.received) >= count, timeout, f"{count} webhooks ({self.received})"
        )
        with self._changed:
            return list(self.received)

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]

    def types_of(self, delivery_id: str) -> list[str]:
        return [
            r.payload["type"]
            for r in self.received
            if r.payload["data"].get("delivery_id") == delivery_id
        ]
