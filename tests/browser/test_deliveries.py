"""A clerk finds a delivery by part of the name, reads its timeline, sends a new code, fixes
the contact, extends the pickup period and cancels it — in German, at both screen sizes; the
retrieval list, open in another tab, shows the cancelled document at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from .conftest import PHONE, Screen, Site
from .test_alarms import both_sizes, sign_in_de

pytestmark = pytest.mark.browser
NEW_PHONE = "+4915199988877"


def test_find_fix_and_cancel_a_delivery(site: Site, screen: Screen, browser: Browser) -> None:
    delivery_id = site.store("BA-77", phone=PHONE)
    label = site.compartment_of(delivery_id)
    first = site.message_to(PHONE)["code"]
    page = sign_in_de(screen)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="Sendungen").click()
    page.get_by_label("Aktenzeichen oder Name (auch ein Teil)").fill("muster")
    page.get_by_label("Zustand").select_option("stored")
    page.get_by_role("button", name="Suchen").click()
    expect(page.locator("tr[data-delivery]")).to_have_count(1)
    expect(page.locator("tr[data-delivery]")).to_contain_text("Erika Mustermann")
    both_sizes(screen, "clerk-deliveries")

    page.get_by_role("link", name="BA-77").click()
    expect(page.get_by_role("heading", name="Sendung BA-77")).to_be_visible()
    timeline = page.locator("#delivery-timeline")
    expect(timeline).to_contain_text("eingelagert")
    page.get_by_role("button", name="Neuen Code senden").click()
    expect(page.locator("#delivery-message")).to_have_text(
        "Ein neuer Code ist unterwegs; der alte gilt nicht mehr."
    )
    expect(timeline).to_contain_text("neuer Code gesendet")
    site.world.inbox.wait_for(
        lambda found: len([m for m in found if m["to"] == PHONE and m["code"]]) == 2
    )
    assert site.message_to(PHONE)["code"] != first

    phone = page.get_by_label("Mobilnummer (+49…)")
    phone.fill("12345")
    page.get_by_role("button", name="Kontakt speichern").click()
    expect(page.locator("#delivery-message")).to_have_text(
        re.compile("Die Mobilnummer ist nicht gültig")
    )
    both_sizes(screen, "clerk-delivery")
    phone.fill(NEW_PHONE)
    page.get_by_role("button", name="Kontakt speichern").click()
    expect(page.locator("#delivery-message")).to_have_text(
        re.compile("neuer Code ging an den neuen Kontakt")
    )
    expect(page.locator("#delivery-phone")).to_have_text(NEW_PHONE)
    assert site.message_to(NEW_PHONE)["code"]

    page.get_by_label("Um wie viele Tage?").fill("30")
    page.get_by_role("button", name="Verlängern").click()
    expect(page.locator("#delivery-message")).to_have_text(re.compile("So lange geht es nicht"))
    page.get_by_label("Um wie viele Tage?").fill("3")
    page.get_by_role("button", name="Verlängern").click()
    expect(page.locator("#delivery-message")).to_have_text(re.compile("Abholbar jetzt bis"))
    expect(timeline).to_contain_text("Abholfrist verlängert")

    retrieval = browser.new_context(viewport={"width": 800, "height": 480}, locale="de-DE")
    other = retrieval.new_page()
    other.context.add_cookies(page.context.cookies())
    other.goto(site.base + "/clerk/retrieval?lang=de")
    expect(other.locator("body")).to_have_attribute("data-stream", "ready")
    expect(other.locator("#retrieval-list")).to_contain_text("Nichts zurückzunehmen")
    page.get_by_role("button", name="Sendung stornieren").click()
    expect(page.locator("#delivery-message")).to_have_text(
        re.compile(f"Storniert. Das Dokument liegt noch in Fach {label}")
    )
    expect(other.locator("#retrieval-list")).to_contain_text("BA-77")  # live, no reload
    retrieval.close()
