"""Four-eyes loading at the counter, in German at 800x480: the second clerk confirms on the
same screen with their own password; a door closed too early is opened again."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from locker.services import accounts
from locker.vocabulary import Role

from .conftest import STAFF, Screen, Site
from .test_alarms import SMALL, both_sizes, sign_in_de

pytestmark = pytest.mark.browser


def four_eyes(core: Any) -> None:
    """Turn the setting on for this controller (settings are frozen: a changed copy)."""
    policy = core.settings.policy.model_copy(update={"four_eyes_loading": True})
    core.settings = core.settings.model_copy(update={"policy": policy})


def test_a_second_clerk_confirms_a_loading_on_the_same_screen(site: Site, screen: Screen) -> None:
    four_eyes(site.core)
    accounts.add_user(site.core, "ben", STAFF[1], frozenset({Role.CLERK}), actor="test")
    site.announce("FE-10")
    screen.page.set_viewport_size(SMALL)
    page = sign_in_de(screen)
    reference = page.get_by_label("Aktenzeichen des Dokuments (scannen oder tippen)")
    reference.fill("FE-10")
    reference.press("Enter")
    form = page.locator("#witness-form")
    expect(form).to_be_visible()
    label = re.search(r"Fach ([A-Z]\d\d)", page.locator("#witness-text").inner_text()).group(1)  # type: ignore[union-attr]
    site.wait_for(lambda: site.door_open(label))
    site.world.hardware.put_item(label)
    site.world.hardware.close_door(label)  # too early: nobody has confirmed
    message = page.locator("#load-message")
    expect(message).to_contain_text("ohne Bestätigung geschlossen")
    reopen = page.get_by_role("button", name=f"Fach {label} erneut öffnen")
    expect(reopen).to_be_focused()
    both_sizes(screen, "clerk-four-eyes-unconfirmed")
    reopen.click()
    expect(form).to_be_visible()
    site.wait_for(lambda: site.door_open(label))
    page.get_by_label("Benutzername der zweiten Person").fill(STAFF[0])  # the same person
    page.get_by_label("Passwort der zweiten Person").fill(STAFF[1])
    page.get_by_role("button", name="Bestätigen").click()
    expect(message).to_have_text("Bestätigen muss eine andere Person als die, die einlegt.")
    page.get_by_label("Benutzername der zweiten Person").fill("ben")
    page.get_by_label("Passwort der zweiten Person").fill("falsch")
    page.get_by_role("button", name="Bestätigen").click()
    expect(message).to_have_text("Benutzername oder Passwort der zweiten Person stimmt nicht.")
    both_sizes(screen, "clerk-four-eyes")
    page.get_by_label("Passwort der zweiten Person").fill(STAFF[1])
    page.get_by_role("button", name="Bestätigen").click()
    expect(message).to_have_text(f"Bestätigt von ben. Jetzt die Tür von Fach {label} schließen.")
    site.world.hardware.close_door(label)
    expect(message).to_have_text(re.compile(f"Eingelagert: FE-10 in Fach {label}"))
    expect(form).to_be_hidden()
