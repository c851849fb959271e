"""Keeping the compartment table in step with the bank's layout."""

from __future__ import annotations

from sqlmodel import select

from locker import audit
from locker.core import Core
from locker.db import reading, transaction
from locker.models import Compartment
from locker.states import move_compartment
from locker.vocabulary import CompartmentState as C


def sync_compartments(core: Core) -> list[str]:
    """Add compartments new in the layout, update sizes and rows; return the labels added.

    A compartment that left the layout is taken out of service (never deleted: its history
    and any document inside must stay accounted for).
    """
    now = core.clock.now()
    specs = {spec.label: spec for spec in core.bank.compartments()}
    added = []
    with transaction(core.engine) as session:
        known = {c.label: c for c in session.exec(select(Compartment))}
        for label, spec in specs.items():
            row = known.get(label)
            if row is None:
                session.add(Compartment(label=label, size=spec.size, row=spec.row, updated_at=now))
                added.append(label)
            elif (row.size, row.row) != (spec.size, spec.row):
                row.size, row.row = spec.size, spec.row
                session.add(row)
        for label, row in known.items():
            if label not in specs and row.state != C.OUT_OF_SERVICE:
                move_compartment(
                    session,
                    row,
                    C.OUT_OF_SERVICE,
                    at=now,
                    actor="layout",
                    why="not in the layout any more",
                    alert=row.delivery_id is not None,
                )
        if added:
            audit.record(session, at=now, kind="layout_synced", actor="layout", added=len(added))
    return added


def compartment_states(core: Core) -> dict[str, str]:
    """Label → state of every compartment, as the controller has it."""
    with reading(core.engine) as session:
        return {c.label: str(c.state) for c in session.exec(select(Compartment))}
