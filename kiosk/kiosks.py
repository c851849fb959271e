"""Who is a kiosk: the configured touchscreen addresses, never what a request claims.

The client address is the socket's peer unless that peer is one of
``security.trusted_proxies``; only then is ``X-Forwarded-For`` believed (uvicorn's
``ProxyHeadersMiddleware``, installed by :func:`kiosk.app.create_app` with exactly that list,
while uvicorn's own proxy handling is switched off in every server we start). Pickups and
camera frames are accepted from ``security.kiosk_addresses`` only, so a client elsewhere on
the network cannot guess codes at all (docs/security.md has the arithmetic).
"""

from __future__ import annotations

import functools
import ipaddress

from fastapi import Request

from locker.errors import PermissionDenied

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class NotAKiosk(PermissionDenied):
    code = "not_a_kiosk"


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_address(request: Request) -> str:
    """The caller's address as resolved by the proxy rule (``""`` when unknown)."""
    return request.client.host if request.client else ""


def kiosk_of(request: Request, kiosk_addresses: list[str]) -> str:
    """The kiosk this request comes from (its address), or :class:`NotAKiosk`."""
    host = client_address(request)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and any(address in net for net in _networks(tuple(kiosk_addresses))):
        return str(address)
    raise NotAKiosk(
        "Pickups are accepted only at the locker's own touchscreen."
        " Bitte holen Sie Ihr Dokument am Bildschirm des Schließfachs ab."
    )
