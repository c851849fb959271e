"""Administration endpoints behind the clerk screens' account page: staff accounts and API keys.

The work is done by :mod:`locker.services.accounts` and :mod:`locker.services.staff`; these
only carry it over HTTP.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from kiosk.api.deps import CoreDep, need
from kiosk.schemas import ErrorOut
from locker.services import accounts, staff
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


class StaffAccountOut(StaffOut):
    disabled: bool
    created_at: datetime | None
    last_signed_in_at: datetime | None
    locked_until: datetime | None = Field(description="locked after failed sign-ins until then")
    sessions: int = Field(description="sessions open now")

    @classmethod
    def of(cls, view: staff.StaffView) -> StaffAccountOut:
        return cls(**asdict(view))


class KeyInfoOut(BaseModel):
    name: str
    roles: list[Role]
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, view: staff.KeyView) -> KeyInfoOut:
        return cls(**asdict(view))


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(
        default=None, min_length=1, max_length=256, description="none: a random one is made"
    )


class PasswordOut(BaseModel):
    username: str
    password: str = Field(description="the new password, shown only in this answer")


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}


@router.get("/staff", response_model=list[StaffAccountOut])
def list_staff(core: CoreDep, who: Admin) -> list[StaffAccountOut]:
    """Every staff account with its roles, state and last sign-in (never a password hash)."""
    return [StaffAccountOut.of(v) for v in staff.list_staff(core)]


@router.post("/staff/{username}/disable", response_model=StaffAccountOut, responses=NOT_FOUND)
def disable_staff(username: str, core: CoreDep, who: Admin) -> StaffAccountOut:
    """Disable the account: its sessions end at once, it cannot sign in."""
    return StaffAccountOut.of(staff.set_disabled(core, username, True, actor=who.name))


@router.post("/staff/{username}/enable", response_model=StaffAccountOut, responses=NOT_FOUND)
def enable_staff(username: str, core: CoreDep, who: Admin) -> StaffAccountOut:
    return StaffAccountOut.of(staff.set_disabled(core, username, False, actor=who.name))


@router.post(
    "/staff/{username}/reset-password",
    response_model=PasswordOut,
    responses={**NOT_FOUND, 422: {"model": ErrorOut}},
)
def reset_password(
    username: str, core: CoreDep, who: Admin, body: PasswordIn | None = None
) -> PasswordOut:
    """A new password (random unless given), shown once; the account's sessions end."""
    given = body.password if body else None
    new = staff.reset_password(core, username, actor=who.name, password=given)
    return PasswordOut(username=username.removeprefix("user:"), password=new)


@router.delete("/staff/{username}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_staff(username: str, core: CoreDep, who: Admin) -> Response:
    staff.delete_user(core, username, actor=who.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api-keys", response_model=list[KeyInfoOut])
def list_keys(core: CoreDep, who: Admin) -> list[KeyInfoOut]:
    """Every API key with its roles and last use (the key itself is never kept)."""
    return [KeyInfoOut.of(v) for v in staff.list_keys(core)]


@router.delete("/api-keys/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def revoke_key(name: str, core: CoreDep, who: Admin) -> Response:
    """Revoke a key: refused from its next request on (409 if revoked already)."""
    staff.revoke_key(core, name, actor=who.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
