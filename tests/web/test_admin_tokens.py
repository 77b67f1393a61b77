"""Administration of API tokens: shown once, scoped, expiring, revoked from the next request."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ApiTokenRecord, AuditEventRecord
from app.services.auth import sha256_hex
from app.services.context import utc_now
from tests.web.admin_helpers import TOKEN_PATTERN, audit_rows, log_in_admin
from tests.web.helpers import HX, unique


def _token_form(csrf: str, name: str, *scopes: str, days: str = "30") -> dict[str, object]:
    return {
        "csrf_token": csrf,
        "name": name,
        "clinic_id": "1",
        "scope": list(scopes),
        "expires_in_days": days,
    }


def _create(client: TestClient, csrf: str, name: str, *scopes: str) -> str:
    response = client.post("/admin/tokens", data=_token_form(csrf, name, *scopes))
    assert response.status_code == 201, response.text
    (token,) = set(TOKEN_PATTERN.findall(response.text))
    return token


def _stored(db: Session, name: str) -> ApiTokenRecord:
    return db.scalars(select(ApiTokenRecord).where(ApiTokenRecord.name == name)).one()


class TestCreateToken:
    def test_the_token_is_shown_once_works_on_the_api_and_only_its_hash_is_stored(
        self, client: TestClient, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        name = unique("lab_system_")
        token = _create(client, csrf, name, "patients:read")

        api = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 200
        # Scoped: the same token may not write.
        write = client.post(
            "/api/v1/patients", json={}, headers={"Authorization": f"Bearer {token}"}
        )
        assert write.status_code == 403

        stored = _stored(db, name)
        assert stored.token_sha256 == sha256_hex(token)
        assert stored.scopes == ["patients:read"]
        assert stored.expires_at is not None
        assert timedelta(days=29) < stored.expires_at - utc_now() <= timedelta(days=30)
        # Never again: not on the list, not in any audit row.
        listing = client.get("/admin/tokens").text
        assert name in listing
        assert token not in listing
        assert TOKEN_PATTERN.search(listing) is None
        (event,) = audit_rows(db, "token.create", stored.id)
        assert event.actor_name == "ada.admin"
        rows = db.scalars(select(AuditEventRecord)).all()
        assert not any(token in str(row.detail) for row in rows)

    def test_htmx_swaps_the_token_in_place_of_the_form(self, client: TestClient) -> None:
        csrf = log_in_admin(client)
        response = client.post(
            "/admin/tokens", data=_token_form(csrf, unique("sys_"), "plans:read"), headers=HX
        )
        assert response.status_code == 201
        assert response.text.lstrip().startswith('<section id="token-created"')
        assert "<html" not in response.text
        assert TOKEN_PATTERN.search(response.text)

    def test_the_form_offers_every_scope_as_a_checkbox(self, client: TestClient) -> None:
        from app.services.auth import SCOPES

        log_in_admin(client)
        page = client.get("/admin/tokens/new").text
        boxes = re.findall(r'type="checkbox" name="scope" value="([^"]+)"', page)
        assert boxes == list(SCOPES)

    def test_bad_input_rerenders_the_form_with_messages_and_422(
        self, client: TestClient, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        tokens_before = len(db.scalars(select(ApiTokenRecord)).all())
        data = _token_form(csrf, "", days="0")
        data["clinic_id"] = ""
        response = client.post("/admin/tokens", data=data)
        assert response.status_code == 422
        for field in ("name", "clinic_id", "scopes", "expires_in_days"):
            assert f'id="e-{field}"' in response.text, field
        assert TOKEN_PATTERN.search(response.text) is None
        assert len(db.scalars(select(ApiTokenRecord)).all()) == tokens_before

    def test_an_unknown_scope_is_refused(self, client: TestClient) -> None:
        csrf = log_in_admin(client)
        data = _token_form(csrf, unique("sys_"), "patients:read", "admin:everything")
        response = client.post("/admin/tokens", data=data)
        assert response.status_code == 422
        assert "Name at least one scope, among" in response.text
        assert 'value="patients:read" checked' in response.text


class TestRevokeToken:
    def test_a_revoked_token_is_refused_on_the_very_next_request(
        self, client: TestClient, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        name = unique("revoked_")
        token = _create(client, csrf, name, "patients:read")
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/patients", headers=headers).status_code == 200
        token_id = _stored(db, name).id

        response = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf})
        assert response.status_code == 303

        refused = client.get("/api/v1/patients", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        (event,) = audit_rows(db, "token.revoke", token_id)
        assert event.actor_name == "ada.admin"
        row = re.search(
            rf'<tr id="token-{token_id}">.*?</tr>', client.get("/admin/tokens").text, re.S
        )
        assert row
        assert "<strong>revoked</strong>" in row.group(0)
        assert "Revoke" not in row.group(0)

    def test_revoking_twice_audits_once(self, client: TestClient, db: Session) -> None:
        csrf = log_in_admin(client)
        name = unique("twice_")
        _create(client, csrf, name, "plans:read")
        token_id = _stored(db, name).id
        for _ in range(2):
            client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf})
        assert len(audit_rows(db, "token.revoke", token_id)) == 1

    def test_an_unknown_token_is_404(self, client: TestClient) -> None:
        csrf = log_in_admin(client)
        response = client.post("/admin/tokens/999999/revoke", data={"csrf_token": csrf})
        assert response.status_code == 404
