"""Checking and normalising a recipient's contact details when a delivery is announced."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

import email_validator
import phonenumbers

from locker.errors import InvalidInput
from locker.models import Delivery
from locker.vocabulary import DocumentType

MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
"""What an SMS can reach. ``FIXED_LINE_OR_MOBILE`` is where the numbering plan cannot tell
(the US); a landline, premium-rate, shared-cost or toll-free number is refused."""
_LOCALE = re.compile(r"^[a-z]{2}(?:-[A-Z]{2})?$")


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164 (``+4915112345678``) or :class:`InvalidInput` naming ``recipient.phone``."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(
            "recipient.phone", f"{raw!r} is not a phone number", "phone_invalid"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            "recipient.phone", f"{raw!r} is not a valid phone number", "phone_invalid"
        )
    if phonenumbers.number_type(number) not in MOBILE:
        raise InvalidInput(
            "recipient.phone",
            f"{raw!r} is not a mobile number; the code is sent by SMS, which reaches mobiles only",
            "phone_not_mobile",
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise_email(raw: str) -> str:
    """One plain address (``name@example.org``), parsed by ``email-validator``: no display
    name, no list, no quoted local part, no SMTPUTF8; the domain normalised. Syntax only: the
    deliverability check (a DNS query) is off, since nothing but the one message leaves the box.
    """
    try:
        checked = email_validator.validate_email(
            raw.strip(),
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_display_name=False,
            allow_domain_literal=False,
        )
    except email_validator.EmailNotValidError as err:
        raise InvalidInput(
            "recipient.email", f"{raw!r} is not an e-mail address: {err}", "email_invalid"
        ) from None
    return str(checked.normalized)


def normalise_locale(raw: str) -> str:
    locale = raw.strip().replace("_", "-")
    locale = locale[:2].lower() + locale[2:].upper()
    if not _LOCALE.match(locale):
        raise InvalidInput(
            "recipient.locale", f"{raw!r} is not a language code such as de or en", "locale_invalid"
        )
    return locale


def check_birth_date(value: date, today: date) -> date:
    if value > today or value.year < 1900:
        raise InvalidInput(
            "recipient.date_of_birth",
            f"{value.isoformat()} is not a birth date",
            "birth_date_invalid",
        )
    return value


def birth_date_asked(second_factor_documents: Iterable[DocumentType], delivery: Delivery) -> bool:
    """Whether the kiosk will ask this delivery's citizen for the date of birth (the document
    type needs it and one was given), so the messages can say so beforehand."""
    return delivery.document_type in second_factor_documents and delivery.date_of_birth is not None
