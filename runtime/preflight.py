"""What ``locker serve`` checks before it starts anything, so that a mistake in the settings
is one message naming the file and the key (exit status 2), never a traceback from deep inside
the start-up. ``locker config check`` and ``locker doctor`` ask exactly the same questions, so
"the configuration is valid" means that ``serve`` will accept it.

Loading the settings (``locker.config.load_settings``) already checks every key on its own;
this adds what needs more than one key or the files they name: the bank's layout file, the
backend, and that clerk pages leave the machine only over HTTPS.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from hardware.layout import Layout, LayoutError, load_layout
from locker.config import ConfigError, Settings, origin

LOOPBACK_NAMES = frozenset({"localhost"})


def layout_problems(settings: Settings, source: str) -> tuple[Layout | None, list[str]]:
    """The bank's layout from ``hardware.layout`` (None without one), or why it cannot be used."""
    path = settings.hardware.layout
    if path is None:
        return None, []
    where = origin("hardware.layout", source)
    try:
        return load_layout(Path(path)), []
    except LayoutError as err:
        return None, [
            f"hardware.layout in {where}: layout file {line}" for line in str(err).splitlines()
        ]


def load_layout_setting(settings: Settings, source: str) -> Layout | None:
    """:func:`layout_problems` that raises :class:`ConfigError` (the demo and the runtime)."""
    layout, problems = layout_problems(settings, source)
    if problems:
        raise ConfigError(problems)
    return layout


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serving_problems(
    settings: Settings, source: str, *, host: str | None = None
) -> tuple[Layout | None, list[str]]:
    """Every reason ``locker serve`` would refuse these settings; the layout if it loaded.

    ``host`` is a listen address given on the command line instead of ``kiosk.host``.
    """
    problems: list[str] = []
    hardware = settings.hardware
    if hardware.backend == "simulator":
        problems.append(
            f"hardware.backend in {origin('hardware.backend', source)}: 'simulator' runs only"
            ' inside the demo (locker demo); a controller needs backend = "layout" and'
            " hardware.layout naming the bank's layout file (docs/hardware.md)"
        )
    layout, found = layout_problems(settings, source)
    problems += found
    kiosk = settings.kiosk
    listen = host or kiosk.host
    if not is_loopback(listen):
        problems.append(
            f"kiosk.host in {origin('kiosk.host', source)}: {listen!r} would serve the clerk"
            " pages over plain HTTP beyond this machine; keep 127.0.0.1 (the touchscreen) and"
            " set kiosk.tls_certfile and kiosk.tls_keyfile for office PCs, or put a reverse"
            " proxy with TLS in front (docs/operations.md)"
        )
    if kiosk.tls_certfile is not None and kiosk.tls_keyfile is not None:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                kiosk.tls_certfile, kiosk.tls_keyfile
            )
        except (OSError, ssl.SSLError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            problems.append(
                f"kiosk.tls_certfile in {origin('kiosk.tls_certfile', source)}: cannot use"
                f" {kiosk.tls_certfile} with {kiosk.tls_keyfile}: {reason}"
            )
    return layout, problems


def check_serving(settings: Settings, source: str, *, host: str | None = None) -> Layout:
    """The layout to serve, or :class:`ConfigError` listing every problem at once."""
    layout, problems = serving_problems(settings, source, host=host)
    if problems:
        raise ConfigError(problems)
    assert layout is not None
    return layout
