"""Every PDF is tagged (PDF/UA-1, API.md §5.3): a structure tree a screen reader can walk, and
the title, language and author in its metadata. Checked with pypdf (structure tree, catalogue,
XMP) and poppler's `pdfinfo` ("Tagged: yes"), both independent of WeasyPrint."""

from __future__ import annotations

import io
import subprocess
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.printing.scenarios import store

# The author of a version made through the API is the token's name (`make_token`'s default,
# under the username rules since issue 13: an underscore, no hyphen).
TOKEN_NAME = "test_client"


def _pdfinfo(content: bytes) -> dict[str, str]:
    result = subprocess.run(
        ["pdfinfo", "-"], input=content, capture_output=True, check=True, timeout=60
    )
    lines = result.stdout.decode().splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _roles(node: Any, found: set[str]) -> set[str]:
    node = node.get_object()
    if isinstance(node, dict):
        if "/S" in node:
            found.add(str(node["/S"]))
        kids = node.get("/K")
        if kids is not None:
            for kid in kids if isinstance(kids, list) else [kids]:
                _roles(kid, found)
    return found


def _assert_tagged(content: bytes, *, language: str, title_part: str, author: str) -> None:
    reader = PdfReader(io.BytesIO(content))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert str(root["/Lang"]) == language
    roles = _roles(root["/StructTreeRoot"], set())
    assert {"/Document", "/H1", "/P"} <= roles, roles
    metadata = reader.metadata
    assert metadata is not None
    assert title_part in (metadata.title or "")
    assert metadata.author == author
    xmp = root["/Metadata"].get_object().get_data()
    assert b"pdfuaid:part" in xmp  # declares PDF/UA-1
    info = _pdfinfo(content)
    assert info["Tagged"] == "yes"
    assert title_part in info["Title"]
    assert info["Author"] == author


@pytest.mark.parametrize(("scenario", "language"), [("adult", "de"),
                                                    ("itb_screening", "vi")])  # fmt: skip
def test_the_patient_schedule_pdf_is_tagged_with_title_language_and_author(
    client: TestClient, api_headers: dict[str, str], scenario: str, language: str
) -> None:
    stored = store(client, api_headers, scenario, preferred_language="en")
    response = client.get(
        f"/api/v1/plans/{stored.plan_id}/schedule.pdf?lang={language}", headers=api_headers
    )
    assert response.status_code == 200, response.text
    _assert_tagged(
        response.content, language=language, title_part=f"{stored.plan_id} v1",
        author=TOKEN_NAME,
    )  # fmt: skip


def test_the_clinician_summary_pdf_is_tagged(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    stored = store(client, api_headers, "adult", preferred_language="de")
    response = client.get(f"/api/v1/plans/{stored.plan_id}/summary.pdf", headers=api_headers)
    assert response.status_code == 200, response.text
    _assert_tagged(
        response.content, language="en", title_part=f"{stored.plan_id} v1", author=TOKEN_NAME
    )
