"""What ``locker layout check`` says about reach: sizes with no compartment a seated user
reaches, compartments whose height is not given, a touchscreen partly out of reach.

The same :class:`locker.reach.Reach` decides here as in allocation, so the warning names
exactly the sizes for which a recipient marked ``needs_accessible`` would get a compartment
out of reach.
"""

from __future__ import annotations

from hardware.layout import Layout
from locker.config import PolicySection
from locker.reach import Reach
from locker.vocabulary import Size

MAX_SCREEN_OUT_OF_REACH = 0.4
"""The citizen screens leave at most this much of the screen's top free (kiosk/pages/reach.py)."""


def reach_report(layout: Layout, policy: PolicySection) -> tuple[list[str], list[str]]:
    """``(facts, warnings)``: one line each, for a technician commissioning the bank."""
    specs = [c.spec for c in layout.compartments]
    reach = Reach.of(policy, specs)
    span = f"{reach.min_mm}–{reach.max_mm} mm"
    within = [s for s in specs if reach.covers(s.label, s.row)]
    facts = [f"{len(specs)} compartments, {len(within)} within reach ({span})"]
    warnings: list[str] = []
    for size in Size:
        of_size = [s for s in specs if s.size == size]
        if of_size and not any(s in within for s in of_size):
            warnings.append(
                f"no compartment of size {size} is within reach ({span}): a recipient who needs"
                f" an accessible compartment gets one out of reach"
                + ("" if size == max(Size, key=lambda s: s.rank) else " or a larger one")
            )
    guessed = sorted(s.label for s in specs if s.handle_mm is None)
    if guessed:
        rows = ", ".join(map(str, sorted(reach.rows)))
        warnings.append(
            f"{len(guessed)} compartments give no handle_mm ({_few(guessed)}):"
            f" policy.accessible_rows ({rows}) decides their reach; measure and add the heights"
        )
    if layout.screen is None:
        warnings.append(
            "no [screen] table: the kiosk cannot keep its controls within a seated user's reach"
        )
    else:
        screen = layout.screen
        facts.append(f"screen from {screen.bottom_mm} to {screen.top_mm} mm above the floor")
        if screen.top_mm > reach.max_mm:
            share = (screen.top_mm - reach.max_mm) / (screen.top_mm - screen.bottom_mm)
            facts.append(
                f"the top {share:.0%} of the screen is above {reach.max_mm} mm: the kiosk keeps"
                " its controls below it"
            )
            if share > MAX_SCREEN_OUT_OF_REACH:
                warnings.append(
                    f"{share:.0%} of the screen is above {reach.max_mm} mm, more than the kiosk"
                    f" can keep free of controls ({MAX_SCREEN_OUT_OF_REACH:.0%}): mount it lower"
                )
        if screen.bottom_mm < reach.min_mm:
            warnings.append(f"the screen reaches below {reach.min_mm} mm: mount it higher")
    return facts, warnings


def _few(labels: list[str]) -> str:
    return ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
