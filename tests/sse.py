"""A server-sent-events client for tests: reads one stream in a thread and wakes a
:class:`~tests.waiting.Changes` on every line, so a test waits on the server's own events."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from typing import Any

from .waiting import Changes


class StreamListener:
    """``GET base + path`` as an event stream; ``events`` holds ``(kind, data)`` as they come."""

    def __init__(
        self,
        base: str,
        path: str,
        headers: dict[str, str] | None = None,
        changes: Changes | None = None,
        *,
        reconnect: bool = False,
    ) -> None:
        """``reconnect``: when the server ends the stream (it does after a minute), open it
        again at once, as a browser does; stop when the server is gone."""
        url = urllib.parse.urlsplit(base)
        self._address = (url.hostname or "", url.port)
        self._request = (path, headers or {})
        self._reconnect = reconnect
        self._closed = False
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.raw: list[str] = []
        self.changes = changes if changes is not None else Changes()
        self._open()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _open(self) -> None:
        self.connection = http.client.HTTPConnection(*self._address, timeout=90)
        path, headers = self._request
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()

    def _run(self) -> None:
        while True:
            self._read()
            self.connection.close()
            if self._closed or not self._reconnect:
                return
            try:
                self._open()
            except OSError:  # the server is gone (stopped or killed)
                self.changes.notify()
                return

    def _read(self) -> None:
        kind = ""
        try:
            for line in self.response:
                text = line.decode().rstrip("\n")
                with self.changes:
                    self.raw.append(text)
                    if text.startswith("event: "):
                        kind = text.removeprefix("event: ")
                    elif text.startswith("data: "):
                        self.events.append((kind, json.loads(text.removeprefix("data: "))))
                    self.changes.notify()
        except (OSError, ValueError, AttributeError):  # closed under our feet
            return

    def until(self, kind: str) -> dict[str, Any]:
        """The data of the first event of ``kind`` (waiting for it to come)."""
        return self.changes.wait_for(
            lambda: next((data for k, data in list(self.events) if k == kind), None),
            what=f"{kind} in {self.raw}",
        )

    def connected(self) -> None:
        self.changes.wait_for(lambda: ": connected" in self.raw, what="the stream's greeting")

    def close(self) -> None:
        self._closed = True
        if self.connection.sock is not None:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(5)
        self.connection.close()
