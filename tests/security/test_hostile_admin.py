"""Hostile text in the administration pages and the audit trail (RELIABILITY.md S10).

Covered here: usernames (refused: 3–64 ASCII letters, digits, '.' or '_'; a look-alike in
Cyrillic letters too), API token names and clinic names (stored, shown as text on every
admin page, in the clinic menus and in the user and token lists), usernames typed at a
failed login (shown back on the login page and stored in the audit detail), and the audit
filters (shown back in the filter form and stored in the detail of the review's own audit
row). The clinical free text and its audit rows: `test_hostile_input.py`.

List pages (users, tokens, clinics) are checked by what a record adds: a hostile record
must add exactly the elements a plain one adds. The audit table is checked row by row:
every event row has the same elements, whatever its texts.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import ApiTokenRecord, ClinicRecord, UserRecord
from tests.factories.sessions import csrf_token_of, log_in
from tests.security.hostile_corpus import (
    PAYLOADS,
    added_alike,
    live_markup,
    long_text,
    markup_problems,
    missing_texts,
    packed,
    rows_alike,
)
from tests.web.admin_helpers import second_client
from tests.web.helpers import HX

NAME_PACKS = [*packed(PAYLOADS.values(), limit=100), long_text(100)]
LOGIN_PACKS = packed(PAYLOADS.values(), limit=64)  # the login form takes 64 characters
LOOK_ALIKE = "\u0440\u0430ula.prescriber"  # Cyrillic р and а: reads as paula.prescriber


@pytest.fixture
def csrf(client: TestClient) -> str:
    """`client` is ada.admin's browser."""
    log_in(client, "ada.admin")
    return csrf_token_of(client.get("/admin/users").text)


