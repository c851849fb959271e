"""Generated input for every documented endpoint: schemathesis over ``/openapi.json``.

One controller for the whole module, served by uvicorn on 127.0.0.1 (a kiosk address, so the
pickup and scan routes are reached too), called with a key holding every role so each
operation gets past authorisation to its validation and its work. Zero server errors allowed,
and every refusal of the API comes in its JSON error form. The schema has no OpenAPI links
(no operation's answer names another's parameter in the schema), so there is no stateful
phase to run.

Each operation gets a few positive cases (valid by the schema: arbitrary strings in its path,
queries and bodies of every shape it accepts) and a few negative ones (invalid by the schema).
An operation whose every input is an unconstrained string (a path's id, a scanned image's
bytes) has no input the schema calls invalid: hypothesis would spend about 460 tries on each
before calling it unsatisfiable. Those operations are negated together in one run instead,
which must come out unsatisfiable: that proves none of them had an invalid input to send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from kiosk.pages.serving import ThreadedServer

from .conftest import KEYS, Stack, running_stack

EXAMPLES = 4


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
    spec = stack.client.get("/openapi.json").json()
    # A live stream's answer is read up to its first event (``ready``), not for its lifetime.
    config = SchemathesisConfig.from_dict({"max-stream-events": 1})
    schema = schemathesis.openapi.from_dict(spec, config=config)
    headers = {"Authorization": f"Bearer {KEYS['all']}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # every documented endpoint, not a few

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

    only_strings = [op for op in operations if not constrained(spec, op)]
    assert only_strings and len(only_strings) < len(operations) / 2
    for operation in operations:
        fuzz(check, operation.as_strategy(GenerationMode.POSITIVE))
        if operation not in only_strings:
            try:
                fuzz(check, operation.as_strategy(GenerationMode.NEGATIVE))
            except Unsatisfiable:  # no parameters at all: nothing to get wrong
                assert not inputs(spec, operation), where_of(operation)
    with pytest.raises(Unsatisfiable):
        fuzz(check, st.one_of(op.as_strategy(GenerationMode.NEGATIVE) for op in only_strings))
    assert not failures, "\n".join(failures[:20])


def fuzz(check: Callable[[Any], None], cases: st.SearchStrategy[Any]) -> None:
    """``check`` on ``EXAMPLES`` cases drawn from ``cases``, the same ones on every run."""

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        check(case)

    run()


def inputs(spec: dict[str, Any], operation) -> list[dict[str, Any]]:
    """The schemas of an operation's parameters and of each media type its body may have."""
    found = spec["paths"][operation.path][operation.method.lower()]
    bodies = found.get("requestBody", {}).get("content", {}).values()
    return [p.get("schema", {}) for p in found.get("parameters", [])] + [
        b.get("schema", {}) for b in bodies
    ]


def constrained(spec: dict[str, Any], operation) -> bool:
    """Whether any input of the operation is more than an unconstrained string (or it has
    none): only then can a request break its schema."""
    plain = {"type": "string"}
    found = inputs(spec, operation)
    return not found or any(
        {k: v for k, v in schema.items() if k not in ("title", "description")}
        not in (plain, {**plain, "format": "binary"})
        for schema in found
    )


def where_of(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


def _is_json(response) -> bool:
    types = response.headers.get("content-type") or [""]
    return str(types[0]).startswith("application/json")
