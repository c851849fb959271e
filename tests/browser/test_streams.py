"""The live event streams over a real socket: staff see every event, the public kiosk stream
only doors by compartment label."""

from __future__ import annotations

import pytest

from locker.services import accounts
from locker.vocabulary import DocumentType, Role

from ..sse import StreamListener
from .conftest import Site

pytestmark = pytest.mark.browser


def listen(site: Site, path: str, headers: dict[str, str] | None = None) -> StreamListener:
    return StreamListener(site.base, path, headers)


def test_staff_and_kiosk_streams(site: Site) -> None:
    key = accounts.create_api_key(site.core, "screens", frozenset({Role.CLERK}), actor="test")
    refused = listen(site, "/api/v1/stream")
    assert refused.response.status == 401
    refused.close()
    staff = listen(site, "/api/v1/stream", {"Authorization": f"Bearer {key}"})
    kiosk = listen(site, "/api/v1/kiosk/stream")
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
        assert kiosk.events[0] == ("ready", {})  # sent once the stream listens
        assert all(set(data) == {"compartment"} for kind, data in kiosk.events if kind != "ready")
        assert delivery_id not in "\n".join(kiosk.raw)
    finally:
        staff.close()
        kiosk.close()
