"""Deliveries: announce, look up, load, cancel, retrieve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlmodel import col, select

from kiosk.api.deps import CoreDep, need
from kiosk.schemas import CompartmentAnswer, DeliveryCreate, DeliveryOut, ErrorOut, LoadAnswer
from locker.db import reading
from locker.models import Delivery, Notification
from locker.services import deliveries, loading, retrieval
from locker.services.accounts import Principal
from locker.services.lookup import delivery_by_id
from locker.vocabulary import DeliveryState, Role

router = APIRouter(
    prefix="/api/v1/deliveries",
    tags=["deliveries"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
OfficeOrClerk = Annotated[Principal, Depends(need(Role.CLERK, any_key=True))]
Clerk = Annotated[Principal, Depends(need(Role.CLERK))]


def _out(core: CoreDep, delivery_id: str) -> DeliveryOut:
    with reading(core.engine) as session:
        delivery = delivery_by_id(session, delivery_id)
        rows = session.exec(
            select(Notification)
            .where(col(Notification.delivery_id) == delivery_id)
            .order_by(col(Notification.id))
        ).all()
        return DeliveryOut.of(delivery, list(rows))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeliveryOut,
    responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def announce(body: DeliveryCreate, core: CoreDep, who: OfficeOrClerk) -> DeliveryOut:
    """Announce a document that will be loaded; 409 if the reference exists."""
    delivery = deliveries.announce(core, body.announcement(), actor=who.name)
    return _out(core, delivery.id)


@router.get("", response_model=list[DeliveryOut])
def list_deliveries(
    core: CoreDep,
    who: OfficeOrClerk,
    state: Annotated[DeliveryState | None, Query()] = None,
    reference: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DeliveryOut]:
    query = select(Delivery).order_by(col(Delivery.created_at).desc(), col(Delivery.id))
    if state is not None:
        query = query.where(col(Delivery.state) == state)
    if reference is not None:
        query = query.where(col(Delivery.reference) == reference)
    with reading(core.engine) as session:
        rows = session.exec(query.offset(offset).limit(limit)).all()
        return [DeliveryOut.of(row) for row in rows]


@router.get("/{delivery_id}", response_model=DeliveryOut, responses={404: {"model": ErrorOut}})
def get_delivery(delivery_id: str, core: CoreDep, who: OfficeOrClerk) -> DeliveryOut:
    return _out(core, delivery_id)


@router.post(
    "/{delivery_id}/load",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LoadAnswer,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def load(delivery_id: str, core: CoreDep, who: Clerk) -> LoadAnswer:
    """Allocate and open a compartment; the delivery is stored when the door closes.

    ``within_reach`` says whether the handle is in the reach range; a recipient who needs an
    accessible compartment and got none within reach is a warning on the clerk screen."""
    loading.start_loading(core, delivery_id, actor=who.name)
    placed = loading.placement(core, delivery_id)
    return LoadAnswer(
        compartment=placed.compartment,
        needs_accessible=placed.needs_accessible,
        within_reach=placed.within_reach,
    )


@router.post(
    "/{delivery_id}/cancel",
    response_model=DeliveryOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def cancel(delivery_id: str, core: CoreDep, who: OfficeOrClerk) -> DeliveryOut:
    deliveries.cancel(core, delivery_id, actor=who.name)
    return _out(core, delivery_id)


@router.post(
    "/{delivery_id}/retrieve",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CompartmentAnswer,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def retrieve(delivery_id: str, core: CoreDep, who: Clerk) -> CompartmentAnswer:
    """Open the compartment of an expired or cancelled delivery; returned when it closes."""
    label = retrieval.start_retrieval(core, delivery_id, actor=who.name)
    return CompartmentAnswer(compartment=label)
