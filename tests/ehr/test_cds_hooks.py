"""CDS Hooks 2.0 services: discovery, cards for a draft baclofen order, JWT trust, feedback.

Calls are signed like an EHR signs them (keys whose JWKS the test serves over HTTP); the
patient data comes in prefetch or from the real FHIR server (Medplum) via fhirAuthorization.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from tests.ehr.conftest import EHR_ISSUER, MRN_SYSTEM, FhirSeeder, Jwks

SIGN = "http://testserver/cds-services/baclofen-order-sign"


def _token(
    jwks: Jwks,
    *,
    key: Any = None,
    kid: str = "rsa-1",
    alg: str = "RS384",
    aud: str = SIGN,
    exp_in: int = 300,
    jti: str | None = None,
    iss: str = EHR_ISSUER,
) -> str:
    now = int(time.time())
    claims = {
        "iss": iss,
        "aud": aud,
        "exp": now + exp_in,
        "iat": now,
        "jti": jti or str(uuid.uuid4()),
        "sub": "ehr-client",
    }
    return jwt.encode(claims, key or jwks.rsa, algorithm=alg, headers={"kid": kid})


def _auth(token: str) -> dict[str, str]:
    # The bodies hold Decimals: sent as JSON numbers with the same digits ("7.5", "0.9").
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _json(body: dict[str, Any]) -> str:
    return json.dumps(
        body, default=lambda value: float(value) if isinstance(value, Decimal) else value
    )


def _order(
    dose: Any,
    times: int,
    *,
    text: str = "Baclofen 10 mg tablet",
    oid: str = "draft-1",
    unit: str = "mg",
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": text},
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": times, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit, "code": unit}}],
            }
        ],
    }


def _observation(code: str, value: Any, unit: str, days_ago: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o-{code}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": (date.today() - timedelta(days=days_ago)).isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "code": unit},
    }


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def _prefetch(creatinine_mg_dl: str = "0.9", medications: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "patient": {
            "resourceType": "Patient",
            "id": "p1",
            "gender": "female",
            "birthDate": "1950-01-01",
            "identifier": [{"system": MRN_SYSTEM, "value": "CDS1"}],
        },
        "weight": _bundle(_observation("29463-7", 60, "kg", 2)),
        "height": _bundle(_observation("8302-2", 160, "cm", 2)),
        "creatinine": _bundle(_observation("2160-0", Decimal(creatinine_mg_dl), "mg/dL", 5)),
        "medications": _bundle(
            *(
                {
                    "resourceType": "MedicationRequest",
                    "id": f"m{i}",
                    "status": "active",
                    "intent": "order",
                    "medicationCodeableConcept": {"text": name},
                }
                for i, name in enumerate(medications)
            )
        ),
    }


def _hook(
    orders: list[dict[str, Any]],
    *,
    hook: str = "order-sign",
    prefetch: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/pr-1",
            "patientId": "p1",
            "draftOrders": _bundle(*orders),
        },
        **extra,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def test_discovery_lists_both_services(client: TestClient) -> None:
    services = {s["id"]: s for s in client.get("/cds-services").json()["services"]}
    assert {sid: s["hook"] for sid, s in services.items()} == {
        "baclofen-order-select": "order-select",
        "baclofen-order-sign": "order-sign",
    }
    assert services["baclofen-order-sign"]["prefetch"]["patient"] == "Patient/{{context.patientId}}"


def test_a_dose_above_this_patients_maximum_is_critical_with_a_lower_dose_suggested(
    client: TestClient, jwks: Jwks, db: Session
) -> None:
    body = _hook([_order(20, 3)], prefetch=_prefetch("2.5", ("Oxycodone 5 mg",)))

    response = client.post(
        "/cds-services/baclofen-order-sign", content=_json(body), headers=_auth(_token(jwks))
    )

    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    first = cards[0]
    assert first["indicator"] == "critical"
    assert "60 mg/day is above this patient's maximum of 25 mg/day" in first["summary"]
    suggestion = first["suggestions"][0]
    updated = suggestion["actions"][0]["resource"]
    new_dose = updated["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    # 25 mg/day over three doses, rounded down to a 5 mg tablet: 5 mg per dose.
    assert (new_dose["value"], new_dose["unit"]) == (5, "mg")
    assert updated["id"] == "draft-1"
    assert suggestion["actions"][0]["type"] == "update"
    assert first["selectionBehavior"] == "at-most-one"
    by_rule = {c["source"]["label"]: c["indicator"] for c in cards[1:]}
    assert by_rule["Titrate (R-REN-4)"] == "critical"  # severe renal impairment: block
    assert by_rule["Titrate (D-1)"] == "warning"  # opioid: major
    assert by_rule["Titrate (R-STOP-1)"] == "info"
    for card in cards:
        assert len(card["summary"]) <= 140
        assert card["links"][0] == {
            "label": "Open the Titrate planner",
            "url": "http://testserver/smart/launch",
            "type": "smart",
            "appContext": '{"ehr": "ward", "open": "planner"}',
        }
    audit = db.scalars(
        select(AuditEventRecord)
        .where(AuditEventRecord.action == "cds.hook")
        .order_by(AuditEventRecord.id.desc())
    ).first()
    assert audit is not None
    assert audit.actor_name == "ehr:ward"
    assert audit.detail is not None
    assert audit.detail["orders"] == 1


def test_a_dose_within_limits_gets_the_findings_only(client: TestClient, jwks: Jwks) -> None:
    body = _hook([_order(Decimal("7.5"), 2)], prefetch=_prefetch("0.9"))
    cards = client.post(
        "/cds-services/baclofen-order-sign", content=_json(body), headers=_auth(_token(jwks))
    ).json()["cards"]
    assert cards, "an elderly patient always gets findings"
    assert all("suggestions" not in card for card in cards)
    assert all(card["summary"].startswith(("Baclofen 15 mg/day", "Indication")) for card in cards)


def test_order_select_screens_only_the_selected_baclofen_orders(
    client: TestClient, jwks: Jwks
) -> None:
    other = _order(500, 2, text="Metformin 500 mg", oid="draft-2")
    select_url = "http://testserver/cds-services/baclofen-order-select"
    body = _hook([_order(20, 3), other], hook="order-select", prefetch=_prefetch("2.5"))
    body["context"]["selections"] = ["MedicationRequest/draft-2"]
    response = client.post(
        "/cds-services/baclofen-order-select",
        content=_json(body),
        headers=_auth(_token(jwks, aud=select_url)),
    )
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_an_order_titrate_cannot_read_gets_an_info_card(client: TestClient, jwks: Jwks) -> None:
    body = _hook([_order(5, 3, unit="mL")], prefetch=_prefetch())
    cards = client.post(
        "/cds-services/baclofen-order-sign", content=_json(body), headers=_auth(_token(jwks))
    ).json()["cards"]
    assert [(c["indicator"], c["summary"]) for c in cards] == [
        ("info", "Titrate could not read the baclofen dose")
    ]


def test_without_prefetch_the_patient_is_read_from_the_fhir_server(
    client: TestClient, jwks: Jwks, fhir: FhirSeeder, fhir_base: str
) -> None:
    pid = fhir.patient(f"C{uuid.uuid4().hex[:8]}", birth_date="1990-06-01")["id"]
    fhir.observation(pid, "2160-0", 0.8, "mg/dL", date.today().isoformat())
    fhir.medication(pid, "Tramadol 50 mg")
    body = _hook(
        [_order(20, 3)],
        fhirServer=fhir_base,
        fhirAuthorization={
            "access_token": "ehr-issued",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.rs",
            "subject": "x",
        },
    )
    body["context"]["patientId"] = pid

    cards = client.post(
        "/cds-services/baclofen-order-sign",
        content=_json(body),
        headers=_auth(_token(jwks, kid="ec-1", key=jwks.ec, alg="ES384")),
    ).json()

    labels = {c["source"]["label"] for c in cards["cards"]}
    assert "Titrate (D-1)" in labels  # the opioid came from the FHIR server's MedicationRequest
    elsewhere = {**body, "fhirServer": "http://127.0.0.1:9/fhir"}
    refused = client.post(
        "/cds-services/baclofen-order-sign", content=_json(elsewhere), headers=_auth(_token(jwks))
    )
    assert refused.status_code == 422


@pytest.mark.parametrize(
    "case",
    ["none", "wrong_key", "expired", "wrong_audience", "unknown_issuer", "hs256", "not_a_jwt"],
)
def test_untrusted_calls_are_refused(client: TestClient, jwks: Jwks, case: str) -> None:
    tokens = {
        "none": None,
        "wrong_key": lambda: _token(jwks, key=jwks.stranger),  # same kid, key not in the JWKS
        "expired": lambda: _token(jwks, exp_in=-120),
        "wrong_audience": lambda: _token(jwks, aud="http://testserver/cds-services/other"),
        "unknown_issuer": lambda: _token(jwks, iss="https://elsewhere.invalid"),
        "hs256": lambda: jwt.encode(
            {"iss": EHR_ISSUER, "aud": SIGN, "exp": 2**31},
            "secret-secret-secret-secret-secret!",
            algorithm="HS256",
        ),
        "not_a_jwt": lambda: "abc.def",
    }
    make = tokens[case]
    headers = _auth(make()) if make else {}
    response = client.post(
        "/cds-services/baclofen-order-sign", content=_json(_hook([_order(5, 3)])), headers=headers
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_replayed_token_is_refused(client: TestClient, jwks: Jwks) -> None:
    token = _token(jwks)
    body = _hook([_order(5, 3)], prefetch=_prefetch())
    first = client.post(
        "/cds-services/baclofen-order-sign", content=_json(body), headers=_auth(token)
    )
    assert first.status_code == 200
    again = client.post(
        "/cds-services/baclofen-order-sign", content=_json(body), headers=_auth(token)
    )
    assert again.status_code == 401


def test_feedback_is_recorded_in_the_audit_trail(
    client: TestClient, jwks: Jwks, db: Session
) -> None:
    card_id = str(uuid.uuid4())
    body = {
        "feedback": [
            {
                "card": card_id,
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "patient-aware"}},
                "outcomeTimestamp": "2026-12-06T01:00:00Z",
            }
        ]
    }
    token = _token(jwks, aud=f"{SIGN}/feedback")
    response = client.post(
        "/cds-services/baclofen-order-sign/feedback", content=_json(body), headers=_auth(token)
    )
    assert response.status_code == 200
    row = db.scalars(
        select(AuditEventRecord).where(
            AuditEventRecord.action == "cds.feedback", AuditEventRecord.entity_id == card_id[:40]
        )
    ).one()
    assert row.detail is not None
    assert (row.detail["outcome"], row.detail["override_reason"]) == ("overridden", "patient-aware")
    unknown = client.post(
        "/cds-services/nope/feedback",
        content=_json(body),
        headers=_auth(_token(jwks, aud="http://testserver/cds-services/nope/feedback")),
    )
    assert unknown.status_code == 404
