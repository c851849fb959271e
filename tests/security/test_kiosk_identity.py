"""Finding 1: the kiosk is who the configuration says it is, not what a header claims."""

from __future__ import annotations

import httpx2 as httpx
from fastapi.testclient import TestClient

from kiosk.pages.serving import ThreadedServer
from locker.codes import CODE_LENGTH

from .conftest import running_stack

WRONG = {"code": "0" * CODE_LENGTH}
"""A code of the right form that is nobody's: it counts as a wrong guess."""


def from_address(stack, host: str) -> TestClient:
    """A second client of the same app, speaking from ``host``."""
    return TestClient(stack.client.app, client=(host, 40000))


def test_forwarded_for_does_not_make_new_kiosks(stack):
    """Over a real uvicorn socket from 127.0.0.1 (which uvicorn trusts by default): every wrong
    code counts against the one kiosk however its X-Forwarded-For changes."""
    limit = stack.controller.running.settings.security.kiosk_max_failures
    server = ThreadedServer(stack.client.app)
    base = server.start()
    try:
        with httpx.Client(base_url=base) as client:
            answers = [
                client.post(
                    "/api/v1/pickup", json=WRONG, headers={"X-Forwarded-For": f"10.0.0.{n}"}
                ).status_code
                for n in range(limit + 1)
            ]
    finally:
        server.stop()
    assert answers == [404] * (limit - 1) + [429, 429], answers


def test_pickup_and_scan_only_from_a_kiosk_address(stack):
    stranger = from_address(stack, "192.0.2.7")
    for path, kwargs in (("/api/v1/pickup", {"json": WRONG}), ("/api/v1/scan", {"content": b"x"})):
        answer = stranger.post(path, **kwargs)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "not_a_kiosk"
        assert "touchscreen" in answer.json()["detail"]
    # a stranger's tries never count against the real kiosk
    assert stack.client.post("/api/v1/pickup", json=WRONG).status_code == 404


def test_forwarded_for_is_believed_from_a_trusted_proxy_only(tmp_path):
    security = {"trusted_proxies": ["10.0.0.1"], "kiosk_addresses": ["10.0.5.0/28"]}
    with running_stack(tmp_path, security=security) as stack:
        proxy = from_address(stack, "10.0.0.1")
        kiosk = {"X-Forwarded-For": "10.0.5.2"}
        assert proxy.post("/api/v1/pickup", json=WRONG, headers=kiosk).status_code == 404
        # a client that writes the kiosk's address itself before the proxy appends its own
        spoofed = {"X-Forwarded-For": "10.0.5.2, 198.51.100.4"}
        answer = proxy.post("/api/v1/pickup", json=WRONG, headers=spoofed)
        assert answer.status_code == 403 and answer.json()["error"] == "not_a_kiosk"
        # the kiosk's address claimed without the proxy is not believed
        direct = from_address(stack, "198.51.100.4")
        assert direct.post("/api/v1/pickup", json=WRONG, headers=kiosk).status_code == 403
