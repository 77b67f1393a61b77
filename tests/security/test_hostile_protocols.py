"""Hostile text in a protocol draft (source of each value, reason) comes back from the
protocol routes exactly as typed, as JSON strings; the drafting client's name likewise."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.users import make_token
from tests.security.hostile_corpus import PAYLOADS, packed

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
