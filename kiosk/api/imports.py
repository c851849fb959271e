"""Bulk announcements: ``POST /api/v1/deliveries/import`` with a CSV file or a JSON list.

**CSV** (``Content-Type: text/csv``): UTF-8 with or without a byte-order mark, separated by
``;`` or ``,`` (whichever the header line uses), a header line naming the columns
:data:`COLUMNS` in any order (``reference``, ``document_type`` and ``name`` required, ``phone``
and/or ``email``); an empty cell is an absent value. ``date_of_birth`` as ``YYYY-MM-DD`` or
``DD.MM.YYYY``; ``accessible`` as ``true``/``false``/``ja``/``nein``/``1``/``0``.
**JSON** (``application/json``): a list of the bodies ``POST /api/v1/deliveries`` takes.

Each record is checked by the same schema and the same core validation as a single
announcement; the answer has one result per record. ``?dry_run=true`` checks everything and
writes nothing. The body is bounded (``api.import_max_bytes``, ``api.import_max_rows``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from kiosk.api.deps import CoreDep, need
from kiosk.errors import BodyTooLarge, UnsupportedType
from kiosk.schemas import DeliveryCreate, ErrorOut, ImportOut, ImportRowOut
from locker.errors import InvalidInput
from locker.services.accounts import Principal
from locker.services.deliveries import Announcement
from locker.services.imports import RowProblem, import_announcements
from locker.vocabulary import Role

router = APIRouter(prefix="/api/v1/deliveries", tags=["deliveries"])
Clerk = Annotated[Principal, Depends(need(Role.CLERK))]
COLUMNS = (
    "reference",
    "document_type",
    "size",
    "name",
    "phone",
    "email",
    "locale",
    "date_of_birth",
    "accessible",
)
REQUIRED = ("reference", "document_type", "name")
RECIPIENT = {"name", "phone", "email", "locale", "date_of_birth"}
YES = {"true", "1", "ja", "yes", "x"}
NO = {"false", "0", "nein", "no", ""}


@router.post(
    "/import",
    response_model=ImportOut,
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        413: {"model": ErrorOut},
        415: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/DeliveryCreate"},
                    }
                },
            },
        }
    },
)
async def import_deliveries(
    request: Request,
    core: CoreDep,
    who: Clerk,
    dry_run: Annotated[bool, Query(description="check every row, change nothing")] = False,
) -> ImportOut:
    """Announce many deliveries at once; a result per row (created, duplicate, invalid)."""
    limits = core.settings.api
    content = await _bounded_body(request, limits.import_max_bytes)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv", "text/plain"):
        records = list(csv_records(_text(content)))
    elif kind == "application/json":
        records = json_records(content)
    else:
        raise UnsupportedType("Send text/csv or application/json.")
    if len(records) > limits.import_max_rows:
        raise BodyTooLarge(
            f"{len(records)} rows; one import takes at most {limits.import_max_rows}."
        )
    rows = [announcement_of(record) for record in records]
    results = await run_in_threadpool(
        import_announcements, core, rows, dry_run=dry_run, actor=who.name
    )
    out = [ImportRowOut(**r.__dict__) for r in results]
    return ImportOut(
        dry_run=dry_run,
        created=sum(r.result == "created" for r in out),
        duplicate=sum(r.result == "duplicate" for r in out),
        invalid=sum(r.result == "invalid" for r in out),
        rows=out,
    )


async def _bounded_body(request: Request, limit: int) -> bytes:
    received = bytearray()
    async for chunk in request.stream():
        received.extend(chunk)
        if len(received) > limit:
            raise BodyTooLarge(f"The body is larger than {limit} bytes; split the import.")
    return bytes(received)


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInput(
            "body", f"the file is not UTF-8 (byte {err.start}); save it as UTF-8"
        ) from None


def csv_records(text: str) -> Iterator[dict[str, Any]]:
    """The CSV's records as request bodies (the shape of ``POST /api/v1/deliveries``)."""
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    names = [(n or "").strip().lower() for n in (reader.fieldnames or [])]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise InvalidInput(
            "body", f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}"
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise InvalidInput("body", f"the header line lacks the column(s) {', '.join(missing)}")
    reader.fieldnames = names
    for raw in reader:
        cells = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(cells.values()):
            continue  # a blank line
        if None in raw:
            yield {"_problem": ("body", "the row has more cells than the header line")}
            continue
        yield _record_of(cells)


def _record_of(cells: dict[str, str]) -> dict[str, Any]:
    recipient: dict[str, Any] = {k: v for k, v in cells.items() if k in RECIPIENT and v}
    if "date_of_birth" in recipient:
        recipient["date_of_birth"] = _iso_date(recipient["date_of_birth"])
    accessible = cells.get("accessible", "").lower()
    if accessible not in YES | NO:
        return {"_problem": ("accessible", f"{accessible!r} is not true or false")}
    recipient["needs_accessible"] = accessible in YES
    record: dict[str, Any] = {
        "reference": cells.get("reference", ""),
        "document_type": cells.get("document_type", ""),
        "recipient": recipient,
    }
    if cells.get("size"):
        record["size"] = cells["size"].upper()
    return record


def _iso_date(value: str) -> str:
    day, dot, rest = value.partition(".")
    if dot and rest.count(".") == 1:
        month, year = rest.split(".")
        return f"{year}-{month.zfill(2)}-{day.zfill(2)}"
    return value


def json_records(content: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInput("body", f"not JSON: {err}") from None
    if not isinstance(data, list):
        raise InvalidInput("body", "send a JSON list of announcements")
    return [r if isinstance(r, dict) else {"_problem": ("body", "not an object")} for r in data]


def announcement_of(record: dict[str, Any]) -> Announcement | RowProblem:
    """One record checked by the schema of a single announcement."""
    reference = record.get("reference") if isinstance(record.get("reference"), str) else None
    if "_problem" in record:
        field, reason = record["_problem"]
        return RowProblem(field, reason, reference)
    try:
        body = DeliveryCreate.model_validate(record)
    except ValidationError as err:
        problem = err.errors()[0]
        field = ".".join(str(p) for p in problem.get("loc", ())) or "body"
        return RowProblem(field, str(problem.get("msg", "invalid")), reference)
    return body.announcement()
