"""A real controller served by uvicorn on 127.0.0.1 (port 0) and Debian's Chromium driving it.

``site`` is the whole stack per test (SQLite file, simulated bank, SMS and mail stand-ins, the
real app); ``browser`` is one headless Chromium per test module (Playwright's sync API allows one
instance per thread at a time, and other packages' tests start their own). Helpers save a screenshot of
each screen under ``artifacts/screenshots/`` and run axe-core on it.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlmodel import select

from kiosk.app import create_app
from kiosk.demo import sim_router, world_controller
from kiosk.pages.serving import ThreadedServer
from locker.db import reading
from locker.models import Compartment
from locker.services import accounts, deliveries, loading
from locker.services.lookup import compartment_by_label, delivery_by_id
from locker.vocabulary import DocumentType, Role
from runtime.controller import Controller
from simulator.world import SimulatedWorld, build_world

from ..conftest import make_settings
from ..waiting import WAIT_S, Changes, wake_on_world

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STAFF = ("clerk1", "correct horse battery")
PHONE = "+4915123456789"
BIRTHDAY = date(1990, 5, 17)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@dataclass
class Site:
    base: str
    controller: Controller
    world: SimulatedWorld
    changes: Changes

    @property
    def core(self) -> Any:
        return self.controller.running

    def wait_for(self, condition: Callable[[], Any], timeout: float = WAIT_S) -> Any:
        """Wait until ``condition`` holds, re-checked whenever the core or the world changes."""
        return self.changes.wait_for(condition, timeout)

    def announce(
        self,
        reference: str,
        document_type: DocumentType = DocumentType.PASSPORT,
        *,
        phone: str | None = PHONE,
        email: str | None = None,
    ) -> str:
        delivery = deliveries.announce(
            self.core,
            deliveries.Announcement(
                reference=reference,
                document_type=document_type,
                name="Erika Mustermann",
                phone=phone,
                email=email,
                locale="de",
                date_of_birth=BIRTHDAY,
            ),
            actor="test",
        )
        return delivery.id

    def door_open(self, label: str) -> bool:
        """The controller has seen this door open (so a person may close it now)."""
        with reading(self.core.engine) as session:
            seen = compartment_by_label(session, label).door_open
        return bool(seen and self.world.hardware.door_open(label))

    def state_of(self, delivery_id: str) -> str:
        with reading(self.core.engine) as session:
            return str(delivery_by_id(session, delivery_id).state)

    def compartments(self) -> list[dict[str, Any]]:
        with reading(self.core.engine) as session:
            rows = session.exec(select(Compartment)).all()
            return [{"label": c.label, "state": str(c.state)} for c in rows]

    def compartment_of(self, delivery_id: str) -> str:
        with reading(self.core.engine) as session:
            label = delivery_by_id(session, delivery_id).compartment
        assert label is not None
        return label

    def put_in_and_close(self, label: str) -> None:
        self.wait_for(lambda: self.door_open(label))
        self.world.hardware.put_item(label)
        self.world.hardware.close_door(label)

    def take_out_and_close(self, label: str) -> None:
        self.wait_for(lambda: self.door_open(label))
        self.world.hardware.take_item(label)
        self.world.hardware.close_door(label)

    def store(
        self, reference: str, document_type: DocumentType = DocumentType.PASSPORT, **kw: Any
    ) -> str:
        """Announce, load and close: a stored delivery whose message is on its way."""
        delivery_id = self.announce(reference, document_type, **kw)
        label = loading.start_loading(self.core, delivery_id, actor="test")
        self.put_in_and_close(label)
        self.wait_for(lambda: self.state_of(delivery_id) == "stored")
        return delivery_id

    def message_to(self, to: str) -> dict[str, Any]:
        """The latest message with a code that reached ``to`` at a stand-in."""
        found = self.world.inbox.wait_for(
            lambda entries: any(e["to"] == to and e["code"] for e in entries)
        )
        return [e for e in found if e["to"] == to and e["code"]][-1]

    def qr_image(self, address: str) -> Image.Image:
        """The QR code image inlined in the e-mail that reached ``address``."""
        raw = self.message_to(address)["raw"]
        message = message_from_string(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        for part in message.walk():
            if part.get_content_type() == "image/png":
                return Image.open(io.BytesIO(part.get_content()))
        raise AssertionError("the e-mail has no QR image")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    hardware = {"backend": "simulator"}
    world = build_world()
    try:
        settings = make_settings(
            tmp_path,
            hardware=hardware,
            notify={"poll_interval_s": 0.2},
            **world.standin_settings(),
        )
        controller = world_controller(
            world, settings, migrate_on_start=True, housekeeping_interval_s=3600
        )
        server = ThreadedServer(
            create_app(settings, controller, extra_routers=[sim_router(world, controller)])
        )
        base = server.start()
        try:
            changes = Changes()
            core = controller.running
            wake_on_world(changes, core, world)
            accounts.add_user(core, STAFF[0], STAFF[1], frozenset(Role), actor="test")
            yield Site(base, controller, world, changes)
        finally:
            server.stop()
    finally:
        world.close()


def launch(playwright: Playwright, extra_args: list[str] | None = None) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + (extra_args or [])
    )


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright for the module, with the thread its loop does file work on (screenshots,
    scripts, downloads: ``run_in_executor`` on the loop's default executor) started here: left
    to asyncio, that thread (``asyncio_0``) would start during the module's first screenshot and
    outlive the test, a leak to the check. One worker, so no second thread can start later."""
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright-files") as files,
        sync_playwright() as running,
    ):
        files.submit(lambda: None).result()
        running._loop.set_default_executor(files)
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = launch(playwright)
    yield chromium
    chromium.close()


class Screen:
    """One browser tab with the checks every screen gets: CSP clean, axe clean, screenshot."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.csp_errors: list[str] = []
        page.on("console", self._console)
        page.set_default_timeout(10_000)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_errors.append(message.text)

    def goto(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def check(self, name: str, *, enhanced: bool = False) -> None:
        """Screenshot ``name`` and assert axe-core finds no violations on the screen as shown;
        ``enhanced`` adds WCAG's enhanced contrast (7:1, the high-contrast theme's promise)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size or {"width": 0, "height": 0}
        self.page.screenshot(path=SCREENSHOTS / f"{name}-{size['width']}x{size['height']}.png")
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text())
        violations = self.page.evaluate(
            """async ([tags, enhanced]) => {
                const only = {runOnly: {type: 'tag', values: tags}};
                if (enhanced) only.rules = {'color-contrast-enhanced': {enabled: true}};
                const result = await axe.run(document, only);
                return result.violations.map(v => ({
                    id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}));
            }""",
            [AXE_TAGS, enhanced],
        )
        assert violations == [], f"{name}: {violations}"
        assert self.csp_errors == [], self.csp_errors


@pytest.fixture
def screen(browser: Browser, site: Site) -> Iterator[Screen]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    page = context.new_page()
    try:
        yield Screen(page, site.base)
    finally:
        with contextlib.suppress(Exception):
            context.close()
