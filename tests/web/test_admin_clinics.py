"""Administration of clinics, and who may reach the administration pages at all."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ClinicRecord, UserRecord
from tests.factories.routes import iter_routes
from tests.web.admin_helpers import audit_rows, log_in_admin, new_user_form
from tests.web.helpers import header_csrf, log_in, unique


class TestClinics:
    def test_a_new_clinic_is_listed_audited_and_offered_for_new_users(
        self, client: TestClient, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        name = unique("Spasticity clinic ")
        response = client.post("/admin/clinics", data={"csrf_token": csrf, "name": f"  {name} "})
        assert response.status_code == 303
        assert f"<td>{name}</td>" in client.get("/admin/clinics").text
        clinic = db.scalars(select(ClinicRecord).where(ClinicRecord.name == name)).one()
        (event,) = audit_rows(db, "clinic.create", clinic.id)
        assert event.actor_name == "ada.admin"

        form = client.get("/admin/users/new").text
        assert f'<option value="{clinic.id}" >{name}</option>' in form
        username = unique("ward.")
        data = new_user_form(csrf, username=username, clinic_id=str(clinic.id))
        assert client.post("/admin/users", data=data).status_code == 303
        user = db.scalars(select(UserRecord).where(UserRecord.username == username)).one()
        assert user.clinic_id == clinic.id
        row = re.search(
            rf"<td>{re.escape(username)}</td>.*?</tr>", client.get("/admin/users").text, re.S
        )
        assert row
        assert name in row.group(0)

    @pytest.mark.parametrize(
        ("name", "message"),
        [("default CLINIC", "A clinic of that name exists."), ("   ", "A clinic name of 1–100")],
    )
    def test_a_taken_or_empty_name_rerenders_the_form_with_422(
        self, client: TestClient, db: Session, name: str, message: str
    ) -> None:
        csrf = log_in_admin(client)
        before = db.scalars(select(ClinicRecord)).all()
        response = client.post("/admin/clinics", data={"csrf_token": csrf, "name": name})
        assert response.status_code == 422
        assert message in response.text
        assert len(db.scalars(select(ClinicRecord)).all()) == len(before)


def _admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for method, path, _ in iter_routes(app)
        if path.startswith("/admin")
    )


def test_the_refusal_test_below_sees_every_admin_route(app: FastAPI) -> None:
    # A new administration route must be added here, so it is known to be refused below.
    assert _admin_routes(app) == sorted(
        [
            ("GET", "/admin/users"),
            ("GET", "/admin/users/new"),
            ("POST", "/admin/users"),
            ("POST", "/admin/users/1/disable"),
            ("POST", "/admin/users/1/enable"),
            ("POST", "/admin/users/1/role"),
            ("GET", "/admin/users/1/password"),
            ("POST", "/admin/users/1/password"),
            ("GET", "/admin/tokens"),
            ("GET", "/admin/tokens/new"),
            ("POST", "/admin/tokens"),
            ("POST", "/admin/tokens/1/revoke"),
            ("GET", "/admin/clinics"),
            ("POST", "/admin/clinics"),
        ]
    )


@pytest.mark.parametrize("username", ["paula.prescriber", "phil.pharmacist", "vera.viewer"])
def test_every_admin_page_and_action_is_403_for_other_roles_and_changes_nothing(
    client: TestClient, app: FastAPI, db: Session, username: str
) -> None:
    assert log_in(client, username).status_code == 303
    csrf = header_csrf(client.get("/patients").text)
    audit_before = len(audit_rows(db, "user.disable")) + len(audit_rows(db, "clinic.create"))
    for method, path in _admin_routes(app):
        data = {
            "csrf_token": csrf,
            "name": "Sneaky clinic",
            "username": "sneaky.user",
            "password": "a long enough password",
            "password_again": "a long enough password",
            "role": "admin",
            "clinic_id": "1",
            "scope": "patients:read",
            "expires_in_days": "30",
        }
        response = client.request(method, path, data=data if method == "POST" else None)
        assert response.status_code == 403, f"{method} {path}"
    assert (
        db.scalars(select(UserRecord).where(UserRecord.username == "sneaky.user")).first() is None
    )
    assert (
        db.scalars(select(ClinicRecord).where(ClinicRecord.name == "Sneaky clinic")).first() is None
    )
    user = db.scalars(select(UserRecord).where(UserRecord.id == 1)).one()
    assert user.is_active
    assert (
        len(audit_rows(db, "user.disable")) + len(audit_rows(db, "clinic.create")) == audit_before
    )
