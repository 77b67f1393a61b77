"""Helpers for the administration page tests: an admin's client, other users' clients."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, UserRecord
from tests.web.helpers import header_csrf, log_in

TOKEN_PATTERN = re.compile(r"tt_[A-Za-z0-9_-]{40,}")


def second_client(app: FastAPI) -> TestClient:
    """Another browser on the same app (own cookie jar); the app's test sessionmaker is shared."""
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def log_in_admin(client: TestClient) -> str:
    """Logs ada.admin in; returns the session's CSRF token."""
    response = log_in(client, "ada.admin")
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("/admin/users")
    return header_csrf(client.get("/admin/users").text)


def user_id(db: Session, username: str) -> int:
    user = db.scalars(select(UserRecord).where(UserRecord.username == username)).one()
    return user.id


def audit_rows(db: Session, action: str, entity_id: object = None) -> list[AuditEventRecord]:
    query = select(AuditEventRecord).where(AuditEventRecord.action == action)
    if entity_id is not None:
        query = query.where(AuditEventRecord.entity_id == str(entity_id))
    return list(db.scalars(query.order_by(AuditEventRecord.id)))


def new_user_form(csrf: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "csrf_token": csrf,
        "username": "",
        "password": "a long enough password",
        "role": "viewer",
        "clinic_id": "1",
    }
    data.update(overrides)
    return data
