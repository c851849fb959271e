"""The statistics page and the webhook admin screen, in both languages and both screen sizes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from locker import webhooks
from locker.vocabulary import DocumentType

from .conftest import SCREENSHOTS, Screen, Site
from .test_clerk import sign_in

pytestmark = pytest.mark.browser


def test_statistics_page_shows_charts_in_english_and_german(site: Site, screen: Screen) -> None:
    site.store("ST-1", DocumentType.OTHER)
    page = sign_in(screen)
    page.get_by_role("link", name="Statistics").click()
    expect(page.get_by_role("heading", name="Statistics", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="Pickups by hour of day")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Other"))).to_contain_text("1")
    screen.check("clerk-statistics")
    page.screenshot(path=SCREENSHOTS / "clerk-statistics-full-1280.png", full_page=True)
    page.get_by_label("Per", exact=True).select_option("week")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("img", name="Pickups per week")).to_be_visible()
    page.goto(site.base + "/clerk/statistics?lang=de&granularity=month")
    expect(page.get_by_role("heading", name="Statistik", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="Abholungen je Monat")).to_be_visible()
    since = page.get_by_label("Von")
    expect(since).to_have_value(re.compile(r"^\d\d\.\d\d\.\d{4}$"))  # never mm/dd/yyyy
    expect(since).to_have_attribute("placeholder", "TT.MM.JJJJ")
    until = page.get_by_label("Bis").input_value()
    day, month, year = until.split(".")
    since.fill(f"{day}{month}{year}")  # typed without dots: the same day
    page.get_by_role("button", name="Anzeigen").click()
    expect(page.get_by_label("Von")).to_have_value(until)
    screen.check("clerk-statistics-de")
    page.set_viewport_size({"width": 800, "height": 480})
    screen.check("clerk-statistics-de")


def test_webhook_screen_creates_rotates_redelivers_and_deletes(site: Site, screen: Screen) -> None:
    page = sign_in(screen)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks to the registry software")).to_be_visible()
    page.get_by_label("Receiver URL (https://…)").fill("https://127.0.0.1:9/hooks")
    page.locator("#webhook-form").get_by_role("button", name="Create").click()
    expect(page.locator("#webhook-secret")).to_have_text(re.compile(r"^whsec_\S{40,}$"))
    first_secret = page.locator("#webhook-secret").inner_text()
    screen.check("clerk-webhooks")

    [endpoint] = webhooks.list_endpoints(site.core)
    _dead_message(site, endpoint.id)
    page.reload()
    expect(page.get_by_role("cell", name="delivery.stored")).to_be_visible()
    page.get_by_role("button", name="New secret").click()
    expect(page.locator("#webhook-secret")).not_to_have_text(first_secret)
    page.get_by_role("button", name="Send again").click()
    expect(page.locator("#redeliver-message")).to_have_text(re.compile(r"will be sent again"))
    assert webhooks.messages(site.core, state=webhooks.W.DEAD) == []
    page.goto(site.base + "/clerk/webhooks?lang=de")
    expect(page.get_by_role("heading", name="Webhooks an das Fachverfahren")).to_be_visible()
    page.set_viewport_size({"width": 800, "height": 480})
    screen.check("clerk-webhooks-de")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Löschen").click()
    expect(page.get_by_text("Noch keine Empfänger.")).to_be_visible()


def _dead_message(site: Site, endpoint_id: str) -> None:
    from locker.db import transaction
    from locker.models import WebhookMessage

    now = site.core.clock.now()
    with transaction(site.core.engine) as session:
        session.add(
            WebhookMessage(
                endpoint_id=endpoint_id,
                webhook_id="evt_dead0000000000000000000",
                event_type="delivery.stored",
                body="{}",
                state=webhooks.W.DEAD,
                attempts=webhooks.MAX_ATTEMPTS,
                created_at=now,
                next_attempt_at=now,
                last_status=503,
                last_error="HTTP 503",
            )
        )
