"""E-mail over STARTTLS and implicit TLS with authentication, against aiosmtpd with a test CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from locker.config import load_settings
from notify.errors import TransientFailure
from notify.mail import SmtpMailer
from simulator.inbox import Inbox
from simulator.smtp_standin import SmtpStandin

from ..conftest import self_signed_certificate
from .test_channels import NOW, stored_message

CREDENTIALS = ("locker", "mail-password")
# aiosmtpd cannot tell that an implicit-TLS session is encrypted, so it warns needlessly.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def server_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1 that the client trusts (via SSL_CERT_FILE)."""
    cert_file, key_file = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture(params=["starttls", "ssl"])
def secure_smtp(
    request: pytest.FixtureRequest, server_tls: ssl.SSLContext
) -> Iterator[SmtpStandin]:
    with SmtpStandin(
        Inbox(), security=request.param, tls_context=server_tls, credentials=CREDENTIALS
    ) as standin:
        yield standin


def mailer(email: dict[str, object]) -> SmtpMailer:
    return SmtpMailer(
        load_settings(overrides={"locker": {"demo": True}, "email": email}, environ={})
    )


def test_authenticated_mail_over_tls(secure_smtp: SmtpStandin) -> None:
    mailer(secure_smtp.settings()).send("erika@example.org", stored_message(), now=NOW)
    [entry] = secure_smtp.inbox.messages()
    assert entry["code"] == "K7M4-Q9XT-2BHD"


def test_wrong_password_is_transient(secure_smtp: SmtpStandin) -> None:
    with pytest.raises(TransientFailure, match="smtp 535"):
        mailer({**secure_smtp.settings(), "password": "wrong"}).send(
            "erika@example.org", stored_message(), now=NOW
        )
    assert len(secure_smtp.inbox) == 0


def test_an_untrusted_certificate_is_refused(
    secure_smtp: SmtpStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(TransientFailure, match="SSLCertVerificationError"):
        mailer(secure_smtp.settings()).send("erika@example.org", stored_message(), now=NOW)
    assert len(secure_smtp.inbox) == 0
