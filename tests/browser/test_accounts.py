"""An admin manages accounts and keys on the admin screen, in German: the lists with last use,
disabling (the account's open session ends at once), a new password shown once, revoking."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from locker.services import accounts
from locker.vocabulary import Role

from .conftest import STAFF, Screen, Site
from .test_alarms import both_sizes, sign_in_de

pytestmark = pytest.mark.browser


def test_an_admin_disables_resets_and_revokes_and_it_takes_effect_at_once(
    site: Site, screen: Screen, browser: Browser
) -> None:
    accounts.add_user(site.core, "anna", STAFF[1], frozenset({Role.CLERK}), actor="test")
    accounts.create_api_key(site.core, "fachverfahren", frozenset({Role.CLERK}), actor="test")
    other = browser.new_context(viewport={"width": 800, "height": 480}, locale="de-DE")
    anna = other.new_page()
    anna.goto(site.base + "/clerk?lang=de")
    anna.get_by_label("Benutzername").fill("anna")
    anna.get_by_label("Passwort").fill(STAFF[1])
    anna.get_by_role("button", name="Anmelden").click()
    expect(anna.get_by_role("heading", name="Dokumente einlegen")).to_be_visible()

    page = sign_in_de(screen, "/clerk/admin")
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator("tr[data-user='anna']")
    expect(row).to_contain_text("aktiv")
    expect(row.locator("td").nth(4)).to_have_text("1")  # anna's open session
    expect(page.locator("tr[data-key='fachverfahren']")).to_contain_text("nie")
    both_sizes(screen, "clerk-admin-accounts")

    row.get_by_role("button", name="Sperren: anna").click()
    expect(page.locator("#staff-message")).to_have_text(
        "anna ist gesperrt; alle Sitzungen sind beendet."
    )
    expect(row).to_contain_text("gesperrt")
    anna.reload()
    expect(anna.get_by_role("heading", name="Anmeldung für Mitarbeitende")).to_be_visible()

    page.locator("tr[data-user='anna']").get_by_role("button", name="Entsperren: anna").click()
    expect(page.locator("tr[data-user='anna']")).to_contain_text("aktiv")
    page.locator("tr[data-user='anna']").get_by_role("button", name="Neues Passwort: anna").click()
    expect(page.locator("#staff-message")).to_contain_text("Neues Passwort für anna")
    new_password = page.locator("#reset-password").inner_text().strip()
    assert len(new_password) >= 12
    assert accounts.sign_in(site.core, "anna", new_password).name == "user:anna"

    own = page.locator(f"tr[data-user='{STAFF[0]}']")
    own.get_by_role("button", name=f"Sperren: {STAFF[0]}").click()
    expect(page.locator("#staff-message")).to_have_text(re.compile("nicht möglich"))

    key = page.locator("tr[data-key='fachverfahren']")
    key.get_by_role("button", name="Widerrufen: fachverfahren").click()
    expect(page.locator("#staff-message")).to_have_text("API-Schlüssel fachverfahren widerrufen.")
    expect(page.locator("tr[data-key='fachverfahren']")).to_contain_text("widerrufen")
    both_sizes(screen, "clerk-admin-revoked")
    other.close()
