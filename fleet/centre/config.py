"""The centre's settings: a TOML file (``--config``), ``FLEET_<SECTION>__<KEY>`` variables,
and the command line (``--broker-url``, ``--database-url``, ``--port``) above both.

The centre is a program of its own, with its own prefix, so its variables never collide with
a box's ``LOCKER_…`` settings on the same machine (the simulator runs both).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from fleet.contract import CENTRE_USER
from fleet.mqtt import parse_broker_url
from locker.config import EmailSection, EnvironmentOverFile


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class CentreSection(Section):
    """The control room's web server, database and judgement of silence."""

    host: str = "127.0.0.1"
    """Address the API and the control room listen on."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8100
    """Port of the API and the control room."""
    database_url: str = ""
    """PostgreSQL, e.g. ``postgresql+psycopg://fleet@db/fleet`` (required)."""
    offline_after_s: Annotated[float, Field(gt=0)] = 90.0
    """A box whose heartbeats stop this long counts as offline (the broker's last will usually
    says so sooner)."""
    command_timeout_s: Annotated[float, Field(gt=0, le=300)] = 15.0
    """How long a relayed command waits for the box's answer."""
    timezone: str = "Europe/Berlin"
    """Time zone of the times the control room shows (IANA name)."""
    demo: bool = False
    """Seed the API key ``demo-key`` with every role. Never in production."""

    @field_validator("database_url")
    @classmethod
    def _postgres(cls, value: str) -> str:
        if value and not value.startswith("postgresql"):
            raise ValueError("the centre stores in PostgreSQL: postgresql+psycopg://…")
        return value


class BrokerSection(Section):
    """How the centre reaches the city's Mosquitto."""

    url: str = ""
    """``mqtt://HOST[:PORT]`` or ``mqtts://HOST[:PORT]`` (required)."""
    username: str = CENTRE_USER
    """The centre's broker user (deploy/mosquitto/acl gives it every box's topics)."""
    password: str = ""
    """The centre's broker password."""
    ca_file: str = ""
    """CA certificate for ``mqtts://`` (empty: the system's trust store)."""
    client_id: str = "fleet-centre"
    """The centre's MQTT client id: keep it, so its persistent session survives restarts."""

    @field_validator("url")
    @classmethod
    def _broker(cls, value: str) -> str:
        if value:
            parse_broker_url(value)
        return value


class AlertsSection(Section):
    """E-mail to the on-call staff when a box is offline too long or raises an alarm."""

    recipients: list[str] = Field(default_factory=list)
    """On-call addresses (empty: no alert e-mail)."""
    offline_alert_after_s: Annotated[float, Field(gt=0)] = 600.0
    """A box offline this long gets one alert per outage."""
    max_attempts: Annotated[int, Field(ge=1)] = 10
    """Attempts before an alert is given up."""


class CentreSettings(EnvironmentOverFile):
    """The centre's settings: ``centre.toml``, ``FLEET_*`` variables over it (as on a box)."""

    model_config = SettingsConfigDict(
        env_prefix="FLEET_", env_nested_delimiter="__", extra="forbid", frozen=True
    )
    centre: CentreSection = CentreSection()
    broker: BrokerSection = BrokerSection()
    alerts: AlertsSection = AlertsSection()
    smtp: EmailSection = EmailSection(sender="Leitstand Dokumentenausgabe <noreply@localhost>")
    """The mail server for alerts: the same keys as a box's ``[email]`` (``enabled = true``)."""


class CentreConfigError(Exception):
    """Settings that cannot be used; the message names each wrong key."""


def load_centre_settings(
    path: Path | None = None, *, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> CentreSettings:
    """File, then environment, then ``overrides`` (the command line) on top; all required
    settings present or :class:`CentreConfigError`."""
    data: dict[str, dict[str, Any]] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise CentreConfigError(f"config file {path}: {err}") from None
    try:
        base = CentreSettings(**data)  # type: ignore[arg-type]
        merged = base.model_dump()
        for section, values in (overrides or {}).items():
            merged[section].update({k: v for k, v in values.items() if v is not None})
        settings = CentreSettings.model_validate(merged)
    except ValidationError as err:
        problems = [
            f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in err.errors()
        ]
        raise CentreConfigError("configuration error:\n" + "\n".join(problems)) from None
    missing = [
        name
        for name, value in (
            ("centre.database_url (--database-url)", settings.centre.database_url),
            ("broker.url (--broker-url)", settings.broker.url),
        )
        if not value
    ]
    if missing:
        raise CentreConfigError("configuration error: missing " + ", ".join(missing))
    return settings
