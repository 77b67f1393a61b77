"""Source and date of imported patient values (`patient_ehr_value`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.models import PatientEhrValueRecord


def replace_values(
    session: Session, patient_id: int, rows: Sequence[PatientEhrValueRecord]
) -> None:
    """The newest import is what the patient's values came from; older rows go (audited)."""
    session.execute(
        delete(PatientEhrValueRecord).where(PatientEhrValueRecord.patient_id == patient_id)
    )
    session.add_all(rows)
    session.flush()


def list_values(session: Session, patient_id: int) -> list[PatientEhrValueRecord]:
    query = (
        select(PatientEhrValueRecord)
        .where(PatientEhrValueRecord.patient_id == patient_id)
        .order_by(PatientEhrValueRecord.id)
    )
    return list(session.scalars(query))
