"""The audit review page and report (RELIABILITY.md A6): admins only, filters, pages, CSV."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from app.db.repositories.audit import AuditActor, AuditEntry, add_audit_event
from tests.factories.patients import patient_payload
from tests.factories.users import make_token
from tests.web.helpers import HX, log_in


def _actor(name: str) -> AuditActor:
    return AuditActor("user", 99, name, "prescriber", "req-1", "127.0.0.1")


def _event(db: Session, name: str, action: str, *, at: datetime | None = None, **entry: Any) -> int:
    record = add_audit_event(
        db,
        actor=_actor(name),
        entry=AuditEntry(action, entry.pop("entity_type", "patient"), **entry),
        at=at or datetime.now(UTC),
    )
    db.commit()
    return record.id


def _ids(page: str, candidates: list[int]) -> list[int]:
    """The candidates shown on the page, in the page's order."""
    shown = [int(i) for i in re.findall(r'id="audit-event-(\d+)"', page)]
    return [i for i in shown if i in candidates]


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    assert log_in(client, "ada.admin").status_code == 303
    return client


@pytest.fixture
def someone() -> str:
    return f"auditee.{uuid.uuid4().hex[:8]}"


def test_only_admins_review_the_audit(client: TestClient) -> None:
    assert client.get("/audit").status_code == 303  # to the login page
    assert log_in(client, "paula.prescriber").status_code == 303
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/report.csv").status_code == 403


def test_the_page_shows_clinic_times_with_their_zone_and_a_fragment_for_htmx(
    admin: TestClient, db: Session, someone: str
) -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    event_id = _event(db, someone, "patient.read", at=at, patient_id=5)
    page = admin.get("/audit", params={"user": someone})
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    assert "<html" in page.text
    assert f'id="audit-event-{event_id}"' in page.text
    # The clinic's time (Europe/Berlin in tests), as every page shows times.
    assert '<time datetime="2026-03-04T06:06:07+01:00">2026-03-04 06:06:07 CET</time>' in page.text
    fragment = admin.get("/audit", params={"user": someone}, headers=HX)
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="audit-results">')
    assert f'id="audit-event-{event_id}"' in fragment.text


def test_filters_by_patient_user_and_clinic_day(
    admin: TestClient, db: Session, someone: str
) -> None:
    # Days are the clinic's (Europe/Berlin in tests): 2026-01-02 runs 23:00 to 23:00 UTC.
    clinic = ZoneInfo("Europe/Berlin")
    late = _event(db, someone, "patient.read", at=datetime(2026, 1, 1, 23, 59, 59, tzinfo=clinic))
    first = _event(
        db, someone, "patient.read", at=datetime(2026, 1, 2, tzinfo=clinic), patient_id=7
    )
    last = _event(
        db, someone, "patient.read", at=datetime(2026, 1, 2, 23, 59, 59, 999999, tzinfo=clinic)
    )
    next_day = _event(db, someone, "patient.read", at=datetime(2026, 1, 3, tzinfo=clinic))
    other_user = _event(db, someone + "x", "patient.read", at=datetime(2026, 1, 2, tzinfo=clinic))
    everyone = [late, first, last, next_day, other_user]

    day = admin.get(
        "/audit", params={"user": someone, "date_from": "2026-01-02", "date_to": "2026-01-02"}
    )
    assert _ids(day.text, everyone) == [last, first]
    from_day = admin.get("/audit", params={"user": someone, "date_from": "2026-01-02"})
    assert _ids(from_day.text, everyone) == [next_day, last, first]
    patient = admin.get("/audit", params={"user": someone, "patient": "7"})
    assert _ids(patient.text, everyone) == [first]


def test_override_category_finds_the_overrides_a_saved_plan_wrote(
    admin: TestClient, db: Session
) -> None:
    headers = {"Authorization": f"Bearer {make_token(db)}"}
    payload = patient_payload(conditions=["epilepsy"], medications=[])
    patient_id = admin.post("/api/v1/patients", json=payload, headers=headers).json()["id"]
    reason = "controlled for years, neurologist agrees"
    saved = admin.post(
        f"/api/v1/patients/{patient_id}/plans",
        json=_plan_body(overrides=[{"code": "epilepsy", "reason": reason}]),
        headers=headers,
    )
    assert saved.status_code == 201, saved.text

    overrides = admin.get("/audit", params={"patient": patient_id, "category": "overrides"})
    assert overrides.text.count('id="audit-event-') == 1
    assert "plan.override" in overrides.text
    assert reason in overrides.text
    assert "plan.create" not in overrides.text
    everything = admin.get("/audit", params={"patient": patient_id})
    assert "plan.create" in everything.text
    assert "patient.create" in everything.text


def test_failed_logins_are_a_category_of_their_own(client: TestClient) -> None:
    attempted = f"nobody.{uuid.uuid4().hex[:6]}"
    assert log_in(client, attempted, password="wrong password entirely").status_code != 303
    assert log_in(client, "ada.admin").status_code == 303
    page = client.get("/audit", params={"category": "failed_logins"})
    assert "login.failure" in page.text
    assert attempted in page.text  # the account that was tried, shown in the detail
    assert "login.success" not in page.text


