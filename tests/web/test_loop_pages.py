"""The titration loop's pages: observation form and one-step action on the plan page, the
chart's markers, the worklist (home) and the pharmacist's review queue, review outcomes in
the header and history, the pump's record, and the taper link that carries every field."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.models import PlanRecord
from app.domain.titration import Dose, DoseUnit
from app.domain.titration.model import Indication, IntrathecalInput, Patient, PlanRequest, PlanType
from app.services import plans as plan_service
from app.services.plans import SaveOptions
from tests.factories.clinics import default_clinic_id, make_patient_in, protocols, system_actor
from tests.unit.domain.test_formulary import stock
from tests.web.helpers import header_csrf, log_in

TODAY = date.today()


def _oral(db: Session, *, days_ago: int) -> PlanRecord:
    clinic_id = default_clinic_id(db)
    patient = make_patient_in(db, clinic_id)

    def request(p: Patient) -> PlanRequest:
        return PlanRequest(
            plan_type=PlanType.ORAL_TITRATION, start_date=TODAY - timedelta(days=days_ago),
            indication=Indication.MULTIPLE_SCLEROSIS, patient=p,
            target_daily_dose=Dose(Decimal(60), DoseUnit.MG),
        )  # fmt: skip

    record, _, _ = plan_service.create_plan(
        db, actor=system_actor(clinic_id), protocols=protocols(), patient_id=patient.id,
        request_for=request, options=SaveOptions(),
    )  # fmt: skip
    return record


def _itb(db: Session) -> PlanRecord:
    clinic_id = default_clinic_id(db)
    patient = make_patient_in(db, clinic_id)

    def request(p: Patient) -> PlanRequest:
        return PlanRequest(
            plan_type=PlanType.ITB_TITRATION, start_date=TODAY,
            indication=Indication.SPINAL_CORD_INJURY, patient=p,
            intrathecal=IntrathecalInput(
                effective_bolus=Dose(Decimal(75), DoseUnit.MCG),
                effect_duration_hours=Decimal(6),
            ),
        )  # fmt: skip

    record, _, _ = plan_service.create_plan(
        db, actor=system_actor(clinic_id), protocols=protocols(), patient_id=patient.id,
        request_for=request, options=SaveOptions(),
    )  # fmt: skip
    return record


def _token(client: TestClient, url: str) -> str:
    return header_csrf(client.get(url).text)


def test_drowsiness_recorded_on_the_plan_page_is_stepped_back_in_one_step(
    logged_in_client: TestClient, db: Session
) -> None:
    client = logged_in_client
    plan = _oral(db, days_ago=5)
    url = f"/plans/{plan.id}"
    token = _token(client, url)
    form = {
        "csrf_token": token, "observed_on": TODAY.isoformat(), "mas_score": "2",
        "spasm_frequency": "1", "adverse_effects": ["drowsiness"], "note": "Sleepy.",
    }  # fmt: skip
    saved = client.post(f"{url}/observations", data=form)
    assert saved.status_code == 303, saved.text
    page = client.get(url).text
    assert "step back" in page
    assert "FU-2" in page
    assert 'class="marker marker-adverse"' in page  # drawn on the dose chart
    assert "/act" in page
    observation_id = page.split(f"/plans/{plan.id}/observations/")[1].split("/act")[0]
    acted = client.post(f"{url}/observations/{observation_id}/act",
                        data={"csrf_token": token, "version": "1"})  # fmt: skip
    assert acted.status_code == 303, acted.text
    after = client.get(url).text
    assert "Observation of" in after  # the new version's reason
    assert "Done by paula.prescriber: plan" in after
    diff = client.get(f"{url}/diff").text
    section = diff.split("Daily dose from the change date")[1].split("</table>")[0]
    assert f"from {TODAY.isoformat()}" in section
    assert "30 mg/day" in section  # old, from the change date on
    assert "15 mg/day" in section  # new
    again = client.post(f"{url}/observations/{observation_id}/act",
                        data={"csrf_token": token, "version": "2"})  # fmt: skip
    assert again.status_code == 409


def test_a_bad_observation_re_renders_the_page_with_the_message(
    logged_in_client: TestClient, db: Session
) -> None:
    plan = _oral(db, days_ago=5)
    url = f"/plans/{plan.id}"
    token = _token(logged_in_client, url)
    future = (TODAY + timedelta(days=2)).isoformat()
    response = logged_in_client.post(
        f"{url}/observations", data={"csrf_token": token, "observed_on": future, "note": "later"}
    )
    assert response.status_code == 422
    assert 'id="observation-error"' in response.text
    assert "up to today" in response.text
    garbled = logged_in_client.post(
        f"{url}/observations", data={"csrf_token": token, "observed_on": "05/12/2026"}
    )
    assert garbled.status_code == 422


def test_the_worklist_is_home_and_the_pharmacist_sees_the_review_queue(
    client: TestClient, db: Session
) -> None:
    plan = _oral(db, days_ago=40)  # review due in 2 days, not yet reviewed
    log_in(client, "paula.prescriber")
    home = client.get("/", follow_redirects=True)
    assert home.url.path == "/worklist"
    assert "Review due" in home.text
    assert f'/plans/{plan.id}">' in home.text
    filtered = client.get("/worklist?kind=on_hold&within_days=3")
    assert f'/plans/{plan.id}">' not in filtered.text
    client.post("/logout", data={"csrf_token": header_csrf(home.text)})
    log_in(client, "phil.pharmacist")
    queue = client.get("/worklist")
    assert "<h1>Review queue</h1>" in queue.text
    assert f'/plans/{plan.id}">' in queue.text
    assert "Review due" not in queue.text.split("<tbody>")[1]


def test_a_review_outcome_shows_in_the_header_and_history_and_is_not_offered_again(
    client: TestClient, db: Session
) -> None:
    plan = _oral(db, days_ago=0)
    log_in(client, "phil.pharmacist")
    url = f"/plans/{plan.id}"
    page = client.get(url).text
    assert "not reviewed yet" in page
    token = header_csrf(page)
    query = {"csrf_token": token, "version": "1", "outcome": "query", "note": ""}
    refused = client.post(f"{url}/reviews", data=query)
    assert refused.status_code == 422
    made = client.post(f"{url}/reviews", data=query | {"note": "Which indication?"})
    assert made.status_code == 303
    after = client.get(url).text
    header = after.split('id="review-outcome"')[1].split("</dd>")[0]
    assert "query" in header
    assert "Which indication?" in header
    assert "Record review of version" not in after
    history = client.get(f"{url}/history").text
    assert 'class="outcome-query"' in history
    summary = client.get(f"{url}/summary").text
    reviews = summary.split('class="summary-reviews"')[1].split("</section>")[0]
    assert "query" in reviews
    assert "phil.pharmacist" in reviews


def test_the_pump_record_prefills_and_shows_the_window(
    logged_in_client: TestClient, db: Session
) -> None:
    plan = _itb(db)
    url = f"/plans/{plan.id}"
    page = logged_in_client.get(url).text
    assert "The pump&#39;s record" in page or "The pump's record" in page
    token = header_csrf(page)
    form = {"csrf_token": token, "filled_on": TODAY.isoformat(), "reservoir_ml": "20",
            "alarm_volume_ml": "2", "concentration_mcg_per_ml": "500",
            "max_refill_interval_days": "180"}  # fmt: skip
    assert logged_in_client.post(f"{url}/refills", data=form).status_code == 303
    after = logged_in_client.get(url).text
    table = after.split('id="refills"')[1].split("</table>")[0]
    assert " to " in table  # the window
    assert 'value="500"' in after  # the next refill starts from this one's figures
    bad = logged_in_client.post(f"{url}/refills", data=form | {"reservoir_ml": "lots"})
    assert bad.status_code == 422
    assert 'id="pump-error"' in bad.text
    no_interval = logged_in_client.post(
        f"{url}/refills", data=form | {"max_refill_interval_days": ""}
    )
    assert no_interval.status_code == 422


def test_the_taper_link_carries_every_field_and_completes_the_titration(
    logged_in_client: TestClient, db: Session
) -> None:
    plan = _oral(db, days_ago=5)
    page = logged_in_client.get(f"/plans/{plan.id}").text
    link = page.split('id="start-taper"')[0].rsplit('href="', 1)[1].split('"')[0]
    link = link.replace("&amp;", "&")
    assert "plan_type=oral_taper" in link
    assert "indication=multiple_sclerosis" in link
    assert f"supersedes_plan_id={plan.id}" in link
    assert "current_daily_dose=30" in link
    planner = logged_in_client.get(link).text
    assert f'name="supersedes_plan_id" value="{plan.id}"' in planner


def test_the_pump_forms_offer_the_formularys_pumps_and_concentrations(
    logged_in_client: TestClient, db: Session, app: FastAPI
) -> None:
    """Issue 17: picking a pump model fills in its reservoir; other figures can still be
    typed (the API keeps taking explicit numbers)."""
    plan = _itb(db)
    url = f"/plans/{plan.id}"
    page = logged_in_client.get(url).text
    models = page.split('<datalist id="p-reservoir-models">')[1].split("</datalist>")[0]
    assert '<option value="40" label="SynchroMed II, 40 mL">' in models
    assert '<option value="20" label="Prometra, 20 mL">' in models
    assert 'list="p-reservoir-models"' in page
    concentrations = page.split('<datalist id="p-conc-stocked">')[1].split("</datalist>")[0]
    assert concentrations.count("<option") == 3
    assert '<datalist id="l-reservoir_ml">' in page  # the refill calculator offers them too
    app.state.protocols = stock(
        pump_models=[{"model": "Prometra II", "reservoir_ml": "20"}],
        intrathecal_pump_mcg_per_ml=["1000"],
    )
    clinic = logged_in_client.get(url).text
    models = clinic.split('<datalist id="p-reservoir-models">')[1].split("</datalist>")[0]
    assert models == '<option value="20" label="Prometra II, 20 mL"></option>'
    concentrations = clinic.split('<datalist id="l-concentration_mcg_per_ml">')[1]
    assert concentrations.split("</datalist>")[0] == (
        '<option value="1000" label="1000 mcg/mL"></option>'
    )
    token = header_csrf(clinic)
    answer = logged_in_client.post(
        f"{url}/refill",
        data={"csrf_token": token, "reservoir_ml": "20", "alarm_volume_ml": "2",
              "concentration_mcg_per_ml": "500", "daily_dose": "150",
              "fill_date": TODAY.isoformat(), "max_refill_interval_days": "180"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert "not in the clinic" in answer.text  # 500 mcg/mL is not stocked here
