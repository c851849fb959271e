"""The one settings model: a TOML file, overridden by ``LOCKER_<SECTION>__<KEY>`` variables.

Every setting has a default that is safe for a development machine; ``docs/configuration.md``
lists them all (a test keeps that page and this model in step). Loading never half-succeeds:
:func:`load_settings` either returns complete, validated settings or raises
:class:`ConfigError` whose message names each wrong key, where it came from (file or
environment variable) and what was expected.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from locker import guessing
from locker.vocabulary import AlarmKind, DocumentType

ENV_PREFIX = "LOCKER_"
ENV_DELIMITER = "__"
CONFIG_VARIABLE = "LOCKER_CONFIG"
"""Names the config file (``locker`` commands read it when ``--config`` is not given)."""
DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 - refused outside demo
MIN_SECRET_KEY_LENGTH = 32
DEPRECATED: dict[tuple[str, str], str] = {
    ("security", "bank_failures_per_hour"): (
        "the locker-wide budget of wrong codes was removed (it let one person keep every"
        " citizen out); the per-kiosk back-off bounds guessing now (docs/security.md)"
    ),
}
"""Settings that no longer do anything: accepted with a warning, so that an upgraded box with
an old config file still starts; delete them from the file."""

_log = logging.getLogger(__name__)
MAX_KIOSK_ADDRESSES = 64
"""docs/security.md: the guessing bound holds for up to this many kiosk addresses."""


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, use_attribute_docstrings=True
    )


class LockerSection(Section):
    """Identity of this installation."""

    bank_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = "bank-1"
    """Name of this locker bank; QR codes carry it, so a code shown at the wrong locker is
    recognised.
    """
    name: str = "Dokumentenausgabe"
    """What citizens see as the name of the service."""
    location: str = "Bürgerbüro, Haupteingang"
    """Where the locker stands, as messages tell the citizen (keep it short: it goes into the SMS).
    """
    timezone: str = "Europe/Berlin"
    """Time zone for times shown to people (IANA name)."""
    data_dir: Path = Path("data")
    """Directory for the SQLite database and other local state."""
    demo: bool = False
    """Demo mode: allows the built-in secret key and seeds demo accounts. Never in production."""
    secret_key: str = DEFAULT_SECRET_KEY
    """Installation secret for code hashes, sealed messages, API keys and sessions; at least 32
    random characters outside demo mode.
    """

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_real(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("demo"):
            return value
        if value == DEFAULT_SECRET_KEY or len(value) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"must be a private random value of at least {MIN_SECRET_KEY_LENGTH} characters"
                " outside demo mode (make one with: python3 -c 'import secrets;"
                " print(secrets.token_urlsafe(48))')"
            )
        return value


class DatabaseSection(Section):
    """Where the data lives: SQLite by default, PostgreSQL by URL."""

    url: str = ""
    """SQLAlchemy URL; empty means ``sqlite:///<data_dir>/locker.db``."""
    busy_timeout_ms: Annotated[int, Field(ge=100)] = 10_000
    """How long a writer waits for another to finish before giving up (SQLite)."""


class BackupSection(Section):
    """Copies of the database (``locker backup``, daily by the ``locker-backup.timer``)."""

    dir: Path | None = None
    """Where ``locker backup`` writes; empty: ``<data_dir>/backups``. Put it on another medium
    (a USB stick, a network share) to survive the SD card."""
    keep: Annotated[int, Field(ge=1, le=365)] = 14
    """Newest copies kept; older ones are deleted after each backup."""
    max_age_hours: Annotated[float, Field(gt=0)] = 36.0
    """``locker doctor`` warns when the newest copy is older than this."""


