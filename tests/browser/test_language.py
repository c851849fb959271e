"""No screen shows a developer's or another language's text: the clerk's forms driven with bad
input in German and English answer from the catalog, by the API's error and reason codes; and
a reference entered twice says at once where the document is."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from locker import i18n
from locker.vocabulary import DocumentType

from .conftest import STAFF, Screen, Site

pytestmark = pytest.mark.browser
# What the API's `detail` and the browser's own widgets say; never on a German screen.
ENGLISH = re.compile(
    r"String should|is not a|give it|valid phone|at least|mm/dd/yyyy|Field required|"
    r"exists already|Input should|That did not work",
    re.IGNORECASE,
)


def sign_in(screen: Screen, lang: str) -> Page:
    t = i18n.catalog(lang)
    page = screen.goto(f"/clerk?lang={lang}")
    page.get_by_label(t("username")).fill(STAFF[0])
    page.get_by_label(t("password")).fill(STAFF[1])
    page.get_by_role("button", name=t("sign_in")).click()
    expect(page.get_by_role("heading", name=t("load_heading"))).to_be_visible()
    return page


def bad_field(t: i18n.Catalog, field: str, reason: str) -> str:
    return t("error_field", field=t(f"field_{field}"), reason=t(f"reason_{reason}"))


@pytest.mark.parametrize(
    ("lang", "width", "height"), [("de", 1280, 800), ("de", 800, 480), ("en", 1280, 800)]
)
def test_bad_input_on_the_load_form_is_answered_in_the_screens_language(
    site: Site, screen: Screen, lang: str, width: int, height: int
) -> None:
    screen.page.set_viewport_size({"width": width, "height": height})
    t = i18n.catalog(lang)
    page = sign_in(screen, lang)
    reference = page.get_by_label(t("reference_label"))
    reference.fill("NEU-1")
    reference.press("Enter")
    expect(page.get_by_role("heading", name=t("new_heading"))).to_be_visible()
    dob = page.get_by_label(t("recipient_dob"))
    expect(dob).to_have_attribute("placeholder", t("dob_placeholder"))
    message = page.locator("#load-message")
    submit = page.get_by_role("button", name=t("announce_and_load"))
    page.get_by_label(t("document_type"), exact=True).select_option("passport")

    def answer(expected: str, field: str | None) -> None:
        submit.click()
        expect(message).to_have_text(expected)
        assert not (lang == "de" and ENGLISH.search(page.locator("body").inner_text()))
        if field:
            expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
            expect(page.locator(f"#{field}")).to_be_focused()

    answer(bad_field(t, "recipient.name", "string_too_short"), "name")
    page.get_by_label(t("recipient_name")).fill("Erika Mustermann")
    answer(bad_field(t, "recipient", "contact_missing"), None)
    page.get_by_label(t("recipient_phone")).fill("12345")
    answer(bad_field(t, "recipient.date_of_birth", "birth_date_required"), "dob")
    dob.fill("31.02.1990")
    answer(bad_field(t, "recipient.date_of_birth", "date_invalid"), "dob")
    dob.fill("01.01.2999")
    answer(bad_field(t, "recipient.phone", "phone_invalid"), "phone")
    page.get_by_label(t("recipient_phone")).fill("+4915112345678")
    page.get_by_label(t("recipient_email")).fill("erika@")
    answer(bad_field(t, "recipient.email", "email_invalid"), "email")
    page.get_by_label(t("recipient_email")).fill("")
    answer(bad_field(t, "recipient.date_of_birth", "birth_date_invalid"), "dob")
    screen.check(f"clerk-load-bad-input-{lang}")
    dob.fill("17.05.1990" if lang == "de" else "17/05/1990")
    submit.click()
    opened = re.escape(t("loading_open", label="LABEL", reference="NEU-1"))
    expect(message).to_have_text(re.compile(opened.replace("LABEL", r"[A-Z]\d\d")))


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (800, 480)])
def test_a_reference_entered_twice_says_at_once_where_the_document_is(
    site: Site, screen: Screen, width: int, height: int
) -> None:
    screen.page.set_viewport_size({"width": width, "height": height})
    delivery_id = site.store("PA-1", DocumentType.PASSPORT)
    label = site.compartment_of(delivery_id)
    page = sign_in(screen, "de")
    reference = page.get_by_label("Aktenzeichen des Dokuments (scannen oder tippen)")
    expect(reference).to_be_focused()  # a barcode scanner's first scan lands in it
    reference.fill("PA-1")
    reference.press("Enter")
    expect(page.locator("#load-message")).to_have_text(f"PA-1 liegt bereits in {label}.")
    expect(page.get_by_role("heading", name="Neues Dokument")).to_be_hidden()
    screen.check("clerk-load-duplicate")


def test_bad_input_on_the_admin_screen_is_answered_in_german(site: Site, screen: Screen) -> None:
    screen.page.set_viewport_size({"width": 800, "height": 480})
    t = i18n.catalog("de")
    sign_in(screen, "de")
    page = screen.goto("/clerk/admin?lang=de")
    form = page.locator("#user-form")
    message = page.locator("#user-message")
    form.get_by_role("button", name=t("create")).click()
    expect(message).to_have_text(bad_field(t, "username", "missing"))
    form.get_by_label(t("username")).fill("clerk9")
    form.get_by_label(t("password")).fill("a long enough password")
    form.get_by_role("button", name=t("create")).click()
    expect(message).to_have_text(bad_field(t, "roles", "missing"))
    assert not ENGLISH.search(page.locator("body").inner_text())
    screen.check("clerk-admin-bad-input-de")
