"""The kiosk for every citizen, in Chromium: a whole pickup by keyboard alone with speech on
says the expected utterances in order (read from the page's own log of what it played, with
espeak-ng's audio really served and played); the alert tones sound; high contrast (7:1) and
large text (200 %) are axe-clean and lose nothing at 1280×800 and 800×480; the choices end
with the session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from locker.services import technician
from locker.vocabulary import DocumentType

from .conftest import PHONE, STAFF, Screen, Site, launch

AUDIO_ARGS = ["--autoplay-policy=no-user-gesture-required"]
"""As the kiosk's own Chromium starts (docs/kiosk.md): a page may speak without a tap first."""
SIZES = [(1280, 800), (800, 480)]


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = launch(playwright, AUDIO_ARGS)
    yield chromium
    chromium.close()


def spoken(page: Page) -> list[str]:
    """What the page asked to be said, in order (the texts as the server composed them)."""
    texts: list[str] = page.evaluate("LOCKER.speech.log.map((e) => e.text)")
    return texts


def wait_said(page: Page, pattern: str) -> None:
    """Wait until an utterance matching ``pattern`` has started to play."""
    page.wait_for_function(
        """(pattern) => LOCKER.speech.log.some(
            (e) => e.text && new RegExp(pattern).test(e.text) && e.playing !== null)""",
        arg=pattern,
    )


