"""A local SMTP server (aiosmtpd) that puts every accepted e-mail into the shared inbox.

``aiosmtpd``'s ``Controller(port=0)`` does not work (it test-connects to the port it was
given), so a free port is found first by binding port 0 and is then reused across restarts.

Outages, for the demo's ``smtp_down`` fault and the tests::

    standin.outage("421")     # sessions answer MAIL FROM with 421 (try again later)
    standin.outage("refuse")  # the port is closed: connections are refused
    standin.outage(None)      # back to normal
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from simulator.inbox import Inbox

Outage = Literal["421", "refuse"] | None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _Handler:
    def __init__(self, standin: SmtpStandin) -> None:
        self.standin = standin

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.standin.current_outage == "421":
            return "421 4.3.2 Service not available, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower() in self.standin.unknown_mailboxes:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        raw = content.decode("utf-8", errors="replace")
        for recipient in envelope.rcpt_tos:
            self.standin.inbox.add_email(recipient, raw)
        return "250 Message accepted for delivery"


class SmtpStandin:
    """``security`` ``none``, ``starttls`` (required before MAIL) or ``ssl`` (TLS from the
    first byte) with ``tls_context``; ``credentials`` = (user, password) requires AUTH."""

    def __init__(
        self,
        inbox: Inbox | None = None,
        *,
        host: str = "127.0.0.1",
        security: Literal["none", "starttls", "ssl"] = "none",
        tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        if (security == "none") != (tls_context is None):
            raise ValueError("a TLS context goes with security 'starttls' or 'ssl', only")
        self.inbox = inbox if inbox is not None else Inbox()
        self.host = host
        self.port = 0
        self.security = security
        self.credentials = credentials
        self.current_outage: Outage = None
        self.unknown_mailboxes: set[str] = set()
        """Addresses answered with 550 (mailbox unavailable): a permanent failure."""
        self._tls = tls_context
        self._controller: Controller | None = None
        self._lock = threading.Lock()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if self.credentials is None or not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = (part.encode() for part in self.credentials)
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave it silent)
        return AuthResult(success=data.login == user and data.password == password, handled=False)

    def _make_controller(self) -> Controller:
        options: dict[str, Any] = {}
        if self.security == "ssl":
            options["ssl_context"] = self._tls
        elif self.security == "starttls":
            options.update(tls_context=self._tls, require_starttls=True)
        if self.credentials is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
            if self.security == "ssl":  # the whole session is encrypted already
                options["auth_require_tls"] = False
        return Controller(_Handler(self), hostname=self.host, port=self.port, **options)

    def start(self) -> Self:
        with self._lock:
            if self.port == 0:
                self.port = free_port(self.host)
            if self._controller is None and self.current_outage != "refuse":
                self._controller = self._make_controller()
                self._controller.start()
        return self

    def settings(self) -> dict[str, Any]:
        """The ``[email]`` settings that send through this stand-in (the demo's defaults)."""
        user, password = self.credentials or ("", "")
        return {
            "enabled": True,
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "username": user,
            "password": password,
        }

    def _stop(self) -> None:
        with self._lock:
            if self._controller is not None:
                self._controller.stop()
                self._controller = None

    def outage(self, kind: Outage) -> None:
        self.current_outage = kind
        if kind == "refuse":
            self._stop()
        else:
            self.start()

    def set_down(self, down: bool) -> None:
        """The demo's ``smtp_down`` fault: connections are refused while down."""
        self.outage("refuse" if down else None)

    def close(self) -> None:
        """Stop serving; idempotent."""
        self._stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
