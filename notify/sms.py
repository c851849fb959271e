"""SMS through Twilio's REST API with the official client.

The client authenticates with the account SID and auth token, or with an API key SID and
secret (then the account SID still names the account in the URL). The sender is a number,
an alphanumeric sender id (``from_number``) or a messaging service. ``api_base_url`` points
the client's ``api`` domain (the only one ``client.messages`` uses) at a stand-in or a proxy.

Errors are sorted into permanent (this recipient can never get this SMS: invalid or
unreachable number, landline, opted out) and transient (everything else: rate limits, 5xx,
network trouble, and configuration mistakes that an administrator will fix).

The twilio package is imported when the first client is made, so a controller without SMS
never loads it. A message is created with the client's own ``request`` (its HTTP client,
authentication and headers) and its errors are wrapped by twilio's own ``Version.exception``:
``client.messages`` would import the whole generated 2010 API (about a hundred modules and
12 MB of memory, for one POST).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import TYPE_CHECKING

import requests

from locker.config import Settings, SmsSection
from notify.errors import PermanentFailure, SendFailed, TransientFailure
from notify.messages import Rendered

if TYPE_CHECKING:
    from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
STATUS_PATH = "/api/v1/notifications/twilio-status"
"""Where the kiosk receives Twilio's delivery reports (the route and the URL given to Twilio)."""
PERMANENT_CODES = frozenset(
    {
        21211,  # invalid 'To' phone number
        21214,  # 'To' phone number cannot be reached
        21217,  # phone number does not appear to be valid
        21408,  # permission to send to this region is not enabled
        21610,  # the recipient replied STOP
        21612,  # no route to this number
        21614,  # 'To' number is not a mobile number
    }
)


def status_callback_url(settings: Settings) -> str | None:
    """Where Twilio posts delivery reports, or ``None`` when nothing public can receive them.

    The one source of that URL: each SMS names it, and signatures are verified against it.
    """
    if settings.sms.status_callback_url:
        return settings.sms.status_callback_url
    if settings.kiosk.public_url:
        return settings.kiosk.public_url.rstrip("/") + STATUS_PATH
    return None


def make_client(sms: SmsSection) -> Client:
    """The whole twilio client with its ``api`` domain at ``api_base_url`` (tools, tests)."""
    client = authenticated_client(sms)
    if sms.api_base_url:
        client.api.base_url = api_base_url(sms)
    return client


def authenticated_client(sms: SmsSection) -> Client:
    """The twilio client with credentials and timeout; its API domains are left unloaded."""
    from twilio.http.http_client import TwilioHttpClient  # noqa: PLC0415 - only with SMS
    from twilio.rest import Client  # noqa: PLC0415

    if sms.api_key_sid:
        username, password = sms.api_key_sid, sms.api_key_secret
    else:
        username, password = sms.account_sid, sms.auth_token
    return Client(
        username,
        password,
        account_sid=sms.account_sid,
        http_client=TwilioHttpClient(timeout=sms.timeout_s),
        # A non-empty mapping, so that TWILIO_EDGE / TWILIO_REGION in the process environment
        # cannot rewrite the host: the settings alone decide where SMS go.
        environment={"TWILIO_FROM_SETTINGS": "1"},
    )


def api_base_url(sms: SmsSection) -> str:
    return sms.api_base_url.rstrip("/") or TWILIO_API


def messages_url(sms: SmsSection) -> str:
    """Where a message is created (``client.messages.create`` posts here)."""
    return f"{api_base_url(sms)}/2010-04-01/Accounts/{sms.account_sid}/Messages.json"


def classify(error: Exception) -> SendFailed:
    """Translate what the twilio client raised into our two kinds of failure."""
    from twilio.base.exceptions import TwilioException  # noqa: PLC0415 - only with SMS

    if isinstance(error, TwilioException):
        status = getattr(error, "status", None)
        code = getattr(error, "code", None)
        reason = f"twilio {status}/{code}"
        if code in PERMANENT_CODES:
            return PermanentFailure(reason)
        return TransientFailure(reason)
    if isinstance(error, requests.RequestException | OSError):
        return TransientFailure(type(error).__name__)
    return TransientFailure(f"unexpected {type(error).__name__}")


class TwilioSms:
    """One SMS per call to :meth:`send`; returns Twilio's message SID.

    Each worker thread gets a client of its own: a ``requests.Session`` is not documented as
    thread-safe.
    """

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._sms = settings.sms
        self._given = client
        self._callback = status_callback_url(settings)
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()

    def _client(self) -> Client:
        if self._given is not None:
            return self._given
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = authenticated_client(self._sms)
            with self._lock:
                self._clients.append(client)
        return client

    def send(self, recipient: str, message: Rendered, *, now: datetime) -> str:
        from twilio.base.version import Version  # noqa: PLC0415 - only with SMS

        form: dict[str, object] = {"To": recipient, "Body": message.sms}
        if self._sms.messaging_service_sid:
            form["MessagingServiceSid"] = self._sms.messaging_service_sid
        if self._sms.from_number:
            form["From"] = self._sms.from_number
        if self._callback:
            form["StatusCallback"] = self._callback
        url = messages_url(self._sms)
        try:
            response = self._client().request("POST", url, data=form, headers=dict(FORM))
            if not 200 <= response.status_code < 300:
                raise Version.exception("POST", url, response, "Unable to create record")
            return str(json.loads(response.text)["sid"])
        except Exception as error:  # every failure is sorted, none escapes unclassified
            raise classify(error) from error

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            session = getattr(client.http_client, "session", None)
            if session is not None:
                session.close()
