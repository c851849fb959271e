"""A clerk's day with alarms, in German: a board goes offline while the loading screen is open
(the bar says so at once, loading avoids the board and says why), the compartments page
shows the board's compartments as unreachable and a forced door live, the alarm list acknowledges."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import STAFF, Screen, Site

pytestmark = pytest.mark.browser
SMALL = {"width": 800, "height": 480}
LARGE = {"width": 1280, "height": 800}


def sign_in_de(screen: Screen, path: str = "/clerk/load") -> Page:
    page = screen.goto("/clerk?lang=de")
    page.get_by_label("Benutzername").fill(STAFF[0])
    page.get_by_label("Passwort").fill(STAFF[1])
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", name="Dokumente einlegen")).to_be_visible()
    if path != "/clerk/load":
        page.goto(screen.base + path + "?lang=de")
    expect(page.locator("body")).to_have_attribute("data-stream", "ready")
    return page


def both_sizes(screen: Screen, name: str) -> None:
    """Check (axe, screenshot) at the Pi's 800x480 and at 1280x800."""
    for size in (SMALL, LARGE):
        screen.page.set_viewport_size(size)
        screen.check(name)


def on_board_zero(site: Site) -> set[str]:
    return {
        c.label
        for c in site.world.hardware.layout.compartments
        if getattr(c.place, "bus", None) == "rs485" and getattr(c.place, "board", None) == 0
    }


def test_a_board_offline_shows_everywhere_at_once_and_a_clerk_acknowledges_it(
    site: Site, screen: Screen
) -> None:
    site.announce("AL-100")
    page = sign_in_de(screen)
    bar = page.locator("#alarm-bar")
    expect(bar).to_have_text(re.compile("Keine offenen Alarme"))
    site.world.set_fault("board_offline", "rs485:0", True)
    expect(bar).to_contain_text("Offene Alarme: 1")  # live, without reloading
    expect(bar).to_contain_text("Steuerplatine antwortet nicht – Platine rs485:0")

    reference = page.get_by_label("Aktenzeichen des Dokuments (scannen oder tippen)")
    reference.fill("AL-100")
    reference.press("Enter")
    message = page.locator("#load-message")
    expect(message).to_have_text(re.compile(r"Fach [A-Z]\d\d ist offen"))
    label = re.search(r"Fach ([A-Z]\d\d) ist offen", message.inner_text()).group(1)  # type: ignore[union-attr]
    assert label not in on_board_zero(site)
    both_sizes(screen, "clerk-alarm-bar")
    site.put_in_and_close(label)
    expect(message).to_have_text(re.compile(rf"Eingelagert: AL-100 in Fach {label}"))

    page.get_by_role("link", name="Fächer").click()
    cell = page.locator(".cell[data-label='A01']")
    expect(cell).to_contain_text("nicht erreichbar")
    both_sizes(screen, "clerk-compartments-offline")

    page.get_by_role("link", name="Alle Alarme ansehen").click()
    expect(page.get_by_role("heading", name="Alarme", exact=True)).to_be_visible()
    note = page.get_by_label(re.compile("Notiz: was wird unternommen"))
    page.get_by_role("button", name="Quittieren").click()
    expect(page.locator("#alarm-message")).to_have_text(
        "Bitte schreiben Sie kurz, was unternommen wird."
    )
    both_sizes(screen, "clerk-alarms")
    note.fill("Techniker ist informiert")
    page.get_by_role("button", name="Quittieren").click()
    expect(page.locator("#alarm-message")).to_contain_text("Alarm quittiert")
    row = page.locator("tr[data-alarm]").first
    expect(row).to_contain_text("quittiert")
    expect(row).to_contain_text("Techniker ist informiert")
    expect(bar).to_contain_text("(quittiert)")

    site.world.set_fault("board_offline", "rs485:0", False)
    expect(bar).to_have_text(re.compile("Keine offenen Alarme"), timeout=20_000)
    expect(row).to_contain_text("erledigt")


def test_a_forced_door_turns_up_live_on_the_compartments_page_in_the_screen_s_language(
    site: Site, screen: Screen
) -> None:
    delivery_id = site.store("AL-200")
    label = site.compartment_of(delivery_id)
    page = sign_in_de(screen, "/clerk/compartments")
    cell = page.locator(f".cell[data-label='{label}']")
    expect(cell).to_contain_text("belegt")
    site.world.hardware.force_door(label)  # fault and alarm, seen without a reload
    expect(cell).to_contain_text("Störung")
    expect(cell).to_contain_text("Tür aufgebrochen")
    assert "forced" not in cell.inner_text()
    expect(page.locator("#alarm-bar")).to_contain_text(f"Tür aufgebrochen – {label}")
