"""Create, edit and archive through the HTML forms: 422 re-renders, 303/HX-Redirect, 409."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PatientRecord
from tests.web.helpers import HX, form_data, make_patient


def _field_error(page: str, field: str) -> str:
    """The message shown right after the input of `field`, inside the same .field block."""
    match = re.search(
        rf'<input id="f-{field}"[^>]*aria-invalid="true" aria-describedby="e-{field}"[^>]*>'
        rf'\s*(?:<small class="hint">[^<]*</small>\s*)?'
        rf'<p class="field-error" id="e-{field}">([^<]*)</p>',
        page,
    )
    assert match, f"no message next to {field}"
    return match.group(1)


def _input_value(page: str, field: str) -> str:
    match = re.search(rf'<input id="f-{field}"[^>]*value="([^"]*)"', page)
    assert match, f"no input {field}"
    return match.group(1)


def _by_mrn(db: Session, mrn: str) -> PatientRecord | None:
    db.expire_all()
    return db.scalars(select(PatientRecord).where(PatientRecord.mrn == mrn)).first()


class TestCreate:
    def test_the_new_patient_form_posts_to_create_with_the_session_token(
        self, logged_in_client: TestClient, csrf_token: str
    ) -> None:
        page = logged_in_client.get("/patients/new")
        assert page.status_code == 200
        assert '<form id="patient-form"' in page.text
        assert 'method="post"' in page.text
        assert re.search(r'action="(?:http://testserver)?/patients"', page.text)
        assert f'name="csrf_token" value="{csrf_token}"' in page.text
        assert 'name="version"' not in page.text

    def test_an_unparseable_weight_rerenders_the_form_with_422_and_keeps_what_was_typed(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        data = form_data(csrf_token=csrf_token, weight_kg="abc", medications="amlodipine")
        response = logged_in_client.post("/patients", data=data)
        assert response.status_code == 422
        assert "<html" in response.text
        assert _field_error(response.text, "weight_kg") == "Enter a number, e.g. 72.5."
        assert _input_value(response.text, "weight_kg") == "abc"
        assert _input_value(response.text, "family_name") == data["family_name"]
        assert _input_value(response.text, "mrn") == data["mrn"]
        assert _input_value(response.text, "birth_date") == "1980-01-31"
        assert '<option value="female" selected>' in response.text
        assert ">amlodipine</textarea>" in response.text
        assert "Please correct the 1 highlighted field." in response.text
        assert _by_mrn(db, data["mrn"]) is None

    def test_a_birth_date_in_the_future_is_reported_next_to_the_birth_date(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        data = form_data(csrf_token=csrf_token, birth_date=tomorrow)
        response = logged_in_client.post("/patients", data=data)
        assert response.status_code == 422
        assert _field_error(response.text, "birth_date") == "Birth date cannot be in the future."
        assert _input_value(response.text, "birth_date") == tomorrow
        assert _by_mrn(db, data["mrn"]) is None

    def test_several_bad_fields_each_get_their_own_message(
        self, logged_in_client: TestClient, csrf_token: str
    ) -> None:
        data = form_data(csrf_token=csrf_token, weight_kg="4000", height_cm="tall", given_name="")
        response = logged_in_client.post("/patients", data=data)
        assert response.status_code == 422
        # The parse error is found first; plausibility rules run once everything parses.
        assert _field_error(response.text, "height_cm") == "Enter a number, e.g. 72.5."
        data["height_cm"] = "170"
        response = logged_in_client.post("/patients", data=data)
        assert response.status_code == 422
        assert _field_error(response.text, "weight_kg") == "Weight must be between 0.3 and 350 kg."
        assert _field_error(response.text, "given_name") == "Enter a name of 1–100 characters."
        assert "Please correct the 2 highlighted fields." in response.text

    def test_fixing_the_field_saves_and_redirects_to_the_detail_page_with_303(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        data = form_data(csrf_token=csrf_token, weight_kg="abc")
        assert logged_in_client.post("/patients", data=data).status_code == 422
        data["weight_kg"] = "72,5"  # a decimal comma is accepted
        response = logged_in_client.post("/patients", data=data)
        assert response.status_code == 303
        saved = _by_mrn(db, data["mrn"])
        assert saved is not None
        assert response.headers["location"] == f"http://testserver/patients/{saved.id}"
        assert saved.weight_kg == Decimal("72.5")
        detail = logged_in_client.get(response.headers["location"])
        assert detail.status_code == 200
        assert "72.5 kg" in detail.text
        assert f"{data['family_name']}, Testa" in detail.text

    def test_an_htmx_submit_with_an_error_gets_only_the_form_fragment_with_422(
        self, logged_in_client: TestClient, csrf_token: str
    ) -> None:
        response = logged_in_client.post(
            "/patients",
            data=form_data(weight_kg="abc"),
            headers={**HX, "X-CSRF-Token": csrf_token},
        )
        assert response.status_code == 422
        assert "<html" not in response.text
        assert response.text.strip().startswith('<form id="patient-form"')
        assert _field_error(response.text, "weight_kg") == "Enter a number, e.g. 72.5."
        # The swapped-in form must still post with a valid token when JavaScript is off.
        assert f'name="csrf_token" value="{csrf_token}"' in response.text

    def test_an_htmx_submit_that_saves_gets_hx_redirect_to_the_detail_page(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        data = form_data()
        response = logged_in_client.post(
            "/patients", data=data, headers={**HX, "X-CSRF-Token": csrf_token}
        )
        saved = _by_mrn(db, data["mrn"])
        assert saved is not None
        assert response.headers["hx-redirect"] == f"http://testserver/patients/{saved.id}"
        assert "location" not in response.headers

    def test_a_duplicate_mrn_is_a_conflict_page_not_a_server_error(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        existing = make_patient(db)
        response = logged_in_client.post(
            "/patients", data=form_data(csrf_token=csrf_token, mrn=existing.mrn)
        )
        assert response.status_code == 409
        assert f"MRN {existing.mrn} is already in use" in response.text

    def test_the_detail_page_of_an_unknown_patient_is_404(
        self, logged_in_client: TestClient
    ) -> None:
        response = logged_in_client.get("/patients/987654321")
        assert response.status_code == 404
        assert "Not found" in response.text


class TestEdit:
    def test_the_edit_form_is_filled_with_the_record_and_carries_its_version(
        self, logged_in_client: TestClient, db: Session
    ) -> None:
        patient = make_patient(db, weight_kg=Decimal("70.50"), medications=("a", "b"))
        page = logged_in_client.get(f"/patients/{patient.id}/edit")
        assert page.status_code == 200
        assert re.search(rf'action="(?:http://testserver)?/patients/{patient.id}"', page.text)
        assert '<input type="hidden" name="version" value="1">' in page.text
        assert _input_value(page.text, "mrn") == patient.mrn
        assert _input_value(page.text, "weight_kg") == "70.5"  # no trailing zero
        assert ">a\nb</textarea>" in page.text

    def test_saving_an_edit_changes_the_record_and_shows_the_new_value(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        patient = make_patient(db, weight_kg=Decimal("70"))
        data = form_data(
            csrf_token=csrf_token,
            version="1",
            mrn=patient.mrn,
            family_name=patient.family_name,
            weight_kg="64.2",
        )
        response = logged_in_client.post(f"/patients/{patient.id}", data=data)
        assert response.status_code == 303
        assert response.headers["location"].endswith(f"/patients/{patient.id}")
        detail = logged_in_client.get(f"/patients/{patient.id}").text
        assert "64.2 kg" in detail
        assert "Record version" not in detail  # an internal counter, not for people

    def test_an_invalid_edit_rerenders_with_422_and_changes_nothing(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        patient = make_patient(db, weight_kg=Decimal("70"))
        data = form_data(
            csrf_token=csrf_token, version="1", mrn=patient.mrn, family_name=patient.family_name
        )
        data["weight_kg"] = "0"
        response = logged_in_client.post(f"/patients/{patient.id}", data=data)
        assert response.status_code == 422
        assert _field_error(response.text, "weight_kg") == "Weight must be between 0.3 and 350 kg."
        assert '<input type="hidden" name="version" value="1">' in response.text
        db.refresh(patient)
        assert (patient.version, patient.weight_kg) == (1, Decimal("70"))

    def test_a_stale_version_shows_the_conflict_page_and_overwrites_nothing(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        patient = make_patient(db, weight_kg=Decimal("70"))
        base = form_data(csrf_token=csrf_token, mrn=patient.mrn, family_name=patient.family_name)
        first = logged_in_client.post(
            f"/patients/{patient.id}", data={**base, "version": "1", "weight_kg": "75"}
        )
        assert first.status_code == 303
        stale = logged_in_client.post(
            f"/patients/{patient.id}", data={**base, "version": "1", "weight_kg": "90"}
        )
        assert stale.status_code == 409
        assert "Someone else changed this record" in stale.text
        assert "not</strong> saved" in stale.text
        db.refresh(patient)
        assert (patient.version, patient.weight_kg) == (2, Decimal("75"))

    def test_a_stale_htmx_save_answers_409_with_a_main_that_htmx_swaps_in(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        patient = make_patient(db)
        base = form_data(mrn=patient.mrn, family_name=patient.family_name, version="1")
        headers = {**HX, "X-CSRF-Token": csrf_token}
        first = logged_in_client.post(f"/patients/{patient.id}", data=base, headers=headers)
        assert first.status_code == 204
        stale = logged_in_client.post(
            f"/patients/{patient.id}", data={**base, "weight_kg": "99"}, headers=headers
        )
        assert stale.status_code == 409
        # base.html's responseHandling swaps 4xx/5xx pages by selecting their #main.
        assert '<main id="main"' in stale.text
        assert "Someone else changed this record" in stale.text
        config = logged_in_client.get("/patients").text
        assert '"code":"[45]..","swap":true,"error":true,"target":"#main","select":"#main"' in (
            config
        )

    def test_a_form_without_a_version_is_treated_as_stale(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        patient = make_patient(db, weight_kg=Decimal("70"))
        data = form_data(
            csrf_token=csrf_token, mrn=patient.mrn, family_name=patient.family_name, weight_kg="80"
        )
        response = logged_in_client.post(f"/patients/{patient.id}", data=data)
        assert response.status_code == 409
        db.refresh(patient)
        assert patient.weight_kg == Decimal("70")


class TestArchive:
    def test_archiving_without_a_reason_rerenders_the_detail_page_with_422(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        patient = make_patient(db)
        response = logged_in_client.post(
            f"/patients/{patient.id}/archive",
            data={"csrf_token": csrf_token, "version": "1", "reason": "   "},
        )
        assert response.status_code == 422
        assert '<details class="archive danger-zone" open>' in response.text
        assert '<p class="field-error" id="e-reason">Give a reason for archiving.</p>' in (
            response.text
        )
        db.refresh(patient)
        assert patient.archived_at is None

    def test_archiving_with_a_reason_hides_the_patient_and_keeps_the_record(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        patient = make_patient(db)
        assert (
            logged_in_client.post(
                f"/patients/{patient.id}/archive", data={"csrf_token": csrf_token, "version": "1"}
            ).status_code
            == 422
        )
        response = logged_in_client.post(
            f"/patients/{patient.id}/archive",
            data={"csrf_token": csrf_token, "version": "1", "reason": "Duplicate of another MRN"},
        )
        assert response.status_code == 303
        assert response.headers["location"].endswith("/patients")
        db.refresh(patient)
        assert patient.archived_at is not None
        assert patient.archive_reason == "Duplicate of another MRN"
        detail = logged_in_client.get(f"/patients/{patient.id}").text
        assert "Archived " in detail
        assert "Duplicate of another MRN" in detail
        assert f'/patients/{patient.id}/edit"' not in detail
        assert "Archive this patient" not in detail

    def test_an_archived_patient_cannot_be_edited(
        self, logged_in_client: TestClient, csrf_token: str, db: Session
    ) -> None:
        patient = make_patient(db)
        logged_in_client.post(
            f"/patients/{patient.id}/archive",
            data={"csrf_token": csrf_token, "version": "1", "reason": "left the service"},
        )
        db.refresh(patient)
        data = form_data(
            csrf_token=csrf_token,
            version=str(patient.version),
            mrn=patient.mrn,
            family_name=patient.family_name,
        )
        response = logged_in_client.post(f"/patients/{patient.id}", data=data)
        assert response.status_code == 409
        assert "an archived patient cannot be edited" in response.text
