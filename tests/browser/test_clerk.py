"""A clerk signs in, loads documents (announced or new), sees "stored" live; the other staff
screens: taking back, compartments and technician actions, accounts and keys, the audit log."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from locker.services import accounts
from locker.vocabulary import DocumentType, Role

from .conftest import PHONE, STAFF, Screen, Site

pytestmark = pytest.mark.browser
NEW_PHONE = "+4915199988877"


def sign_in(screen: Screen, password: str = STAFF[1]) -> Page:
    page = screen.goto("/clerk?lang=en")
    page.get_by_label("User name").fill(STAFF[0])
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    return page


def load_reference(site: Site, page: Page, reference: str) -> str:
    """Wait for the open compartment, put the document in, close; return the label."""
    message = page.locator("#load-message")
    expect(message).to_have_text(re.compile(rf"Compartment [A-Z]\d\d is open\. .*{reference}"))
    label = message.inner_text().split()[1]
    site.put_in_and_close(label)
    expect(message).to_have_text(re.compile(rf"Stored: {reference} in compartment {label}\."))
    return label


def test_clerk_loads_two_documents_and_the_citizen_gets_the_sms(site: Site, screen: Screen) -> None:
    site.announce("A-100", DocumentType.PASSPORT, phone=PHONE)
    page = sign_in(screen, "wrong password")
    expect(page.get_by_role("alert")).to_have_text("User name or password is not right.")
    screen.check("clerk-sign-in")
    page = sign_in(screen)
    expect(page.get_by_role("heading", name="Load documents")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-stream", "ready")

    reference = page.get_by_label("Reference of the document (scan or type)")
    reference.fill("A-100")
    reference.press("Enter")
    first = load_reference(site, page, "A-100")
    screen.check("clerk-load-stored")

    expect(reference).to_be_focused()
    reference.fill("A-200")
    reference.press("Enter")
    expect(page.get_by_role("heading", name="New document")).to_be_visible()
    page.get_by_label("Recipient's name").fill("Max Mustermann")
    page.get_by_label("Mobile number (+49…)").fill(NEW_PHONE)
    page.get_by_label("Document", exact=True).select_option("other")
    screen.check("clerk-load-new")
    page.get_by_role("button", name="Announce and load").click()
    second = load_reference(site, page, "A-200")
    assert first != second
    expect(page.locator("#loaded li")).to_have_count(2)

    for phone in (PHONE, NEW_PHONE):
        message = site.message_to(phone)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", message["code"])
        assert message["channel"] == "sms"


def test_a_change_without_the_csrf_token_is_refused(site: Site, screen: Screen) -> None:
    page = sign_in(screen)
    expect(page.get_by_role("heading", name="Load documents")).to_be_visible()
    status = page.evaluate(
        """async () => (await fetch('/api/v1/deliveries', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({reference: 'X-1', document_type: 'other',
                                  recipient: {name: 'A', phone: '+4915100000000'}})})).status"""
    )
    assert status == 403


def test_staff_screens(site: Site, screen: Screen) -> None:
    expired = site.store("R-1", DocumentType.OTHER)
    site.world.advance_clock((site.core.settings.policy.pickup_days + 1) * 86_400)
    assert site.controller.housekeeper is not None
    site.controller.housekeeper.run_now()
    page = sign_in(screen)
    expect(page.get_by_role("heading", name="Load documents")).to_be_visible()
    screen.check("clerk-load")

    page.get_by_role("link", name="Take back").click()
    expect(page.get_by_role("heading", name="Documents to take back")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-stream", "ready")
    screen.check("clerk-retrieval")
    page.get_by_role("button", name=re.compile(r"Open [A-Z]\d\d")).click()
    message = page.locator("#retrieval-message")
    expect(message).to_have_text(re.compile(r"Compartment [A-Z]\d\d is open\. .*R-1"))
    site.take_out_and_close(message.inner_text().split()[1])
    expect(message).to_have_text("Taken back: R-1.")
    site.wait_for(lambda: site.state_of(expired) == "returned")

    page.get_by_role("link", name="Compartments").click()
    expect(page.get_by_role("heading", name="Compartments", exact=True)).to_be_visible()
    page.get_by_label("Compartment", exact=True).select_option("B12")
    page.get_by_label("Reason (goes into the audit log)").fill("hinge squeaks")
    page.get_by_role("button", name="Take out of service").click()
    expect(page.locator(".cell[data-label='B12']")).to_have_attribute(
        "data-state", "out_of_service"
    )
    screen.check("clerk-compartments")

    page.get_by_role("link", name="Accounts").click()
    page.get_by_label("User name").fill("clerk2")
    page.get_by_label("Password").fill("another long password")
    page.locator("#user-form").get_by_label("Clerk").check()
    page.locator("#user-form").get_by_role("button", name="Create").click()
    expect(page.locator("#user-message")).to_have_text("Account clerk2 created.")
    page.get_by_label("Name of the key").fill("back office")
    page.locator("#key-form").get_by_label("Clerk").check()
    page.locator("#key-form").get_by_role("button", name="Create").click()
    expect(page.locator("#new-key")).to_have_text(re.compile(r"^lk_\S{20,}$"))
    screen.check("clerk-admin")

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("cell", name="out_of_service").first).to_be_visible()
    expect(page.get_by_role("cell", name="api_key_created")).to_be_visible()
    screen.check("clerk-audit")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    page.goto(site.base + "/clerk/audit")
    expect(page.get_by_role("heading", name="Anmeldung für Mitarbeitende")).to_be_visible()


def test_idle_staff_screen_warns_then_signs_out(site: Site, screen: Screen) -> None:
    screen.page.clock.install()
    page = sign_in(screen)
    expect(page.get_by_role("heading", name="Load documents")).to_be_visible()
    idle = int(page.locator("body").get_attribute("data-idle") or 0)
    assert 0 < idle <= site.core.settings.security.session_idle_minutes * 60
    page.clock.run_for((idle - 5) * 1000)
    expect(page.get_by_role("dialog", name="Are you still there?")).to_be_visible()
    expect(page.get_by_text(re.compile(r"You will be signed out in \d+ seconds\."))).to_be_visible()
    screen.check("clerk-idle-warning")
    page.clock.run_for(6000)
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    page.goto(site.base + "/clerk/load")
    expect(page.get_by_role("heading", name="Anmeldung für Mitarbeitende")).to_be_visible()


def test_a_technician_sees_only_what_the_role_allows(site: Site, screen: Screen) -> None:
    accounts.add_user(site.core, "tech1", STAFF[1], frozenset({Role.TECHNICIAN}), actor="test")
    page = screen.goto("/clerk?lang=en")
    page.get_by_label("User name").fill("tech1")
    page.get_by_label("Password").fill(STAFF[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Compartments", exact=True)).to_be_visible()
    menu = page.get_by_role("navigation", name="Staff menu")
    expect(menu.get_by_role("link")).to_have_text(["Compartments", "Alarms"])
    answer = page.goto(site.base + "/clerk/load?lang=en")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="Your account may not do this.")).to_be_visible()
    screen.check("clerk-forbidden")


def test_a_jammed_lock_while_loading_says_so_and_another_compartment_is_used(
    site: Site, screen: Screen
) -> None:
    site.announce("J-1", DocumentType.OTHER)
    labels = site.world.labels
    for label in labels:
        site.world.hardware.jam(label)
    page = sign_in(screen)
    reference = page.get_by_label("Reference of the document (scan or type)")
    reference.fill("J-1")
    reference.press("Enter")
    message = page.locator("#load-message")
    expect(message).to_have_text(
        re.compile(r"The compartment did not open and is now marked faulty .*J-1 is not loaded")
    )
    jammed = next(c["label"] for c in site.compartments() if c["state"] == "fault")
    expect(reference).to_have_value("J-1")
    screen.check("clerk-load-fault")
    for label in labels:
        site.world.hardware.unjam(label)
    page.get_by_role("button", name="Load", exact=True).click()
    second = load_reference(site, page, "J-1")
    assert second != jammed
