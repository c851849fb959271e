"""Compartments: the grid for clerks and the back office, service actions for technicians."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel import col, select

from kiosk.api.deps import CoreDep, need
from kiosk.schemas import ClearFaultIn, CompartmentOut, ErrorOut, OpenIn, ServiceIn
from locker.db import reading
from locker.models import Compartment
from locker.services import technician
from locker.services.accounts import Principal
from locker.services.lookup import compartment_by_label
from locker.vocabulary import Role

router = APIRouter(
    prefix="/api/v1/compartments",
    tags=["compartments"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
Staff = Annotated[Principal, Depends(need(Role.CLERK, Role.TECHNICIAN, Role.ADMIN))]
Technician = Annotated[Principal, Depends(need(Role.TECHNICIAN))]


def _one(core: CoreDep, label: str) -> CompartmentOut:
    with reading(core.engine) as session:
        return CompartmentOut.of(compartment_by_label(session, label))


@router.get("", response_model=list[CompartmentOut])
def list_compartments(core: CoreDep, who: Staff) -> list[CompartmentOut]:
    with reading(core.engine) as session:
        rows = session.exec(select(Compartment).order_by(col(Compartment.label))).all()
        return [CompartmentOut.of(row) for row in rows]


@router.post(
    "/{label}/open",
    response_model=CompartmentOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def open_compartment(label: str, body: OpenIn, core: CoreDep, who: Technician) -> CompartmentOut:
    """Open a compartment outside any delivery, for a reason that goes into the audit log."""
    technician.open_for_service(core, label, reason=body.reason, actor=who.name)
    return _one(core, label)


@router.post(
    "/{label}/service", response_model=CompartmentOut, responses={404: {"model": ErrorOut}}
)
def set_service(label: str, body: ServiceIn, core: CoreDep, who: Technician) -> CompartmentOut:
    technician.set_out_of_service(
        core, label, body.out_of_service, reason=body.reason, actor=who.name
    )
    return _one(core, label)


@router.post(
    "/{label}/clear-fault",
    response_model=CompartmentOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def clear_fault(label: str, body: ClearFaultIn, core: CoreDep, who: Technician) -> CompartmentOut:
    """After looking inside a faulted compartment, say whether the document is there."""
    technician.clear_fault(core, label, document_inside=body.document_inside, actor=who.name)
    return _one(core, label)
