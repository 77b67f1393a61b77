from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import UserRecord, UserSessionRecord
from app.services import auth, session_cache
from app.services.auth import sha256_hex
from tests.factories.patients import patient_payload
from tests.factories.routes import iter_routes
from tests.factories.sessions import log_in
from tests.factories.users import PASSWORD

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _unsafe_web_paths(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for method, path, _ in iter_routes(app)
        # The API and the CDS Hooks services take no cookies (a bearer token, the EHR's
        # signed JWT), so there is no session for a forged request to ride on.
        # /login proves its origin with a double-submit cookie (tested below); a reset link's
        # page with the link's own secret (test_a_reset_links_page_proves_origin_by_its_secret).
        if method in UNSAFE
        and not path.startswith(("/api/", "/cds-services"))
        and path not in ("/login", "/account/reset/{secret}")
    )


def test_there_are_state_changing_pages_to_check(app: FastAPI) -> None:
    assert ("POST", "/logout") in _unsafe_web_paths(app)
    assert ("POST", "/patients") in _unsafe_web_paths(app)


@pytest.mark.parametrize(
    ("label", "headers", "token"),
    [
        ("missing token", {}, None),
        ("wrong token", {}, "forged-token"),
        ("cross-site fetch", {"Sec-Fetch-Site": "cross-site"}, "GOOD"),
        ("foreign origin", {"Origin": "https://evil.example"}, "GOOD"),
    ],
)
def test_every_state_changing_page_refuses_requests_without_proof_of_origin(
    client: TestClient, app: FastAPI, label: str, headers: dict[str, str], token: str | None
) -> None:
    good = log_in(client)
    for method, path in _unsafe_web_paths(app):
        sent = {**headers}
        if token is not None:
            sent["X-CSRF-Token"] = good if token == "GOOD" else token
        response = client.request(method, path, headers=sent, data={"reason": "x"})
        assert response.status_code == 403, f"{label}: {method} {path} gave {response.status_code}"
    # The session survived all of that and still works with the right token.
    assert client.get("/patients").status_code == 200


def test_login_form_without_its_csrf_cookie_is_refused(client: TestClient) -> None:
    response = client.post(
        "/login", data={"username": "paula.prescriber", "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 403


def test_login_issues_a_new_session_id_so_a_planted_one_is_useless(
    client: TestClient, db: Session
) -> None:
    planted = "attacker-chosen-session-id"
    client.cookies.set("titrate_sid", planted, domain="testserver.local", path="/")
    log_in(client)
    issued = [c.value for c in client.cookies.jar if c.name == "titrate_sid" and c.value != planted]
    assert issued, "login issued no session cookie of its own"
    issued = issued[0]
    assert issued
    assert issued != planted
    assert (
        db.scalar(
            select(UserSessionRecord).where(UserSessionRecord.id_sha256 == sha256_hex(planted))
        )
        is None
    )


def test_session_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"username": "paula.prescriber", "password": PASSWORD, "csrf_token": token}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests; https adds Secure and the __Host- prefix


def test_logout_ends_the_session_so_replaying_the_cookie_fails(
    client: TestClient, db: Session
) -> None:
    csrf = log_in(client)
    old_cookie = client.cookies.get("titrate_sid")
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 303
    client.cookies.set("titrate_sid", old_cookie)
    response = client.get("/patients")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/login")
    stored = db.scalar(
        select(UserSessionRecord).where(UserSessionRecord.id_sha256 == sha256_hex(old_cookie))
    )
    assert stored is not None
    assert stored.ended_at is not None


def test_session_store_keeps_only_a_hash_of_the_id(client: TestClient, db: Session) -> None:
    log_in(client)
    raw = client.cookies.get("titrate_sid")
    assert db.scalar(select(UserSessionRecord.id).where(UserSessionRecord.id_sha256 == raw)) is None
    assert (
        db.scalar(
            select(UserSessionRecord.id).where(UserSessionRecord.id_sha256 == sha256_hex(raw))
        )
        is not None
    )


def test_an_idle_session_expires(client: TestClient, db: Session) -> None:
    from datetime import timedelta

    log_in(client)
    stored = db.scalar(
        select(UserSessionRecord).where(
            UserSessionRecord.id_sha256 == sha256_hex(client.cookies.get("titrate_sid"))
        )
    )
    stored.last_seen_at -= timedelta(minutes=16)
    db.commit()
    # The edit stands for sixteen minutes passing; this instance's verified-session cache
    # (services/session_cache.py) would have let its entry go after 5 of those seconds.
    session_cache.VERIFIED_SESSIONS.clear()
    assert client.get("/patients").status_code == 303
    db.expire_all()
    stored = db.scalar(select(UserSessionRecord).where(UserSessionRecord.id == stored.id))
    assert stored is not None
    assert stored.ended_at is not None


def test_passwords_are_argon2id_above_the_owasp_floor(
    db: Session, production_password_hasher: PasswordHasher
) -> None:
    auth.create_user(db, username="olga.owasp", password=PASSWORD, role="viewer")
    stored = db.scalar(select(UserRecord.password_hash).where(UserRecord.username == "olga.owasp"))
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", stored or "")
    assert match, stored
    memory, time_cost, parallelism = map(int, match.groups())
    assert memory >= 19456
    assert time_cost >= 2
    assert parallelism >= 1


def test_api_tokens_are_stored_only_as_sha256(client: TestClient, db: Session) -> None:
    from app.db.models import ApiTokenRecord
    from tests.factories.users import make_token

    token = make_token(db, "patients:write", "patients:read")
    stored = db.scalars(select(ApiTokenRecord.token_sha256)).all()
    assert token not in stored
    assert sha256_hex(token) in stored
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post("/api/v1/patients", json=patient_payload(), headers=headers).status_code == 201
    )


def test_a_successful_login_is_audited_as_the_user(client: TestClient, db: Session) -> None:
    from app.db.models import AuditEventRecord

    log_in(client, "phil.pharmacist")
    event = db.scalars(
        select(AuditEventRecord)
        .where(AuditEventRecord.action == "login.success")
        .order_by(AuditEventRecord.id.desc())
    ).first()
    assert event is not None
    assert (event.actor_kind, event.actor_name, event.actor_role) == (
        "user",
        "phil.pharmacist",
        "pharmacist",
    )


def test_a_failed_login_is_audited_without_the_password(client: TestClient, db: Session) -> None:
    from app.db.models import AuditEventRecord

    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    wrong = "not-the-password-4711"
    response = client.post(
        "/login", data={"username": "vera.viewer", "password": wrong, "csrf_token": token}
    )
    assert response.status_code == 401
    event = db.scalars(
        select(AuditEventRecord)
        .where(AuditEventRecord.action == "login.failure")
        .order_by(AuditEventRecord.id.desc())
    ).first()
    assert event is not None
    assert (event.actor_kind, event.outcome, event.detail) == (
        "anonymous",
        "failure",
        {"user": "vera.viewer"},
    )
    assert wrong not in str(event.detail)


@pytest.mark.parametrize(
    "headers", [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}]
)
def test_a_reset_links_page_proves_origin_by_its_secret(
    client: TestClient, headers: dict[str, str]
) -> None:
    """No session and no cookie: the 256-bit secret in the address is what a forged form
    cannot know, so a guess is a 404 that changes nothing, and a foreign origin is a 403."""
    data = {"password": "a long enough phrase 1", "password_again": "a long enough phrase 1"}
    assert client.post("/account/reset/guessed", data=data).status_code == 404
    assert client.post("/account/reset/guessed", data=data, headers=headers).status_code == 403
