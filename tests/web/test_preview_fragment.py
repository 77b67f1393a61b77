"""The live preview's fragment, remembered per what it shows (app/web/preview_fragment.py).

A remembered fragment must be exactly the fragment the page would render, must follow the
patient's stored facts at once, must never cross patients or sets of protocols, and may be
rendered from nothing but what its key holds.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2 import meta, nodes
from sqlalchemy.orm import Session

from app.db.models import PatientRecord
from app.services import patients as patient_service
from app.services.context import Actor
from app.web import preview_fragment
from app.web.preview_fragment import FRAGMENT_VARIABLES, FragmentMemory
from app.web.templating import templates
from tests.factories.sessions import log_in
from tests.web.helpers import HX, make_patient

SYSTEM = Actor(kind="system", id=None, name="fragment-tests")
SECTION = re.compile(r'<section id="plan-preview".*?</section>', re.DOTALL)


def _form(csrf: str, **changes: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf, "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": "40",
    } | changes  # fmt: skip


@pytest.fixture
def csrf(client: TestClient) -> str:
    return log_in(client)


@pytest.fixture
def engine_runs(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each plan the fragment computes (a remembered fragment computes none)."""
    runs: list[object] = []
    compute = preview_fragment.preview_for

    def counted(request: Any, protocols: Any) -> Any:
        runs.append(request)
        return compute(request, protocols)

    monkeypatch.setattr(preview_fragment, "preview_for", counted)
    return runs


def _fragment(client: TestClient, patient: PatientRecord, data: dict[str, Any]) -> str:
    response = client.post(f"/patients/{patient.id}/plans/preview", data=data, headers=HX)
    assert response.headers["vary"] == "HX-Request"
    return response.text


@pytest.mark.parametrize(
    ("medications", "changes"),
    [
        ((), {}),  # ready
        (("oxycodone",), {"acknowledged": ["opioid"]}),  # a major finding, acknowledged
        ((), {"target_daily_dose": "500"}),  # the engine refuses: a message
        ((), {"indication": ""}),  # a field missing: nothing reaches the engine
    ],
)
def test_the_fragment_is_the_section_the_whole_page_renders(
    client: TestClient, csrf: str, db: Session, medications: tuple[str, ...],
    changes: dict[str, Any],
) -> None:  # fmt: skip
    patient = make_patient(db, medications=medications)
    data = _form(csrf, **changes)
    page = client.post(f"/patients/{patient.id}/plans/preview", data=data)  # no JavaScript
    first, again = _fragment(client, patient, data), _fragment(client, patient, data)
    section = SECTION.search(page.text)
    assert section is not None
    assert first == section.group(0)
    assert again == first


def test_the_revision_fragment_is_the_section_of_the_revision_page(
    client: TestClient, csrf: str, db: Session
) -> None:
    patient = make_patient(db)
    saved = client.post(
        f"/patients/{patient.id}/plans",
        data=_form(csrf, acknowledged=["renal_function_unknown"]),
    )
    assert saved.status_code == 303, saved.text
    plan_url = saved.headers["location"]
    data = _form(csrf, target_daily_dose="50")
    page = client.post(f"{plan_url}/revise/preview", data=data)  # no JavaScript
    fragment = client.post(f"{plan_url}/revise/preview", data=data, headers=HX)
    section = SECTION.search(page.text)
    assert section is not None
    assert "50 mg/day" in fragment.text
    assert fragment.text == section.group(0)


def test_a_state_shown_before_is_answered_from_memory(
    client: TestClient, csrf: str, db: Session, engine_runs: list[object]
) -> None:
    patient = make_patient(db)
    for dose in ("40", "45", "40", "45", "40"):  # typed, changed, changed back
        assert f"{dose} mg/day" in _fragment(client, patient, _form(csrf, target_daily_dose=dose))
    assert len(engine_runs) == 2


