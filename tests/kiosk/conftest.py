"""A whole controller for API tests: real app, SQLite file, simulated bank, SMS/mail stand-ins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiosk.app import create_app
from kiosk.demo import sim_router, world_controller
from locker.services import accounts
from locker.vocabulary import Role
from runtime.controller import Controller
from simulator.world import SimulatedWorld, build_world

from ..conftest import make_settings, migrated_database
from ..waiting import WAIT_S, Changes, wake_on_world

KEYS = {"clerk": "k-clerk", "technician": "k-tech", "admin": "k-admin", "all": "k-all"}
PASSWORD = "correct horse battery"
KIOSK = ("127.0.0.1", 50000)
"""The test client speaks from the kiosk's own address (security.kiosk_addresses)."""


@dataclass
class Stack:
    client: TestClient
    controller: Controller
    world: SimulatedWorld
    changes: Changes

    def wait_for(self, condition: Callable[[], Any], timeout: float = WAIT_S) -> Any:
        """Wait until ``condition`` holds, re-checked on every domain event and world change."""
        return self.changes.wait_for(condition, timeout)

    def as_role(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {KEYS[role]}"}

    def announce(self, reference: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "reference": reference,
            "document_type": "passport",
            "recipient": {
                "name": "Erika Mustermann",
                "phone": "+4915123456789",
                "email": "erika@example.org",
                "date_of_birth": "1990-05-17",
            },
        }
        body.update(overrides)
        answer = self.client.post("/api/v1/deliveries", json=body, headers=self.as_role("clerk"))
        assert answer.status_code == 201, answer.text
        return answer.json()

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        return self.client.get(
            f"/api/v1/deliveries/{delivery_id}", headers=self.as_role("clerk")
        ).json()

    def door_open(self, label: str) -> bool:
        """The controller has seen this door open (a person closes it only after that)."""
        compartments = self.client.get("/api/v1/compartments", headers=self.as_role("all"))
        door = next(c["door"] for c in compartments.json() if c["label"] == label)
        return bool(door == "open" and self.world.hardware.door_open(label))

    def load(self, reference: str, **overrides: Any) -> tuple[str, str]:
        """Announce, load, put the document in, close; return (delivery id, compartment)."""
        delivery_id = self.announce(reference, **overrides)["id"]
        answer = self.client.post(
            f"/api/v1/deliveries/{delivery_id}/load", headers=self.as_role("clerk")
        )
        assert answer.status_code == 202, answer.text
        label = answer.json()["compartment"]
        self.wait_for(lambda: self.door_open(label))
        self.world.hardware.put_item(label)
        self.world.hardware.close_door(label)
        self.wait_for(lambda: self.delivery(delivery_id)["state"] == "stored")
        return delivery_id, label

    def code_for(self, phone: str = "+4915123456789") -> str:
        self.wait_for(
            lambda: any(m["to"] == phone and m["code"] for m in self.world.inbox.to_list())
        )
        return [m["code"] for m in self.world.inbox.to_list() if m["to"] == phone and m["code"]][-1]


@pytest.fixture
def stack(request, tmp_path) -> Iterator[Stack]:
    """A whole controller; with the staff accounts unless the test's module sets
    ``STAFF_ACCOUNTS = False`` (none of its tests signs in: three argon2 hashes fewer, seconds
    per test on a loaded machine)."""
    with running_stack(tmp_path, staff=getattr(request.module, "STAFF_ACCOUNTS", True)) as built:
        yield built


@pytest.fixture
def staffed_stack(tmp_path) -> Iterator[Stack]:
    """A whole controller with the staff accounts, for the tests that sign in in a module that
    otherwise does without (``STAFF_ACCOUNTS = False``)."""
    with running_stack(tmp_path) as built:
        yield built


@contextmanager
def running_stack(
    tmp_path: Path, *, staff: bool = True, **sections: dict[str, Any]
) -> Iterator[Stack]:
    """The whole controller with its app, ``sections`` overriding settings (e.g. security):
    an API key for each of ``KEYS`` and, with ``staff``, a staff account for each role
    (``<role>1``, ``PASSWORD``)."""
    world = build_world()
    try:
        settings = make_settings(
            tmp_path,
            hardware={"backend": "simulator"},
            notify={"poll_interval_s": 0.2},
            **world.standin_settings(),
            **sections,
        )
        if not settings.database.url:  # what migrate_on_start would make, made faster
            migrated_database(settings.locker.data_dir / "locker.db")
        controller = world_controller(
            world, settings, migrate_on_start=True, housekeeping_interval_s=3600
        )
        changes = Changes()
        with TestClient(
            create_app(settings, controller, extra_routers=[sim_router(world, controller)]),
            client=KIOSK,
        ) as client:
            core = controller.running
            wake_on_world(changes, core, world)
            for role, key in KEYS.items():
                roles = frozenset(Role) if role == "all" else frozenset({Role(role)})
                accounts.create_api_key(core, role, roles, actor="test", key=key)
                if staff and role != "all":
                    accounts.add_user(core, f"{role}1", PASSWORD, roles, actor="test")
            yield Stack(client, controller, world, changes)
    finally:
        world.close()
