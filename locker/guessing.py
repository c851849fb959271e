"""The guessing bound of docs/security.md, as code: how likely is anyone to guess a valid
pickup code within a year of non-stop trying, given the settings?

A wrong code can only be tried at a kiosk (``security.kiosk_addresses``: a network client is
refused before any code is looked at). Each kiosk has a back-off: after
``kiosk_max_failures`` wrong codes in a row it waits ``kiosk_lockout_base_s``, doubling with
every further round up to ``kiosk_lockout_max_s``; only a right code resets it. So the fastest
a kiosk can guess is a round of ``kiosk_max_failures`` at once, then the wait; the union bound
over all valid codes gives

    P(any success within a year) ≤ kiosks · attempts_per_kiosk · valid_codes / 32^CODE_LENGTH

The settings refuse any combination for which this exceeds :data:`TARGET` with
:data:`VALID_CODES_BOUND` codes valid at once (a very large bank: every valid code belongs to a
stored document, one per compartment).
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

from locker.codes import ALPHABET, CODE_LENGTH

YEAR_S = 365.25 * 24 * 3600
TARGET = 1e-6
VALID_CODES_BOUND = 4000
CODE_SPACE: int = len(ALPHABET) ** CODE_LENGTH


class BackoffSettings(Protocol):
    @property
    def kiosk_max_failures(self) -> int: ...
    @property
    def kiosk_lockout_base_s(self) -> int: ...
    @property
    def kiosk_lockout_max_s(self) -> int: ...


def attempts_per_kiosk_year(rule: BackoffSettings) -> int:
    """Most wrong codes one kiosk can try in a year: rounds of ``max_failures`` at no time at
    all (a machine typing), each followed by its wait."""
    elapsed, attempts, wait = 0.0, 0, float(rule.kiosk_lockout_base_s)
    while elapsed <= YEAR_S:
        attempts += rule.kiosk_max_failures
        elapsed += wait
        if wait < rule.kiosk_lockout_max_s:
            wait = min(2 * wait, rule.kiosk_lockout_max_s)
        else:  # the rest of the year at the longest wait
            rounds = int((YEAR_S - elapsed) // wait) + 1
            return attempts + max(0, rounds) * rule.kiosk_max_failures
    return attempts


def kiosk_count(addresses: list[str]) -> int:
    return sum(ipaddress.ip_network(entry, strict=False).num_addresses for entry in addresses)


def yearly_bound(rule: BackoffSettings, kiosks: int, valid_codes: int = VALID_CODES_BOUND) -> float:
    """Upper bound of the chance that anyone guesses any valid code within a year."""
    return float(kiosks * attempts_per_kiosk_year(rule) * valid_codes) / CODE_SPACE
