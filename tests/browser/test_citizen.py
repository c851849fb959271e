"""A citizen at the touchscreen: typed code with date of birth, and the errors in plain words."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from playwright.sync_api import Page, expect

from hardware.layout import SerialPlace
from locker import i18n
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


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (800, 480)])
def test_citizen_types_the_code_and_birthday_and_collects(
    site: Site, screen: Screen, width: int, height: int
) -> None:
    screen.page.set_viewport_size({"width": width, "height": height})
    delivery_id = site.store("P-1001", DocumentType.ID_CARD)
    code = site.message_to(PHONE)["code"]
    page = screen.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    screen.check("welcome")
    start_pickup(page)
    screen.check("pickup-scan")

    keyboard = page.get_by_role("group", name="Buchstaben und Ziffern des Codes")
    for char in code.replace("-", "") + "X":  # one too many: ignored
        keyboard.get_by_role("button", name=char, exact=True).click()
    field = page.get_by_label("Oder tippen Sie Ihren Abholcode ein")
    expect(field).to_have_value(code)
    expect(field).to_be_focused()
    screen.check("pickup-code-typed")
    keyboard.get_by_role("button", name="Weiter").click()
    expect(page.get_by_role("heading", name="Ihr Geburtsdatum")).to_be_focused()
    for key in "17051990":
        page.locator(f"#dob-keys [data-key='{key}']").click()
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


OFF_SCREEN = """() => [...document.querySelectorAll('button, input, a, select')]
    .filter((e) => e.offsetParent !== null && !e.closest('[hidden]'))
    .filter((e) => {
        const r = e.getBoundingClientRect();
        return r.bottom + window.scrollY > window.innerHeight + 0.5
            || r.right + window.scrollX > window.innerWidth + 0.5;
    })
    .map((e) => e.id || e.dataset.key || e.textContent.trim())"""


def assert_on_screen(page: Page) -> None:
    """Every visible control lies inside the screen as it is, without scrolling."""
    assert page.evaluate(OFF_SCREEN) == []


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (800, 480)])
def test_a_wrong_birthday_is_said_as_such_before_the_receipt_and_the_keyboard_types_it(
    site: Site, screen: Screen, width: int, height: int
) -> None:
    screen.page.set_viewport_size({"width": width, "height": height})
    delivery_id = site.store("P-1101", DocumentType.PASSPORT)
    code = site.message_to(PHONE)["code"]
    page = screen.goto("/pickup")
    expect(page.locator("body")).to_have_attribute("data-stream", "ready")
    type_code(page, code[:4])  # wrong form: said under the field, nothing leaves the screen
    expect(page.locator("#code-error")).not_to_be_empty()
    screen.check("pickup-code-format-error")
    assert_on_screen(page)
    type_code(page, code)
    expect(page.get_by_role("heading", name="Ihr Geburtsdatum")).to_be_focused()
    page.keyboard.type("01.01.1980")  # a physical keyboard, the focus on the heading
    dob = page.get_by_label("Geburtsdatum (TT.MM.JJJJ)")
    expect(dob).to_have_value("01.01.1980")
    page.keyboard.press("Enter")
    tries = site.core.settings.security.delivery_max_failures - 1
    expect(page.locator("#dob-error")).to_have_text(
        f"Das Geburtsdatum stimmt nicht. Bitte prüfen Sie es: Sie haben noch {tries} Versuche."
    )
    expect(page.get_by_role("heading", name="Empfang bestätigen")).to_be_hidden()
    expect(dob).to_have_value("")
    expect(dob).to_be_focused()
    screen.check("pickup-birthday-wrong")
    assert_on_screen(page)
    assert site.state_of(delivery_id) == "stored"
    page.get_by_role("heading", name="Ihr Geburtsdatum").click()
    page.keyboard.type("170519900")  # one digit too many: ignored
    page.keyboard.press("Backspace")
    page.keyboard.type("0")
    expect(dob).to_have_value("17.05.1990")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Empfang bestätigen")).to_be_visible()
    assert_on_screen(page)
    assert site.state_of(delivery_id) == "stored"  # nothing opened before the confirmation
    page.get_by_role("button", name="Bestätigen und öffnen").click()
    expect(
        page.get_by_role("heading", name=re.compile(r"Fach [A-Z]\d\d ist offen"))
    ).to_be_visible()
    assert_on_screen(page)


def show_error(page: Page, code: str) -> str:
    type_code(page, code)
    expect(page.get_by_role("heading", name="Das hat nicht geklappt")).to_be_focused()
    return page.locator("#error-text").inner_text()


def test_wrong_codes_say_so_and_then_lock_the_kiosk(site: Site, screen: Screen) -> None:
    page = screen.goto("/pickup")
    expect(page.locator("body")).to_have_attribute("data-stream", "ready")
    max_failures = site.core.settings.security.kiosk_max_failures
    for attempt in range(max_failures - 1):
        text = show_error(page, f"AAAA-AAAA-AAA{attempt}")
        assert text.startswith("Dieser Code ist hier nicht gültig.")
        if attempt == 0:
            screen.check("error-wrong-code")
        page.get_by_role("button", name="Noch einmal versuchen").click()
        field = page.get_by_label("Oder tippen Sie Ihren Abholcode ein")
        expect(field).to_have_value(f"AAAA-AAAA-AAA{attempt}")  # kept, to correct a typo
        expect(field).to_be_focused()
    text = show_error(page, "AAAA-BBBB-BBBB")
    lockout_s = site.core.settings.security.kiosk_lockout_base_s
    assert (
        text == f"Zu viele falsche Versuche. Bitte versuchen Sie es in {lockout_s} Sekunden wieder."
    )
    screen.check("error-locked")


def test_expired_code_says_what_to_do(site: Site, screen: Screen) -> None:
    site.store("P-2001", DocumentType.OTHER)
    code = site.message_to(PHONE)["code"]
    site.world.advance_clock((site.core.settings.policy.pickup_days + 1) * 86_400)
    assert site.controller.housekeeper is not None
    site.controller.housekeeper.run_now()
    page = screen.goto("/pickup")
    page.get_by_role("heading", name="Code zeigen").click()  # the focus leaves the field
    page.keyboard.type(code)  # as a USB scanner does
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Das hat nicht geklappt")).to_be_focused()
    text = page.locator("#error-text").inner_text()
    assert "Abholfrist" in text
    assert "Bürgerbüro" in text
    screen.check("error-expired")


def test_english_and_a_small_screen(site: Site, screen: Screen) -> None:
    page = screen.page
    page.set_viewport_size({"width": 800, "height": 480})
    screen.goto("/")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Collect your document")).to_be_visible()
    screen.check("welcome-en")
    page.get_by_role("link", name="Start").click()
    expect(page.get_by_role("heading", name="Show your code")).to_be_visible()
    screen.check("pickup-scan-en")
    field = page.get_by_label("Or type your pickup code")
    field.press("Enter")
    expect(page.get_by_text("Please type your pickup code first.")).to_be_visible()
    field.fill("K7M4Q-X9T2")
    field.press("Enter")
    expect(page.get_by_role("alert")).to_have_text(
        "A pickup code has 12 letters and digits, for example K7M4-Q9XT-2BHD."
    )
    expect(field).to_be_focused()
    assert_on_screen(page)
    field.fill("LOCKER2:another-bank:K7M4Q9XT2BHD")
    field.press("Enter")
    expect(page.locator("#error-text")).to_have_text(
        "This code belongs to another locker. Please go to the locker named in your message."
    )
    screen.check("error-wrong-locker-en")


def test_inactivity_warns_then_returns_to_the_start(site: Site, screen: Screen) -> None:
    page = screen.page
    page.clock.install()
    screen.goto("/pickup?lang=en")
    page.get_by_label("Or type your pickup code").fill("K7M4Q")
    idle = site.core.settings.kiosk.inactivity_s
    page.clock.run_for((idle - 5) * 1000)
    dialog = page.get_by_role("dialog", name="Are you still there?")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("button", name="I need more time")).to_be_focused()
    screen.check("idle-warning")
    page.get_by_role("button", name="I need more time").click()
    expect(dialog).to_be_hidden()
    page.clock.run_for((idle - 5) * 1000)
    expect(dialog).to_be_visible()
    page.clock.run_for(6000)
    expect(page).to_have_url(site.base + "/")
    expect(page.get_by_role("heading", name="Dokument abholen")).to_be_visible()
    page.get_by_role("link", name="English").click()  # and walks away
    expect(page.get_by_role("heading", name="Collect your document")).to_be_visible()
    page.clock.run_for((idle + 1) * 1000)
    expect(page.get_by_role("heading", name="Dokument abholen")).to_be_visible()


def test_hardware_fault_says_whom_to_ask_and_that_the_code_stays_valid(
    site: Site, screen: Screen
) -> None:
    delivery_id = site.store("P-4001", DocumentType.OTHER)
    code = site.message_to(PHONE)["code"]
    label = site.compartment_of(delivery_id)
    place = next(c.place for c in site.world.hardware.layout.compartments if c.label == label)
    assert isinstance(place, SerialPlace)
    site.world.set_fault("board_offline", f"{place.bus}:{place.board}", True)
    site.wait_for(lambda: not site.core.bank.read(label).online)
    page = screen.goto("/pickup")
    text = show_error(page, code)
    assert "Mitarbeitenden: Bürgerbüro." in text  # [office] name, as the messages say it
    assert text.endswith("Ihr Code bleibt gültig.")
    screen.check("error-hardware")
    assert site.state_of(delivery_id) == "stored"


@pytest.fixture
def right_to_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """One more catalog, right to left, beside the shipped ones: adding a language is a file."""
    folder = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, folder)
    hebrew = Catalog(locale="he", domain=i18n.DOMAIN)
    hebrew.add("start", "התחלה")
    (folder / "he" / "LC_MESSAGES").mkdir(parents=True)
    with (folder / "he" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("wb") as handle:
        write_po(handle, hebrew)
    monkeypatch.setattr(i18n, "LOCALE_DIR", folder)
    i18n.languages.cache_clear()
    i18n.catalog.cache_clear()
    yield "he"
    monkeypatch.undo()
    i18n.languages.cache_clear()
    i18n.catalog.cache_clear()


def test_a_right_to_left_catalog_mirrors_the_screen(
    site: Site, screen: Screen, right_to_left: str
) -> None:
    page = screen.goto("/")
    page.get_by_role("link", name="עברית").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", right_to_left)
    start = page.get_by_role("link", name="התחלה")
    expect(start).to_be_visible()
    screen.check("welcome-rtl")
    start.click()
    expect(page.locator("body")).to_have_attribute("data-step", "scan")
    field = page.locator("#code").bounding_box()
    camera = page.locator("#camera-status").bounding_box()
    assert field is not None and camera is not None
    assert field["x"] < camera["x"], "the first column sits on the right in RTL"
    screen.check("pickup-scan-rtl")


def test_the_whole_pickup_works_with_the_keyboard_alone(site: Site, screen: Screen) -> None:
    delivery_id = site.store("P-5001", DocumentType.PASSPORT)
    code = site.message_to(PHONE)["code"]
    page = screen.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Zum Inhalt springen")).to_be_focused()
    for _ in range(3):  # skip link, Deutsch, English
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Start")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_have_attribute("data-stream", "ready")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Ihr Geburtsdatum")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Geburtsdatum (TT.MM.JJJJ)")).to_be_focused()
    page.keyboard.type("17051990")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Empfang bestätigen")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Bestätigen und öffnen")).to_be_focused()
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", name=re.compile(r"Fach [A-Z]\d\d ist offen"))
    expect(heading).to_be_focused()
    site.take_out_and_close(site.compartment_of(delivery_id))
    expect(page.get_by_role("heading", name="Vielen Dank")).to_be_focused()
