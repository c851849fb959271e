"""The core's exception tree. The kiosk maps each ``code`` to an HTTP status in one place.

``code`` is the machine-readable error of shared/API.md; ``str(err)`` is a sentence for a
developer or a log. Screens never show it: they look up ``code`` (and ``reason``, the finer
cause, with ``field`` for bad input) in their catalog; ``facts`` are the values such a text
needs (``{"compartment": "A09"}``). Messages never say which part of a pickup attempt was wrong.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(
        self, detail: str, *, reason: str | None = None, facts: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason
        self.facts = facts or {}


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class SecondPersonRequired(Conflict):
    """Four-eyes loading: the confirmation must come from another staff member."""

    code = "second_person_required"


class InvalidInput(DomainError):
    """Input that can never be right, with the name of the field at fault."""

    code = "invalid_input"

    def __init__(self, field: str, detail: str, reason: str = "invalid", **facts: Any) -> None:
        super().__init__(detail, reason=reason, facts=facts)
        self.field = field


class NoCompartmentFree(DomainError):
    code = "no_compartment_free"


class CodeInvalid(DomainError):
    code = "code_invalid"


class SecondFactorRequired(DomainError):
    code = "second_factor_required"


class DateOfBirthWrong(DomainError):
    """The code is right, the date of birth is not; ``tries_left`` before the delivery locks."""

    code = "date_of_birth_wrong"

    def __init__(self, detail: str, tries_left: int) -> None:
        super().__init__(detail, facts={"tries_left": tries_left})
        self.tries_left = tries_left


class CodeExpired(DomainError):
    code = "expired"


class CodeUsed(DomainError):
    """A spent code came again (a double tap, a second try after the door opened): not a guess,
    so it does not count against the kiosk."""

    code = "code_used"


class CodeRevoked(DomainError):
    """A code replaced by a newer message or withdrawn with its delivery: not a guess either."""

    code = "code_revoked"


class WrongLocker(DomainError):
    code = "wrong_locker"

    def __init__(self, detail: str, bank_id: str) -> None:
        super().__init__(detail)
        self.bank_id = bank_id


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)


class HardwareUnavailable(DomainError):
    """Nothing happened at the lock; the same request may succeed later."""

    code = "hardware_unavailable"


class HardwareFault(DomainError):
    """The lock did not open; the compartment is out of use until a technician looks."""

    code = "hardware_fault"


class PermissionDenied(DomainError):
    code = "forbidden"


class AuthenticationFailed(DomainError):
    code = "unauthenticated"


class IdempotencyKeyReused(InvalidInput):
    """The same ``Idempotency-Key`` came back with a different request."""

    code = "idempotency_key_reused"

    def __init__(self, detail: str) -> None:
        super().__init__("Idempotency-Key", detail)


class RequestInProgress(Conflict):
    """The first request with this ``Idempotency-Key`` has not been answered yet."""

    code = "request_in_progress"
