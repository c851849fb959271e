"""Statistics for staff, open data for anyone, and the export command."""

from __future__ import annotations

import csv
import io
import json

from kiosk.cli import main

STAFF_ACCOUNTS = False  # no test here signs in (tests/kiosk/conftest.py: stack)


def test_statistics_need_staff_and_check_their_period(stack):
    stack.announce("S-1")
    assert stack.client.get("/api/v1/statistics").status_code == 401
    assert (
        stack.client.get("/api/v1/statistics", headers=stack.as_role("technician")).status_code
        == 403
    )
    found = stack.client.get("/api/v1/statistics?granularity=month", headers=stack.as_role("clerk"))
    assert found.status_code == 200 and found.json()["totals"]["announced"] == 1
    backwards = stack.client.get(
        "/api/v1/statistics?from=2026-02-01&to=2026-01-01", headers=stack.as_role("admin")
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "from"
    wrong = stack.client.get("/api/v1/statistics?granularity=year", headers=stack.as_role("admin"))
    assert wrong.status_code == 422


def test_open_data_is_public_and_impersonal(stack):
    stack.announce("S-2")
    answer = stack.client.get("/open-data/pickups.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(answer.text)))
    assert header[:2] == ["month", "document_type"]
    assert "S-2" not in answer.text and "Erika" not in answer.text
    catalog = stack.client.get("/open-data/catalog.jsonld")
    assert catalog.headers["content-type"].startswith("application/ld+json")
    assert catalog.json()["@type"] == "dcat:Catalog"


def test_stats_export_command(tmp_path, capsys, monkeypatch):
    config = tmp_path / "locker.toml"
    config.write_text(f'[locker]\ndemo = true\ndata_dir = "{tmp_path}"\n', encoding="utf-8")
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "stats", "export", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("month,document_type,announced")
    assert main(["--config", str(config), "stats", "export", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["announced"] == 0
