"""Logging for the long-running commands: one line per event, with its level, and no secret.

Under systemd (``JOURNAL_STREAM`` is set) each line starts with the syslog priority in angle
brackets (``<3>`` error … ``<7>`` debug), which journald reads as the entry's level, and
carries no time stamp of its own (the journal has one); elsewhere a line is
``time level logger: message``. Tracebacks are folded into the same line, so one event is one
journal entry.

What the code logs is chosen not to hold a pickup code, a key, a password or personal data;
:class:`Redactor` is the second line of defence for what a library might put in a message
(an exception text that quotes a request): it replaces anything that looks like a pickup code,
a phone number, an e-mail address or a bearer token before the line is written.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping

HANDLER_NAME = "locker"
QUIET = {
    "twilio.http_client": logging.WARNING,
    "mail.log": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,
}
"""Libraries that log routine work at INFO, of which only warnings and errors are kept: twilio
(nine lines per SMS, with the account's URL), aiosmtpd's ``mail.log`` (six lines per connection
to the demo's mail stand-in), alembic's plugin set-up (six lines per migration run; its
"Running upgrade" lines stay)."""
SYSLOG_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
PATTERNS = (
    (
        re.compile(r"(?i)\b(bearer|token|key|secret|password)([=: ]+)[^\s,;&\"']+"),
        r"\1\2[redacted]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[e-mail]"),
    (re.compile(r"\+?\d[\d ()/-]{7,}\d"), "[number]"),
    (re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){1,2}\b"), "[code]"),
)


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Redactor(logging.Formatter):
    """A formatter that writes each record as one redacted line."""

    def __init__(self, journal: bool) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        line = f"{record.levelname} {record.name}: {redact(text)}".replace("\n", " | ")
        if self.journal:
            return f"<{SYSLOG_PRIORITY.get(record.levelno, 6)}>{line}"
        return f"{self.formatTime(record)} {line}"


def configure(level: str | int = "INFO", environ: Mapping[str, str] | None = None) -> None:
    """Send every logger's records to stderr through :class:`Redactor` (idempotent)."""
    env = os.environ if environ is None else environ
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Redactor(journal=bool(env.get("JOURNAL_STREAM"))))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(quiet)
