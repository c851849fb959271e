"""The web server of ``locker serve`` and ``locker demo``, supervised by systemd.

One asyncio loop runs uvicorn's listeners: plain HTTP on ``kiosk.host`` (the touchscreen, on
this machine) and, with ``kiosk.tls_certfile``, HTTPS on ``kiosk.tls_host:tls_port`` for clerks
on office PCs. ``READY=1`` goes to systemd once the controller is built (database migrated and
checked, bank reconciled) and every listener is bound; then a :class:`runtime.supervision.
Heartbeat` sends ``WATCHDOG=1`` while the loop, the bus owner and the database answer;
``STOPPING=1`` as soon as a stop is asked for. SIGINT and SIGTERM are ours
(:func:`runtime.signals.until_signalled`), so the controller is closed after the last request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from locker.config import Settings
from locker.errors import DomainError
from runtime.controller import Controller
from runtime.signals import until_signalled
from runtime.supervision import (
    Heartbeat,
    Notifier,
    bank_check,
    database_check,
    loop_check,
    watchdog_interval,
)

log = logging.getLogger(__name__)
GRACEFUL_S = 3
"""Kiosks keep event streams open; do not wait for them to hang up when stopping."""


class Listener(uvicorn.Server):
    """A uvicorn server that leaves signals to us and says when it is bound."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.bound = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # SIGINT/SIGTERM are handled once, for every listener, by serve()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.bound.set()


def listener_configs(app: Any, settings: Settings, host: str, port: int) -> list[uvicorn.Config]:
    common: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,  # URLs and clients are no business of the log (no personal data)
        "proxy_headers": False,  # only security.trusted_proxies are believed (kiosk.kiosks)
        "timeout_graceful_shutdown": GRACEFUL_S,
        "log_config": None,  # our logging set-up (runtime.logs), not uvicorn's
    }
    configs = [uvicorn.Config(app, host=host, port=port, **common)]
    kiosk = settings.kiosk
    if kiosk.tls_certfile is not None and kiosk.tls_keyfile is not None:
        configs.append(
            uvicorn.Config(
                app,
                host=kiosk.tls_host,
                port=kiosk.tls_port,
                ssl_certfile=str(kiosk.tls_certfile),
                ssl_keyfile=str(kiosk.tls_keyfile),
                **common,
            )
        )
    return configs


def serve(
    app: Any,
    controller: Controller,
    settings: Settings,
    host: str,
    port: int,
    *,
    notifier: Notifier | None = None,
) -> None:
    """Serve ``app`` on a started ``controller`` until SIGINT or SIGTERM; the caller closes it.

    Raises :class:`DomainError` if a listener cannot start (the port is taken, say).
    """
    notifier = notifier or Notifier()
    servers = [Listener(config) for config in listener_configs(app, settings, host, port)]
    with until_signalled() as stop:
        try:
            failed = asyncio.run(_serve(servers, controller, stop, notifier))
            if failed:  # uvicorn said why (address in use, certificate): one line each
                raise DomainError(f"could not listen on {', '.join(failed)}; see the line above")
        finally:
            stop.set()
            notifier.stopping()
            notifier.close()


async def _listen(server: Listener) -> bool:
    """Run one listener; False if it could not start (uvicorn exits on a failed bind)."""
    try:
        await server.serve()
    except SystemExit:
        return False
    return True


async def _serve(
    servers: list[Listener], controller: Controller, stop: threading.Event, notifier: Notifier
) -> list[str]:
    """Serve until stopped; the listeners that could not start (host:port)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def relay() -> None:  # the signal handler sets a threading.Event; the loop waits on this
        stop.wait()
        with contextlib.suppress(RuntimeError):  # the loop has already ended
            loop.call_soon_threadsafe(stopping.set)

    threading.Thread(target=relay, name="stop relay", daemon=True).start()
    tasks = [asyncio.create_task(_listen(server)) for server in servers]
    bound = asyncio.gather(*(server.bound.wait() for server in servers))
    halted = asyncio.create_task(stopping.wait())
    first: list[asyncio.Future[Any]] = [bound, halted, *tasks]
    await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
    heartbeat: Heartbeat | None = None
    if bound.done() and not halted.done():
        core = controller.running
        addresses = ", ".join(_address(server) for server in servers)
        log.info("serving on %s", addresses)
        notifier.ready(f"serving on {addresses}")
        interval = watchdog_interval()
        if interval is not None and notifier.enabled:
            assert controller.engine is not None
            checks = [loop_check(loop), bank_check(core.bank), database_check(controller.engine)]
            heartbeat = Heartbeat(notifier, interval, checks).start()
        then: list[asyncio.Future[Any]] = [halted, *tasks]
        await asyncio.wait(then, return_when=asyncio.FIRST_COMPLETED)
    bound.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await bound
    log.info("stopping")
    notifier.stopping()
    if heartbeat is not None:
        await asyncio.to_thread(heartbeat.close)
    for server in servers:
        server.should_exit = True
    stop.set()
    started = await asyncio.gather(*tasks)
    halted.cancel()
    return [
        f"{server.config.host}:{server.config.port}"
        for server, ok in zip(servers, started, strict=True)
        if not ok
    ]


def _address(server: Listener) -> str:
    scheme = "https" if server.config.is_ssl else "http"
    for listener in server.servers:
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            return f"{scheme}://{host}:{port}"
    return f"{scheme}://{server.config.host}:{server.config.port}"
