"""Which compartments a seated user reaches (EN 301 549 clause 8.3).

A compartment is within reach when the layout gives its handle height and that height lies in
the policy's range (``reach_min_mm``..``reach_max_mm``, default 380–1,220 mm); a layout that
gives no height for it falls back to the policy's ``accessible_rows``. Allocation applies this
as a preference (:func:`reach_key`), so a recipient marked ``needs_accessible`` gets a
compartment within reach whenever one fits, and the clerk is told when none did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from locker.config import PolicySection
from locker.ports import CompartmentSpec


@dataclass(frozen=True, slots=True)
class Reach:
    """The reach range and the bank's handle heights (label → mm, where the layout has one)."""

    min_mm: int = 380
    max_mm: int = 1220
    rows: frozenset[int] = frozenset({2, 3})
    heights: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, policy: PolicySection, specs: Iterable[CompartmentSpec]) -> Reach:
        heights = {s.label: s.handle_mm for s in specs if s.handle_mm is not None}
        return cls(
            policy.reach_min_mm, policy.reach_max_mm, frozenset(policy.accessible_rows), heights
        )

    def covers(self, label: str, row: int) -> bool:
        """Whether a seated user reaches the handle of compartment ``label`` (in row ``row``)."""
        height = self.heights.get(label)
        if height is None:
            return row in self.rows
        return self.min_mm <= height <= self.max_mm


def reach_key(reach: Reach, label: str, row: int, *, accessible: bool) -> int:
    """0 for the compartments to prefer, 1 for the others.

    A recipient who needs an accessible compartment prefers those within reach (allocation
    puts this before size); everyone else prefers those out of reach (after size), to keep
    the reachable ones for the people who need them.
    """
    return int(reach.covers(label, row) != accessible)
