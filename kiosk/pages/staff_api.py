"""Administration endpoints behind the clerk screens' account page: staff accounts and API keys.

The work is done by :mod:`locker.services.accounts`; these only carry it over HTTP.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from kiosk.api.deps import CoreDep, need
from kiosk.schemas import ErrorOut
from locker.services import accounts
from locker.services.accounts import Principal
from locker.vocabulary import Role

router = APIRouter(
    prefix="/api/v1",
    tags=["staff"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
Admin = Annotated[Principal, Depends(need(Role.ADMIN))]


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    roles: list[Role] = Field(min_length=1)


class StaffOut(BaseModel):
    username: str
    roles: list[Role]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(min_length=1)


class KeyOut(BaseModel):
    name: str
    roles: list[Role]
    key: str = Field(description="shown only in this answer")


@router.post("/staff", status_code=status.HTTP_201_CREATED, response_model=StaffOut)
def create_staff(body: StaffCreate, core: CoreDep, who: Admin) -> StaffOut:
    """Create a staff account (argon2-hashed password)."""
    roles = frozenset(body.roles)
    accounts.add_user(core, body.username, body.password, roles, actor=who.name)
    return StaffOut(username=body.username.strip(), roles=sorted(roles))


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=KeyOut)
def create_key(body: KeyCreate, core: CoreDep, who: Admin) -> KeyOut:
    """Create an API key; the key is in this answer and nowhere else."""
    roles = frozenset(body.roles)
    key = accounts.create_api_key(core, body.name, roles, actor=who.name)
    return KeyOut(name=body.name.strip(), roles=sorted(roles), key=key)
