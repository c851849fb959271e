"""A local stand-in for Twilio's Messages API, good enough for the real ``twilio`` client.

It serves, on 127.0.0.1 and a free port (``standin.url`` is the client's ``api_base_url``)::

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json        create: 201 + Message JSON
    GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json   fetch:  200 + Message JSON

with HTTP basic auth (account SID + auth token, or an API key SID + secret), Twilio's error
JSON (``{"code", "message", "more_info", "status"}``) and its status callbacks: for a message
with a ``StatusCallback`` it posts ``queued``, ``sent`` and then ``delivered`` (or
``undelivered`` with ErrorCode 30003 for numbers in :attr:`TwilioStandin.undeliverable`),
form-encoded and signed with ``X-Twilio-Signature`` as Twilio signs them.

Test verbs::

    standin.fail("invalid_number")      # next create: 400, code 21211
    standin.fail("rate_limit", times=3) # next three: 429, code 20429
    standin.fail("server_error")        # every create until recover(): 500
    standin.fail("hang")                # accept the request and never answer
    standin.recover()

Accepted messages go to the shared :class:`~simulator.inbox.Inbox`.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from email.utils import formatdate
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator

from notify.gsm import segments
from simulator.inbox import Inbox

log = logging.getLogger(__name__)
API = "/2010-04-01"
_CREATE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
_FETCH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class Failure(StrEnum):
    INVALID_NUMBER = "invalid_number"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    HANG = "hang"


_FAILURE_REPLIES: dict[Failure, tuple[int, int, str]] = {
    Failure.INVALID_NUMBER: (400, 21211, "The 'To' number is not a valid phone number."),
    Failure.RATE_LIMIT: (429, 20429, "Too Many Requests"),
    Failure.SERVER_ERROR: (500, 20500, "Internal Server Error"),
}


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class TwilioStandin:
    def __init__(
        self,
        inbox: Inbox | None = None,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        api_keys: Mapping[str, str] | None = None,
        callback_delay_s: float = 0.05,
        signature_algorithm: str = HMAC_SHA1,
        webhook_key: tuple[str, str] | None = None,
        hang_s: float = 60.0,
    ) -> None:
        """``webhook_key`` = (key id, secret) signs callbacks HMAC-SHA256 the SharedKey way."""
        self.inbox = inbox if inbox is not None else Inbox()
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.api_keys = dict(api_keys or {})
        self.callback_delay_s = callback_delay_s
        self.signature_algorithm = signature_algorithm
        self.webhook_key = webhook_key
        self.hang_s = hang_s
        self.undeliverable: set[str] = set()
        self.resources: dict[str, dict[str, Any]] = {}
        self.callbacks: list[dict[str, Any]] = []
        """One entry per status callback posted: sid, status, and the HTTP answer or error."""
        self.requests = 0
        self._failure: Failure | None = None
        self._failures_left: int | None = None
        self._lock = threading.Condition()
        self._release = threading.Event()
        self._due: list[tuple[float, int, str, str]] = []
        self._seq = itertools.count()
        self._closing = False
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stand-in first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The API base URL to give the client (``sms.api_base_url``)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = False
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        for target, name in ((self._serve, "twilio-http"), (self._dispatch, "twilio-cb")):
            thread = threading.Thread(target=target, name=f"{name}-{self.port}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def settings(self) -> dict[str, Any]:
        """The ``[sms]`` settings that send through this stand-in (the demo's defaults)."""
        return {
            "enabled": True,
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": "Stadt",
            "api_base_url": self.url,
        }

    def _serve(self) -> None:
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.05)

    def close(self) -> None:
        """Stop serving and calling back; idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._lock.notify_all()
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- faults -------------------------------------------------------------------------------

    def fail(self, kind: Failure | str, times: int | None = None) -> None:
        """Make the next ``times`` creates fail this way (every one until :meth:`recover`)."""
        with self._lock:
            self._failure = Failure(kind)
            self._failures_left = times
            self._release.clear()

    def recover(self) -> None:
        with self._lock:
            self._failure = None
            self._failures_left = None
        self._release.set()

    def set_down(self, down: bool) -> None:
        """The demo's ``sms_down`` fault: every create answers 500 while down."""
        if down:
            self.fail(Failure.SERVER_ERROR)
        else:
            self.recover()

    def _take_failure(self) -> Failure | None:
        with self._lock:
            failure = self._failure
            if failure is not None and self._failures_left is not None:
                self._failures_left -= 1
                if self._failures_left <= 0:
                    self._failure = self._failures_left = None
            return failure

    # -- the API ------------------------------------------------------------------------------

    def authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        known = {self.account_sid: self.auth_token, **self.api_keys}
        return user in known and secrets.compare_digest(known[user], password)

    def create(self, account: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Handle one create request (already authenticated); returns status and JSON."""
        with self._lock:
            self.requests += 1
        failure = self._take_failure()
        if failure == Failure.HANG:
            self._release.wait(self.hang_s)
            raise _Hangup
        if failure is not None:
            return _error(*_FAILURE_REPLIES[failure])
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        if not _E164.match(to):
            return _error(*_FAILURE_REPLIES[Failure.INVALID_NUMBER])
        if not sender and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        callback = form.get("StatusCallback")
        if callback and not callback.startswith(("http://", "https://")):
            return _error(400, 21609, "The StatusCallback URL is not a valid URL.")
        sid = new_sid("SM")
        now = formatdate(usegmt=True)
        uri = f"{API}/Accounts/{account}/Messages/{sid}"
        resource: dict[str, Any] = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {
                "media": f"{uri}/Media.json",
                "feedback": f"{uri}/Feedback.json",
            },
            "to": to,
            "uri": f"{uri}.json",
        }
        with self._lock:
            self.resources[sid] = dict(resource, _callback=callback)
            if callback:
                final = "undelivered" if to in self.undeliverable else "delivered"
                for step, status in enumerate(("queued", "sent", final)):
                    due = time.monotonic() + step * self.callback_delay_s
                    heapq.heappush(self._due, (due, next(self._seq), sid, status))
                self._lock.notify_all()
        self.inbox.add_sms(to, body)
        return 201, resource

    def fetch(self, sid: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            resource = self.resources.get(sid)
        if resource is None:
            return _error(404, 20404, f"The requested resource {sid} was not found")
        return 200, {k: v for k, v in resource.items() if not k.startswith("_")}

    # -- status callbacks ---------------------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                while not self._closing and (not self._due or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._lock.wait(wait)
                if self._closing:
                    return
                _, _, sid, status = heapq.heappop(self._due)
                resource = self.resources[sid]
                resource["status"] = status
                resource["date_updated"] = formatdate(usegmt=True)
                if status == "sent":
                    resource["date_sent"] = resource["date_updated"]
                if status == "undelivered":
                    resource["error_code"] = 30003
                    resource["error_message"] = "Unreachable destination handset"
                snapshot = dict(resource)
            self._post_callback(snapshot)

    def signed_headers(self, url: str, params: Mapping[str, str]) -> dict[str, str]:
        """The headers Twilio would sign this callback with."""
        if self.signature_algorithm == HMAC_SHA256 and self.webhook_key:
            key_id, secret = self.webhook_key
            signature = RequestValidator(secret).compute_signature(url, params, HMAC_SHA256)
            return {
                "X-Twilio-Signature": signature,
                "X-Twilio-Webhooks-Signature-Settings": f"key={key_id},algorithm={HMAC_SHA256}",
            }
        return {
            "X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, params)
        }

    def _post_callback(self, resource: dict[str, Any]) -> None:
        url = resource["_callback"]
        params = {
            "AccountSid": resource["account_sid"],
            "ApiVersion": "2010-04-01",
            "From": resource["from"] or "",
            "To": resource["to"],
            "MessageSid": resource["sid"],
            "SmsSid": resource["sid"],
            "MessageStatus": resource["status"],
            "SmsStatus": resource["status"],
        }
        if resource["error_code"]:
            params["ErrorCode"] = str(resource["error_code"])
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            **self.signed_headers(url, params),
        }
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
        outcome: dict[str, Any] = {"sid": resource["sid"], "status": resource["status"]}
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - our URL
                outcome["http_status"] = answer.status
        except urllib.error.HTTPError as error:
            outcome["http_status"] = error.code
        except (OSError, ValueError) as error:  # refused, timed out, or a malformed URL
            outcome["error"] = type(error).__name__
            log.warning("status callback to %s failed: %s", url, error)
        with self._lock:
            self.callbacks.append(outcome)
            self._lock.notify_all()

    def wait_for_callbacks(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        with self._lock:
            if not self._lock.wait_for(lambda: predicate(self.callbacks), timeout):
                raise TimeoutError(f"callbacks condition not met within {timeout} s")
            return list(self.callbacks)


class _Hangup(Exception):
    """Drop the connection without an answer (after the hang)."""


def _error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"/docs/errors/{code}",  # Twilio links its docs here; a stand-in need not
        "status": status,
    }


class _Handler(BaseHTTPRequestHandler):
    server_version = "TwilioStandin/1.0"
    timeout = 30

    @property
    def standin(self) -> TwilioStandin:
        standin: TwilioStandin = self.server.standin  # type: ignore[attr-defined]
        return standin

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("twilio stand-in: " + format, *args)

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _account(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        path = urllib.parse.urlsplit(self.path).path
        match = pattern.match(path)
        if match is None:
            self._reply(*_error(404, 20404, "The requested resource was not found"))
            return None
        if not self.standin.authorised(self.headers.get("Authorization", "")):
            self._reply(*_error(401, 20003, "Authenticate"))
            return None
        if match.group(1) != self.standin.account_sid:
            self._reply(*_error(404, 20404, "The requested resource was not found"))
            return None
        return match

    def do_POST(self) -> None:
        match = self._account(_CREATE)
        if match is None:
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        try:
            self._reply(*self.standin.create(match.group(1), form))
        except _Hangup:
            self.close_connection = True

    def do_GET(self) -> None:
        match = self._account(_FETCH)
        if match is not None:
            self._reply(*self.standin.fetch(match.group(2)))
