"""Clinical records carrying given texts in every free-text slot, stored through the API.

A `Case` is two made-up patients and two plans, written as a client system would: patient A
(given and family name, medications) with plan 1 (an override reason, revised with a
reason, reviewed with a note, held, resumed and held again) and plan 2 (discontinued with a
reason); patient B archived with a reason. The API tokens that write them carry names of
their own (`token` for everything but plan 2, `token_b` for plan 2), which the records show
as prescriber and reviewer and the audit trail as the actor. Building the same case from
plain texts gives the page every hostile page is compared with.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.patients import patient_payload
from tests.factories.users import make_token

# Slots with one text each; `medications` is a list of its own.
TEXT_SLOTS = (
    "given", "family", "given_b", "family_b", "token", "token_b", "override", "revision",
    "note", "hold", "resume", "discontinue", "archive",
)  # fmt: skip
# The most each slot takes (API schemas, patient and admin rules); medications: 50 of 100.
MAX_LENGTH = {
    "given": 100, "family": 100, "given_b": 100, "family_b": 100, "token": 100, "token_b": 100,
    "override": 2000, "revision": 2000, "note": 2000, "hold": 2000, "resume": 2000,
    "discontinue": 2000, "archive": 1000,
}  # fmt: skip
MAX_MEDICATIONS, MAX_MEDICATION_LENGTH = 50, 100


@dataclass(frozen=True)
class Texts:
    slots: dict[str, str]
    medications: tuple[str, ...]

    def __getitem__(self, slot: str) -> str:
        return self.slots[slot]


@dataclass(frozen=True)
class Case:
    texts: Texts
    mrn: str
    patient_a: int
    patient_b: int
    plan: int  # plan 1: on hold, two versions, reviewed
    stopped_plan: int  # plan 2: discontinued
    headers: dict[str, str]  # the API token named `token`


def plain_texts(like: Texts) -> Texts:
    """Plain letters in every slot, as many medications as `like` has."""
    slots = {slot: f"Plain {slot.replace('_', ' ')} text" for slot in TEXT_SLOTS}
    medications = tuple(f"Plainmed {n}" for n in range(1, len(like.medications) + 1))
    return Texts(slots, medications)


def build_case(client: TestClient, db: Session, texts: Texts) -> Case:
    headers = {"Authorization": f"Bearer {make_token(db, name=texts['token'])}"}
    mrn = f"HX{uuid.uuid4().hex[:12].upper()}"
    patient_a = _created(
        client.post(
            "/api/v1/patients",
            json=patient_payload(
                mrn=mrn, given_name=texts["given"], family_name=texts["family"],
                conditions=["epilepsy"], medications=list(texts.medications),
            ),
            headers=headers,
        )
    )["id"]  # fmt: skip
    patient_b = _created(
        client.post(
            "/api/v1/patients",
            json=patient_payload(given_name=texts["given_b"], family_name=texts["family_b"]),
            headers=headers,
        )
    )["id"]
    _ok(client.post(
        f"/api/v1/patients/{patient_b}/archive", json={"reason": texts["archive"]},
        headers={**headers, "If-Match": '"1"'},
    ))  # fmt: skip
    # One open oral plan at a time: the discontinued plan comes first.
    other = {"Authorization": f"Bearer {make_token(db, name=texts['token_b'])}"}
    stopped_plan = _created(
        client.post(f"/api/v1/patients/{patient_a}/plans", json=_plan_body(texts), headers=other)
    )["id"]
    _ok(client.post(
        f"/api/v1/plans/{stopped_plan}/discontinue", json={"reason": texts["discontinue"]},
        headers=other,
    ))  # fmt: skip
    # The review comes from a second client of the same name: nobody reviews a version it
    # created (409 self_review), and the pages still show the name as the reviewer.
    reviewer = {"Authorization": f"Bearer {make_token(db, name=texts['token'])}"}
    plan = _plan_through_its_life(client, headers, patient_a, texts, reviewer=reviewer)
    return Case(texts, mrn, patient_a, patient_b, plan, stopped_plan, headers)


def _plan_through_its_life(
    client: TestClient,
    headers: dict[str, str],
    patient_id: int,
    texts: Texts,
    *,
    reviewer: dict[str, str],
) -> int:
    created = _created(
        client.post(f"/api/v1/patients/{patient_id}/plans", json=_plan_body(texts), headers=headers)
    )
    plan = created["id"]
    revised = _created(client.post(
        f"/api/v1/plans/{plan}/versions",
        json={**_plan_body(texts, target=40), "reason": texts["revision"]},
        headers={**headers, "If-Match": '"1"'},
    ))  # fmt: skip
    findings = [f["code"] for f in revised["findings"] if f["severity"] != "info"]
    _created(client.post(
        f"/api/v1/plans/{plan}/reviews", json={"acknowledged": findings, "note": texts["note"]},
        headers={**reviewer, "If-Match": '"2"'},
    ))  # fmt: skip
    for action, slot in (("hold", "hold"), ("resume", "resume"), ("hold", "hold")):
        _ok(client.post(f"/api/v1/plans/{plan}/{action}", json={"reason": texts[slot]},
                        headers=headers))  # fmt: skip
    return int(plan)


def _plan_body(texts: Texts, *, target: int = 30) -> dict[str, Any]:
    """An oral titration for an adult with epilepsy: a block to override with a reason. The
    hostile medication names are medications nobody knows: a major finding (A.6.9)."""
    return {
        "plan_type": "oral_titration", "start_date": "2031-03-03",
        "indication": "multiple_sclerosis", "setting": "outpatient",
        "target_daily_dose": {"value": target, "unit": "mg"},
        "overrides": [{"code": "epilepsy", "reason": texts["override"]}],
        "acknowledged": ["unrecognised_medication"],
    }  # fmt: skip


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _ok(response: Any) -> None:
    assert response.status_code == 200, response.text
