"""Controls within a seated user's reach (EN 301 549 8.3): how much of the screen's top is
higher than ``policy.reach_max_mm``, from the layout's ``[screen]`` table.

The citizen screens leave that band free of controls (the page starts below it), so every
button lies within reach; a screen mounted entirely within reach, or a layout that does not
say where the screen is, gives no band.
"""

from __future__ import annotations

from typing import Any

MAX_BAND_PERCENT = 40
"""More than this cannot be given up without losing content; ``locker layout check`` warns."""


def reach_band(bank: Any, reach_max_mm: int) -> int:
    """Percent of the screen's height, from its top, above the reach range (0 if none)."""
    screen = getattr(bank, "screen", None)
    bottom, top = getattr(screen, "bottom_mm", None), getattr(screen, "top_mm", None)
    if not isinstance(bottom, int) or not isinstance(top, int) or top <= max(bottom, reach_max_mm):
        return 0
    share = (top - reach_max_mm) / (top - bottom)
    return min(MAX_BAND_PERCENT, round(share * 100))
