"""Camera frames per kiosk are limited by ``[kiosk] camera_frames_per_s``, one limiter per app."""

from __future__ import annotations

import io

import pytest
import qrcode
from fastapi.testclient import TestClient

from kiosk.api.pickup import FrameLimiter
from kiosk.app import create_app
from locker.core import NoBank
from locker.errors import RateLimited
from runtime.controller import Controller

from ..conftest import make_settings


def test_a_kiosk_gets_its_rate_back_as_time_passes() -> None:
    now = [100.0]
    limiter = FrameLimiter(2, monotonic=lambda: now[0])
    limiter.take("kiosk-1")
    limiter.take("kiosk-1")
    with pytest.raises(RateLimited):
        limiter.take("kiosk-1")
    limiter.take("kiosk-2")  # each kiosk has its own
    now[0] += 0.5
    limiter.take("kiosk-1")
    with pytest.raises(RateLimited):
        limiter.take("kiosk-1")


def kiosk_client(tmp_path, rate: float) -> tuple[TestClient, Controller]:
    """The app of a built (not started) controller, asked from the Pi's own browser."""
    settings = make_settings(tmp_path, kiosk={"camera_frames_per_s": rate})
    controller = Controller(settings, bank=NoBank(), migrate_on_start=True).build()
    return TestClient(create_app(settings, controller), client=("127.0.0.1", 50000)), controller


def test_the_setting_limits_the_scan_endpoint_of_its_own_app(tmp_path) -> None:
    frame = io.BytesIO()
    qrcode.make("x").convert("RGB").crop((0, 0, 20, 20)).save(frame, format="PNG")
    strict, first = kiosk_client(tmp_path / "strict", 1)
    other, second = kiosk_client(tmp_path / "other", 50)
    try:
        assert strict.post("/api/v1/scan", content=frame.getvalue()).status_code == 200
        refused = strict.post("/api/v1/scan", content=frame.getvalue())
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert other.post("/api/v1/scan", content=frame.getvalue()).status_code == 200
    finally:
        first.close()
        second.close()
