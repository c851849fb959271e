"""Finding 6: an API key may do exactly what its roles allow."""

from __future__ import annotations

import pytest

ANNOUNCE = {
    "reference": "K-1",
    "document_type": "other",
    "recipient": {"name": "Erika", "email": "erika@example.org"},
}


@pytest.mark.parametrize("role", ["technician", "admin"])
def test_a_key_without_the_clerk_role_announces_and_cancels_nothing(stack, role):
    made = stack.client.post("/api/v1/deliveries", json=ANNOUNCE, headers=stack.as_role(role))
    assert made.status_code == 403 and made.json()["error"] == "forbidden"
    delivery = stack.announce("K-2")
    cancelled = stack.client.post(
        f"/api/v1/deliveries/{delivery['id']}/cancel", headers=stack.as_role(role)
    )
    assert cancelled.status_code == 403
    assert stack.delivery(delivery["id"])["state"] == "announced"


@pytest.mark.parametrize(("role", "status"), [("clerk", 403), ("technician", 403), ("admin", 200)])
def test_only_an_admin_key_reads_the_audit_log(stack, role, status):
    assert stack.client.get("/api/v1/events", headers=stack.as_role(role)).status_code == status


def test_every_documented_route_refuses_a_key_without_its_role(stack):
    """Siblings: walk every operation in the OpenAPI schema that needs a role, with a key of a
    role it does not name; none may succeed (2xx)."""
    schema = stack.client.get("/openapi.json").json()
    needs = {
        "/api/v1/deliveries": {"clerk"},
        "/api/v1/events": {"admin"},
        "/api/v1/staff": {"admin"},
        "/api/v1/api-keys": {"admin"},
        "/api/v1/webhooks": {"admin"},
    }
    for path, allowed in needs.items():
        for method in schema["paths"][path]:
            for role in {"clerk", "technician", "admin"} - allowed:
                answer = stack.client.request(
                    method.upper(), path, headers=stack.as_role(role), json={}
                )
                assert answer.status_code == 403, (method, path, role, answer.text)
