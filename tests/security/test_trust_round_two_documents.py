"""Issue 13, low findings about documents and files: U+061C/Arabic names reordering the PDF
running head, plans:read tokens reading identity through exports, world-readable files."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient

from app.cli import alembic_config
from app.db.engine import make_engine
from app.printing.pdf import render_pdf
from app.services import backup
from tests.printing.pdf_text import pdf_pages

HeadersFactory = Callable[..., dict[str, str]]
ARABIC_NAME = "\u0633\u0627\u0631\u0629 \u0639\u0644\u064a\u061c"  # ends in U+061C (ALM)


def _two_page_document(name: str) -> str:
    return (
        '<html lang="en"><head><link rel="stylesheet" href="/static/print.css"></head><body>'
        '<header class="document-header"><dl class="identifiers">'
        f'<div><dt>Name</dt><dd class="patient-name">{name}</dd></div>'
        '<div><dt>Date of birth</dt><dd class="birth-date">2 May 1981</dd></div></dl>'
        '<dl class="provenance"><div><dt>Plan version</dt>'
        '<dd class="plan-version">Plan 7, version 2</dd></div>'
        '<div><dt>Check code</dt><dd class="content-hash"><code>abc123</code></dd></div></dl>'
        '</header><p>page one</p><p style="break-before: page">page two</p></body></html>'
    )


def test_u061c_arabic_name_does_not_reorder_the_pdf_running_head() -> None:
    running_head = pdf_pages(render_pdf(_two_page_document(ARABIC_NAME)))[1].splitlines()[0]
    # Each field stays whole and in its place: name, then birth date, then plan and hash.
    assert re.search(r"2 May 1981\s*·\s*Plan 7, version 2\s*·\s*abc123", running_head)
    assert running_head.index("\u0633") < running_head.index("2 May 1981")


@pytest.mark.parametrize("path", ["fhir", "calendar.ics", "schedule.pdf", "summary.pdf"])
def test_plans_read_token_reads_identity_through_exports_needs_patients_read(
    client: TestClient, auth_headers_factory: HeadersFactory, path: str
) -> None:
    from tests.api.v1.test_plans import plan_body
    from tests.factories.patients import patient_payload

    writer = auth_headers_factory("patients:write", "plans:write")
    payload = patient_payload(sex="male", weight_kg=80, height_cm=180, medications=["oxycodone"])
    patient = client.post("/api/v1/patients", json=payload, headers=writer).json()["id"]
    plan = client.post(f"/api/v1/patients/{patient}/plans", json=plan_body(), headers=writer)
    url = f"/api/v1/plans/{plan.json()['id']}/{path}"
    refused = client.get(url, headers=auth_headers_factory("plans:read"))
    assert refused.status_code == 403
    allowed = client.get(url, headers=auth_headers_factory("plans:read", "patients:read"))
    assert allowed.status_code == 200


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_backups_world_readable_now_created_0600(tmp_path: Path) -> None:
    database = tmp_path / "titrate.db"
    make_engine(f"sqlite:///{database}").dispose()  # the app's engine makes the file
    assert _mode(database) == 0o600
    command.upgrade(alembic_config(f"sqlite:///{database}"), "head")
    assert _mode(database) == 0o600
    result = backup.backup_sqlite(database, tmp_path / "copy.db")
    assert _mode(result.path) == 0o600
    assert _mode(result.manifest_path) == 0o600
