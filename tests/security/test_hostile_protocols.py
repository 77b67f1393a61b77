"""Hostile text in a protocol draft (source of each value, reason) comes back from the
protocol routes exactly as typed, as JSON strings; the drafting client's name likewise; the
pharmacist's protocol pages show it as text."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.clinics import default_clinic_id, make_user
from tests.factories.users import make_token
from tests.security.hostile_corpus import PAYLOADS, packed, shown_as_text
from tests.web.helpers import header_csrf, log_in

SOURCES = packed(PAYLOADS.values(), limit=500)


def test_hostile_sources_and_reasons_come_back_as_typed(client: TestClient, db: Session) -> None:
    headers = {"Authorization": f"Bearer {make_token(db, 'protocols:write', name='pharm_a')}"}
    for number, source in enumerate(SOURCES, start=2):
        body = {
            "parameters": {"interval_days": {"value": "7", "source": source}},
            "reason": source,
        }
        answer = client.post("/api/v1/protocols/oral-adult/versions", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        assert answer.json()["version"] == number
    versions = client.get("/api/v1/protocols/oral-adult/versions", headers=headers).json()
    drafts = versions[1:]
    assert [v["parameters"]["interval_days"]["source"] for v in drafts] == SOURCES
    assert [v["reason"] for v in drafts] == SOURCES
    assert {v["drafted_by"] for v in drafts} == {"pharm_a"}
    listed = client.get("/api/v1/protocols", headers=headers)
    assert listed.status_code == 200
    # The drafts never became effective: oral-adult is still at its seeded version.
    assert {row["id"]: row["version"] for row in listed.json()}["oral-adult"] == 1


def test_the_protocol_pages_show_hostile_sources_and_reasons_as_text(
    client: TestClient, db: Session
) -> None:
    """The same drafts twice, plain on oral-adult and hostile on oral-older-adult (pages of
    the same shape): the versions page and, once the last is approved, the draft form."""
    make_user(db, username="pia.pharmacist", role="pharmacist", clinic_id=default_clinic_id(db))
    plain = [f"Plain source number {n}" for n in range(len(SOURCES))]
    pages: dict[str, dict[str, str]] = {}
    for protocol_id, texts in (("oral-adult", plain), ("oral-older-adult", SOURCES)):
        csrf = _logged_in(client, "phil.pharmacist")
        for text in texts:
            form = {"value.interval_days": "7", "source.interval_days": text, "reason": text}
            drafted = client.post(f"/protocols/{protocol_id}/draft", data=form, headers=csrf)
            assert drafted.status_code == 303, drafted.text[:800]
        last = drafted.headers["location"].rsplit("#version-", 1)[1]
        csrf = _logged_in(client, "pia.pharmacist")
        approved = client.post(
            f"/protocols/{protocol_id}/versions/{last}/approve",
            data={"effective_from": date.today().isoformat()},
            headers=csrf,
        )
        assert approved.status_code == 303, approved.text[:800]
        pages[protocol_id] = {
            "versions": client.get(f"/protocols/{protocol_id}").text,
            "draft-form": client.get(f"/protocols/{protocol_id}/draft").text,
        }
    problems = []
    for name, hostile_html in pages["oral-older-adult"].items():
        plain_html = pages["oral-adult"][name]
        shows = SOURCES if name == "versions" else SOURCES[-1:]
        found = shown_as_text(hostile_html, shows, plain_html=plain_html, payloads=SOURCES)
        problems += [f"{name}: {problem}" for problem in found]
    assert problems == []


def _logged_in(client: TestClient, username: str) -> dict[str, str]:
    client.cookies.clear()
    assert log_in(client, username).status_code == 303
    return {"X-CSRF-Token": header_csrf(client.get("/protocols").text)}
