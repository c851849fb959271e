"""A citizen shows the QR code from the e-mail to the camera (Chromium's fake camera plays a
video made from the very QR image the mail stand-in received)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Playwright, expect

from locker.vocabulary import DocumentType

from .conftest import Screen, Site, launch

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 640, 480
EMAIL = "erika@example.org"


def y4m_of(image: Image.Image, path: Path, frames: int = 5) -> Path:
    """A YUV4MPEG2 (4:2:0, ``C420jpeg``) video of ``image`` centred on a white 640×480 frame."""
    side = min(WIDTH, HEIGHT) - 40
    qr = image.convert("L").resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    frame.paste(qr.convert("RGB"), ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + planes)
    return path


def test_citizen_shows_the_qr_code_to_the_camera(
    site: Site, playwright: Playwright, tmp_path: Path
) -> None:
    delivery_id = site.store("D-3001", DocumentType.DRIVING_LICENCE, phone=None, email=EMAIL)
    video = y4m_of(site.qr_image(EMAIL), tmp_path / "qr.y4m")
    camera = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    chromium = launch(playwright, camera)
    try:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.grant_permissions(["camera"], origin=site.base)
        screen = Screen(context.new_page(), site.base)
        page = screen.page
        # hold the frames back until the preview is on the screenshot, then let them through
        page.route("**/api/v1/scan", lambda route: route.fulfill(json={"codes": []}))
        screen.goto("/pickup")
        expect(page.locator("body")).to_have_attribute("data-camera", "on")
        page.wait_for_function("() => document.getElementById('camera').currentTime > 0.3")
        screen.check("pickup-camera")
        page.unroute("**/api/v1/scan")
        heading = page.get_by_role("heading", name=re.compile(r"Fach [A-Z]\d\d ist offen"))
        expect(heading).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-camera", "on")
        screen.check("pickup-open-by-camera")
        label = heading.inner_text().split()[1]
        site.take_out_and_close(label)
        expect(page.get_by_role("heading", name="Vielen Dank")).to_be_visible()
        site.wait_for(lambda: site.state_of(delivery_id) == "collected")
    finally:
        chromium.close()
