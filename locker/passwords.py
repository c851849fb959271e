"""The staff password and user-name policy, in one place for every way an account is made or
its password set (the CLI, the admin screen and API, a password reset).

A password has 10 to 256 characters, is not only white space, and must not be easy to guess:
``zxcvbn`` (Dropbox's estimator, with its lists of common passwords, names, words and
keyboard patterns) must score it at least :data:`MIN_SCORE` of 4, counting the user name and
the installation's name as known words. Its first 72 characters are scored (zxcvbn's own
limit; a longer passphrase is judged by its start). User names are letters, digits and
``. _ - @``, 1 to 64 characters: printable, no spaces, nothing that breaks a log line.

zxcvbn is imported when a password is first checked, not with this module: its word lists
take 13 MB of memory, and a controller that runs for months sets a password a few times, so
``locker serve`` starts without them (tests/core/test_memory.py).
"""

from __future__ import annotations

import re

from locker.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_SCORE = 3
"""zxcvbn's "safely unguessable: moderate protection from offline slow-hash scenario"."""
SCORED = 72
USERNAME = re.compile(r"^[\w.@-]{1,64}$")


def check_username(username: str) -> str:
    name = username.strip()
    if not USERNAME.fullmatch(name) or not name.isprintable():
        raise InvalidInput(
            "username",
            "a user name has 1 to 64 letters, digits or . _ - @ (no spaces)",
            "username_invalid",
        )
    return name


def check_password(password: str, *, known: tuple[str, ...] = ()) -> None:
    """Refuse a weak password with :class:`InvalidInput` (field ``password``) saying why."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            "password", f"a password has at least {MIN_LENGTH} characters", "password_too_short"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            "password", f"a password has at most {MAX_LENGTH} characters", "password_too_long"
        )
    if not password.strip():
        raise InvalidInput("password", "a password is not only spaces", "password_weak")
    from zxcvbn import zxcvbn  # noqa: PLC0415 - 13 MB of word lists, see the module's note

    verdict = zxcvbn(password[:SCORED], user_inputs=[k for k in known if k])
    if verdict["score"] < MIN_SCORE:
        feedback = verdict.get("feedback") or {}
        why = feedback.get("warning") or "it is too easy to guess"
        hints = " ".join(feedback.get("suggestions") or ())
        raise InvalidInput(
            "password",
            f"this password is too easy to guess: {why.rstrip('.')}. {hints}".strip(),
            "password_weak",
        )