def test_reads_writes_and_rate_limit_refusals_are_told_apart(
    admin: TestClient, db: Session, someone: str
) -> None:
    read = _event(db, someone, "plan.print", patient_id=3)
    write = _event(db, someone, "patient.update", patient_id=3, old_version=1, new_version=2)
    refused = _event(
        db, someone, "excess_rate_limit_exceeded", entity_type="user", outcome="failure"
    )
    ours = [read, write, refused]
    expected = {"phi_reads": [read], "writes": [write], "rate_limits": [refused], "all": ours}
    for category, ids in expected.items():
        page = admin.get("/audit", params={"user": someone, "category": category})
        assert sorted(_ids(page.text, ours)) == ids, category


def test_pages_go_back_in_time_without_overlap(
    admin: TestClient, db: Session, someone: str
) -> None:
    ids = [_event(db, someone, "patient.read") for _ in range(53)]
    first = admin.get("/audit", params={"user": someone})
    assert _ids(first.text, ids) == ids[-1:-51:-1]  # newest first
    older = re.search(r'<a href="([^"]+)">Older events</a>', first.text)
    assert older
    assert "Newest events" not in first.text
    second = admin.get(older[1].replace("&amp;", "&"))
    assert _ids(second.text, ids) == ids[2::-1]
    assert "Older events" not in second.text
    assert "Newest events" in second.text  # back to the first page


def test_the_report_is_csv_with_the_same_filters_and_no_live_formulas(
    admin: TestClient, db: Session, someone: str
) -> None:
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "plain"]
    ids = [_event(db, someone, "patient.archive", reason=text, patient_id=9) for text in hostile]
    _event(db, someone + "x", "patient.archive", reason="not mine")
    response = admin.get("/audit/report.csv", params={"user": someone})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == ids[::-1]
    assert [r["reason"] for r in rows][::-1] == [
        "'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tcmd", "plain"
    ]  # fmt: skip
    assert rows[0]["occurred_at"].endswith("+00:00")
    assert rows[0]["actor_name"] == someone
    assert len(rows[0]["row_hash"]) == 64


def test_each_review_is_itself_audited_with_its_filters(admin: TestClient, db: Session) -> None:
    admin.get("/audit", params={"patient": "41", "category": "writes"})
    admin.get("/audit/report.csv", params={"user": "paula.prescriber"})
    reviews = db.scalars(
        select(AuditEventRecord)
        .where(AuditEventRecord.action == "audit.review")
        .order_by(AuditEventRecord.id.desc())
        .limit(2)
    ).all()
    csv_review, page_review = reviews
    assert page_review.actor_name == csv_review.actor_name == "ada.admin"
    assert page_review.patient_id == 41
    assert page_review.detail == {
        "filters": {"patient_id": 41, "category": "writes"},
        "output": "page",
        "rows": page_review.detail["rows"],  # type: ignore[index]
    }
    assert csv_review.detail["filters"] == {"actor_name": "paula.prescriber", "category": "all"}  # type: ignore[index]
    assert csv_review.detail["output"] == "csv"  # type: ignore[index]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"patient": "12a"}, "A patient id is a whole number."),
        ({"patient": "٣"}, "A patient id is a whole number."),
        ({"date_from": "02/01/2026"}, "Use the form YYYY-MM-DD."),
        ({"date_from": "2026-01-05", "date_to": "2026-01-04"}, "The end date is before"),
        ({"category": "everything"}, "Choose one of the listed kinds of event."),
    ],
)
def test_bad_filters_get_422_with_the_reason_and_read_nothing(
    admin: TestClient, db: Session, params: dict[str, str], message: str
) -> None:
    before = db.scalar(select(AuditEventRecord.id).order_by(AuditEventRecord.id.desc()).limit(1))
    for url in ("/audit", "/audit/report.csv"):
        response = admin.get(url, params=params)
        assert response.status_code == 422
        assert message in response.text
        assert 'id="audit-event-' not in response.text
    after = db.scalar(select(AuditEventRecord.id).order_by(AuditEventRecord.id.desc()).limit(1))
    assert after == before  # nothing was read, so no review was recorded


def test_stored_text_is_shown_as_text(admin: TestClient, db: Session, someone: str) -> None:
    _event(db, someone, "patient.archive", reason='<script>alert(1)</script>"><img src=x>')
    page = admin.get("/audit", params={"user": someone})
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x&gt;" in page.text


def _plan_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_type": "oral_titration",
        "start_date": "2026-12-01",
        "indication": "multiple_sclerosis",
        "setting": "outpatient",
        "target_daily_dose": {"value": 60, "unit": "mg"},
        "current_daily_dose": None,
        "step_interval_days": None,
        "doses_per_day": None,
        "formulation": None,
        "intrathecal": None,
        "overrides": [],
        "acknowledged": [],
    }
    body.update(overrides)
    return body
