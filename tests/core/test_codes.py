"""Pickup codes: alphabet, normalisation, hashing, single use, constant-time comparison."""

from __future__ import annotations

import hmac
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import SQLModel

from locker import codes
from locker.errors import CodeInvalid, CodeUsed
from locker.services.pickup import pickup

from .scripted_bank import SMALL_BANK, ScriptedBank
from .support import build_core, code_sent, load, new_delivery


def test_new_codes_use_the_alphabet_and_length():
    made = {codes.new_code() for _ in range(2000)}
    assert len(made) == 2000
    assert all(len(c) == codes.CODE_LENGTH and set(c) <= set(codes.ALPHABET) for c in made)
    assert not set("ILOU") & set(codes.ALPHABET)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("K7M4-Q9XT-2BHD", "K7M4Q9XT2BHD"),
        ("k7m4 q9xt 2bhd", "K7M4Q9XT2BHD"),
        ("  K7M4.Q9XT.2BHD\n", "K7M4Q9XT2BHD"),
        ("K7M4_Q9XT_2BHD", "K7M4Q9XT2BHD"),
        ("A0B1-C1D0-EF23", "A0B1C1D0EF23"),
        ("AOB1-CID0-EF23", "A0B1C1D0EF23"),  # O→0, I→1
        ("aob1-cld0-ef23", "A0B1C1D0EF23"),  # lower-case look-alikes, L→1
    ],
)
def test_normalisation(typed, canonical):
    assert codes.normalise(typed) == canonical


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "12 letters and digits"),
        ("K7M4Q", "12 letters and digits"),
        ("K7M4Q9XT2BHDB", "12 letters and digits"),
        ("K7M4Q9XT2BHU", "without I, L, O and U"),
        ("K7M4Q9XT2BH!", "without I, L, O and U"),
    ],
)
def test_malformed_codes_say_what_is_wrong(typed, why):
    with pytest.raises(CodeInvalid, match=why):
        codes.normalise(typed)


@given(st.text(alphabet=codes.ALPHABET, min_size=codes.CODE_LENGTH, max_size=codes.CODE_LENGTH))
def test_display_then_normalise_round_trips(code):
    assert codes.normalise(codes.display(code)) == code
    assert codes.normalise(codes.display(code).lower()) == code


def test_qr_payload_parses_back():
    scanned = codes.parse_input(codes.qr_payload("wuppertal-1", "K7M4Q9XT2BHD"))
    assert (scanned.bank_id, scanned.code) == ("wuppertal-1", "K7M4Q9XT2BHD")
    assert codes.parse_input("k7m4-q9xt-2bhd").bank_id is None
    with pytest.raises(CodeInvalid):
        codes.parse_input("LOCKER2:too:many:parts")
    with pytest.raises(CodeInvalid, match="not a pickup code of this locker system"):
        codes.parse_input("LOCKER3:b1:K7M4Q9XT2BHD")


def test_codes_issued_before_version_2_are_read_as_legacy():
    """Ten characters typed, or a ``LOCKER1`` payload: read, and marked for the pickup to
    accept only for a delivery flagged legacy; each payload version takes only its length."""
    typed = codes.parse_input("k7m4q-x9t2b")
    assert (typed.code, typed.bank_id, typed.legacy) == ("K7M4QX9T2B", None, True)
    scanned = codes.parse_input("LOCKER1:b1:K7M4QX9T2B")
    assert (scanned.code, scanned.bank_id, scanned.legacy) == ("K7M4QX9T2B", "b1", True)
    assert not codes.parse_input("K7M4-Q9XT-2BHD").legacy
    with pytest.raises(CodeInvalid, match="12 letters and digits"):
        codes.parse_input("LOCKER1:b1:K7M4Q9XT2BHD")
    with pytest.raises(CodeInvalid, match="12 letters and digits"):
        codes.parse_input("LOCKER2:b1:K7M4QX9T2B")


def test_hash_is_keyed():
    one, other = (
        codes.derive_key("a" * 40, "pickup-code"),
        codes.derive_key("b" * 40, "pickup-code"),
    )
    assert codes.code_hash(one, "K7M4Q9XT2BHD") != codes.code_hash(other, "K7M4Q9XT2BHD")
    assert codes.derive_key("a" * 40, "api-key") != one


def test_code_stored_only_as_hash(engine, clock, settings):
    world = ScriptedBank.bank_of(SMALL_BANK)
    core = build_core(engine, clock, settings, world)
    d = new_delivery(core, "H1")
    load(core, world, d)
    code = code_sent(core, d)
    with engine.connect() as connection:
        dump = "\n".join(
            repr(row)
            for table in SQLModel.metadata.sorted_tables
            for row in connection.execute(table.select())
        )
    assert code not in dump and codes.display(code) not in dump
    assert codes.code_hash(core.code_key, code) in dump


def test_pickup_compares_in_constant_time(engine, clock, settings, monkeypatch):
    world = ScriptedBank.bank_of(SMALL_BANK)
    core = build_core(engine, clock, settings, world)
    d = new_delivery(core, "CT")
    load(core, world, d)
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    pickup(core, code_sent(core, d), date_of_birth=date(1990, 5, 17), kiosk="k")
    assert calls, "the stored hash must be compared with hmac.compare_digest"


def test_codes_are_single_use(engine, clock, settings):
    world = ScriptedBank.bank_of(SMALL_BANK)
    core = build_core(engine, clock, settings, world)
    d = new_delivery(core, "SU")
    label = load(core, world, d)
    code = code_sent(core, d)
    pickup(core, code, date_of_birth=date(1990, 5, 17), kiosk="k")
    world.deliver(core)  # the door opened: the code is spent from here on
    with pytest.raises(CodeUsed):
        pickup(core, code, date_of_birth=date(1990, 5, 17), kiosk="k")
    assert world.slots[label].unlocks == 2
