"""A core on a scripted bank with a manual clock, a dispatcher driven pass by pass, and a
verifying receiver on 127.0.0.1."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from locker import webhooks
from locker.core import Core
from webhooks import WebhookDispatcher

from ..conftest import make_settings
from ..core.scripted_bank import SMALL_BANK, ScriptedBank
from ..core.support import build_core
from .receiver import Receiver

EVERYTHING = list(webhooks.EVENT_TYPES)


@pytest.fixture
def world() -> ScriptedBank:
    return ScriptedBank.bank_of(SMALL_BANK)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, webhooks={"allow_http": True})


@pytest.fixture
def core(engine, clock, settings, world) -> Core:
    return build_core(engine, clock, settings, world)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver().up()
    yield found
    found.down()


@pytest.fixture
def dispatcher(core) -> Iterator[WebhookDispatcher]:
    found = WebhookDispatcher(core, rng=random.Random(7))
    yield found
    found.close()


def subscribe(core: Core, receiver: Receiver, events: list[str] | None = None) -> str:
    """An endpoint for ``receiver``; the receiver learns its secret. Returns the endpoint id."""
    view, secret = webhooks.create_endpoint(core, receiver.url, events or EVERYTHING, actor="test")
    receiver.secret = secret
    return view.id


def drain(dispatcher: WebhookDispatcher, passes: int = 1000) -> None:
    """Run passes until one finds nothing to do (what is due now has been tried)."""
    for _ in range(passes):
        if not dispatcher.run_once().busy:
            return
    raise AssertionError("the dispatcher never settled")
