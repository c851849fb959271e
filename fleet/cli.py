"""``locker fleet``: the centre (``serve``, ``db upgrade``, ``apikey create``) and ``sim``.

Loaded by ``kiosk/cli.py`` only when ``locker fleet`` is invoked (``LAZY_GROUPS``), and light
itself: the web stack, paho and psycopg load inside the handlers; ``sim`` loads the simulator
inside its handler, so the centre's commands never import it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any


def _settings(args: argparse.Namespace) -> Any:
    from fleet.centre.config import load_centre_settings  # noqa: PLC0415

    return load_centre_settings(
        Path(args.fleet_config) if args.fleet_config else None,
        overrides={
            "centre": {
                "database_url": args.database_url,
                "port": getattr(args, "port", None),
                "demo": True if getattr(args, "demo", False) else None,
            },
            "broker": {"url": getattr(args, "broker_url", None)},
        },
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - the web stack loads only to serve

    from fleet.centre.app import create_app  # noqa: PLC0415
    from fleet.centre.config import CentreConfigError  # noqa: PLC0415
    from fleet.centre.service import Centre  # noqa: PLC0415
    from runtime.signals import until_signalled  # noqa: PLC0415
    from runtime.supervision import Notifier  # noqa: PLC0415

    try:
        settings = _settings(args)
    except CentreConfigError as err:
        print(err, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    centre = Centre(settings).build()
    print(
        f"fleet centre on http://{settings.centre.host}:{settings.centre.port}/"
        f" (broker {settings.broker.url})"
        + (" — demo key: demo-key" if settings.centre.demo else ""),
        flush=True,
    )
    notifier = Notifier()
    address = f"{settings.centre.host}:{settings.centre.port}"

    class CentreServer(uvicorn.Server):
        """uvicorn, saying ``READY=1`` (sd_notify) once its socket is bound: systemd's
        ``Type=notify`` and the tests wait on that, never on asking ``/healthz`` in a loop."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                notifier.ready(f"serving on {address} (broker {settings.broker.url})")

    config = uvicorn.Config(
        create_app(centre),
        host=settings.centre.host,
        port=settings.centre.port,
        log_level="warning",
        proxy_headers=False,
        timeout_graceful_shutdown=3,
    )
    try:
        with until_signalled():  # so that the centre closes after uvicorn stopped
            CentreServer(config).run()
    finally:
        notifier.stopping()
        notifier.close()
        centre.close()
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from fleet.centre import db  # noqa: PLC0415

    engine = db.make_engine(args.database_url)
    print(f"centre database at revision {db.upgrade(engine)}")
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from fleet.centre import db, keys  # noqa: PLC0415
    from locker.clock import SystemClock  # noqa: PLC0415

    engine = db.make_engine(args.database_url)
    if not db.is_current(engine):
        print(
            "the centre's database is not up to date; run: locker fleet db upgrade", file=sys.stderr
        )
        return 1
    key = keys.create_key(engine, args.name, set(args.role), SystemClock().now())
    print(key)
    print(
        f"(centre API key {args.name!r}, roles {', '.join(sorted(args.role))}; shown only now)",
        file=sys.stderr,
    )
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    from simulator.fleet_sim import run  # noqa: PLC0415 - development tool, loaded when invoked

    code: int = run(args)
    return code


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fleet = subparsers.add_parser("fleet", help="the city's fleet: the centre and simulated boxes")
    commands = fleet.add_subparsers(dest="fleet_command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="the centre: MQTT in, PostgreSQL, API, control room")
    serve.add_argument("--broker-url", help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    serve.add_argument("--database-url", help="postgresql+psycopg://USER@HOST/DB")
    serve.add_argument("--port", type=int, help="port of the API and the control room (8100)")
    serve.add_argument("--config", dest="fleet_config", metavar="FILE", help="centre TOML file")
    serve.add_argument("--demo", action="store_true", help="seed the API key demo-key (all roles)")
    serve.set_defaults(func=cmd_serve)

    db = commands.add_parser("db", help="the centre's database").add_subparsers(
        dest="fleet_db", required=True
    )
    upgrade = db.add_parser("upgrade", help="apply the centre's migrations (safe to repeat)")
    upgrade.add_argument("--database-url", required=True)
    upgrade.set_defaults(func=cmd_db_upgrade)

    apikey = commands.add_parser("apikey", help="the centre's API keys").add_subparsers(
        dest="fleet_apikey", required=True
    )
    create = apikey.add_parser("create", help="print a new centre API key once")
    create.add_argument("name")
    create.add_argument(
        "--role", action="append", required=True, choices=["clerk", "technician", "admin"]
    )
    create.add_argument("--database-url", required=True)
    create.set_defaults(func=cmd_apikey_create)

    sim = commands.add_parser("sim", help="N simulated boxes reporting to a broker")
    sim.add_argument("--boxes", type=int, default=3, help="how many boxes (default 3)")
    sim.add_argument("--broker-url", required=True)
    sim.add_argument(
        "--password", default="", help="broker password of every box (default: box id)"
    )
    sim.add_argument("--passwords", type=Path, help="file of user:password lines, one per box")
    sim.add_argument("--processes", type=int, default=0, help="processes to spread the boxes over")
    sim.add_argument("--fault-rate", type=float, default=0.01, help="faults per box and second")
    sim.add_argument("--keepalive", type=int, default=30, help="MQTT keep-alive seconds")
    sim.add_argument("--data-dir", type=Path, help="where each box keeps its SQLite file")
    sim.add_argument("--rate", type=float, default=1.0, help="events per second per box (about)")
    sim.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--prefix", default="box", help="box ids are PREFIX-1 … PREFIX-N")
    sim.add_argument("--ids", help="comma-separated box ids instead (then --boxes is their number)")
    sim.add_argument("--heartbeat", type=float, default=30.0, help="heartbeat seconds")
    sim.add_argument(
        "--report-events",
        action="store_true",
        help="print a line after each commit that wrote outbound events (for tests)",
    )
    sim.set_defaults(func=cmd_sim)
