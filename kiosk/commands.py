"""``locker serve`` and ``locker demo``: the controller with its web app."""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from locker.config import Settings, load_settings
from locker.errors import Conflict
from locker.services import accounts
from locker.vocabulary import Role
from runtime import instance, logs

if TYPE_CHECKING:
    from runtime.controller import Controller

DEMO_USER = ("demo", "demo")
DEMO_KEY = "demo-key"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser("serve", help="run the controller and its web app")
    serve.add_argument("--host", help="listen address (default: kiosk.host)")
    serve.add_argument("--port", type=int, help="listen port (default: kiosk.port)")
    serve.set_defaults(func=cmd_serve)

    demo = subparsers.add_parser(
        "demo", help="controller + simulated bank + kiosk + local SMS and mail stand-ins"
    )
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("data/demo"),
        help="where the demo keeps its database and simulated world",
    )
    demo.set_defaults(func=cmd_demo)


def _config_path(args: argparse.Namespace) -> Path | None:
    import os  # noqa: PLC0415

    value = args.config or os.environ.get("LOCKER_CONFIG")
    return Path(value) if value else None


def cmd_serve(args: argparse.Namespace) -> int:
    from kiosk.app import create_app  # noqa: PLC0415 - the web stack only when serving
    from runtime.controller import Controller  # noqa: PLC0415
    from runtime.preflight import check_serving  # noqa: PLC0415

    path = _config_path(args)
    settings = load_settings(path)
    layout = check_serving(settings, str(path or "(no config file)"), host=args.host)
    logs.configure()
    controller = Controller(settings, layout=layout)
    with instance.hold(settings.locker.data_dir):
        try:
            controller.start()  # database checked, bank reconciled: then the listeners, then READY
            app = create_app(settings, controller)
            _run(
                app,
                controller,
                settings,
                args.host or settings.kiosk.host,
                args.port or settings.kiosk.port,
            )
        finally:
            controller.close()
    return 0


def demo_secret(data_dir: Path) -> str:
    """A random secret kept in the data dir, so codes stay valid across demo restarts."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


DEMO_OFFICE = {
    "name": "Bürgerbüro Musterstadt",
    "address": "Rathausplatz 1, 12345 Musterstadt",
    "phone": "030 1234-5678",
    "web": "https://www.musterstadt.example/buergerbuero",
}


def demo_settings(
    config: Path | None,
    data_dir: Path,
    host: str,
    port: int,
    extra: dict[str, dict[str, Any]] | None = None,
) -> Settings:
    overrides: dict[str, dict[str, Any]] = {
        "locker": {
            "demo": True,
            "data_dir": str(data_dir),
            "secret_key": demo_secret(data_dir),
            "bank_id": "demo",
            "location": "Rathaus, Eingang Nord",
        },
        "hardware": {"backend": "simulator"},
        "kiosk": {"host": host, "port": port, "public_url": f"http://{host}:{port}"},
    }
    if config is None:  # a made-up office, so the demo's messages show every contact line
        overrides["office"] = dict(DEMO_OFFICE)
    for section, values in (extra or {}).items():
        overrides.setdefault(section, {}).update(values)
    return load_settings(config, overrides=overrides)


def seed_demo_accounts(controller: Controller) -> None:
    core = controller.running
    everything = frozenset(Role)
    with contextlib.suppress(Conflict):
        accounts.add_user(
            core, DEMO_USER[0], DEMO_USER[1], everything, actor="demo", demo_seed=True
        )
    with contextlib.suppress(Conflict):
        accounts.create_api_key(core, "demo", everything, actor="demo", key=DEMO_KEY)


def cmd_demo(args: argparse.Namespace) -> int:
    # The simulator and the web stack only when the demo runs.
    from kiosk.app import create_app  # noqa: PLC0415
    from kiosk.demo import sim_router, world_controller  # noqa: PLC0415
    from runtime.preflight import load_layout_setting  # noqa: PLC0415
    from simulator.world import WorldStateError, build_world  # noqa: PLC0415

    data_dir = args.data_dir.resolve()
    config = _config_path(args)
    first = demo_settings(config, data_dir, args.host, args.port)
    layout = load_layout_setting(first, str(config or "(no config file)"))
    logs.configure()  # once the configuration stands, as serve does: a refusal is one message
    try:
        world = build_world(layout, state_dir=data_dir)
    except WorldStateError as err:
        print(f"locker demo: {err}", file=sys.stderr)
        return 2
    try:
        settings = demo_settings(config, data_dir, args.host, args.port, world.standin_settings())
        with instance.hold(data_dir):  # one demo per data directory
            controller = world_controller(world, settings, migrate_on_start=True).start()
            try:
                seed_demo_accounts(controller)
                base = f"http://{args.host}:{args.port}"
                print(
                    f"locker demo is running (data in {data_dir})\n"
                    f"  kiosk (citizens)   {base}/\n"
                    f"  clerk screens      {base}/clerk   (sign in as demo / demo)\n"
                    f"  simulator          {base}/sim\n"
                    f"  messages sent      {base}/sim/messages\n"
                    f"  API + docs         {base}/docs   (Authorization: Bearer {DEMO_KEY})\n"
                    "Stop with Ctrl-C; start again to find everything as it was.",
                    flush=True,
                )
                app = create_app(
                    settings, controller, extra_routers=[sim_router(world, controller)]
                )
                _run(app, controller, settings, args.host, args.port)
            finally:
                controller.close()
    finally:
        world.close()
    return 0


def _run(app: Any, controller: Controller, settings: Settings, host: str, port: int) -> None:
    from kiosk.server import serve  # noqa: PLC0415 - uvicorn only when serving

    serve(app, controller, settings, host, port)
