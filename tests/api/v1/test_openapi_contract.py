"""/openapi.json as generated clients read it (API.md §5.3): one Problem schema, short
operationIds, required fields and headers as the server enforces them, numbers as numbers."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def test_every_problem_response_references_the_one_problem_schema(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(problem["properties"])
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ProblemError"}
    assert "HTTPValidationError" not in schemas
    count = 0
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
                count += 1
    assert count > 50
    text = json.dumps(document)
    assert text.count('"detail": {"type": "string"') == 1, "no inlined copies"


def test_operation_ids_are_short_unique_and_camel_case(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][A-Za-z0-9]{2,29}", operation_id), operation_id
    by_path = {(m, p): o["operationId"] for m, p, o in operations(document)}
    assert by_path[("post", "/api/v1/patients/{patient_id}/plans")] == "createPlan"
    assert by_path[("post", "/api/v1/plans/preview")] == "previewPlan"
    assert by_path[("post", "/api/v1/plans/{plan_id}/versions")] == "revisePlan"
    assert by_path[("post", "/api/v1/plans/{plan_id}/hold")] == "holdPlan"
    summaries = [o.get("summary", "") for _, _, o in operations(document)]
    assert "Create plan" in summaries
    assert not [s for s in summaries if s.startswith("Api:")]


def test_if_match_is_required_wherever_its_absence_is_a_428(document: dict[str, Any]) -> None:
    guarded = [(m, p, o) for m, p, o in operations(document) if "428" in o["responses"]]
    assert {(m, p) for m, p, _ in guarded} >= {
        ("patch", "/api/v1/patients/{patient_id}"),
        ("post", "/api/v1/plans/{plan_id}/versions"),
    }
    for _, _, operation in guarded:
        [if_match] = [p for p in operation["parameters"] if p["name"].lower() == "if-match"]
        assert if_match["required"] is True


def test_etag_and_location_headers_are_documented(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path in ("/api/v1/patients/{patient_id}", "/api/v1/plans/{plan_id}"):
        assert "ETag" in paths[path]["get"]["responses"]["200"]["headers"]
    for path in ("/api/v1/patients/{patient_id}/plans", "/api/v1/plans/{plan_id}/versions"):
        assert set(paths[path]["post"]["responses"]["201"]["headers"]) == {"Location", "ETag"}
    created = paths["/api/v1/patients"]["post"]["responses"]["201"]["headers"]
    assert set(created) == {"Location", "ETag"}


def test_required_fields_are_those_the_server_requires(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert {"sex", "birth_date", "mrn"} <= set(schemas["PatientCreate"]["required"])
    assert "sex" in schemas["PreviewPatient"]["required"]
    assert "sex" not in schemas["PatientUpdate"].get("required", [])
    assert schemas["PatientCreate"]["examples"], "examples are kept"


def test_doses_and_other_exact_numbers_are_numbers(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["DoseIn"]["properties"]["value"]["type"] == "number"
    text = json.dumps(document)
    assert "(?!^[-+.]*$)" not in text, "no number-as-string alternatives remain"


def test_the_documented_headers_are_the_ones_the_server_sends(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    from tests.factories.patients import patient_payload

    created = client.post("/api/v1/patients", json=patient_payload(), headers=auth_headers)
    assert created.status_code == 201, created.text
    assert {"location", "etag"} <= set(created.headers)
    shown = client.get(created.headers["location"], headers=auth_headers)
    assert shown.headers["etag"] == created.headers["etag"]
    missing = client.patch(
        created.headers["location"], json={"weight_kg": 71}, headers=auth_headers
    )
    assert missing.status_code == 428
    assert missing.json()["status"] == 428


def test_a_patient_without_sex_is_refused_as_the_schema_says(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    from tests.factories.patients import patient_payload

    payload = patient_payload()
    del payload["sex"]
    refused = client.post("/api/v1/patients", json=payload, headers=auth_headers)
    assert refused.status_code == 422
    assert ["body", "sex"] in [e["loc"] for e in refused.json()["errors"]]
