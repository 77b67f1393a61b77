"""Protocols a pharmacist can change safely, through the API (API.md §5.6, issue 17)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, ProtocolVersionRecord
from app.domain.titration import load_protocols
from app.services import protocols as protocol_service
from tests.api.v1.test_plans import preview
from tests.factories.users import make_token

SEED_IDS = {
    "oral-adult", "oral-older-adult", "oral-renal", "oral-paediatric", "oral-taper", "itb",
    "formulations", "formulary", "medication-dictionary", "findings",
}  # fmt: skip
# formulary_0001 brought version 2 of these (the stock moved into the formulary).
VERSION_2 = {"formulations", "findings"}


def _last_audit_id(db: Session) -> int:
    """Rows after this one are the test's own: browser journeys commit audit rows (append-only)
    into the shared database, which a kept PostgreSQL database holds across runs."""
    return db.scalar(select(func.max(AuditEventRecord.id))) or 0


def _headers(db: Session, name: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db, *scopes, name=name)}"}


def _draft(client: TestClient, headers: dict[str, str], protocol_id: str, **values: str) -> Any:
    body = {
        "parameters": {
            name: {"value": value, "source": f"Clinic guideline for {name}"}
            for name, value in values.items()
        },
        "reason": "Clinic preference.",
    }
    return client.post(f"/api/v1/protocols/{protocol_id}/versions", json=body, headers=headers)


def _approve(
    client: TestClient, headers: dict[str, str], protocol_id: str, version: int, on: date
) -> Any:
    return client.post(
        f"/api/v1/protocols/{protocol_id}/versions/{version}/approve",
        json={"effective_from": on.isoformat()},
        headers=headers,
    )


def test_the_seed_keeps_every_file_fingerprint_and_the_engine_reads_the_database(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    files = {ref.id: ref for ref in load_protocols().refs}
    listed = client.get("/api/v1/protocols", headers=_headers(db, "pharm_a", "protocols:write"))
    assert listed.status_code == 200
    rows = {row["id"]: row for row in listed.json()}
    assert set(rows) == SEED_IDS == set(files)
    for protocol_id, row in rows.items():
        assert row["version"] == (2 if protocol_id in VERSION_2 else 1)
        assert row["sha256"] == files[protocol_id].sha256
    assert app.state.protocols.refs == load_protocols().refs
    assert protocol_service.load_effective(db).refs == load_protocols().refs


def test_a_draft_never_reaches_the_engine_and_is_listed_as_a_draft(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    since = _last_audit_id(db)
    writer = _headers(db, "pharm_a", "protocols:write")
    answer = _draft(client, writer, "oral-adult", interval_days="7")
    assert answer.status_code == 201, answer.text
    draft = answer.json()
    assert draft["status"] == "draft"
    assert draft["version"] == 2
    assert draft["parameters"]["interval_days"] == {
        "value": "7", "unit": "days", "source": "Clinic guideline for interval_days",
    }  # fmt: skip
    assert draft["parameters"]["start_mg_day"]["source"] == "R-OA-1 [US-TAB]"
    versions = client.get("/api/v1/protocols/oral-adult/versions", headers=writer).json()
    assert [(v["version"], v["status"]) for v in versions] == [(1, "approved"), (2, "draft")]
    assert app.state.protocols.refs == load_protocols().refs
    assert protocol_service.load_effective(db).oral_adult.ref.version == "1"
    audit = db.scalars(
        select(AuditEventRecord).where(
            AuditEventRecord.action == "protocol.draft", AuditEventRecord.id > since
        )
    ).one()
    assert audit.entity_id == "oral-adult/2"


def test_values_outside_the_allowed_range_are_refused_naming_each_parameter(
    client: TestClient, db: Session
) -> None:
    writer = _headers(db, "pharm_a", "protocols:write")
    answer = _draft(client, writer, "oral-adult", start_mg_day="20", interval_days="2")
    assert answer.status_code == 422
    fields = {error["loc"][1]: error["msg"] for error in answer.json()["errors"]}
    assert set(fields) == {"parameters.start_mg_day", "parameters.interval_days"}
    assert "allowed range (5 to 15" in fields["parameters.start_mg_day"]
    stored = select(ProtocolVersionRecord).where(
        ProtocolVersionRecord.protocol_id == "oral-adult", ProtocolVersionRecord.version == 2
    )
    assert db.scalars(stored).all() == []


def test_hard_limits_refuse_any_draft_with_the_reason(client: TestClient, db: Session) -> None:
    writer = _headers(db, "pharm_a", "protocols:write")
    cases = [
        ("oral-adult", "cap_outpatient_mg_day", "90"),
        ("itb", "ceiling_mcg_day", "2500"),
        ("oral-taper", "step_fraction", "0.6"),
    ]
    for protocol_id, name, value in cases:
        answer = _draft(client, writer, protocol_id, **{name: value})
        assert answer.status_code == 422, (protocol_id, answer.text)
        errors = answer.json()["errors"]
        assert [e["loc"][1] for e in errors] == [f"parameters.{name}"]
        assert "hard limit" in errors[0]["msg"]
    at_limit = _draft(client, writer, "oral-taper", step_fraction="0.5")
    assert at_limit.status_code == 201


def test_a_draft_needs_a_source_and_a_known_parameter_of_the_right_kind(
    client: TestClient, db: Session
) -> None:
    writer = _headers(db, "pharm_a", "protocols:write")
    url = "/api/v1/protocols/oral-adult/versions"
    no_source = {"parameters": {"interval_days": {"value": "7", "source": " "}}}
    assert client.post(url, json=no_source, headers=writer).status_code == 422
    missing = {"parameters": {"interval_days": {"value": "7"}}}
    assert client.post(url, json=missing, headers=writer).status_code == 422
    assert _draft(client, writer, "oral-adult", no_such="1").status_code == 422
    assert _draft(client, writer, "oral-adult", interval_days="three").status_code == 422
    assert _draft(client, writer, "medication-dictionary", x="1").status_code == 409
    assert _draft(client, writer, "no-such-protocol", x="1").status_code == 404


def test_the_author_cannot_approve_their_own_draft(client: TestClient, db: Session) -> None:
    both = _headers(db, "pharm_a", "protocols:write", "protocols:approve")
    assert _draft(client, both, "oral-adult", interval_days="7").status_code == 201
    answer = _approve(client, both, "oral-adult", 2, date.today())
    assert answer.status_code == 409
    assert answer.json()["code"] == "self_approval"


def test_an_approval_in_force_today_reaches_the_engine_in_this_process(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    since = _last_audit_id(db)
    writer = _headers(db, "pharm_a", "protocols:write")
    approver = _headers(db, "pharm_b", "protocols:approve")
    draft = _draft(client, writer, "oral-adult", interval_days="7").json()
    answer = _approve(client, approver, "oral-adult", 2, date.today())
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    assert answer.json()["approved_by"] == "pharm_b"
    ref = app.state.protocols.oral_adult.ref
    assert (ref.version, ref.sha256) == ("2", draft["sha256"])
    versions = client.get("/api/v1/protocols/oral-adult/versions", headers=writer).json()
    assert [v["status"] for v in versions] == ["superseded", "approved"]
    plan = preview(client, _headers(db, "previewer", "plans:preview")).json()
    used = {p["id"]: p for p in plan["protocols"]}
    assert used["oral-adult"]["version"] == "2"
    assert used["oral-adult"]["sha256"] == draft["sha256"]
    steps = plan["steps"]
    assert steps[1]["start_day"] - steps[0]["start_day"] == 7
    again = _approve(client, approver, "oral-adult", 2, date.today())
    assert again.status_code == 409
    assert db.scalars(
        select(AuditEventRecord.entity_id).where(
            AuditEventRecord.action == "protocol.approve", AuditEventRecord.id > since
        )
    ).all() == ["oral-adult/2"]


def test_an_approval_from_a_later_day_waits_for_that_day(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    writer = _headers(db, "pharm_a", "protocols:write")
    approver = _headers(db, "pharm_b", "protocols:approve")
    assert _draft(client, writer, "oral-taper", min_total_days="21").status_code == 201
    tomorrow = date.today() + timedelta(days=1)
    assert _approve(client, approver, "oral-taper", 2, tomorrow).status_code == 200
    assert app.state.protocols.oral_taper.ref.version == "1"
    assert protocol_service.load_effective(db).oral_taper.ref.version == "1"
    assert protocol_service.load_effective(db, on=tomorrow).oral_taper.ref.version == "2"
    yesterday = date.today() - timedelta(days=1)
    assert _draft(client, writer, "oral-taper", min_total_days="7").status_code == 201
    assert _approve(client, approver, "oral-taper", 3, yesterday).status_code == 422


def test_scopes_keep_drafting_and_approving_apart(client: TestClient, db: Session) -> None:
    writer = _headers(db, "pharm_a", "protocols:write")
    approver = _headers(db, "pharm_b", "protocols:approve")
    assert _draft(client, approver, "oral-adult", interval_days="7").status_code == 403
    assert _draft(client, writer, "oral-adult", interval_days="7").status_code == 201
    assert _approve(client, writer, "oral-adult", 2, date.today()).status_code == 403
    assert client.get("/api/v1/protocols", headers=approver).status_code == 403


def test_a_client_that_previews_plans_may_read_the_protocols_and_nothing_more(
    client: TestClient, db: Session
) -> None:
    """API.md §5.6: the two reads take `protocols:write` OR `plans:preview`."""
    previewer = _headers(db, "previewer_a", "plans:preview")
    writer = _headers(db, "pharm_a", "protocols:write")
    for headers in (previewer, writer):
        listed = client.get("/api/v1/protocols", headers=headers)
        assert listed.status_code == 200
        assert {row["id"] for row in listed.json()} == SEED_IDS
        versions = client.get("/api/v1/protocols/oral-adult/versions", headers=headers)
        assert versions.status_code == 200
        assert [v["version"] for v in versions.json()] == [1]
    assert _draft(client, previewer, "oral-adult", interval_days="7").status_code == 403


def test_other_scopes_may_not_read_the_protocols_and_each_refusal_is_audited(
    client: TestClient, db: Session
) -> None:
    since = _last_audit_id(db)
    scopes = ("plans:read", "plans:write", "patients:read", "plans:review", "protocols:approve")
    for number, scope in enumerate(scopes):
        headers = _headers(db, f"other_{number}", scope)
        for path in ("/api/v1/protocols", "/api/v1/protocols/oral-adult/versions"):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 403, (scope, path)
            assert "protocols:write or plans:preview" in answer.json()["detail"]
    refused = db.scalars(
        select(AuditEventRecord.entity_id).where(
            AuditEventRecord.action == "access.denied", AuditEventRecord.id > since
        )
    ).all()
    assert refused == ["protocols:write or plans:preview"] * (2 * len(scopes))


def test_a_formulary_without_20_mg_tablets_is_drafted_approved_and_gives_10_mg_tablets(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    """Issue 17 item 5 through the API: list and structured values, a second pharmacist's
    approval, then a preview whose 20 mg doses are two 10 mg tablets."""
    writer = _headers(db, "pharm_a", "protocols:write")
    approver = _headers(db, "pharm_b", "protocols:approve")
    previewer = _headers(db, "previewer", "plans:preview")
    before = preview(client, previewer).json()
    last = before["steps"][-1]["administrations"][0]["preparation"]
    assert (last["tablet_strength"]["value"], last["tablets"]) == (20, 1)
    body = {
        "parameters": {
            "tablet_strengths_mg": {"value": ["5", "10"], "source": "Pharmacy stock 2026-12"},
            "scored_tablet_strengths_mg": {"value": ["10"], "source": "Pharmacy stock 2026-12"},
            "pump_models": {
                "value": [{"model": "SynchroMed II", "reservoir_ml": "40"}],
                "source": "A.6.8 (device manuals); our implants",
            },
        },
        "reason": "No 20 mg tablets in stock.",
    }
    url = "/api/v1/protocols/formulary/versions"
    drafted = client.post(url, json=body, headers=writer)
    assert drafted.status_code == 201, drafted.text
    parameters = drafted.json()["parameters"]
    assert parameters["tablet_strengths_mg"]["value"] == ["5", "10"]
    assert parameters["pump_models"]["value"] == [{"model": "SynchroMed II", "reservoir_ml": "40"}]
    assert parameters["oral_solution_mg_per_ml"]["value"] == ["1"]  # unchanged, with its source
    assert _approve(client, writer, "formulary", 2, date.today()).status_code == 403
    approved = _approve(client, approver, "formulary", 2, date.today())
    assert approved.status_code == 200, approved.text
    plan = preview(client, previewer).json()
    used = {p["id"]: p for p in plan["protocols"]}
    assert (used["formulary"]["version"], used["formulary"]["sha256"]) == (
        "2", drafted.json()["sha256"],
    )  # fmt: skip
    assert [s["daily_dose"]["value"] for s in plan["steps"]] == [15, 30, 45, 60]
    for administration in plan["steps"][-1]["administrations"]:
        preparation = administration["preparation"]
        assert (preparation["tablet_strength"]["value"], preparation["tablets"]) == (10, 2)
    strengths = {line["tablet_strength"]["value"] for line in plan["dispense"]}
    assert strengths == {5, 10}
    assert app.state.protocols.formulary.pumps["pump_models"][0].reservoir_ml == 40


def test_a_formulary_draft_is_checked_as_a_whole_and_against_the_hard_limits(
    client: TestClient, db: Session
) -> None:
    writer = _headers(db, "pharm_a", "protocols:write")
    url = "/api/v1/protocols/formulary/versions"

    def draft(**values: object) -> Any:
        parameters = {name: {"value": v, "source": "Pharmacy"} for name, v in values.items()}
        return client.post(url, json={"parameters": parameters}, headers=writer)

    unstocked_scored = draft(scored_tablet_strengths_mg=["25"])
    assert unstocked_scored.status_code == 422
    assert "not a stocked tablet strength" in unstocked_scored.text
    too_strong = draft(intrathecal_pump_mcg_per_ml=["500", "3000"])
    assert too_strong.status_code == 422
    errors = too_strong.json()["errors"]
    assert [e["loc"][1] for e in errors] == ["parameters.intrathecal_pump_mcg_per_ml"]
    assert "hard limit" in errors[0]["msg"]
    huge_pump = draft(pump_models=[{"model": "Tank", "reservoir_ml": "200"}])
    assert huge_pump.status_code == 422
    assert "hard limit (10 to 50" in huge_pump.text
    no_model = draft(pump_models=[{"reservoir_ml": "20"}])
    assert no_model.status_code == 422
    mixed = draft(pump_models=["20", {"model": "SynchroMed II", "reservoir_ml": "20"}])
    assert mixed.status_code == 422, mixed.text
    assert [e["loc"][1] for e in mixed.json()["errors"]] == ["parameters.pump_models"]
    pump_in_a_stock_list = draft(tablet_strengths_mg=[{"model": "X", "reservoir_ml": "20"}])
    assert pump_in_a_stock_list.status_code == 422, pump_in_a_stock_list.text
    assert draft(oral_solution_mg_per_ml=[]).status_code == 201  # no solution stocked
