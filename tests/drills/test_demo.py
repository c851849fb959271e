"""``locker demo`` as a newcomer uses it: a document loaded and collected with the ``/sim`` page
in Chromium (keyboard only, axe-core clean, no CSP errors), then SIGKILL and a restart that
finds the world and the deliveries as they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from ..processes import Child
from ..sse import StreamListener
from ..waiting import WAIT_S, Changes
from .conftest import ROOT, Http, free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
LOCKER = Path(sys.executable).with_name("locker")
KEY = "demo-key"


class Demo:
    def __init__(self, where: Path) -> None:
        self.where = where
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = Http(self.base, {"Authorization": f"Bearer {KEY}"})
        self.changes = Changes()
        self.child: Child | None = None
        self.streams: list[StreamListener] = []

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self.child is not None
        return self.child.process

    def start(self) -> None:
        command = [str(LOCKER), "demo", "--port", str(self.port), "--data-dir", str(self.where)]
        self.child = Child(command, self.where / "demo.log", self.changes, notify=True)
        child = self.child
        child.wait_started(lambda: child.ready, "the demo's READY=1")
        staff = {"Authorization": f"Bearer {KEY}"}
        self.streams = [
            StreamListener(self.base, "/api/v1/stream", staff, self.changes, reconnect=True),
            StreamListener(self.base, "/sim/stream", None, self.changes, reconnect=True),
        ]
        for stream in self.streams:
            stream.connected()

    def wait_until(self, check: Callable[[], Any], timeout: float = WAIT_S, what: str = "") -> Any:
        """Re-checked on every event of the controller's and the world's streams."""
        return self.changes.wait_for(check, timeout, what)

    def _forget(self) -> None:
        for stream in self.streams:
            stream.close()
        self.streams = []
        if self.child is not None:
            self.child.close()

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self._forget()

    def close(self) -> None:
        for stream in self.streams:  # hang up first: a stopping server waits for open streams
            stream.close()
        self.streams = []
        if self.child is not None:
            self.child.stop(signal.SIGINT, 20)
        self._forget()
        self.http.close()

    def json(self, path: str) -> Any:
        answer = self.http.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def sim(self, label: str) -> dict[str, Any]:
        return next(c for c in self.json("/sim/state")["compartments"] if c["label"] == label)

    def delivery_state(self, delivery_id: str) -> str:
        return str(self.json(f"/api/v1/deliveries/{delivery_id}")["state"])

    def controller_sees_open(self, label: str) -> bool:
        rows = self.json("/api/v1/compartments")
        return next(c for c in rows if c["label"] == label)["door"] == "open"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.close()


def press(page: Page, name: str) -> None:
    """Reach a button by keyboard (focus, then Enter), as someone without a mouse does."""
    button = page.get_by_role("button", name=name, exact=True)
    button.focus()
    page.keyboard.press("Enter")


def axe_clean(page: Page) -> None:
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}));
        }""",
        AXE_TAGS,
    )
    assert violations == []


def test_load_and_collect_with_the_sim_page_then_survive_sigkill(demo: Demo):
    announced = demo.http.post(
        "/api/v1/deliveries",
        {
            "reference": "DEMO-1",
            "document_type": "id_card",
            "recipient": {
                "name": "Erika",
                "phone": "+4915199990000",
                "date_of_birth": "1990-05-17",
            },
        },
    )
    assert announced.status_code == 201, announced.text
    delivery_id = announced.json()["id"]
    label = demo.http.post(f"/api/v1/deliveries/{delivery_id}/load").json()["compartment"]
    demo.wait_until(lambda: demo.controller_sees_open(label))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            csp: list[str] = []
            page.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text else 0)
            page.set_default_timeout(10_000)
            page.goto(demo.base + "/sim")
            card = page.locator(f'li.compartment[data-label="{label}"]')
            card.locator(".door", has_text="open").wait_for()
            axe_clean(page)
            press(page, f"Put in {label}")
            card.locator(".item", has_text="inside").wait_for()
            press(page, f"Close door {label}")
            demo.wait_until(lambda: demo.delivery_state(delivery_id) == "stored")
            card.locator(".controller", has_text="occupied").wait_for()
            code = page.locator("#inbox .code strong").first.inner_text()
            picked = demo.http.post("/api/v1/pickup", {"code": code, "date_of_birth": "1990-05-17"})
            assert picked.status_code == 200, picked.text
            card.locator(".door", has_text="open").wait_for()
            demo.wait_until(lambda: demo.controller_sees_open(label))
            press(page, f"Take out {label}")
            card.locator(".item", has_text="none").wait_for()
            press(page, f"Close door {label}")
            demo.wait_until(lambda: demo.delivery_state(delivery_id) == "collected")

            press(page, "Force A01")
            page.locator("#active-faults li", has_text="A01: forced").wait_for()
            page.select_option("#fault-kind", "sms_down")
            press(page, "Inject")
            page.locator("#active-faults li", has_text="sms_down").wait_for()
            press(page, "+1 day")
            page.locator("#status", has_text="Clock now").wait_for()
            axe_clean(page)
            assert csp == []
        finally:
            browser.close()

    demo.wait_until(lambda: "sms_down" in demo.json("/sim/state")["message_faults"])
    demo.kill()
    demo.start()
    assert demo.delivery_state(delivery_id) == "collected"
    forced = demo.sim("A01")
    assert forced["door"] == "open"
    assert "forced" in forced["faults"]
    assert demo.sim(label)["door"] == "closed"
    assert not demo.sim(label)["item"]
    assert "sms_down" in demo.json("/sim/state")["message_faults"]
    messages = demo.json("/sim/messages")
    assert [m["code"] for m in messages if m["code"]] == [code]
    refused = demo.http.post("/api/v1/pickup", {"code": code, "date_of_birth": "1990-05-17"})
    assert refused.status_code == 409  # code_used: spent, and said so


@pytest.mark.parametrize("cut", ["after the door closed", "after the pickup opened it"])
def test_sigkill_right_after_a_change_finds_the_world_as_it_was(demo: Demo, cut: str):
    """The world is saved before the change is answered: a kill at once loses nothing."""
    recipient = {"name": "Erika", "phone": "+4915199990001"}
    body = {"reference": "DEMO-2", "document_type": "other", "recipient": recipient}
    delivery_id = demo.http.post("/api/v1/deliveries", body).json()["id"]
    label = demo.http.post(f"/api/v1/deliveries/{delivery_id}/load").json()["compartment"]
    demo.wait_until(lambda: demo.controller_sees_open(label))
    demo.http.post(f"/sim/compartments/{label}/item", {"present": True})
    demo.http.post(f"/sim/compartments/{label}/close")
    if cut == "after the pickup opened it":
        demo.wait_until(lambda: demo.delivery_state(delivery_id) == "stored")
        code = demo.wait_until(lambda: [m["code"] for m in demo.json("/sim/messages") if m["code"]])
        assert demo.http.post("/api/v1/pickup", {"code": code[0]}).status_code == 200
    demo.kill()
    demo.start()
    if cut == "after the door closed":
        found = demo.sim(label)
        assert (found["door"], found["locked"], found["item"], found["pulses"]) == (
            "closed",
            True,
            True,
            1,
        )
        demo.wait_until(lambda: demo.delivery_state(delivery_id) == "stored")
    else:
        assert demo.sim(label)["door"] == "open"
        assert demo.sim(label)["pulses"] == 2
        demo.http.post(f"/sim/compartments/{label}/item", {"present": False})
        demo.http.post(f"/sim/compartments/{label}/close")
        demo.wait_until(lambda: demo.delivery_state(delivery_id) == "collected")
