"""The control room in Debian's Chromium: sign-in with a centre key, every box with its state,
a box page, live updates without reloading; axe-clean, CSP-clean, screenshots at 1280×800."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from fleet.centre.app import create_app
from fleet.contract import Backlog, Boards, BoxEvent, BoxStatus, Topic, topic
from kiosk.pages.serving import ThreadedServer

from ..browser.conftest import Screen, launch
from .test_centre import state

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def served(centre) -> Iterator[str]:
    server = ThreadedServer(create_app(centre))
    base = server.start()
    yield base
    server.stop()


def report(box_client, clock, stored, box_id: str, *, online: bool, occupied: int, alarms: int = 0):
    box = box_client(box_id)
    now = clock.now()
    reason = "connected" if online else "lost"
    box.publish(
        topic(box_id, Topic.STATUS),
        BoxStatus(box_id=box_id, sent_at=now, online=True, reason="connected").wire(),
        retain=True,
    )
    found = state(box_id, now, occupied=occupied)
    found = found.model_copy(
        update={
            "open_alarms": alarms,
            "dead_messages": 1 if alarms else 0,
            "boards": Boards(offline=["bus/0"] if alarms else []),
            "backlog": Backlog(notifications=0, events=0),
        }
    )
    box.publish(topic(box_id, Topic.STATE), found.wire(), retain=True)
    for seq, kind in enumerate(("delivery.announced", "delivery.loading", "delivery.stored"), 1):
        box.publish(
            topic(box_id, Topic.EVENTS),
            BoxEvent(
                message_id="evt_" + hashlib.sha256(f"{box_id}{seq}".encode()).hexdigest()[:24],
                box_id=box_id,
                sent_at=now,
                seq=seq,
                prev_seq=seq - 1,
                type=kind,
                occurred_at=now,
                data={"reference": f"BA-{box_id}-{seq}", "compartment": "A03", "state": kind[9:]},
            ).wire(),
        )
    if not online:
        box.publish(
            topic(box_id, Topic.STATUS),
            BoxStatus(box_id=box_id, sent_at=now, online=False, reason=reason).wire(),
            retain=True,
        )
    stored.wait(
        lambda: bool(
            stored.query("SELECT 1 FROM box WHERE box_id = :b AND events_stored = 3", b=box_id)
        )
    )
    return box


def test_the_control_room_shows_every_box_live(centre, stored, box_client, clock, served, browser):
    barmen = report(box_client, clock, stored, "rathaus-barmen", online=True, occupied=3)
    report(box_client, clock, stored, "rathaus-elberfeld", online=True, occupied=9, alarms=2)
    report(box_client, clock, stored, "buergerbuero-vohwinkel", online=False, occupied=1)

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    try:
        screen = Screen(context.new_page(), served)
        page = screen.goto("/")
        assert page.url.endswith("/signin")
        screen.check("fleet-signin")
        page.fill("#key", "wrong")
        page.click("button[type=submit]")
        page.get_by_role("alert").wait_for()
        screen.check("fleet-signin-failed")
        page.fill("#key", "demo-key")
        page.click("button[type=submit]")
        page.get_by_role("heading", name="Alle Anlagen").wait_for()
        assert page.locator("tbody tr").count() == 3
        assert "2 von 3 Anlagen verbunden." in page.inner_text("main")
        row = page.locator("tr", has_text="buergerbuero-vohwinkel")
        assert "getrennt" in row.inner_text()
        screen.check("fleet-control-room")

        # Live: a box's new state shows without reloading the page.
        barmen.publish(
            topic("rathaus-barmen", Topic.STATE),
            state("rathaus-barmen", clock.now(), occupied=7).wire(),
            retain=True,
        )
        page.locator("tr", has_text="rathaus-barmen").get_by_text("7 von 14").wait_for()

        page.get_by_role("link", name="rathaus-elberfeld").click()
        page.get_by_role("heading", name="Anlage rathaus-elberfeld").wait_for()
        assert "bus/0" in page.inner_text("main")
        assert "eingelegt" in page.inner_text("main")
        screen.check("fleet-box")
        page.get_by_role("button", name="Abmelden (demo)").click()
        page.get_by_role("heading", name="Anmelden").wait_for()
        assert page.goto(served + "/").url.endswith("/signin")
    finally:
        context.close()
