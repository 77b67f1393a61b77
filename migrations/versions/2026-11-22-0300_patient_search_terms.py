"""Patient search terms: one row per normalised word of a patient's names and MRN

Search used to filter `search_text LIKE '%word%'`, which reads every patient of the clinic.
Searches now match words by prefix with an index range on (clinic_id, term); each row also
holds the patient's search_text as its sort key, so results come out of the index in list
order. Existing patients are backfilled here; the patient service keeps the rows current.
The unfiltered list gets (clinic_id, search_text, id) in place of the index on search_text.

This file carries a frozen copy of the normalising rules (app/db/repositories/patient_search.py
at this revision); migrations never import app code.

Revision ID: 5a1a1e9cba6e
Revises: a286b22fdecb
Create Date: 2026-11-22 03:00:00.000000
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1a1e9cba6e"
down_revision: str | None = "a286b22fdecb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    term_type = sa.String(length=100).with_variant(
        sa.String(length=100, collation="C"), "postgresql"
    )
    terms = op.create_table(
        "patient_search_term",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("term", term_type, nullable=False),
        sa.Column("sort_key", sa.String(length=260), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_patient_search_term_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_search_term_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint(
            "clinic_id", "term", "sort_key", "patient_id", name=op.f("pk_patient_search_term")
        ),
    )
    with op.batch_alter_table("patient_search_term", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_search_term_patient_id"), ["patient_id"], unique=False
        )
    _backfill(terms)
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_search_text")
        batch_op.create_index(
            "ix_patient_clinic_search_text", ["clinic_id", "search_text", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_clinic_search_text")
        batch_op.create_index("ix_patient_search_text", ["search_text"], unique=False)
    with op.batch_alter_table("patient_search_term", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_search_term_patient_id"))
    op.drop_table("patient_search_term")


def _backfill(terms: sa.Table) -> None:
    bind = op.get_bind()
    after = 0
    while True:
        patients = bind.execute(
            sa.text(
                "SELECT id, clinic_id, family_name, given_name, mrn, search_text FROM patient "
                "WHERE id > :after ORDER BY id LIMIT :n"
            ),
            {"after": after, "n": BATCH},
        ).all()
        rows = [
            {"clinic_id": p.clinic_id, "term": term, "sort_key": p.search_text, "patient_id": p.id}
            for p in patients
            for term in sorted(_terms_for(p.family_name, p.given_name, p.mrn))
        ]
        if rows:
            bind.execute(sa.insert(terms), rows)
        if len(patients) < BATCH:
            return
        after = patients[-1].id


# --- frozen copy of app/db/repositories/patient_search.py (terms v1) ----------------------

_MAX_TERM_LENGTH = 100
_TOP = "\U0010ffff"
_PART_SEPARATORS = re.compile(r"[-'’./_]+")
_FOLDED = str.maketrans({"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ħ": "h", "ı": "i", "þ": "th"})


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    unmarked = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unmarked.casefold().translate(_FOLDED).replace(_TOP, "")


def _terms_for(*sources: str) -> set[str]:
    terms = set()
    for source in sources:
        for word in _normalise(source).split():
            terms.add(word[:_MAX_TERM_LENGTH])
            terms.update(part[:_MAX_TERM_LENGTH] for part in _PART_SEPARATORS.split(word) if part)
    return terms