def _count(db: Session, model: type[Any]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _as_shown(name: str) -> str:
    """A clinic name as stored: runs of whitespace (line breaks too) become one space."""
    return " ".join(name.split())


def _audit_rows_alike(page: str) -> list[str]:
    return rows_alike(page, '<tr id="audit-event-')


def _page(response: Any, status: int = 200) -> str:
    assert response.status_code == status, (str(response.url), response.text[:300])
    return str(response.text)


class TestUsernames:
    def test_every_payload_and_a_look_alike_is_refused_at_the_field(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        users = _count(db, UserRecord)
        form = {"csrf_token": csrf, "password": "a long enough password", "role": "viewer"}
        form["clinic_id"] = "1"
        plain = _page(client.post("/admin/users", data={**form, "username": "Plain name!"}), 422)
        problems = []
        for name, username in [*PAYLOADS.items(), ("cyrillic_username", LOOK_ALIKE)]:
            for headers in ({}, HX):
                response = client.post(
                    "/admin/users", data={**form, "username": username}, headers=headers
                )
                if response.status_code != 422 or "3–64 letters (A–Z)" not in response.text:
                    problems.append(f"{name}: {response.status_code}, no message at the field")
                elif not headers:
                    found = markup_problems(response.text, plain_html=plain, payloads=[username])
                    found += missing_texts(response.text, [username])
                    problems += [f"{name}: {p}" for p in found]
        assert problems == []
        assert _count(db, UserRecord) == users


class TestTokenAndClinicNames:
    def test_hostile_token_names_are_refused_and_shown_back_as_text(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        """Token names follow the username rules since issue 13 (a free-text name passed for a
        person); the refused form shows what was typed as text. Tokens named before the rule
        are shown as text on every page by the hostile-case tests (tests/factories/users)."""
        tokens = _count(db, ApiTokenRecord)
        problems = []
        for name in [*NAME_PACKS, long_text(101)]:
            refused = client.post(
                "/admin/tokens",
                data={"csrf_token": csrf, "name": name, "clinic_id": "1",
                      "expires_in_days": "30", "scope": ["plans:read"]},
            )  # fmt: skip
            assert refused.status_code == 422
            assert "A token name of 3–64 letters (A–Z), digits" in refused.text
            problems += live_markup(refused.text)
        assert problems == []
        assert _count(db, ApiTokenRecord) == tokens

    def test_clinic_names_are_text_in_every_list_and_menu(
        self, client: TestClient, db: Session, csrf: str
    ) -> None:
        pages = ("/admin/clinics", "/admin/users/new", "/admin/tokens/new")
        before = {path: _page(client.get(path)) for path in pages}
        assert (
            client.post(
                "/admin/clinics", data={"csrf_token": csrf, "name": "Plain clinic"}
            ).status_code
            == 303
        )
        plain = {path: _page(client.get(path)) for path in pages}
        for name in NAME_PACKS:
            response = client.post("/admin/clinics", data={"csrf_token": csrf, "name": name})
            assert response.status_code == 303, (name, response.text[:300])
        shown = [_as_shown(name) for name in NAME_PACKS]
        assert set(shown) <= set(db.scalars(select(ClinicRecord.name)))
        problems = []
        for path in pages:
            hostile = _page(client.get(path))
            found = live_markup(hostile) + missing_texts(hostile, shown)
            found += added_alike(before[path], plain[path], hostile, times=len(NAME_PACKS))
            problems += [f"{path}: {p}" for p in found]
        problems += self._clinic_names_in_the_user_and_token_lists(client, db, csrf, shown)
        assert problems == []
        clinics = _count(db, ClinicRecord)
        refused = client.post("/admin/clinics", data={"csrf_token": csrf, "name": long_text(101)})
        assert refused.status_code == 422
        assert "A clinic name of 1–100 characters." in refused.text
        assert _count(db, ClinicRecord) == clinics

    def _clinic_names_in_the_user_and_token_lists(
        self, client: TestClient, db: Session, csrf: str, shown: list[str]
    ) -> list[str]:
        clinic = {
            name: db.scalars(select(ClinicRecord.id).where(ClinicRecord.name == name)).one()
            for name in ["Plain clinic", *shown]
        }
        paths = ("/admin/tokens", "/admin/users")
        first = {"csrf_token": csrf, "name": "first_token", "clinic_id": "1",
                 "expires_in_days": "30", "scope": ["plans:read"]}  # fmt: skip
        assert client.post("/admin/tokens", data=first).status_code == 201  # the table exists
        lists = {"before": {path: _page(client.get(path)) for path in paths}}
        for label, names in (("plain", ["Plain clinic"]), ("hostile", shown)):
            for n, name in enumerate(names):
                token = {"csrf_token": csrf, "name": f"{label}_{n}", "clinic_id": str(clinic[name]),
                         "expires_in_days": "30", "scope": ["plans:read"]}  # fmt: skip
                assert client.post("/admin/tokens", data=token).status_code == 201
            # One user (argon2 is slow on purpose): the user list shows the clinic the same way.
            user = {"csrf_token": csrf, "username": f"{label}.user", "role": "viewer",
                    "password": "a long enough password",
                    "clinic_id": str(clinic[names[0]])}  # fmt: skip
            assert client.post("/admin/users", data=user).status_code == 303
            lists[label] = {path: _page(client.get(path)) for path in paths}
        problems = []
        for path, times, expected in (
            ("/admin/tokens", len(shown), shown),
            ("/admin/users", 1, shown[:1]),
        ):
            hostile = lists["hostile"][path]
            found = live_markup(hostile) + missing_texts(hostile, expected)
            found += added_alike(lists["before"][path], lists["plain"][path], hostile, times=times)
            problems += [f"{path}: {p}" for p in found]
        user_id = db.scalars(
            select(UserRecord.id).where(UserRecord.username == "hostile.user")
        ).one()
        password_page = _page(client.get(f"/admin/users/{user_id}/password"))
        problems += [f"password page: {p}" for p in live_markup(password_page)]
        return problems


class TestLoginAndAuditFilters:
    def test_a_username_typed_at_login_is_text_on_the_login_page_and_in_the_audit_trail(
        self, app: FastAPI, client: TestClient, csrf: str
    ) -> None:
        browser = second_client(app)

        def fail(username: str) -> str:
            form = _page(browser.get("/login"))
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token
            data = {"username": username, "password": "not the password", "csrf_token": token[1]}
            return _page(browser.post("/login", data=data), 401)

        plain = fail("plain.nobody")
        problems = []
        for username in LOGIN_PACKS:
            page = fail(username)
            problems += markup_problems(page, plain_html=plain, payloads=[username])
            problems += missing_texts(page, [username])
        audit = _page(client.get("/audit", params={"category": "failed_logins"}))
        problems += live_markup(audit) + _audit_rows_alike(audit)
        # The detail column shows "user: …" with the text as typed.
        problems += missing_texts(audit, list(LOGIN_PACKS))
        assert problems == []

    def test_audit_filters_are_shown_back_as_text_and_so_is_the_review_row_that_stores_them(
        self, client: TestClient, csrf: str
    ) -> None:
        problems = []
        for headers in ({}, HX):
            plain = _page(client.get("/audit", params={"user": "Plain nobody"}, headers=headers))
            for name in NAME_PACKS:
                page = _page(client.get("/audit", params={"user": name}, headers=headers))
                problems += markup_problems(page, plain_html=plain, payloads=[name])
                if not headers:  # the fragment holds the results, the page the filter form
                    problems += missing_texts(page, [name])
        # Each review is audited with its filters; ada's own rows show them in the detail.
        reviews = _page(client.get("/audit", params={"user": "ada.admin"}))
        problems += live_markup(reviews) + _audit_rows_alike(reviews)
        problems += missing_texts(reviews, list(NAME_PACKS))
        assert problems == []


def _in_json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]
