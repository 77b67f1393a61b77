"""Issue 13, "Admins across clinics" and "`aaaaaaaaaaaa` and `password1234` are accepted":
an admin administers their own clinic only; clinics are a system admin's; passwords are
checked against a shipped list of common passwords (OWASP ASVS 5.0 V6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PasswordResetLinkRecord
from app.db.repositories import accounts as account_repo
from app.db.repositories import users as user_repo
from app.services import admin, auth, password_reset
from app.services.context import SYSTEM, Actor, utc_now
from app.services.errors import InvalidInput, NotFound
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


def test_no_forced_change_after_reset_now_the_admin_never_knows_a_usable_password(
    client: TestClient, db: Session
) -> None:
    """A reset is a one-time link (services/password_reset.py): the old password stops
    working at once, the admin sees no password, and the user chooses one on the link's page
    under the password policy."""
    make_user(db, username="reset.me", role="viewer", clinic_id=default_clinic_id(db))
    db.commit()
    user_id = user_repo.get_user_by_username(db, "reset.me").id  # type: ignore[union-attr]
    assert log_in(client, "reset.me").status_code == 303
    link = admin.reset_password(db, actor=SYSTEM, user_id=user_id)
    assert client.get("/patients").headers["location"].endswith("/login")  # session ended
    assert log_in(client, "reset.me").status_code == 401  # old password gone
    path = f"/account/reset/{link.secret}"
    weak = client.post(path, data={"password": "password1234", "password_again": "password1234"})
    assert weak.status_code == 422
    assert "most common passwords" in weak.text
    chosen = "my own long passphrase 7"
    assert client.post(path, data={"password": chosen, "password_again": chosen}).status_code == 303
    assert client.get(path).status_code == 404  # used
    assert log_in(client, "reset.me", password=chosen).headers["location"].endswith("/worklist")
    assert client.get("/patients").status_code == 200


def test_a_reset_link_expires_and_a_newer_one_replaces_it(client: TestClient, db: Session) -> None:
    make_user(db, username="twice.reset", role="viewer", clinic_id=default_clinic_id(db))
    db.commit()
    user_id = user_repo.get_user_by_username(db, "twice.reset").id  # type: ignore[union-attr]
    first = admin.reset_password(db, actor=SYSTEM, user_id=user_id)
    second = admin.reset_password(db, actor=SYSTEM, user_id=user_id)
    assert client.get(f"/account/reset/{first.secret}").status_code == 404
    assert client.get(f"/account/reset/{second.secret}").status_code == 200
    assert second.expires_at - utc_now() <= password_reset.LINK_LIFETIME
    db.execute(
        update(PasswordResetLinkRecord)
        .where(PasswordResetLinkRecord.user_id == user_id)
        .values(expires_at=utc_now() - timedelta(seconds=1))
    )
    db.commit()
    expired = client.get(f"/account/reset/{second.secret}")
    assert expired.status_code == 404
    assert "Ask your administrator for a new one." in expired.text
    assert client.get("/account/reset/not-a-link").status_code == 404
    assert client.get(f"/account/reset/{'x' * 500}").status_code == 404


def test_a_reset_link_is_never_logged_nor_audited(
    client: TestClient, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    make_user(db, username="quiet.reset", role="viewer", clinic_id=default_clinic_id(db))
    db.commit()
    user_id = user_repo.get_user_by_username(db, "quiet.reset").id  # type: ignore[union-attr]
    link = admin.reset_password(db, actor=SYSTEM, user_id=user_id)
    with caplog.at_level("INFO"):
        client.get(f"/account/reset/{link.secret}")
        # A cross-site post is refused and audited; the row keeps no secret either.
        refused = client.post(
            f"/account/reset/{link.secret}",
            data={"password": "x", "password_again": "x"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
    assert refused.status_code == 403
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("titrate")]
    assert any("/account/reset/…" in line for line in ours)
    assert all(link.secret not in line for line in ours)
    rows = db.scalars(select(AuditEventRecord)).all()
    assert all(link.secret not in f"{row.detail} {row.reason}" for row in rows)


def test_a_user_an_admin_created_chooses_their_own_password_first(
    client: TestClient, db: Session
) -> None:
    admin_a = Actor(kind="user", id=1, name="ada.admin", role="admin", system_admin=True)
    new = admin.NewUser("fresh.start", "the admin typed this 1", "viewer", default_clinic_id(db))
    admin.create_user(db, actor=admin_a, new=new)
    landed = log_in(client, "fresh.start", password="the admin typed this 1")
    assert landed.headers["location"].endswith("/account/password")
    assert client.get("/patients").headers["location"].endswith("/account/password")


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


def test_a_reset_link_is_claimed_once_even_when_two_posts_race(db: Session) -> None:
    """The link is claimed by one conditional UPDATE: of two requests that both saw it open,
    only the first marks it used; the second changes nothing."""
    make_user(db, username="race.reset", role="viewer", clinic_id=default_clinic_id(db))
    db.commit()
    user_id = user_repo.get_user_by_username(db, "race.reset").id  # type: ignore[union-attr]
    link = admin.reset_password(db, actor=SYSTEM, user_id=user_id)
    record = db.scalars(
        select(PasswordResetLinkRecord).where(PasswordResetLinkRecord.user_id == user_id)
    ).one()
    assert account_repo.claim_reset_link(db, record.id, at=utc_now())
    assert not account_repo.claim_reset_link(db, record.id, at=utc_now())
    db.commit()
    with pytest.raises(NotFound):
        password_reset.set_password_by_link(
            db, secret=link.secret, new="too late a phrase 9", new_again="too late a phrase 9",
            actor=SYSTEM,
        )  # fmt: skip
