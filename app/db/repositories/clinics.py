"""Queries for clinics (care teams)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ClinicRecord
from app.db.row_ids import is_possible_row_id


def list_clinics(session: Session) -> list[ClinicRecord]:
    return list(session.scalars(select(ClinicRecord).order_by(ClinicRecord.name)))


def get_clinic(session: Session, clinic_id: int) -> ClinicRecord | None:
    if not is_possible_row_id(clinic_id):  # the database would fail on it, not find nothing
        return None
    return session.get(ClinicRecord, clinic_id)


def get_clinic_by_name(session: Session, name: str) -> ClinicRecord | None:
    return session.scalars(select(ClinicRecord).where(ClinicRecord.name == name)).first()


def add(session: Session, clinic: ClinicRecord) -> None:
    session.add(clinic)
    session.flush()
