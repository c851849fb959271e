"""The endpoints the account screen uses, over real HTTP: admins only, keys shown once."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from locker.services import accounts
from locker.vocabulary import Role

from .conftest import Site


def call(site: Site, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        site.base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_only_admins_create_accounts_and_keys(site: Site) -> None:
    core = site.core
    clerk = accounts.create_api_key(core, "c", frozenset({Role.CLERK}), actor="test")
    admin = accounts.create_api_key(core, "a", frozenset({Role.ADMIN}), actor="test")
    user = {"username": "anna", "password": "a long enough password", "roles": ["clerk"]}

    status, body = call(site, "POST", "/api/v1/staff", clerk, user)
    assert (status, body["error"]) == (403, "forbidden")
    assert call(site, "POST", "/api/v1/staff", admin, user) == (
        201,
        {"username": "anna", "roles": ["clerk"]},
    )
    status, body = call(site, "POST", "/api/v1/staff", admin, user)
    assert (status, body["error"]) == (409, "conflict")
    status, body = call(site, "POST", "/api/v1/staff", admin, {**user, "roles": ["boss"]})
    assert (status, body["field"]) == (422, "roles.0")

    status, body = call(
        site, "POST", "/api/v1/api-keys", admin, {"name": "office", "roles": ["clerk"]}
    )
    assert status == 201 and body["name"] == "office" and body["key"].startswith("lk_")
    status, listed = call(site, "GET", "/api/v1/compartments", body["key"])
    assert status == 200 and len(listed) >= 24
    assert (
        call(site, "POST", "/api/v1/api-keys", clerk, {"name": "x", "roles": ["admin"]})[0] == 403
    )
