"""The clinic's formulary (issue 17): protocol formulary version 1, and version 2 of
formulations and findings

What the pharmacy stocks (tablet strengths and which are scored, oral solutions,
intrathecal pump concentrations, pump models with their reservoirs) moves out of
`formulations` into its own protocol, `formulary`; `formulations` keeps the rules (rounding
steps, the tablet weight threshold). Version 1 of the formulary stocks exactly what
formulations version 1 listed, so every oral plan stays the same. `findings` version 2 adds
the formulary's codes. The bytes come from a frozen copy (migrations/seeds/formulary_0001/),
approved by the system and in force from 2000-01-01; the version 1 rows they replace become
superseded.

Revision ID: formulary_0001_seeded
Revises: trust_0002_reset_audit_clinic
Create Date: 2026-12-06 04:30:00.000000
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "formulary_0001_seeded"
down_revision: str | None = "trust_0002_reset_audit_clinic"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "formulary_0001"
NEW_PROTOCOL = "formulary"
NEW_VERSIONS = ("formulations", "findings")

_protocol = sa.table("protocol", sa.column("id", sa.String), sa.column("title", sa.String))
_version = sa.table(
    "protocol_version",
    *(sa.column(name) for name in (
        "protocol_id", "version", "status", "content", "sha256", "drafted_by", "drafted_by_kind",
        "drafted_at", "reason", "approved_by", "approved_by_kind", "approved_at",
        "effective_from",
    )),
)  # fmt: skip


def _row(protocol_id: str, now: datetime) -> tuple[dict[str, object], str]:
    raw = (SEEDS / f"{protocol_id}.json").read_bytes()
    document = json.loads(raw)
    row = {
        "protocol_id": protocol_id, "version": int(document["version"]), "status": "approved",
        "content": raw.decode("utf-8"), "sha256": hashlib.sha256(raw).hexdigest(),
        "drafted_by": "titrate", "drafted_by_kind": "system", "drafted_at": now,
        "reason": "the clinic's formulary: seeded with the stock of formulations version 1",
        "approved_by": "titrate", "approved_by_kind": "system", "approved_at": now,
        "effective_from": date(2000, 1, 1),
    }  # fmt: skip
    return row, document["title"]


def upgrade() -> None:
    now = datetime.now(UTC)
    row, title = _row(NEW_PROTOCOL, now)
    op.bulk_insert(_protocol, [{"id": NEW_PROTOCOL, "title": title}])
    rows = [row]
    for protocol_id in NEW_VERSIONS:
        row, title = _row(protocol_id, now)
        op.execute(_protocol.update().where(_protocol.c.id == protocol_id).values(title=title))
        op.execute(
            _version.update()
            .where(
                _version.c.protocol_id == protocol_id,
                _version.c.version == 1,
                _version.c.status == "approved",
            )
            .values(status="superseded")
        )
        rows.append(row)
    op.bulk_insert(_version, rows)


def downgrade() -> None:
    """Back to the protocols_0001 seed: the older code cannot read any later version."""
    earlier = SEEDS.parent / "protocols_0001"
    for protocol_id in NEW_VERSIONS:
        op.execute(
            _version.delete().where(_version.c.protocol_id == protocol_id, _version.c.version > 1)
        )
        op.execute(
            _version.update()
            .where(_version.c.protocol_id == protocol_id, _version.c.version == 1)
            .values(status="approved")
        )
        title = json.loads((earlier / f"{protocol_id}.json").read_bytes())["title"]
        op.execute(_protocol.update().where(_protocol.c.id == protocol_id).values(title=title))
    op.execute(_version.delete().where(_version.c.protocol_id == NEW_PROTOCOL))
    op.execute(_protocol.delete().where(_protocol.c.id == NEW_PROTOCOL))
