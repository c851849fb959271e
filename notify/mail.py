"""E-mail over SMTP with the standard library: plain text, HTML, and the QR code inline.

The message is ``multipart/alternative`` (text, then ``multipart/related`` HTML + PNG), with
its own ``Message-ID`` (also kept as the provider id) and a ``Date`` from the core's clock.
Nothing in it loads anything from the network.

SMTP replies decide retrying: a 5xx for the recipient or the content is permanent; 4xx,
refused or dropped connections, timeouts and authentication trouble are transient.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from locker.config import EmailSection, Settings
from notify.errors import PermanentFailure, SendFailed, TransientFailure
from notify.messages import Rendered
from notify.qr import qr_png


def compose(
    settings: EmailSection, recipient: str, message: Rendered, *, now: datetime
) -> EmailMessage:
    domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "localhost"
    mail = EmailMessage()
    mail["From"] = settings.sender
    mail["To"] = recipient
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(idstring="locker", domain=domain)
    mail["Auto-Submitted"] = "auto-generated"
    mail["Content-Language"] = message.locale
    mail.set_content(message.text)
    qr_cid = make_msgid(idstring="qr", domain=domain) if message.qr else None
    mail.add_alternative(message.html(qr_cid[1:-1] if qr_cid else None), subtype="html")
    if message.qr and qr_cid:
        html_part = mail.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(
            qr_png(message.qr), "image", "png", cid=qr_cid, filename="abholcode.png"
        )
    return mail


def classify(error: Exception) -> SendFailed:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        reason = "smtp " + ",".join(str(c) for c in codes)
        return PermanentFailure(reason) if codes and min(codes) >= 500 else TransientFailure(reason)
    if isinstance(error, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused):
        return TransientFailure(f"smtp {error.smtp_code} ({type(error).__name__})")
    if isinstance(error, smtplib.SMTPResponseException):
        reason = f"smtp {error.smtp_code}"
        return PermanentFailure(reason) if error.smtp_code >= 500 else TransientFailure(reason)
    return TransientFailure(type(error).__name__)


def connect(cfg: EmailSection) -> smtplib.SMTP:
    """A session with ``cfg``'s server: TLS as configured, signed in when a user is set.

    Also the fleet centre's, for its alerts to the on-call staff.
    """
    context = ssl.create_default_context()  # an internal CA: set SSL_CERT_FILE
    if cfg.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            cfg.host, cfg.port, timeout=cfg.timeout_s, context=context
        )
    else:
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
    try:
        if cfg.security == "starttls":
            smtp.starttls(context=context)
        if cfg.username:
            smtp.login(cfg.username, cfg.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


class SmtpMailer:
    """One connection per message: a locker sends a few dozen a day, simplicity wins."""

    def __init__(self, settings: Settings) -> None:
        self._email = settings.email

    def send(self, recipient: str, message: Rendered, *, now: datetime) -> str:
        mail = compose(self._email, recipient, message, now=now)
        try:
            with connect(self._email) as smtp:
                smtp.send_message(mail, to_addrs=[recipient])
        except (smtplib.SMTPException, OSError) as error:
            raise classify(error) from error
        return str(mail["Message-ID"]).strip("<>")[:64]

    def close(self) -> None:
        return None
