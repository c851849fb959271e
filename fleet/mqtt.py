"""Broker URLs and the paho-mqtt client both ends of the fleet build from them.

``mqtt://host[:1883]`` or ``mqtts://host[:8883]`` (TLS, verified against ``ca_file`` or the
system's trust store). Every client speaks MQTT 5 with a persistent session (``clean_start``
off, a session expiry), so the broker keeps QoS 1 messages for it while it is away, and
reconnects by itself (paho's loop, back-off 1–15 s, as Open-Locker's ADR-0014 decides).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 15


class BrokerUrlError(ValueError):
    """A broker URL that cannot be used, with a sentence saying why."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerAddress:
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise BrokerUrlError(f"broker URL {url!r}: use mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    if not parts.hostname:
        raise BrokerUrlError(f"broker URL {url!r} names no host")
    if parts.username or parts.password:
        raise BrokerUrlError("give the broker's user name and password as settings, not in the URL")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise BrokerUrlError(f"broker URL {url!r}: the port is not a number") from None
    return BrokerAddress(parts.hostname, port, parts.scheme == "mqtts")


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def make_client(
    client_id: str,
    address: BrokerAddress,
    *,
    username: str,
    password: str,
    ca_file: str | None = None,
    will: Will | None = None,
) -> mqtt.Client:
    """A paho client ready for :func:`connect` (nothing is sent yet)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        reconnect_on_failure=True,
    )
    client.username_pw_set(username, password)
    if address.tls:
        client.tls_set(ca_certs=ca_file or None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    return client


def connect(
    client: mqtt.Client, address: BrokerAddress, *, keepalive_s: int, session_expiry_s: int
) -> None:
    """Connect in the background and keep reconnecting (``loop_start``); never blocks."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = session_expiry_s
    client.connect_async(
        address.host,
        address.port,
        keepalive=keepalive_s,
        clean_start=False,
        properties=properties,
    )
    client.loop_start()


def expiring(seconds: float) -> Properties:
    """PUBLISH properties with a message expiry: the broker drops the message afterwards."""
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.MessageExpiryInterval = max(1, int(seconds))
    return properties


def stop(client: mqtt.Client) -> None:
    """Disconnect cleanly (no last will), stop the network thread and close the client's sockets;
    idempotent.

    paho's ``loop_stop`` leaves the socket pair that wakes its loop (and the broker socket, when
    the loop ended on an error) open until the client object is garbage collected
    (eclipse-paho/paho.mqtt.python#627): a box or centre that restarts its link would pile them
    up, so they are closed here, with paho's own reset, as its ``__del__`` would."""
    client.disconnect()
    client.loop_stop()
    client._reset_sockets()
