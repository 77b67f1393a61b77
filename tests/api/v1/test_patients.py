from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PatientRecord
from tests.factories.patients import patient_payload
from tests.factories.users import make_token


def create(client: TestClient, headers: dict[str, str], **overrides: object) -> dict:
    response = client.post("/api/v1/patients", json=patient_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_201_with_location_etag_and_exact_numbers(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/patients", json=patient_payload(weight_kg=70.5), headers=auth_headers
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"].endswith(f"/api/v1/patients/{body['id']}")
    assert response.headers["etag"] == '"1"'
    assert body["weight_kg"] == 70.5
    assert body["serum_creatinine"] == {"value": 0.9, "unit": "mg/dL", "measured_on": "2026-11-01"}


def test_read_returns_etag_and_records_the_read(
    client: TestClient, auth_headers: dict[str, str], db: Session
) -> None:
    patient = create(client, auth_headers)
    response = client.get(f"/api/v1/patients/{patient['id']}", headers=auth_headers)
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    reads = db.scalar(
        select(func.count()).where(
            AuditEventRecord.action == "patient.read", AuditEventRecord.patient_id == patient["id"]
        )
    )
    assert reads == 1


def test_patch_without_if_match_is_428(client: TestClient, auth_headers: dict[str, str]) -> None:
    patient = create(client, auth_headers)
    response = client.patch(
        f"/api/v1/patients/{patient['id']}", json={"weight_kg": 72}, headers=auth_headers
    )
    assert response.status_code == 428
    assert response.headers["content-type"].startswith("application/problem+json")


def test_patch_with_stale_if_match_is_412_and_changes_nothing(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    patient = create(client, auth_headers)
    url = f"/api/v1/patients/{patient['id']}"
    first = client.patch(url, json={"weight_kg": 72}, headers={**auth_headers, "If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'
    stale = client.patch(url, json={"weight_kg": 90}, headers={**auth_headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert client.get(url, headers=auth_headers).json()["weight_kg"] == 72


def test_patch_changes_only_the_fields_sent(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    patient = create(client, auth_headers, conditions=["diabetes"])
    url = f"/api/v1/patients/{patient['id']}"
    response = client.patch(
        url, json={"medications": ["ibuprofen"]}, headers={**auth_headers, "If-Match": 'W/"1"'}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["medications"] == ["ibuprofen"]
    assert body["conditions"] == ["diabetes"]
    assert body["weight_kg"] == 70


def test_duplicate_mrn_is_409_not_500(client: TestClient, auth_headers: dict[str, str]) -> None:
    patient = create(client, auth_headers)
    response = client.post(
        "/api/v1/patients", json=patient_payload(mrn=patient["mrn"]), headers=auth_headers
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/conflict"


def test_bad_input_is_422_naming_the_field(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/patients", json=patient_payload(weight_kg="heavy"), headers=auth_headers
    )
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert ["body", "weight_kg"] in [error["loc"] for error in body["errors"]]


def test_implausible_value_is_422_naming_the_field(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/patients", json=patient_payload(birth_date="2999-01-01"), headers=auth_headers
    )
    assert response.status_code == 422
    assert ["body", "birth_date"] in [error["loc"] for error in response.json()["errors"]]


def test_pregnancy_flag_on_a_male_patient_is_refused(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/patients", json=patient_payload(sex="male", pregnant=True), headers=auth_headers
    )
    assert response.status_code == 422


def test_unknown_fields_are_refused_not_ignored(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/patients", json=patient_payload(version=7, created_by="x"), headers=auth_headers
    )
    assert response.status_code == 422


def test_search_finds_by_name_and_mrn_and_paginates(
    client: TestClient, auth_headers: dict[str, str]
) -> None:
    made = [create(client, auth_headers, family_name=f"Paginatova{i}") for i in range(5)]
    first = client.get(
        "/api/v1/patients", params={"q": "paginatova", "limit": 2}, headers=auth_headers
    ).json()
    second = client.get(
        "/api/v1/patients",
        params={"q": "paginatova", "limit": 2, "cursor": first["next_cursor"]},
        headers=auth_headers,
    ).json()
    third = client.get(
        "/api/v1/patients",
        params={"q": "paginatova", "limit": 2, "cursor": second["next_cursor"]},
        headers=auth_headers,
    ).json()
    seen = [p["id"] for page in (first, second, third) for p in page["items"]]
    assert sorted(seen) == sorted(p["id"] for p in made)
    assert third["next_cursor"] is None
    by_mrn = client.get(
        "/api/v1/patients", params={"q": made[3]["mrn"]}, headers=auth_headers
    ).json()
    assert [p["id"] for p in by_mrn["items"]] == [made[3]["id"]]


def test_a_mangled_cursor_is_422(client: TestClient, auth_headers: dict[str, str]) -> None:
    response = client.get(
        "/api/v1/patients", params={"cursor": "not-a-cursor"}, headers=auth_headers
    )
    assert response.status_code == 422


def test_archive_needs_a_reason_and_keeps_the_record(
    client: TestClient, auth_headers: dict[str, str], db: Session
) -> None:
    patient = create(client, auth_headers)
    url = f"/api/v1/patients/{patient['id']}/archive"
    assert (
        client.post(
            url, json={"reason": ""}, headers={**auth_headers, "If-Match": '"1"'}
        ).status_code
        == 422
    )
    response = client.post(
        url, json={"reason": "moved away"}, headers={**auth_headers, "If-Match": '"1"'}
    )
    assert response.status_code == 200
    assert response.json()["archived"] is True
    assert db.get(PatientRecord, patient["id"]) is not None
    listed = client.get(
        "/api/v1/patients", params={"q": patient["mrn"]}, headers=auth_headers
    ).json()
    assert listed["items"] == []


def test_missing_token_is_401_and_wrong_scope_is_403(client: TestClient, db: Session) -> None:
    assert client.get("/api/v1/patients").status_code == 401
    bad = client.get("/api/v1/patients", headers={"Authorization": "Bearer tt_nonsense"})
    assert bad.status_code == 401
    reader = make_token(db, "patients:read")
    response = client.post(
        "/api/v1/patients", json=patient_payload(), headers={"Authorization": f"Bearer {reader}"}
    )
    assert response.status_code == 403


def test_unknown_patient_is_404_problem(client: TestClient, auth_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/patients/999999", headers=auth_headers)
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
