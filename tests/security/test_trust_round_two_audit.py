"""Issue 13, "`titrate audit verify` passes after an edit-and-rechain", "refusals not
audited" and "audit CSV formula guard checks only a cell's start"."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.audit_chain import (
    GENESIS_HASH,
    AuditKey,
    AuditKeys,
    chain_hash,
    derive_key,
    head_seal,
    install_keys,
    keyed_chain_hash,
)
from app.db.engine import make_engine
from app.db.models import AuditEventRecord
from app.db.repositories.audit import iter_chain_rows
from app.main import create_app
from app.web.routes.audit import report_csv
from tests.conftest import TEST_SECRET
from tests.integration.audit.conftest import drop_scratch, populate, scratch_url
from tests.integration.audit.test_verify_command import _lift_trigger, _restore_trigger
from tests.web.helpers import log_in


@pytest.fixture
def trail(database_url: str, tmp_path: Path) -> Iterator[str]:
    url, schema = scratch_url(database_url, tmp_path)
    try:
        populate(url, patients=1)
        yield url
    finally:
        drop_scratch(database_url, schema)


def _verify(url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TITRATE_AUDIT")},
        "TITRATE_DATABASE_URL": url,
        "TITRATE_ENVIRONMENT": "test",
        "TITRATE_SECRET_KEY": TEST_SECRET,
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _rechain(engine: Engine, *, key: AuditKey | None, edit_id: int) -> None:
    """What the assessment did: edit a row, then recompute every hash after it and the head,
    with plain SHA-256 (no key) or with a key of the attacker's choosing."""
    with engine.begin() as connection:
        _lift_trigger(connection)
        connection.execute(
            text("UPDATE audit_event SET reason = 'edited' WHERE id = :id"), {"id": edit_id}
        )
        prev, last_id = GENESIS_HASH, 0
        with Session(bind=connection) as session:
            rows = list(iter_chain_rows(session))
        for row in rows:
            fields = dict(row)
            fields["key_id"] = key.key_id if key else None
            fields["prev_hash"] = prev
            if key is None:
                new_hash = chain_hash(prev, fields)
            else:
                new_hash = keyed_chain_hash(key, prev, fields)
            connection.execute(
                text(
                    "UPDATE audit_event SET key_id = :k, prev_hash = :p, row_hash = :h "
                    "WHERE id = :id"
                ),
                {"k": fields["key_id"], "p": prev, "h": new_hash, "id": row["id"]},
            )
            prev, last_id = new_hash, int(row["id"])
        unkeyed = last_id if key is None else 0
        seal = head_seal(key, last_id, prev, unkeyed) if key else None
        connection.execute(
            text("UPDATE audit_chain_head SET last_hash = :h, unkeyed_last_id = :u, seal = :s"),
            {"h": prev, "u": unkeyed, "s": seal},
        )
        _restore_trigger(connection)


@pytest.mark.parametrize("attacker_key", [None, AuditKey(b"a key the attacker chose" * 2)])
def test_audit_verify_passes_after_edit_and_rechain_is_now_detected(
    trail: str, attacker_key: AuditKey | None
) -> None:
    assert _verify(trail).returncode == 0
    engine = make_engine(trail)
    try:
        _rechain(engine, key=attacker_key, edit_id=3)
    finally:
        engine.dispose()
    verdict = _verify(trail)
    assert verdict.returncode == 1
    assert "audit chain broken" in verdict.stderr
    expected = "bad seal" if attacker_key is None else "hash mismatch"
    assert expected in verdict.stderr


def test_audit_verify_anchor_manifest_catches_a_rewrite_with_the_key(
    trail: str, tmp_path: Path
) -> None:
    """Even whoever holds the key (and so can re-chain and re-seal) cannot move a row that a
    backup manifest, kept elsewhere, recorded as the newest."""
    engine = make_engine(trail)
    with engine.connect() as connection:
        last_id, last_hash = connection.execute(
            text("SELECT last_id, last_hash FROM audit_chain_head")
        ).one()
    manifest = tmp_path / "backup.manifest.json"
    manifest.write_text(json.dumps({"audit_chain": {"last_id": last_id, "last_hash": last_hash}}))
    assert _verify(trail, "--anchor", str(manifest)).returncode == 0
    key = Settings(environment="test", secret_key=TEST_SECRET).audit_keys().current
    try:
        _rechain(engine, key=key, edit_id=2)
    finally:
        engine.dispose()
    assert _verify(trail).returncode == 0  # the key holder's rewrite passes on its own …
    anchored = _verify(trail, "--anchor", str(manifest))
    assert anchored.returncode == 1  # … but not against the manifest
    assert f"audit chain broken at id {last_id}: anchor mismatch" in anchored.stderr


