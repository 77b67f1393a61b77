"""GET /api/v1/plans/{id}/schedule.pdf: the patient schedule for other systems."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.printing.pdf_text import (
    assert_ismp,
    assert_one_unit_system,
    pdf_pages,
    plan_doses,
    quantities,
)
from tests.printing.scenarios import store


def test_a_client_with_plans_read_gets_the_pdf_in_the_language_it_asks_for(
    client: TestClient, api_headers: dict[str, str], auth_headers_factory: object
) -> None:
    stored = store(client, api_headers, "itb_screening", preferred_language="en")
    reader = auth_headers_factory("plans:read", "patients:read")  # type: ignore[operator]
    response = client.get(f"/api/v1/plans/{stored.plan_id}/schedule.pdf?lang=de", headers=reader)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"] == (
        f'inline; filename="baclofen-schedule-plan-{stored.plan_id}-v1-de.pdf"'
    )
    pages = pdf_pages(response.content)
    text = "\n".join(pages)
    assert plan_doses(stored.plan, "de") <= quantities(text)
    assert "Intrathekales Baclofen: Testtage" in text
    assert all("INTRATHEKAL — Mikrogramm (mcg)" in page for page in pages)
    assert_ismp(text)
    assert_one_unit_system(text, intrathecal=True)


def test_the_schedule_needs_plans_read_and_a_known_plan_and_language(
    client: TestClient, api_headers: dict[str, str], auth_headers_factory: object
) -> None:
    stored = store(client, api_headers, "adult")
    url = f"/api/v1/plans/{stored.plan_id}/schedule.pdf"
    patients_only = auth_headers_factory("patients:read")  # type: ignore[operator]
    assert client.get(url).status_code == 401
    assert client.get(url, headers=patients_only).status_code == 403
    for query, status in (("?lang=fr", 422), ("?version=2", 404), ("?paper=a3", 422)):
        problem = client.get(url + query, headers=api_headers)
        assert problem.status_code == status, query
        assert problem.headers["content-type"].startswith("application/problem+json")
    missing = client.get("/api/v1/plans/999999/schedule.pdf", headers=api_headers)
    assert missing.status_code == 404


def test_the_openapi_document_describes_the_schedule_pdf(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/plans/{plan_id}/schedule.pdf"]
    get = operation["get"]
    assert "application/pdf" in get["responses"]["200"]["content"]
    assert {"401", "403", "404", "409", "422"} <= set(get["responses"])
    parameters = {p["name"]: p for p in get["parameters"]}
    assert {"lang", "version", "paper", "reservoir_ml", "alarm_volume_ml"} <= set(parameters)
    assert "SUPERSEDED" in get["description"]
