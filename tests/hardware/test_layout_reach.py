"""Heights in the layout file (handles, the screen) and ``locker layout check``'s warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware import cli as hw_cli
from hardware.layout import ScreenConfig, load_layout
from kiosk.cli import build_parser
from simulator.virtual_hardware import load_demo_layout

from .test_layout import BUS, Write, problems, serial, table


def check(capsys: pytest.CaptureFixture[str], path: Path, *options: str) -> tuple[int, str]:
    args = build_parser(["layout", "check", str(path), *options]).parse_args(
        ["layout", "check", str(path), *options]
    )
    code = hw_cli.cmd_layout_check(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_heights_reach_the_specs(layout_file: Write) -> None:
    screen = table("[screen]", {"bottom_mm": 800, "top_mm": 1100})
    layout = load_layout(layout_file(screen + BUS + serial("A01", 0, handle_mm=450)))
    assert layout.screen == ScreenConfig(800, 1100)
    assert layout.compartment("A01").spec.handle_mm == 450
    assert load_layout(layout_file(BUS + serial("A01", 0))).compartment("A01").handle_mm is None


def test_wrong_heights_are_named(layout_file: Write) -> None:
    screen = table("[screen]", {"bottom_mm": 1100, "top_mm": 900})
    assert problems(layout_file, screen + BUS + serial("A01", 0, handle_mm=-5)) == [
        "screen: top_mm: must be above bottom_mm (1100) (got 900)",
        "compartment A01: handle_mm: must be at least 0 (got -5)",
    ]
    assert problems(layout_file, table("[screen]", {"top_mm": 900}) + BUS + serial("A01", 0)) == [
        "screen: bottom_mm: is required"
    ]


def test_demo_layout_has_every_size_within_reach() -> None:
    layout = load_demo_layout()
    assert all(c.handle_mm is not None for c in layout.compartments)
    assert layout.screen is not None


def test_check_warns_when_no_compartment_of_a_size_is_within_reach(
    layout_file: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    path = layout_file(
        table("[screen]", {"bottom_mm": 900, "top_mm": 1300})
        + BUS
        + serial("A01", 0, size="S", handle_mm=1500)
        + serial("A02", 1, size="M", handle_mm=1000)
        + serial("A03", 2, size="L")
    )
    code, out = check(capsys, path)
    assert code == 0
    assert out.splitlines() == [
        f"{path}: 3 compartments, 1 within reach (380–1220 mm)",
        f"{path}: screen from 900 to 1300 mm above the floor",
        f"{path}: the top 20% of the screen is above 1220 mm: the kiosk keeps its controls below it",
        f"{path}: warning: no compartment of size S is within reach (380–1220 mm): a recipient"
        " who needs an accessible compartment gets one out of reach or a larger one",
        f"{path}: warning: no compartment of size L is within reach (380–1220 mm): a recipient"
        " who needs an accessible compartment gets one out of reach",
        f"{path}: warning: 1 compartments give no handle_mm (A03): policy.accessible_rows (2, 3)"
        " decides their reach; measure and add the heights",
    ]
    assert check(capsys, path, "--strict")[0] == 1


def test_check_of_the_demo_layout_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).parents[2] / "simulator" / "layouts" / "demo.toml"
    code, out = check(capsys, path, "--strict")
    assert code == 0, out
    assert "warning" not in out


def test_check_of_a_broken_file_names_every_problem(
    layout_file: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    path = layout_file(BUS + serial("A01", 0, handle_mm="high"))
    code, out = check(capsys, path)
    assert code == 2
    assert out.strip() == f"{path}: compartment A01: handle_mm: must be a whole number (got 'high')"


def test_the_screen_band_above_reach_is_kept_free_of_controls() -> None:
    from types import SimpleNamespace

    from kiosk.pages.reach import reach_band

    def bank(bottom: int, top: int) -> SimpleNamespace:
        return SimpleNamespace(screen=ScreenConfig(bottom, top))

    assert reach_band(bank(900, 1250), 1220) == 9
    assert reach_band(bank(800, 1100), 1220) == 0  # all within reach
    assert reach_band(bank(1000, 1800), 1220) == 40  # at most 40 %: layout check warns
    assert reach_band(SimpleNamespace(), 1220) == 0  # no [screen] in the layout
