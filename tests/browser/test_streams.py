"""The live event streams over a real socket: staff see every event, the public kiosk stream
only doors by compartment label."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from typing import Any

import pytest

from locker.services import accounts
from locker.vocabulary import DocumentType, Role

from .conftest import Site

pytestmark = pytest.mark.browser


class Listener:
    """Reads one SSE stream in a thread; ``until`` waits for an event kind."""

    def __init__(self, site: Site, path: str, headers: dict[str, str] | None = None) -> None:
        url = urllib.parse.urlsplit(site.base)
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        self.connection.request("GET", path, headers=headers or {})
        self.response = self.connection.getresponse()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.raw: list[str] = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        kind = ""
        try:
            for line in self.response:
                text = line.decode().rstrip("\n")
                with self.changed:
                    self.raw.append(text)
                    if text.startswith("event: "):
                        kind = text.removeprefix("event: ")
                    elif text.startswith("data: "):
                        self.events.append((kind, json.loads(text.removeprefix("data: "))))
                    self.changed.notify_all()
        except (OSError, ValueError, AttributeError):  # closed under our feet
            return

    def until(self, kind: str) -> dict[str, Any]:
        with self.changed:
            found = self.changed.wait_for(lambda: any(k == kind for k, _ in self.events), 10)
            assert found, f"no {kind} in {self.raw}"
            return next(data for k, data in self.events if k == kind)

    def connected(self) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: ": connected" in self.raw, 10)

    def close(self) -> None:
        if self.connection.sock is not None:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(5)
        self.connection.close()


def test_staff_and_kiosk_streams(site: Site) -> None:
    key = accounts.create_api_key(site.core, "screens", frozenset({Role.CLERK}), actor="test")
    refused = Listener(site, "/api/v1/stream")
    assert refused.response.status == 401
    refused.close()
    staff = Listener(site, "/api/v1/stream", {"Authorization": f"Bearer {key}"})
    kiosk = Listener(site, "/api/v1/kiosk/stream")
    try:
        assert staff.response.getheader("Content-Type", "").startswith("text/event-stream")
        staff.connected()
        kiosk.connected()
        delivery_id = site.store("S-1", DocumentType.OTHER)
        label = site.compartment_of(delivery_id)
        stored = staff.until("delivery_stored")
        assert stored["delivery_id"] == delivery_id and stored["compartment"] == label
        assert kiosk.until("opened") == {"compartment": label}
        assert kiosk.until("closed") == {"compartment": label}
        assert all(set(data) == {"compartment"} for _kind, data in kiosk.events)
        assert delivery_id not in "\n".join(kiosk.raw)
    finally:
        staff.close()
        kiosk.close()