def test_digits_that_differ_are_different_states(
    client: TestClient, csrf: str, db: Session, engine_runs: list[object]
) -> None:
    patient = make_patient(db)
    _fragment(client, patient, _form(csrf, target_daily_dose="40"))
    _fragment(client, patient, _form(csrf, target_daily_dose="40.0"))
    assert len(engine_runs) == 2


def test_a_change_to_the_stored_patient_shows_in_the_next_fragment(
    client: TestClient, csrf: str, db: Session, engine_runs: list[object]
) -> None:
    patient = make_patient(db)
    data = _form(csrf)
    assert "opioid" not in _fragment(client, patient, data)
    patient_service.update_patient(
        db, actor=SYSTEM, patient_id=patient.id,
        expected_version=patient.version, changes={"medications": ("oxycodone",)},
        today=date.today(),
    )  # fmt: skip
    assert 'value="opioid"' in _fragment(client, patient, data)
    assert len(engine_runs) == 2


def test_identical_facts_of_two_patients_are_never_one_memory(
    client: TestClient, csrf: str, db: Session, engine_runs: list[object]
) -> None:
    first, second = make_patient(db), make_patient(db)
    assert _fragment(client, first, _form(csrf)) == _fragment(client, second, _form(csrf))
    assert len(engine_runs) == 2


def test_override_reasons_and_acknowledgements_are_part_of_the_state(
    client: TestClient, csrf: str, db: Session
) -> None:
    patient = make_patient(db, medications=("oxycodone",))
    unticked = _fragment(client, patient, _form(csrf))
    ticked = _fragment(client, patient, _form(csrf, acknowledged=["opioid"]))
    assert 'value="opioid" checked' in ticked
    assert 'value="opioid" checked' not in unticked


def test_the_templates_read_nothing_the_key_does_not_hold() -> None:
    """A template that started to read, say, the patient's name or the request would show
    one state's fragment for another; the key holds only FRAGMENT_VARIABLES' values."""
    env = templates.env
    for name in (preview_fragment.TEMPLATE, "plans/_plan.html"):
        assert env.loader is not None
        tree = env.parse(env.loader.get_source(env, name)[0])
        # Jinja counts a name set inside {% if %} as read too: what the template sets is its own.
        own = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "store"}
        read = meta.find_undeclared_variables(tree) - own
        assert read <= FRAGMENT_VARIABLES, f"{name} reads {sorted(read - FRAGMENT_VARIABLES)}"
    included = set(meta.find_referenced_templates(env.parse(
        env.loader.get_source(env, preview_fragment.TEMPLATE)[0]
    )))  # fmt: skip
    assert included == {"plans/_plan.html"}  # the two templates checked above


def test_new_protocols_empty_the_memory() -> None:
    memory = FragmentMemory(limit=4)
    in_force, approved = object(), object()
    assert memory.recall(in_force, ("state",)) is None  # type: ignore[arg-type]
    memory.keep(in_force, ("state",), (b"old", 200))  # type: ignore[arg-type]
    assert memory.recall(in_force, ("state",)) == (b"old", 200)  # type: ignore[arg-type]
    assert memory.recall(approved, ("state",)) is None  # type: ignore[arg-type]
    memory.keep(in_force, ("state",), (b"old", 200))  # type: ignore[arg-type]
    assert memory.recall(approved, ("state",)) is None  # made under the old set: not kept
    assert memory.recall(in_force, ("state",)) is None  # type: ignore[arg-type]


def test_a_full_memory_starts_again() -> None:
    memory = FragmentMemory(limit=2)
    protocols = object()
    memory.recall(protocols, ("a",))  # type: ignore[arg-type]
    for key in ("a", "b", "c"):
        memory.keep(protocols, (key,), (key.encode(), 200))  # type: ignore[arg-type]
    assert memory.recall(protocols, ("a",)) is None  # type: ignore[arg-type]
    assert memory.recall(protocols, ("c",)) == (b"c", 200)  # type: ignore[arg-type]
