"""Webhook endpoints (admin): create (the secret shown once), list, rotate, delete; messages
given up, and sending one again."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from kiosk.api.deps import CoreDep, need
from kiosk.schemas import (
    MAX_ID,
    ErrorOut,
    WebhookCreate,
    WebhookMessageOut,
    WebhookOut,
    WebhookWithSecret,
)
from locker import webhooks
from locker.services.accounts import Principal
from locker.vocabulary import Role, WebhookState

router = APIRouter(
    prefix="/api/v1/webhooks",
    tags=["webhooks"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
Admin = Annotated[Principal, Depends(need(Role.ADMIN))]


def _out(view: webhooks.EndpointView) -> WebhookOut:
    return WebhookOut(**asdict(view))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookWithSecret,
    responses={422: {"model": ErrorOut}},
)
def create(body: WebhookCreate, core: CoreDep, who: Admin) -> WebhookWithSecret:
    """A new endpoint; its signing secret is in this answer and never again."""
    view, secret = webhooks.create_endpoint(core, body.url, body.events, actor=who.name)
    return WebhookWithSecret(**asdict(view), secret=secret)


@router.get("", response_model=list[WebhookOut])
def list_all(core: CoreDep, who: Admin) -> list[WebhookOut]:
    return [_out(v) for v in webhooks.list_endpoints(core)]


@router.get("/{endpoint_id}", response_model=WebhookOut, responses={404: {"model": ErrorOut}})
def get_one(endpoint_id: str, core: CoreDep, who: Admin) -> WebhookOut:
    return _out(webhooks.get_endpoint(core, endpoint_id))


@router.delete(
    "/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {"model": ErrorOut}}
)
def remove(endpoint_id: str, core: CoreDep, who: Admin) -> Response:
    webhooks.delete_endpoint(core, endpoint_id, actor=who.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate", response_model=WebhookWithSecret, responses={404: {"model": ErrorOut}}
)
def rotate(endpoint_id: str, core: CoreDep, who: Admin) -> WebhookWithSecret:
    """A new secret (in this answer only); the previous one signs too for the grace period."""
    view, secret = webhooks.rotate_secret(core, endpoint_id, actor=who.name)
    return WebhookWithSecret(**asdict(view), secret=secret)


@router.get("/{endpoint_id}/messages", response_model=list[WebhookMessageOut])
def messages(
    endpoint_id: str,
    core: CoreDep,
    who: Admin,
    state: Annotated[WebhookState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[WebhookMessageOut]:
    """This endpoint's messages, newest first (``state=dead``: those given up)."""
    webhooks.get_endpoint(core, endpoint_id)
    found = webhooks.messages(core, endpoint_id=endpoint_id, state=state, limit=limit)
    return [WebhookMessageOut(**asdict(m)) for m in found]


@router.post(
    "/messages/{message_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookMessageOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def redeliver(
    message_id: Annotated[int, Path(ge=1, le=MAX_ID)], core: CoreDep, who: Admin
) -> WebhookMessageOut:
    """Send a dead message again, with its webhook id unchanged."""
    return WebhookMessageOut(**asdict(webhooks.redeliver(core, message_id, actor=who.name)))
