"""Administration of users: create, disable (ends sessions), enable, reset password, roles."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import UserRecord, UserSessionRecord
from tests.factories.users import PASSWORD
from tests.web.admin_helpers import (
    audit_rows,
    log_in_admin,
    new_user_form,
    second_client,
    user_id,
)
from tests.web.helpers import HX, hidden_csrf, log_in, unique

NEW_PASSWORD = "a brand new passphrase"


def page_text(client: TestClient) -> str:
    return client.get("/admin/users").text


def _create(client: TestClient, csrf: str, username: str, **fields: str) -> None:
    response = client.post("/admin/users", data=new_user_form(csrf, username=username, **fields))
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("/admin/users")


CHOSEN_PASSWORD = "chosen by the user 77"


def _logged_in_as(app: FastAPI, username: str, password: str = "a long enough password"):  # type: ignore[no-untyped-def]
    """A user the admin created: the admin's initial password only opens the change-password
    page (issue 13); the user chooses CHOSEN_PASSWORD there and logs in with it."""
    other = second_client(app)
    landed = log_in(other, username, password)
    assert landed.status_code == 303
    if landed.headers["location"].endswith("/account/password"):
        assert other.get("/patients").headers["location"].endswith("/account/password")
        data = {
            "csrf_token": hidden_csrf(other.get("/account/password").text),
            "current_password": password,
            "password": CHOSEN_PASSWORD,
            "password_again": CHOSEN_PASSWORD,
        }
        assert other.post("/account/password", data=data).status_code == 303
        assert log_in(other, username, CHOSEN_PASSWORD).status_code == 303
    return other


class TestUserList:
    def test_lists_every_user_with_role_clinic_state_and_last_login(
        self, client: TestClient
    ) -> None:
        log_in_admin(client)
        page = client.get("/admin/users")
        assert page.status_code == 200
        row = re.search(r'<tr id="user-\d+">\s*<td>paula.prescriber</td>.*?</tr>', page.text, re.S)
        assert row, "paula.prescriber is not listed"
        assert 'value="prescriber" selected' in row.group(0)
        assert "Default clinic" in row.group(0)
        assert "<td>yes</td>" in row.group(0)
        # ada.admin just logged in, so her last login is a timestamp, not "never".
        ada = re.search(r"<td>ada.admin</td>.*?</tr>", page.text, re.S)
        assert ada
        # Times are the clinic's (TITRATE_CLINIC_TIMEZONE, Europe/Berlin in tests).
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T", ada.group(0))

    def test_admins_land_on_the_user_list_and_see_admin_links_instead_of_patients(
        self, client: TestClient
    ) -> None:
        log_in_admin(client)
        nav = re.search(r'<nav aria-label="Main">.*?</nav>', client.get("/admin/users").text, re.S)
        assert nav
        assert "/admin/tokens" in nav.group(0)
        assert "/admin/clinics" in nav.group(0)
        assert "/patients" not in nav.group(0)
        assert '<a class="brand" href="http://testserver/admin/users">' in page_text(client)

    def test_clinicians_see_no_admin_links(self, client: TestClient) -> None:
        log_in(client, "paula.prescriber")
        assert "/admin/" not in client.get("/patients").text


class TestCreateUser:
    def test_a_created_user_can_log_in_and_the_creation_is_audited_with_the_admin(
        self, client: TestClient, app: FastAPI, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        username = unique("new.user.")
        _create(client, csrf, username, role="pharmacist")
        assert f"<td>{username}</td>" in client.get("/admin/users").text
        other = _logged_in_as(app, username)
        assert f"{username} (pharmacist)" in other.get("/patients").text
        (event,) = audit_rows(db, "user.create", user_id(db, username))
        assert (event.actor_name, event.actor_role) == ("ada.admin", "admin")
        assert event.detail == {"role": "pharmacist"}
        stored = db.scalars(select(UserRecord).where(UserRecord.username == username)).one()
        assert stored.password_hash.startswith("$argon2id$")

    def test_bad_input_rerenders_the_form_with_a_message_per_field_and_422(
        self, client: TestClient
    ) -> None:
        csrf = log_in_admin(client)
        data = new_user_form(csrf, username="x!", password="short", role="", clinic_id="")
        response = client.post("/admin/users", data=data)
        assert response.status_code == 422
        assert "<html" in response.text
        for field in ("username", "password", "role", "clinic_id"):
            assert f'id="e-{field}"' in response.text, field
        assert "At least 12 characters." in response.text
        assert 'value="short"' not in response.text  # a password is never sent back

    def test_an_unknown_role_or_clinic_is_refused(self, client: TestClient) -> None:
        csrf = log_in_admin(client)
        data = new_user_form(csrf, username=unique("u."), role="superuser", clinic_id="999999")
        response = client.post("/admin/users", data=data)
        assert response.status_code == 422
        assert "Role must be one of" in response.text
        assert "Choose one of the clinics." in response.text

    def test_htmx_gets_only_the_form_back_and_values_stay(self, client: TestClient) -> None:
        csrf = log_in_admin(client)
        data = new_user_form(csrf, username="kept.name", password="short")
        response = client.post("/admin/users", data=data, headers=HX)
        assert response.status_code == 422
        assert "<html" not in response.text
        assert response.text.lstrip().startswith('<form id="user-form"')
        assert 'value="kept.name"' in response.text

    def test_a_taken_username_is_refused_whatever_its_case(self, client: TestClient) -> None:
        csrf = log_in_admin(client)
        response = client.post(
            "/admin/users", data=new_user_form(csrf, username="Paula.Prescriber")
        )
        assert response.status_code == 422
        assert "That username is taken." in response.text

    def test_a_password_longer_than_the_login_form_takes_is_refused(
        self, client: TestClient
    ) -> None:
        csrf = log_in_admin(client)
        data = new_user_form(csrf, username=unique("u."), password="x" * 257)
        response = client.post("/admin/users", data=data)
        assert response.status_code == 422
        assert "At most 256 characters." in response.text


class TestDisableAndEnable:
    def test_disabling_ends_the_users_session_at_the_next_request_and_is_audited(
        self, client: TestClient, app: FastAPI, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        username = unique("victim.")
        _create(client, csrf, username)
        other = _logged_in_as(app, username)
        assert other.get("/patients").status_code == 200
        target = user_id(db, username)

        response = client.post(f"/admin/users/{target}/disable", data={"csrf_token": csrf})
        assert response.status_code == 303

        refused = other.get("/patients")
        assert refused.status_code == 303
        assert refused.headers["location"].endswith("/login")
        sessions = db.scalars(select(UserSessionRecord).where(UserSessionRecord.user_id == target))
        assert all(s.ended_at is not None for s in sessions)
        assert log_in(second_client(app), username, CHOSEN_PASSWORD).status_code == 401
        (event,) = audit_rows(db, "user.disable", target)
        assert event.actor_name == "ada.admin"
        assert event.detail == {"sessions_ended": 1}
        assert "<strong>no, disabled</strong>" in client.get("/admin/users").text

    def test_enabling_lets_the_user_log_in_again(
        self, client: TestClient, app: FastAPI, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        username = unique("again.")
        _create(client, csrf, username)
        target = user_id(db, username)
        client.post(f"/admin/users/{target}/disable", data={"csrf_token": csrf})
        assert (
            client.post(f"/admin/users/{target}/enable", data={"csrf_token": csrf}).status_code
            == 303
        )
        _logged_in_as(app, username)
        assert len(audit_rows(db, "user.enable", target)) == 1

    def test_an_admin_cannot_disable_themselves(self, client: TestClient, db: Session) -> None:
        csrf = log_in_admin(client)
        me = user_id(db, "ada.admin")
        response = client.post(f"/admin/users/{me}/disable", data={"csrf_token": csrf})
        assert response.status_code == 403
        assert client.get("/admin/users").status_code == 200
        assert audit_rows(db, "user.disable", me) == []

    def test_an_unknown_user_is_404(self, client: TestClient) -> None:
        csrf = log_in_admin(client)
        assert (
            client.post("/admin/users/999999/disable", data={"csrf_token": csrf}).status_code == 404
        )


RESET_LINK = re.compile(r'value="(http://testserver/account/reset/[A-Za-z0-9_-]{40,})"')


class TestResetPassword:
    def test_reset_gives_a_one_time_link_ends_sessions_and_the_old_password(
        self, client: TestClient, app: FastAPI, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        username = unique("forgetful.")
        _create(client, csrf, username)
        other = _logged_in_as(app, username)
        target = user_id(db, username)
        form = client.get(f"/admin/users/{target}/password")
        assert form.status_code == 200
        assert username in form.text
        assert 'type="password"' not in form.text  # the admin types no password

        response = client.post(f"/admin/users/{target}/password", data={"csrf_token": csrf})
        assert response.status_code == 201
        match = RESET_LINK.search(response.text)
        assert match is not None
        link = match.group(1).removeprefix("http://testserver")

        assert other.get("/patients").headers.get("location", "").endswith("/login")
        assert log_in(second_client(app), username, "a long enough password").status_code == 401
        (event,) = audit_rows(db, "user.password_reset", target)
        assert event.detail is not None
        assert event.detail["sessions_ended"] == 1
        assert link.rsplit("/", 1)[1] not in str(event.detail)

        user = second_client(app)
        page = user.get(link)
        assert page.status_code == 200
        assert username in page.text
        data = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        assert user.post(link, data=data).status_code == 303
        assert log_in(second_client(app), username, NEW_PASSWORD).status_code == 303
        (chosen,) = audit_rows(db, "user.password_set", target)
        assert chosen.actor_name == username
        # Once only.
        assert user.get(link).status_code == 404
        again = {"password": "yet another passphrase", "password_again": "yet another passphrase"}
        assert user.post(link, data=again).status_code == 404
        assert log_in(second_client(app), username, NEW_PASSWORD).status_code == 303

    @pytest.mark.parametrize(
        ("password", "again", "message"),
        [
            ("short", "short", "At least 12 characters."),
            (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords differ."),
            ("password1234", "password1234", "most common passwords"),
        ],
    )
    def test_a_bad_new_password_on_the_link_page_rerenders_and_keeps_the_link(
        self, client: TestClient, app: FastAPI, db: Session, password: str, again: str, message: str
    ) -> None:
        csrf = log_in_admin(client)
        target = user_id(db, "vera.viewer")
        response = client.post(f"/admin/users/{target}/password", data={"csrf_token": csrf})
        match = RESET_LINK.search(response.text)
        assert match is not None
        link = match.group(1).removeprefix("http://testserver")
        user = second_client(app)
        refused = user.post(link, data={"password": password, "password_again": again})
        assert refused.status_code == 422
        assert message in refused.text
        assert user.get(link).status_code == 200  # still open
        assert log_in(second_client(app), "vera.viewer", PASSWORD).status_code == 401


class TestChangeRole:
    def test_a_new_role_applies_to_the_next_request_and_is_audited(
        self, client: TestClient, app: FastAPI, db: Session
    ) -> None:
        csrf = log_in_admin(client)
        username = unique("promoted.")
        _create(client, csrf, username, role="viewer")
        other = _logged_in_as(app, username)
        target = user_id(db, username)
        response = client.post(
            f"/admin/users/{target}/role", data={"csrf_token": csrf, "role": "prescriber"}
        )
        assert response.status_code == 303
        assert f"{username} (prescriber)" in other.get("/patients").text
        (event,) = audit_rows(db, "user.role_change", target)
        assert event.detail == {"from": "viewer", "to": "prescriber"}

    def test_an_unknown_role_is_422_with_a_message(self, client: TestClient, db: Session) -> None:
        csrf = log_in_admin(client)
        target = user_id(db, "vera.viewer")
        response = client.post(
            f"/admin/users/{target}/role", data={"csrf_token": csrf, "role": "root"}
        )
        assert response.status_code == 422
        assert "Role must be one of" in response.text
        assert audit_rows(db, "user.role_change", target) == []

    def test_an_admin_cannot_change_their_own_role(self, client: TestClient, db: Session) -> None:
        csrf = log_in_admin(client)
        me = user_id(db, "ada.admin")
        response = client.post(
            f"/admin/users/{me}/role", data={"csrf_token": csrf, "role": "viewer"}
        )
        assert response.status_code == 403