def press_tab_until(page: Page, selector: str, limit: int = 12) -> None:
    """Tab forward until ``selector`` has the focus, as a keyboard user does."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus")


def test_a_whole_pickup_by_keyboard_alone_is_spoken(site: Site, screen: Screen) -> None:
    delivery_id = site.store("A11Y-1", DocumentType.PASSPORT)
    code = site.message_to(PHONE)["code"]
    page = screen.goto("/")
    page.keyboard.press("F1")  # the physical key: speech on
    wait_said(page, "^Dokument abholen. .*Die Sprachausgabe ist an")
    expect(page.locator("#speech-toggle")).to_have_attribute("aria-pressed", "true")
    press_tab_until(page, "#start")
    welcome = spoken(page)  # each page keeps its own log; the next one starts empty
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_have_attribute("data-stream", "ready")
    assert "speech=on" in page.url
    wait_said(page, "^Code zeigen.")
    page.keyboard.type(code, delay=30)
    page.keyboard.press("Enter")
    wait_said(page, "^Ihr Geburtsdatum.")
    press_tab_until(page, "#dob")
    page.keyboard.type("17051990", delay=30)
    page.keyboard.press("Enter")
    wait_said(page, "Empfang bestätigen")
    press_tab_until(page, "#confirm")
    page.keyboard.press("Enter")
    wait_said(page, r"^Fach [A-Z]\d\d ist offen")
    label = site.compartment_of(delivery_id)
    site.take_out_and_close(label)
    wait_said(page, "^Vielen Dank.")
    said = welcome + spoken(page)
    grouped = ", ".join(" ".join(g) for g in code.split("-"))
    keys = ["Strich" if char == "-" else char for char in code]
    expected_keys = [*keys, "Ihr Code: " + grouped + ". Ihr Code wird geprüft …"]
    typed = [t for t in said if len(t) == 1 or t == "Strich" or t.startswith("Ihr Code:")]
    assert typed[: len(expected_keys)] == expected_keys, said
    assert typed[len(expected_keys) :] == list("17051990")
    place = re.escape(label) + r": \w+ Reihe von unten, \w+ von links\."
    order = [
        r"^Dokument abholen\. Ihr Reisepass",
        r"^Code zeigen\. Halten Sie den QR-Code",
        r"^Ihr Code: ",
        r"^Ihr Geburtsdatum\. Dieses Dokument",
        r"^Geburtsdatum: 17\. Mai 1990\. Empfang bestätigen\.",
        rf"^Fach {label} ist offen\. Fach {place} Bitte entnehmen",
        r"^Vielen Dank\. Einen schönen Tag",
    ]
    at = 0
    for pattern in order:
        found = next((i for i in range(at, len(said)) if re.search(pattern, said[i])), None)
        assert found is not None, f"{pattern!r} not said after #{at}: {said}"
        at = found + 1
    assert page.evaluate("LOCKER.speech.tones") == ["opened"]
    played = page.evaluate("LOCKER.speech.log.filter((e) => e.playing !== null).length")
    assert played >= len(order)
    page.wait_for_url(re.compile(r"/$"), timeout=15_000)  # the session ends by itself
    assert page.evaluate("document.body.dataset.speech") == "off"
    assert page.evaluate("LOCKER.speech.log.length") == 0  # the next citizen hears nothing


def test_slower_faster_repeat_and_off(site: Site, screen: Screen) -> None:
    page = screen.goto("/pickup?lang=en&speech=on")
    wait_said(page, "^Show your code.")
    page.keyboard.press("F2")
    wait_said(page, "^Slower. Show your code.")
    assert "rate=-1" in (page.get_attribute("a[data-base]", "href") or "")
    page.keyboard.press("F3")
    page.keyboard.press("F3")
    wait_said(page, "^Faster. Show your code.")
    page.get_by_role("button", name="Repeat (F1)").click()
    page.keyboard.press("F4")
    wait_said(page, "^Speech off.")
    expect(page.locator("#speech-controls")).to_be_hidden()
    page.get_by_role("button", name="Delete last digit").click()
    assert spoken(page)[-1] == "Speech off."  # nothing more is said


def test_errors_and_the_inactivity_warning_are_shown_sounded_and_said(
    site: Site, screen: Screen
) -> None:
    page = screen.goto("/pickup?speech=on")
    page.clock.install()
    page.reload()
    wait_said(page, "^Code zeigen.")
    page.keyboard.press("Enter")
    expect(page.locator("#code-error")).to_have_text("Bitte tippen Sie zuerst Ihren Abholcode ein.")
    wait_said(page, "^Bitte tippen Sie zuerst Ihren Abholcode ein.$")
    page.keyboard.type("ZZZZ-ZZZZ-ZZZZ")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Das hat nicht geklappt")).to_be_visible()
    wait_said(page, "^Das hat nicht geklappt. Dieser Code ist hier nicht gültig")
    idle = int(page.locator("body").get_attribute("data-idle") or 0)
    page.clock.run_for((idle - 5) * 1000)
    dialog = page.get_by_role("dialog", name="Sind Sie noch da?")
    expect(dialog).to_be_visible()
    wait_said(page, r"^Sind Sie noch da\? In \d+ Sekunden")
    page.keyboard.press("x")  # any key gives the time again
    expect(dialog).to_be_hidden()
    wait_said(page, "^Sie haben wieder mehr Zeit.$")
    assert page.evaluate("LOCKER.speech.tones") == ["error", "error", "warning"]


def no_overflow(page: Page) -> None:
    """Nothing is cut off sideways, and every visible control can be scrolled to and is on
    the page's width (content and function kept at 200 %)."""
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    boxes: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll(
                'main button, main a, main input, header a, header button')]
            .filter((e) => e.offsetParent !== null)
            .map((e) => { const r = e.getBoundingClientRect();
                          return {name: e.textContent.trim() || e.id, left: r.left, right: r.right}; })"""
    )
    for box in boxes:
        assert box["left"] >= 0 and box["right"] <= width + 1, box


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_high_contrast_and_large_text_lose_nothing_and_are_axe_clean(
    site: Site, browser: Browser, width: int, height: int
) -> None:
    site.store("A11Y-2", DocumentType.PASSPORT)
    code = site.message_to(PHONE)["code"]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="de-DE")
    try:
        screen = Screen(context.new_page(), site.base)
        page = screen.goto("/")
        # The demo layout's screen lies within reach: no band is kept free at its top.
        assert page.evaluate("document.querySelector('header').getBoundingClientRect().top") == 0
        page.get_by_role("button", name="Hoher Kontrast").click()
        screen.check("a11y-welcome-contrast", enhanced=True)
        page.get_by_role("button", name="Große Schrift").click()
        expect(page.locator("html")).to_have_class("high-contrast large-text")
        no_overflow(page)
        screen.check("a11y-welcome-contrast-large", enhanced=True)
        page.get_by_role("button", name="Hoher Kontrast").click()
        screen.check("a11y-welcome-large")
        page.get_by_role("link", name="Start").click()
        expect(page.locator("html")).to_have_class("large-text")
        no_overflow(page)
        screen.check("a11y-scan-large")
        page.goto(page.url + "&contrast=high")
        for char in code.replace("-", ""):
            page.get_by_role("group", name="Buchstaben und Ziffern des Codes").get_by_role(
                "button", name=char, exact=True
            ).click()
        no_overflow(page)
        screen.check("a11y-scan-contrast-large", enhanced=True)
        page.get_by_role("button", name="Weiter").click()
        expect(page.get_by_role("heading", name="Ihr Geburtsdatum")).to_be_visible()
        for digit in "17051990":
            page.get_by_role("group", name="Zifferntastatur").get_by_role(
                "button", name=digit, exact=True
            ).click()
        no_overflow(page)
        screen.check("a11y-dob-contrast-large", enhanced=True)
        page.locator("#dob-form").get_by_role("button", name="Weiter").click()
        no_overflow(page)
        screen.check("a11y-confirm-contrast-large", enhanced=True)
        page.get_by_role("button", name="Bestätigen und öffnen").click()
        expect(page.get_by_role("heading", name=re.compile("ist offen"))).to_be_visible()
        no_overflow(page)
        screen.check("a11y-open-contrast-large", enhanced=True)
        page.get_by_role("link", name="Zurück zum Anfang").first.click()
        expect(page.locator("html")).to_have_class("high-contrast large-text")
        page.evaluate("window.location.replace(document.body.dataset.reset)")  # session end
        page.wait_for_url(re.compile(r"/$"))
        assert page.evaluate("document.documentElement.className") == ""
    finally:
        context.close()


def test_the_clerk_screen_says_whether_the_compartment_is_within_reach(
    site: Site, screen: Screen
) -> None:
    page = screen.goto("/clerk?lang=en")
    page.get_by_label("User name").fill(STAFF[0])
    page.get_by_label("Password").fill(STAFF[1])
    page.get_by_role("button", name="Sign in").click()
    layout = site.world.layout.compartments
    within = {c.label for c in layout if c.handle_mm and 380 <= c.handle_mm <= 1220}
    message = page.locator("#load-message")
    for reference, reachable_left in (("ACC-1", True), ("ACC-2", False)):
        if not reachable_left:  # every compartment within reach out of service: the fallback
            free = {c["label"] for c in site.compartments() if c["state"] == "free"}
            for label in within & free:
                technician.set_out_of_service(site.core, label, True, reason="t", actor="t")
        reference_field = page.get_by_label("Reference of the document (scan or type)")
        reference_field.fill(reference)
        reference_field.press("Enter")
        page.get_by_label("Recipient's name").fill("Rolf Rad")
        page.get_by_label("Mobile number (+49…)").fill(PHONE)
        page.get_by_label("Document", exact=True).select_option("other")
        page.get_by_label("Needs a compartment within reach (wheelchair)").check()
        if reachable_left:
            screen.check("clerk-load-accessible")
        page.get_by_role("button", name="Announce and load").click()
        if reachable_left:
            expect(message).to_have_text(re.compile(r"is within reach from a wheelchair\.$"))
            assert message.inner_text().split()[1] in within
        else:
            expect(message).to_have_text(
                re.compile(r"Warning: no free compartment .* out of reach")
            )
            expect(message).to_have_class(re.compile("bad"))
            assert message.inner_text().split()[1] not in within
            screen.check("clerk-load-out-of-reach")
        label = message.inner_text().split()[1]
        site.put_in_and_close(label)
        expect(message).to_have_text(re.compile(rf"Stored: {reference}"))
