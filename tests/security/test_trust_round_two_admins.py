"""Issue 13, "Admins across clinics" and "`aaaaaaaaaaaa` and `password1234` are accepted":
an admin administers their own clinic only; clinics are a system admin's; passwords are
checked against a shipped list of common passwords (OWASP ASVS 5.0 V6)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.repositories import users as user_repo
from app.services import admin, auth
from app.services.context import SYSTEM
from app.services.errors import InvalidInput
from app.services.password_policy import common_passwords, password_problems
from tests.factories.clinics import default_clinic_id, make_clinic, make_clinic_token, make_user
from tests.web.admin_helpers import log_in_admin
from tests.web.helpers import hidden_csrf, log_in


@pytest.fixture
def two_clinics(db: Session) -> dict[str, int]:
    a, b = make_clinic(db, "Clinic A (trust)"), make_clinic(db, "Clinic B (trust)")
    ids = {
        "a": a,
        "b": b,
        "admin_a": make_user(db, username="admin.of.a", role="admin", clinic_id=a),
        "prescriber_b": make_user(db, username="prescriber.of.b", role="prescriber", clinic_id=b),
    }
    make_clinic_token(db, b, "plans:read")
    db.commit()
    return ids


def test_admins_across_clinics_see_and_touch_only_their_own_clinic(
    client: TestClient, two_clinics: dict[str, int]
) -> None:
    log_in(client, "admin.of.a")
    users = client.get("/admin/users").text
    assert "admin.of.a" in users
    assert "prescriber.of.b" not in users
    assert "paula.prescriber" not in users  # the default clinic is another clinic too
    tokens = client.get("/admin/tokens").text
    assert "Clinic B (trust)" not in tokens
    csrf = hidden_csrf(client.get("/admin/users").text)
    target = two_clinics["prescriber_b"]
    reset = client.post(
        f"/admin/users/{target}/password",
        data={"csrf_token": csrf, "password": "a new long passphrase 42",
              "password_again": "a new long passphrase 42"},
    )  # fmt: skip
    assert reset.status_code == 404
    assert client.get(f"/admin/users/{target}/password").status_code == 404
    assert client.get("/admin/clinics").status_code == 403  # clinics: system admins only
    new_user = client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "sneaky.b", "role": "prescriber",
              "password": "a long enough password", "clinic_id": str(two_clinics["b"])},
    )  # fmt: skip
    assert new_user.status_code == 422


def test_system_admin_manages_clinics_and_every_clinics_accounts(
    client: TestClient, two_clinics: dict[str, int]
) -> None:
    log_in_admin(client)  # ada.admin, the system admin
    assert "prescriber.of.b" in client.get("/admin/users").text
    assert client.get("/admin/clinics").status_code == 200


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaaaa", "password1234", "PASSWORD1234", "abababababab", "qwertyuiop123"]
)
def test_common_or_trivial_passwords_are_refused(db: Session, password: str) -> None:
    assert password_problems(password)
    with pytest.raises(InvalidInput):
        auth.create_user(db, username="weak.password", password=password, role="viewer")


def test_password_containing_the_username_is_refused() -> None:
    assert password_problems("my name is vera.viewer ok", username="vera.viewer")
    assert password_problems("a long enough password") == ()


def test_the_common_password_list_is_the_shipped_top_30000() -> None:
    words = common_passwords()
    assert len(words) >= 29_000  # casefolded, so a few collapse
    assert {"123456", "password", "qwerty", "dragon"} <= words


def test_no_forced_change_after_reset_now_every_page_leads_to_change_password(
    client: TestClient, db: Session
) -> None:
    make_user(db, username="reset.me", role="viewer", clinic_id=default_clinic_id(db))
    db.commit()
    admin_password = "the admin typed this 1"
    user_id = user_repo.get_user_by_username(db, "reset.me").id  # type: ignore[union-attr]
    admin.reset_password(db, actor=SYSTEM, user_id=user_id, password=admin_password)
    landed = log_in(client, "reset.me", password=admin_password)
    assert landed.headers["location"].endswith("/account/password")
    assert client.get("/patients").headers["location"].endswith("/account/password")
    page = client.get("/account/password")
    assert page.status_code == 200
    csrf = hidden_csrf(page.text)
    weak = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current_password": admin_password,
              "password": "password1234", "password_again": "password1234"},
    )  # fmt: skip
    assert weak.status_code == 422
    assert "most common passwords" in weak.text
    chosen = "my own long passphrase 7"
    changed = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current_password": admin_password,
              "password": chosen, "password_again": chosen},
    )  # fmt: skip
    assert changed.status_code == 303
    assert log_in(client, "reset.me", password=admin_password).status_code == 401
    assert log_in(client, "reset.me", password=chosen).headers["location"].endswith("/worklist")
    assert client.get("/patients").status_code == 200


def test_self_service_password_change_needs_the_current_password(
    client: TestClient, db: Session
) -> None:
    make_user(db, username="self.service", role="viewer", clinic_id=default_clinic_id(db))
    db.commit()
    log_in(client, "self.service")
    csrf = hidden_csrf(client.get("/account/password").text)
    wrong = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current_password": "not it at all",
              "password": "another long phrase 9", "password_again": "another long phrase 9"},
    )  # fmt: skip
    assert wrong.status_code == 422
    assert "This is not your current password." in wrong.text