class PolicySection(Section):
    """What the city decides: how long documents wait, who must prove who they are."""

    pickup_days: Annotated[int, Field(ge=1, le=90)] = 14
    """Days a stored document waits for its citizen before it expires."""
    retention_days: Annotated[int, Field(ge=0, le=365)] = 0
    """Days after a delivery ends until the recipient's name, contacts and date of birth are erased.
    """
    second_factor_documents: list[DocumentType] = Field(
        default_factory=lambda: [
            DocumentType.ID_CARD,
            DocumentType.PASSPORT,
            DocumentType.RESIDENCE_PERMIT,
        ]
    )
    """Document types handed out only against the recipient's date of birth."""
    accessible_rows: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [2, 3])
    """Compartment rows (1 = bottom) reachable from a wheelchair, for compartments whose layout
    gives no ``handle_mm``; kept for recipients who need them.
    """
    reach_min_mm: Annotated[int, Field(ge=0, le=3000)] = 380
    """Lowest handle height (mm above the floor) a seated user reaches (EN 301 549 8.3)."""
    reach_max_mm: Annotated[int, Field(ge=0, le=3000)] = 1220
    """Highest handle height (mm above the floor) a seated user reaches (EN 301 549 8.3)."""

    @field_validator("reach_max_mm")
    @classmethod
    def _reach_is_a_range(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("reach_min_mm")
        if low is not None and value <= low:
            raise ValueError(f"must be above policy.reach_min_mm ({low})")
        return value

    reminder_after_days: Annotated[int, Field(ge=0)] = 3
    """First reminder this many days after storing (0: none)."""
    reminder_before_expiry_days: Annotated[int, Field(ge=0)] = 2
    """Second reminder this many days before expiry (0: none)."""
    four_eyes_loading: bool = False
    """A second staff member must confirm each loading (with their own password) before the
    door is closed on it; both are in the audit log. Nothing is sent to the citizen before."""
    max_extension_days: Annotated[int, Field(ge=0, le=90)] = 14
    """A clerk may extend a stored document's pickup period by at most this many days in all."""


def _is_network(value: str) -> str:
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network (like 10.0.5.0/28)") from None
    return value.strip()


IpNetwork = Annotated[str, AfterValidator(_is_network)]


class SecuritySection(Section):
    """Rate limits and lockouts; docs/security.md shows why these bound guessing below 10⁻⁶."""

    kiosk_max_failures: Annotated[int, Field(ge=1, le=20)] = 5
    """Wrong codes in a row from one kiosk before it has to wait."""
    kiosk_lockout_base_s: Annotated[int, Field(ge=1, le=300)] = 30
    """First wait of a kiosk; each further one doubles."""
    kiosk_lockout_max_s: Annotated[int, Field(ge=1, le=300)] = 300
    """Longest wait of a kiosk: nobody keeps a citizen out for longer than this after their last
    wrong code (at most 5 minutes; the guessing bound rests on it and on the kiosk addresses).
    """
    delivery_max_failures: Annotated[int, Field(ge=1, le=10)] = 3
    """Wrong dates of birth for one delivery before it is locked."""
    delivery_lockout_base_s: Annotated[int, Field(ge=1)] = 900
    """First lockout of a delivery; each further one doubles."""
    delivery_lockout_max_s: Annotated[int, Field(ge=1)] = 86_400
    """Longest lockout of a delivery."""
    staff_max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    """Failed sign-ins to one account per hour from browsers that never signed in to it; then
    only such browsers wait for the hour's end. The clerk's own browser (its device cookie) is
    not held up by this, and a right password does not refill it. Also: wrong passwords in a
    row from a known browser before it waits."""
    staff_lockout_s: Annotated[int, Field(ge=60, le=86_400)] = 900
    """Longest wait of a known browser after wrong passwords (it starts at 60 s and doubles)."""
    staff_client_failures_per_hour: Annotated[int, Field(ge=1, le=1000)] = 20
    """Failed sign-ins per hour from one address (any user names) before it waits for the
    hour's end; a browser that signed in before is exempt."""
    session_idle_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    """Staff sessions end after this much inactivity."""
    session_max_hours: Annotated[float, Field(gt=0, le=24 * 7)] = 10.0
    """Staff sessions end this long after sign-in, however active (a working day)."""
    kiosk_addresses: list[IpNetwork] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    """Addresses (or networks, ``10.0.5.0/28``) of the touchscreens: pickups and camera frames
    are accepted from these only, and each is one kiosk for the rate limits. The default is the
    Pi's own browser.
    """
    trusted_proxies: list[IpNetwork] = Field(default_factory=list)
    """Reverse proxies whose ``X-Forwarded-For`` is believed (addresses or networks); from
    anyone else the header is ignored. Empty: no proxy.
    """

    @field_validator("kiosk_addresses", "trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(entry, strict=False)) for entry in value]

    @field_validator("kiosk_addresses")
    @classmethod
    def _few_kiosks(cls, value: list[str]) -> list[str]:
        count = guessing.kiosk_count(value)
        if count > MAX_KIOSK_ADDRESSES:
            raise ValueError(
                f"{count} addresses are more than {MAX_KIOSK_ADDRESSES} kiosks; name the"
                " touchscreens' own addresses (each one is a kiosk the guessing bound counts)"
            )
        return value

    @model_validator(mode="after")
    def _guessing_stays_unlikely(self) -> SecuritySection:
        if self.kiosk_lockout_max_s < self.kiosk_lockout_base_s:
            raise ValueError("kiosk_lockout_max_s must not be shorter than kiosk_lockout_base_s")
        kiosks = guessing.kiosk_count(self.kiosk_addresses)
        bound = guessing.yearly_bound(self, kiosks)
        if bound >= guessing.TARGET:
            raise ValueError(
                f"with these kiosk_* settings and {kiosks} kiosk addresses a year of guessing"
                f" could succeed with probability {bound:.1e}, above {guessing.TARGET:.0e}"
                " (docs/security.md); allow fewer wrong codes per round or wait longer"
            )
        return self


class HardwareSection(Section):
    """Which lock bank the controller drives."""

    backend: Literal["simulator", "layout"] = "simulator"
    """``layout``: real boards and pins described by ``layout``; ``simulator``: virtual ones."""
    layout: Path | None = None
    """Layout file (TOML): compartments, buses, boards, pins, polling and lock-fault timing; see
    docs/hardware.md. With the simulator backend, empty means the demo bank.
    """
    pin_factory: Literal["mock", "lgpio", "rpigpio", "native"] | None = None
    """gpiozero pin factory for GPIO compartments (empty: gpiozero's own choice)."""
    door_open_alarm_s: Annotated[float, Field(gt=0)] = 300.0
    """A door open longer than this raises an alarm."""

    @field_validator("layout")
    @classmethod
    def _layout_for_real_hardware(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if info.data.get("backend") == "layout" and value is None:
            raise ValueError("backend 'layout' needs the path of a layout file")
        return value


class SmsSection(Section):
    """SMS through Twilio; docs/notifications.md explains each setting."""

    enabled: bool = False
    """Send SMS."""
    account_sid: str = ""
    """Twilio account SID (AC…)."""
    auth_token: str = ""
    """Signs requests unless an API key is given; always verifies status callbacks."""
    api_key_sid: str = ""
    """Twilio API key SID (SK…), used with ``api_key_secret`` instead of the auth token."""
    api_key_secret: str = ""
    """Secret of the Twilio API key."""
    from_number: str = ""
    """An E.164 number or an alphanumeric sender id (up to 11 characters)."""
    messaging_service_sid: str = ""
    """Used instead of (or with) ``from_number``: Twilio picks the sender from the service."""
    api_base_url: str = ""
    """Empty: Twilio itself. Set it to reach a stand-in or a proxy."""
    status_callback_url: str = ""
    """Empty: ``<kiosk.public_url>/api/v1/notifications/twilio-status`` if a public URL is set."""
    default_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "DE"
    """Country assumed for phone numbers given without +country code."""
    timeout_s: Annotated[float, Field(gt=0)] = 15.0
    """How long one request to the SMS gateway may take before it counts as failed."""
    webhook_key_secret: str = ""
    """The Twilio SharedKey secret for HMAC-SHA256-signed webhooks; empty: the auth token."""


class EmailSection(Section):
    """E-mail over SMTP: ``ssl`` (usually port 465), ``starttls`` (587) or ``none`` (a relay)."""

    enabled: bool = False
    """Send e-mail."""
    host: str = "localhost"
    """SMTP server."""
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    """SMTP port."""
    security: Literal["none", "starttls", "ssl"] = "starttls"
    """Transport security: ``ssl``, ``starttls`` or ``none``."""
    username: str = ""
    """SMTP user name (empty: no authentication)."""
    password: str = ""
    """SMTP password."""
    sender: str = "Dokumentenausgabe <noreply@localhost>"
    """From address of the messages."""
    timeout_s: Annotated[float, Field(gt=0)] = 20.0
    """How long one SMTP conversation may take."""


class NotifySection(Section):
    """The outbox worker: retries with back-off until sent, or dead after the caps."""

    max_attempts: Annotated[int, Field(ge=1)] = 12
    """Attempts before a message is given up (dead) and the clerks are alerted."""
    backoff_base_s: Annotated[float, Field(gt=0)] = 30.0
    """Wait after the first failed attempt; doubles each time (with jitter)."""
    backoff_max_s: Annotated[float, Field(gt=0)] = 3600.0
    """Longest wait between attempts."""
    max_age_hours: Annotated[float, Field(gt=0)] = 48.0
    """A message not sent within this time is given up."""
    poll_interval_s: Annotated[float, Field(gt=0)] = 30.0
    """Longest an idle worker waits before it looks again. A safety net only: the core wakes it
    when a message is queued, and it wakes itself when the next retry falls due."""
    lease_s: Annotated[float, Field(ge=60)] = 300.0
    """A row claimed longer ago than this (its worker died) is claimed again: at-least-once."""
    batch_size: Annotated[int, Field(ge=1, le=500)] = 20
    """Rows one worker thread claims at a time."""
    threads: Annotated[int, Field(ge=1, le=16)] = 1
    """Worker threads sending in parallel (claims never overlap)."""


class OutboxSection(Section):
    """The event outbox: what the sinks (webhooks, the fleet link) carry off the box."""

    event_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Events every sink has passed on are kept this long (for a look back), then deleted."""


class WebhooksSection(Section):
    """Signed webhooks to the city's registry software (Standard Webhooks 1.0)."""

    allow_http: bool = False
    """Accept ``http://`` endpoint URLs besides ``https://`` (only for a receiver on the same
    trusted network: webhooks carry references and states in clear over plain HTTP)."""
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 15.0
    """How long one request may take before it counts as failed (the spec says 15 to 30 s)."""
    poll_interval_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """Longest sleep of an idle dispatcher: new events wake it at once and it wakes itself when
    a retry falls due, so this is only a safety net."""
    lease_s: Annotated[float, Field(ge=30)] = 120.0
    """A message claimed longer ago than this (its sender died) is sent again, same id."""
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 100
    """Most events fanned out, and messages sent, per pass."""
    rotation_grace_hours: Annotated[float, Field(ge=0, le=720)] = 24.0
    """After a secret rotation the previous secret signs too for this long."""


class ApiSection(Section):
    """The back office's REST API beyond single requests: idempotency and bulk import."""

    idempotency_retention_hours: Annotated[float, Field(gt=0, le=720)] = 24.0
    """A request sent with an ``Idempotency-Key`` is remembered (and answered again) this long."""
    import_max_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 8 * 1024 * 1024
    """Largest body ``POST /api/v1/deliveries/import`` accepts."""
    import_max_rows: Annotated[int, Field(ge=1, le=100_000)] = 10_000
    """Most rows one import may hold."""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
OpeningSpan = Annotated[
    str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$")
]


class OfficeSection(Section):
    """The office that runs the locker: its one name on every screen and in every message, how
    citizens reach it (SMS: name and phone; e-mail: all of it), and its hours (which also
    decide what "after hours" means in the statistics)."""

    name: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[^{}]*$")] = "Bürgerbüro"
    """The office's name as citizens know it ("Bürgerbüro Musterstadt"); the kiosk and the
    messages say it wherever they send the citizen to the office."""
    address: Annotated[str, Field(max_length=200)] = ""
    """Street and town, one line ("Rathausplatz 1, 12345 Musterstadt"); empty: not said."""
    phone: Annotated[str, Field(max_length=40)] = ""
    """Phone number as citizens dial it ("030 1234-5678"); empty: not said."""
    web: Annotated[str, Field(max_length=200)] = ""
    """Web page of the office (appointments, hours); empty: not said."""

    opening_hours: dict[Weekday, list[OpeningSpan]] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "mon": ["08:00-12:00"],
            "tue": ["08:00-12:00"],
            "wed": ["08:00-12:00"],
            "thu": ["08:00-12:00", "14:00-18:00"],
            "fri": ["08:00-12:00"],
        }
    )
    """Local opening hours per weekday (``mon`` … ``sun``), each a list of ``HH:MM-HH:MM``
    spans; a day not named is closed. Statistics count pickups outside these hours."""

    @field_validator("opening_hours")
    @classmethod
    def _spans_run_forward(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in value.items():
            for span in spans:
                start, end = span.split("-")
                if end <= start:
                    raise ValueError(f"{day}: {span} ends before it starts")
        return value


class FleetSection(Section):
    """The link to the city's fleet centre over MQTT (docs/fleet.md); off without a broker."""

    broker_url: str = ""
    """``mqtt://HOST[:PORT]`` or ``mqtts://HOST[:PORT]`` of the city's broker; empty: no link."""
    box_id: Annotated[str, Field(pattern=r"^([a-z0-9][a-z0-9_-]{0,47})?$")] = ""
    """This box's id at the centre and in its topics; empty: ``locker.bank_id`` in lower case."""
    username: str = ""
    """Broker user name; empty: the box id (the broker's ACL expects that)."""
    password: str = ""
    """Broker password of this box."""
    ca_file: str = ""
    """CA certificate that signed the broker's (``mqtts://``); empty: the system's trust store."""
    heartbeat_s: Annotated[float, Field(ge=1, le=600)] = 30.0
    """Seconds between heartbeats (the centre marks a box offline after three missed ones)."""
    keepalive_s: Annotated[int, Field(ge=2, le=120)] = 30
    """MQTT keep-alive: the broker sends the last will 1.5 keep-alives after the link died."""
    resend_after_s: Annotated[float, Field(ge=1)] = 30.0
    """Events the centre has not confirmed by then are sent again (the wait doubles, to 10 min)."""

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        if value and not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("use mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        return value


class AlarmsSection(Section):
    """Alarms for the staff: when capacity runs low, and whom to alert off the screens."""

    low_capacity_free: Annotated[int, Field(ge=0, le=1000)] = 2
    """Raise a capacity alarm when fewer compartments than this are free and usable (0: never)."""
    oncall_phone: str = ""
    """Mobile number (E.164) of the on-call contact who gets an SMS for every alarm; empty: none.
    """
    oncall_email: str = ""
    """E-mail address of the on-call contact who gets an e-mail for every alarm; empty: none."""
    oncall_locale: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "de"
    """Language of the on-call alerts."""
    oncall_kinds: list[AlarmKind] = Field(default_factory=lambda: list(AlarmKind))
    """Which kinds of alarm are sent to the on-call contact (default: every kind)."""

    @field_validator("oncall_phone", "oncall_email")
    @classmethod
    def _contact(cls, value: str, info: ValidationInfo) -> str:
        from locker.errors import InvalidInput  # noqa: PLC0415 - config loads first
        from locker.recipients import normalise_email, normalise_phone  # noqa: PLC0415

        if not value:
            return value
        try:
            if info.field_name == "oncall_phone":
                return normalise_phone(value, "DE")
            return normalise_email(value)
        except InvalidInput as err:
            raise ValueError(err.detail) from None


class KioskSection(Section):
    """The web server and the touchscreen."""

    host: str = "127.0.0.1"
    """Address the web server listens on."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    """Port the web server listens on."""
    public_url: str = ""
    """The URL citizens and Twilio reach this controller at, if any (for status callbacks)."""
    inactivity_s: Annotated[int, Field(ge=10)] = 60
    """The citizen screen returns to the start after this much inactivity (with a warning first)."""
    secure_cookies: bool = False
    """Mark cookies Secure (set it when served over HTTPS; on by itself with ``tls_certfile``)."""
    speech_program: str = "espeak-ng"
    """The speech synthesiser run on the device (Debian's espeak-ng; docs/accessibility.md)."""
    speech_wpm: Annotated[int, Field(ge=80, le=300)] = 160
    """Speaking rate in words a minute before the citizen makes it slower or faster."""
    speech_cache_mb: Annotated[int, Field(ge=0, le=1024)] = 32
    """Memory for synthesised screen texts, so a screen speaks at once (0: synthesise always)."""
    camera_frames_per_s: Annotated[float, Field(gt=0, le=1000)] = 10.0
    """Camera frames a kiosk may send per second before it is answered 429 (a camera sends 2–5)."""
    tls_certfile: Path | None = None
    """PEM certificate (with its chain); with ``tls_keyfile`` a second listener on
    ``tls_host:tls_port`` speaks HTTPS for clerks on office PCs, while plain HTTP stays on
    ``host`` (this machine). The only way to reach beyond the machine besides a reverse proxy
    with TLS on this machine (docs/operations.md).
    """
    tls_keyfile: Path | None = None
    """PEM private key of ``tls_certfile`` (readable by the service user only)."""
    tls_host: str = "0.0.0.0"  # noqa: S104 - the HTTPS listener is for the office LAN
    """Address the HTTPS listener binds when ``tls_certfile`` is set (``0.0.0.0``: every one)."""
    tls_port: Annotated[int, Field(ge=1, le=65535)] = 8443
    """Port of the HTTPS listener for clerks on office PCs."""

    @field_validator("tls_keyfile")
    @classmethod
    def _tls_in_pairs(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if (value is None) != (info.data.get("tls_certfile") is None):
            raise ValueError("give tls_certfile and tls_keyfile together, or neither")
        return value

    @property
    def tls(self) -> bool:
        return self.tls_certfile is not None


class EnvironmentOverFile(BaseSettings):
    """Settings whose file (handed in as init arguments) the environment overrides: a box's
    ``locker.toml`` and ``LOCKER_*``, the centre's ``centre.toml`` and ``FLEET_*`` alike."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)


class Settings(EnvironmentOverFile):
    """All settings. Build with :func:`load_settings`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        extra="forbid",
        frozen=True,
    )

    locker: LockerSection
    database: DatabaseSection
    backup: BackupSection
    policy: PolicySection
    security: SecuritySection
    hardware: HardwareSection
    sms: SmsSection
    email: EmailSection
    notify: NotifySection
    outbox: OutboxSection
    webhooks: WebhooksSection
    api: ApiSection
    office: OfficeSection
    alarms: AlarmsSection
    kiosk: KioskSection
    fleet: FleetSection
    _deprecations: list[str] = PrivateAttr(default_factory=list)

    @property
    def deprecations(self) -> list[str]:
        """Warnings about deprecated settings that were given and ignored (``config check``)."""
        return list(self._deprecations)

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.locker.data_dir / 'locker.db'}"


def origin(key: str, source: str, environ: Mapping[str, str] | None = None) -> str:
    """Where the setting ``section.key`` came from: its environment variable if set, else
    ``source`` (the config file); for messages that name the place to fix."""
    env = os.environ if environ is None else environ
    variable = ENV_PREFIX + ENV_DELIMITER.join(key.split(".", 1)).upper()
    return f"environment variable {variable}" if variable in env else source


class ConfigError(Exception):
    """Settings could not be loaded; ``problems`` holds one line per wrong key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("configuration error:\n" + "\n".join(f"  - {p}" for p in problems))


def load_settings(
    path: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Read ``path`` (TOML) if given, apply ``LOCKER_…`` variables and ``overrides``, validate.

    ``overrides`` (section → key → value) are what a command line decides, such as demo mode;
    they sit below environment variables, like the file.
    """
    env = dict(os.environ if environ is None else environ)
    source = str(path) if path is not None else "(no config file)"
    data = _read_toml(Path(path)) if path is not None else {}
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    for section in _sections():
        data.setdefault(section, {})
    deprecations = _drop_deprecated(data, env, source)
    problems = _unknown_keys(data, source) + _unknown_env(env)
    if problems:
        raise ConfigError(problems)
    saved = _swap_environ(env)
    try:
        settings = Settings(**data)
        settings._deprecations.extend(deprecations)
        return settings
    except ValidationError as err:
        raise ConfigError(_explain(err, source, env)) from None
    finally:
        _swap_environ(saved)


def _drop_deprecated(data: dict[str, Any], env: dict[str, str], source: str) -> list[str]:
    """Remove :data:`DEPRECATED` settings from ``data`` and ``env``; one logged warning each."""
    warnings = []
    for (section, key), why in DEPRECATED.items():
        variable = f"{ENV_PREFIX}{section.upper()}{ENV_DELIMITER}{key.upper()}"
        places = []
        if isinstance(data.get(section), dict) and key in data[section]:
            del data[section][key]
            places.append(source)
        if env.pop(variable, None) is not None:
            places.append(f"environment variable {variable}")
        for place in places:
            warning = f"{place}: [{section}] {key} is deprecated and ignored: {why}; remove it"
            _log.warning("%s", warning)
            warnings.append(warning)
    return warnings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"config file {path} does not exist"]) from None
    except OSError as err:
        raise ConfigError([f"config file {path} cannot be read: {err.strerror or err}"]) from None
    try:
        return tomllib.loads(decode_utf8(data))
    except UnicodeDecodeError as err:
        raise ConfigError([f"config file {path} is {not_utf8(data, err)}"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"config file {path} is not valid TOML: {err}"]) from None


def decode_utf8(data: bytes) -> str:
    """The text of a settings file (a UTF-8 byte-order mark, as Windows editors write, is fine)."""
    return data.decode("utf-8-sig")


def not_utf8(data: bytes, err: UnicodeDecodeError) -> str:
    """Where a file stops being UTF-8, for a person to find it in an editor."""
    line = data[: err.start].count(b"\n") + 1
    return f"not UTF-8 text: byte {data[err.start]:#04x} on line {line} (save it as UTF-8)"


def _sections() -> dict[str, type[BaseModel]]:
    sections: dict[str, type[BaseModel]] = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        sections[name] = annotation
    return sections


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_keys(data: dict[str, Any], source: str) -> list[str]:
    sections = _sections()
    problems = []
    for section, values in data.items():
        if section not in sections:
            problems.append(
                f"[{section}] in {source}: unknown section{_suggest(section, list(sections))};"
                f" sections are {', '.join(sections)}"
            )
            continue
        if not isinstance(values, dict):
            problems.append(f"[{section}] in {source}: expected a table of settings")
            continue
        known = list(sections[section].model_fields)
        problems += [
            f"{section}.{key} in {source}: unknown setting{_suggest(key, known)}"
            for key in values
            if key not in known
        ]
    return problems


def _unknown_env(env: Mapping[str, str]) -> list[str]:
    sections = _sections()
    problems = []
    for name in env:
        if not name.startswith(ENV_PREFIX) or name == CONFIG_VARIABLE:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split(ENV_DELIMITER)
        if len(parts) != 2 or parts[0] not in sections:
            problems.append(
                f"environment variable {name}: not a setting; expected"
                f" {ENV_PREFIX}<SECTION>{ENV_DELIMITER}<KEY>, sections are {', '.join(sections)}"
            )
        elif parts[1] not in sections[parts[0]].model_fields:
            known = list(sections[parts[0]].model_fields)
            hint = _suggest(parts[1], known)
            problems.append(f"environment variable {name}: unknown setting {parts[1]!r}{hint}")
    return problems


def _explain(err: ValidationError, source: str, env: Mapping[str, str]) -> list[str]:
    lines = []
    for problem in err.errors():
        loc = [str(part) for part in problem["loc"]]
        key = ".".join(loc[:2]) if loc else "(settings)"
        variable = ENV_PREFIX + ENV_DELIMITER.join(loc[:2]).upper()
        where = f"environment variable {variable}" if variable in env else source
        got = problem.get("input")
        shown = "" if isinstance(got, dict) or key.endswith("secret_key") else f", got {got!r}"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{key} in {where}: {message}{shown}")
    return lines


def _swap_environ(env: Mapping[str, str]) -> dict[str, str]:
    """pydantic-settings reads ``os.environ``; give it exactly ``env`` for one load."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    return saved
