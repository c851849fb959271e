"""Generated input for every documented endpoint: schemathesis over ``/openapi.json``.

One controller for the whole module, served by uvicorn on 127.0.0.1 (a kiosk address, so the
pickup and scan routes are reached too), called with a key holding every role so each
operation gets past authorisation to its validation and its work. Zero server errors allowed,
and every refusal of the API comes in its JSON error form. The schema has no OpenAPI links
(no operation's answer names another's parameter in the schema), so there is no stateful
phase to run; the examples per operation are few to keep this near a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from kiosk.pages.serving import ThreadedServer

from .conftest import KEYS, Stack, running_stack

EXAMPLES = 6


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Stack, str]]:
    with running_stack(tmp_path_factory.mktemp("fuzz")) as stack:
        server = ThreadedServer(stack.client.app)
        base = server.start()
        try:
            yield stack, base
        finally:
            server.stop()


def test_no_generated_request_makes_a_server_error(served):
    """Positive and negative cases (valid by the schema and not) for every operation."""
    stack, base = served
    schema = schemathesis.openapi.from_dict(stack.client.get("/openapi.json").json())
    headers = {"Authorization": f"Bearer {KEYS['all']}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # every documented endpoint, not a few

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case) -> None:
                response = case.call(base_url=base, headers=headers)
                where = f"{case.method} {case.formatted_path}"
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.status_code} {response.text[:200]}")
                elif (
                    response.status_code >= 400
                    and case.path.startswith("/api/")
                    and "error" not in (response.json() if _is_json(response) else {})
                ):
                    failures.append(f"{where}: {response.status_code} not in the error form")

            try:
                check()
            except Unsatisfiable:  # no input to get wrong (an operation without parameters)
                assert mode is GenerationMode.NEGATIVE, where_of(operation)
    assert not failures, "\n".join(failures[:20])


def where_of(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


def _is_json(response) -> bool:
    types = response.headers.get("content-type") or [""]
    return str(types[0]).startswith("application/json")
