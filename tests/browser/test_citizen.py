"""A citizen at the touchscreen: typed code with date of birth, and the errors in plain words."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from locker.vocabulary import DocumentType

from .conftest import PHONE, Screen, Site

pytestmark = pytest.mark.browser


def start_pickup(page: Page) -> None:
    page.get_by_role("link", name="Start").click()
    expect(page.locator("body")).to_have_attribute("data-stream", "ready")
    expect(page.get_by_role("heading", name="Code zeigen")).to_be_visible()


def type_code(page: Page, code: str) -> None:
    field = page.get_by_label("Oder tippen Sie Ihren Abholcode ein")
    expect(field).to_be_focused()
    field.fill(code)
    field.press("Enter")


def test_citizen_types_the_code_and_birthday_and_collects(site: Site, screen: Screen) -> None:
    delivery_id = site.store("P-1001", DocumentType.ID_CARD)
    code = site.message_to(PHONE)["code"]
    page = screen.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    screen.check("welcome")
    start_pickup(page)
    screen.check("pickup-scan")

    type_code(page, code.lower())
    expect(page.get_by_role("heading", name="Ihr Geburtsdatum")).to_be_focused()
    for key in "17051990":
        page.locator(f".key[data-key='{key}']").click()
    expect(page.get_by_label("Geburtsdatum (TT.MM.JJJJ)")).to_have_value("17.05.1990")
    screen.check("pickup-birthday")
    page.get_by_role("button", name="Weiter").click()

    expect(page.get_by_role("heading", name="Empfang bestätigen")).to_be_visible()
    screen.check("pickup-confirm")
    page.get_by_role("button", name="Bestätigen und öffnen").click()

    heading = page.get_by_role("heading", name=re.compile(r"Fach [A-Z]\d\d ist offen"))
    expect(heading).to_be_visible()
    label = heading.inner_text().split()[1]
    expect(page.locator(f".cell.open[data-label='{label}']")).to_have_count(1)
    expect(page.locator(".cell.open")).to_have_count(1)
    screen.check("pickup-open")

    site.take_out_and_close(label)
    expect(page.get_by_role("heading", name="Vielen Dank")).to_be_visible()
    site.wait_for(lambda: site.state_of(delivery_id) == "collected")
    expect(page.get_by_text(code)).to_have_count(0)
    screen.check("pickup-done")