KEY_A = "audit key A: thirty-two characters or more"
KEY_B = "audit key B: thirty-two characters or more"


def _write_rows_with(url: str, **settings: str) -> None:
    """A failed login through an app with these settings writes audit rows with its key."""
    app = create_app(
        Settings(environment="test", database_url=url, secret_key=TEST_SECRET, **settings)
    )
    try:
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
            log_in(client, "vera.viewer", password="not the password at all")
    finally:
        install_keys(AuditKeys(AuditKey(derive_key(TEST_SECRET))))  # the suite's own key


def test_audit_key_rotation_keeps_older_rows_verifiable(trail: str) -> None:
    _write_rows_with(trail, audit_key=KEY_A)  # derived key → A: derived rows still verify
    assert _verify(trail, TITRATE_AUDIT_KEY=KEY_A).returncode == 0
    _write_rows_with(trail, audit_key=KEY_B, audit_previous_keys=KEY_A)  # A → B
    rotated = _verify(trail, TITRATE_AUDIT_KEY=KEY_B, TITRATE_AUDIT_PREVIOUS_KEYS=KEY_A)
    assert rotated.returncode == 0, rotated.stderr
    forgotten = _verify(trail, TITRATE_AUDIT_KEY=KEY_B)
    assert forgotten.returncode == 1
    assert "which is not configured" in forgotten.stderr


def _refusals_after(db: Session, mark: int) -> list[tuple[str, str | None]]:
    rows = db.scalars(
        select(AuditEventRecord).where(
            AuditEventRecord.id > mark, AuditEventRecord.action == "access.refused"
        )
    )
    return [(row.detail or {}).get("reason") for row in rows]  # type: ignore[misc]


def test_refusals_not_audited_bad_token_csrf_and_origin_are_now(
    client: TestClient, db: Session
) -> None:
    mark = db.scalar(select(func.max(AuditEventRecord.id))) or 0
    bad = client.get("/api/v1/patients", headers={"Authorization": "Bearer tt_not_a_token"})
    assert bad.status_code == 401
    log_in(client, "paula.prescriber")
    no_csrf = client.post("/logout", data={})
    assert no_csrf.status_code == 403
    cross = client.post("/logout", data={}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert _refusals_after(db, mark) == ["bad_token", "csrf", "origin"]
    row = db.scalars(
        select(AuditEventRecord).where(AuditEventRecord.id > mark).order_by(AuditEventRecord.id)
    ).first()
    assert row is not None
    assert "tt_not_a_token" not in json.dumps(row.detail)
    assert row.outcome == "failure"


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_audit_csv_formula_guard_holds_in_every_cell_for_both_separators(
    delimiter: str,
) -> None:
    reasons = ["reason;=1+1;", 'a,=HYPERLINK("x")', "ok; +SUM(A1)", "-2 mg", "@cmd"]
    events = [
        AuditEventRecord(
            id=n, occurred_at=datetime(2026, 12, 6, tzinfo=UTC), actor_kind="user",
            actor_name="paula.prescriber", action="plan.revise", entity_type="plan",
            reason=reason, outcome="success", prev_hash="0" * 64, row_hash="0" * 64,
        )
        for n, reason in enumerate(reasons, start=1)
    ]  # fmt: skip
    text_out = report_csv(events)
    # A spreadsheet that splits on the delimiter but respects quotes: no cell is a formula.
    for row in csv.reader(io.StringIO(text_out), delimiter=delimiter):
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@")), cell
    # Even a naive split on either separator, ignoring quotes, starts no piece with a trigger.
    for line in text_out.splitlines()[1:]:
        for piece in line.replace(";", ",").split(","):
            assert not piece.strip(' "').startswith(("=", "+", "-", "@")), piece
