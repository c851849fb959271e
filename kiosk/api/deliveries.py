"""Deliveries: announce, look up, load, cancel, retrieve."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlmodel import col, select

from kiosk.api.deps import CoreDep, need
from kiosk.schemas import (
    MAX_OFFSET,
    CompartmentAnswer,
    ContactIn,
    DeliveryCreate,
    DeliveryOut,
    ErrorOut,
    ExtendIn,
    LoadAnswer,
    StepOut,
    WitnessIn,
)
from locker.db import reading
from locker.models import Delivery, Notification
from locker.services import corrections, deliveries, loading, retrieval
from locker.services.accounts import Principal
from locker.services.lookup import delivery_by_id
from locker.vocabulary import DeliveryState, Role

router = APIRouter(
    prefix="/api/v1/deliveries",
    tags=["deliveries"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
OfficeOrClerk = Annotated[Principal, Depends(need(Role.CLERK))]
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
    q: Annotated[
        str | None,
        Query(max_length=100, description="part of the reference or the recipient's name"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[DeliveryOut]:
    query = select(Delivery).order_by(col(Delivery.created_at).desc(), col(Delivery.id))
    if state is not None:
        query = query.where(col(Delivery.state) == state)
    if reference is not None:
        query = query.where(col(Delivery.reference) == reference)
    if q and q.strip():
        query = query.where(corrections.matching(q))
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

    Compartments on an offline board, in fault or out of service are never chosen; one that
    does not open is skipped for the next. The answer says which size was used and why, and
    ``within_reach`` whether the handle is in the reach range (a recipient who needs an
    accessible compartment and got none within reach is a warning on the clerk screen).
    """
    loaded = loading.load(core, delivery_id, actor=who.name)
    answer = LoadAnswer.of(loaded, loading.placement(core, delivery_id))
    answer.witness_needed = core.settings.policy.four_eyes_loading
    return answer


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


@router.post(
    "/{delivery_id}/resend",
    response_model=DeliveryOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def resend(delivery_id: str, core: CoreDep, who: Clerk) -> DeliveryOut:
    """Send the notification again with a new code; the old code is void at once."""
    corrections.resend(core, delivery_id, actor=who.name)
    return _out(core, delivery_id)


@router.post(
    "/{delivery_id}/contact",
    response_model=DeliveryOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def change_contact(delivery_id: str, body: ContactIn, core: CoreDep, who: Clerk) -> DeliveryOut:
    """Replace the recipient's phone and e-mail; a stored delivery's code goes anew to them."""
    corrections.change_contact(
        core, delivery_id, actor=who.name, phone=body.phone, email=body.email, locale=body.locale
    )
    return _out(core, delivery_id)


@router.post(
    "/{delivery_id}/extend",
    response_model=DeliveryOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def extend(delivery_id: str, body: ExtendIn, core: CoreDep, who: Clerk) -> DeliveryOut:
    """Lengthen the pickup period of a stored delivery (``policy.max_extension_days`` in all)."""
    corrections.extend(core, delivery_id, body.days, actor=who.name)
    return _out(core, delivery_id)


@router.get(
    "/{delivery_id}/timeline",
    response_model=list[StepOut],
    responses={404: {"model": ErrorOut}},
)
def timeline(delivery_id: str, core: CoreDep, who: Clerk) -> list[StepOut]:
    """What happened to the delivery, oldest first (from the audit log)."""
    return [StepOut(**asdict(step)) for step in corrections.timeline(core, delivery_id)]


@router.post(
    "/{delivery_id}/confirm-loading",
    response_model=DeliveryOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def confirm_loading(delivery_id: str, body: WitnessIn, core: CoreDep, who: Clerk) -> DeliveryOut:
    """Four-eyes loading: a second clerk confirms with their own user name and password while
    the door is open (422 ``password`` if wrong, 409 ``second_person_required`` if the same)."""
    loading.confirm(
        core, delivery_id, username=body.username, password=body.password, actor=who.name
    )
    return _out(core, delivery_id)


@router.post(
    "/{delivery_id}/reopen",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CompartmentAnswer,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def reopen(delivery_id: str, core: CoreDep, who: Clerk) -> CompartmentAnswer:
    """Four-eyes loading: open again a compartment closed before the loading was confirmed."""
    return CompartmentAnswer(compartment=loading.reopen(core, delivery_id, actor=who.name))
