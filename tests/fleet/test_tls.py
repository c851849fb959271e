"""``mqtts://``: the broker's TLS listener of the production config, the box's and the centre's
``ca_file``; a broker certificate nobody vouched for is refused."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from fleet import mqtt as fleet_mqtt
from fleet.centre import views
from fleet.centre.service import Centre
from locker.clock import SystemClock
from simulator.broker import LocalBroker
from simulator.fleet_sim import open_box

from ..conftest import self_signed_certificate
from .conftest import Stored, centre_settings


@pytest.fixture
def tls_broker(tmp_path, credentials) -> Iterator[tuple[LocalBroker, str]]:
    cert, key = self_signed_certificate(tmp_path)
    with LocalBroker(tmp_path / "broker", credentials.passwords, tls=(cert, key)) as broker:
        yield broker, str(cert)


def test_box_and_centre_over_tls(tls_broker, centre_db, credentials, tmp_path):
    broker, ca_file = tls_broker
    assert broker.url.startswith("mqtts://")
    untrusting = fleet_mqtt.make_client(
        "nobody",
        fleet_mqtt.parse_broker_url(broker.url),
        username="box-1",
        password=credentials.of("box-1"),
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusting.connect("127.0.0.1", broker.port)

    settings = centre_settings(broker, centre_db, credentials, broker={"ca_file": ca_file})
    with Centre(settings, clock=SystemClock(), watch=False) as centre:
        stored = Stored(centre)
        box = open_box(
            "box-1",
            tmp_path / "boxes",
            broker.url,
            credentials.of("box-1"),
            seed=3,
            heartbeat_s=5,
            keepalive_s=5,
            ca_file=ca_file,
        )
        try:
            stored.wait(
                lambda: any(b.online and b.compartments == 16 for b in views.boxes(centre.db))
            )
        finally:
            box.close()
