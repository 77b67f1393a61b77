"""`titrate create-clinic`; `--clinic` on create-user and create-token (API.md §1, additive)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.cli import alembic_config, main, read_new_password
from app.config import get_settings
from app.db.engine import make_engine
from app.db.models import (
    ApiTokenRecord,
    AuditEventRecord,
    ClinicRecord,
    ProtocolVersionRecord,
    UserRecord,
)


@pytest.fixture
def cli_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    command.upgrade(alembic_config(url), "head")
    monkeypatch.setenv("TITRATE_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _clinic(engine: Engine, name: str) -> ClinicRecord | None:
    with Session(engine) as session:
        return session.scalars(select(ClinicRecord).where(ClinicRecord.name == name)).first()


def test_create_clinic_then_a_user_and_a_token_in_it(
    cli_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-clinic", "--name", "Rehab West"]) == 0
    clinic = _clinic(cli_engine, "Rehab West")
    assert clinic is not None

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert (
        main(
            ["create-user", "--username", "rw.nurse", "--role", "viewer", "--clinic", "Rehab West"]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "create-token",
                "--name",
                "rw_pharmacy",
                "--scope",
                "plans:read",
                "--clinic",
                "Rehab West",
            ]
        )
        == 0
    )
    token = capsys.readouterr().out.strip()
    assert token.startswith("tt_")

    with Session(cli_engine) as session:
        user = session.scalars(select(UserRecord).where(UserRecord.username == "rw.nurse")).one()
        api = session.scalars(
            select(ApiTokenRecord).where(ApiTokenRecord.name == "rw_pharmacy")
        ).one()
        events = session.scalars(
            select(AuditEventRecord.action).where(AuditEventRecord.entity_id == str(clinic.id))
        ).all()
    assert user.clinic_id == clinic.id
    assert api.clinic_id == clinic.id
    assert "clinic.create" in events


def test_without_clinic_the_oldest_clinic_is_used(
    cli_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-clinic", "--name", "Newer clinic"]) == 0
    assert main(["create-token", "--name", "default_client", "--scope", "plans:read"]) == 0
    with Session(cli_engine) as session:
        api = session.scalars(
            select(ApiTokenRecord).where(ApiTokenRecord.name == "default_client")
        ).one()
        oldest = session.scalars(select(ClinicRecord).order_by(ClinicRecord.id)).first()
    assert oldest is not None
    assert api.clinic_id == oldest.id
    assert oldest.name == "Default clinic"


def test_an_unknown_or_duplicate_clinic_is_a_clear_error(
    cli_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["create-token", "--name", "lost", "--scope", "plans:read", "--clinic", "Nowhere"])
        == 2
    )
    assert "no clinic named 'Nowhere'" in capsys.readouterr().err
    assert main(["create-clinic", "--name", "default clinic"]) == 2
    assert "A clinic of that name exists." in capsys.readouterr().err
    with Session(cli_engine) as session:
        assert session.scalars(select(ApiTokenRecord)).first() is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_at_a_terminal_the_rules_come_first_and_the_password_is_asked_twice_unechoed() -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:  # stands in for getpass.getpass, which reads /dev/tty
        asked.append(prompt)
        return "a long enough password"

    stderr = io.StringIO()
    assert read_new_password(_Terminal(), stderr, ask=ask) == "a long enough password"
    assert asked == ["Password: ", "Password again: "]
    assert "at least 12 characters" in stderr.getvalue()


def test_two_different_entries_are_refused() -> None:
    answers = iter(["a long enough password", "a long enough passwort"])
    stderr = io.StringIO()
    assert read_new_password(_Terminal(), stderr, ask=lambda _: next(answers)) is None
    assert "differ" in stderr.getvalue()


def test_a_pipe_is_read_without_prompts_and_names_are_stored(
    cli_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    argv = ["create-user", "--username", "ana.meyer", "--role", "prescriber",
            "--display-name", "Dr Ana Meyer", "--title", "Consultant neurologist"]  # fmt: skip
    assert main(argv) == 0
    assert "Password" not in capsys.readouterr().err
    with Session(cli_engine) as session:
        user = session.scalars(select(UserRecord).where(UserRecord.username == "ana.meyer")).one()
    assert (user.display_name, user.professional_title) == (
        "Dr Ana Meyer",
        "Consultant neurologist",
    )


def test_the_login_page_of_an_empty_database_says_how_to_create_the_first_user(
    cli_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    url = str(cli_engine.url)
    settings = Settings(environment="test", database_url=url, secret_key="s" * 48)
    with TestClient(create_app(settings)) as client:
        assert "titrate create-user" in client.get("/login").text
        monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
        assert main(["create-user", "--username", "first.admin", "--role", "admin"]) == 0
        assert "titrate create-user" not in client.get("/login").text


def test_set_name_names_an_existing_user_and_audits_the_change(
    cli_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["create-user", "--username", "drmeyer", "--role", "prescriber"]) == 0
    argv = ["set-name", "--username", "drmeyer", "--display-name", "Dr Ana Meyer",
            "--title", "Consultant neurologist"]  # fmt: skip
    assert main(argv) == 0
    assert main(["set-name", "--username", "nobody.here", "--display-name", "X"]) == 2
    assert main(["set-name", "--username", "drmeyer", "--display-name", "x" * 101]) == 2
    with Session(cli_engine) as session:
        user = session.scalars(select(UserRecord).where(UserRecord.username == "drmeyer")).one()
        event = session.scalars(
            select(AuditEventRecord).where(AuditEventRecord.action == "user.rename")
        ).one()
    assert (user.display_name, user.professional_title) == (
        "Dr Ana Meyer",
        "Consultant neurologist",
    )
    assert event.detail == {
        "display_name": {"from": None, "to": "Dr Ana Meyer"},
        "professional_title": {"from": None, "to": "Consultant neurologist"},
    }


def test_create_token_grants_the_protocol_scopes(cli_engine: Engine) -> None:
    """Issue 17: drafting and approving protocols are scopes a token can be made with."""
    assert main(["create-token", "--name", "pharmacy_system", "--scope", "protocols:write",
                 "--scope", "protocols:approve"]) == 0  # fmt: skip
    with Session(cli_engine) as session:
        api = session.scalars(
            select(ApiTokenRecord).where(ApiTokenRecord.name == "pharmacy_system")
        ).one()
        seeded = session.scalars(select(ProtocolVersionRecord.protocol_id)).all()
    assert sorted(api.scopes) == ["protocols:approve", "protocols:write"]
    # Ten protocols seeded at version 1; formulary_0001 added formulations and findings v2.
    assert len(seeded) == 12
    assert len(set(seeded)) == 10


def test_the_first_admin_can_be_a_system_admin_and_only_an_admin(
    cli_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: clinics belong to an explicit system admin; a fresh installation gets its
    first one from the command line (the migration only marks an existing admin)."""
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    args = ["create-user", "--username", "root.admin", "--role", "admin", "--system-admin"]
    assert main(args) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["create-user", "--username", "plain.admin", "--role", "admin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    refused = ["create-user", "--username", "sys.viewer", "--role", "viewer", "--system-admin"]
    assert main(refused) == 2
    with Session(cli_engine) as session:
        users = {u.username: u for u in session.scalars(select(UserRecord))}
        assert users["root.admin"].is_system_admin
        assert not users["plain.admin"].is_system_admin
        assert not users["plain.admin"].must_change_password  # the operator's own account
        assert "sys.viewer" not in users
        created = session.scalars(
            select(AuditEventRecord).where(
                AuditEventRecord.action == "user.create",
                AuditEventRecord.entity_id == str(users["root.admin"].id),
            )
        ).one()
        assert created.detail == {"role": "admin", "system_admin": True}
        assert created.clinic_id == users["root.admin"].clinic_id


def test_reset_password_prints_a_one_time_link_and_ends_the_old_password(
    cli_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["create-user", "--username", "locked.out", "--role", "admin"]) == 0
    with Session(cli_engine) as session:
        before = session.scalars(select(UserRecord.password_hash)).one()
    capsys.readouterr()
    assert main(["reset-password", "--username", "locked.out"]) == 0
    out = capsys.readouterr()
    link = out.out.strip()
    assert link.startswith(get_settings().public_url.rstrip("/") + "/account/reset/")
    assert "not shown again" in out.err
    with Session(cli_engine) as session:
        assert session.scalars(select(UserRecord.password_hash)).one() != before
        row = session.scalars(
            select(AuditEventRecord).where(AuditEventRecord.action == "user.password_reset")
        ).one()
        assert link.rsplit("/", 1)[1] not in str(row.detail)
    assert main(["reset-password", "--username", "nobody.here"]) == 2
