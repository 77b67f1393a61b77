"""Complete a SMART EHR launch: the EHR user becomes a Titrate session, the patient in
context is imported (or matched by MRN) and the planner opens for them.

Network first, database after: the EHR's FHIR reads happen while no transaction is open.
The EHR user must be mapped to an active clinician by configuration (`users` of the EHR);
anyone else is refused. Who may import is the mapped user's role: a prescriber's launch
fills or updates the patient; other roles only find a patient Titrate already has.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from app.db.models import UserSessionRecord
from app.db.repositories import patients as patient_repo
from app.db.repositories import users as user_repo
from app.domain.titration.medications import MedicationDictionary
from app.ehr.connections import EhrConnection
from app.ehr.mapping import ImportRules
from app.ehr.smart import LaunchToken
from app.services import audit, ehr_import
from app.services.audit import AuditEntry
from app.services.auth import LoginSession, SessionPolicy, sha256_hex
from app.services.context import Actor, utc_now
from app.services.errors import AuthenticationFailed, NotFound
from app.services.permissions import ADMIN, can


@dataclass(frozen=True, slots=True)
class LaunchResult:
    login: LoginSession
    patient_id: int
    actor: Actor


def complete_launch(
    session: Session,
    *,
    connection: EhrConnection,
    token: LaunchToken,
    policy: SessionPolicy,
    actor: Actor,
    medications: MedicationDictionary,
    rules: ImportRules,
    today: date,
) -> LaunchResult:
    username = connection.users.get(token.fhir_user or "")
    user = user_repo.get_user_by_username(session, username) if username else None
    session.commit()  # ends the read: no transaction stays open across the FHIR reads
    if user is None or not user.is_active or user.role == ADMIN:
        audit.record(
            session,
            actor,
            AuditEntry(
                "login.failure",
                "user",
                None,
                outcome="failure",
                detail={"method": "smart", "ehr": connection.id},
            ),
        )
        session.commit()
        raise AuthenticationFailed("The EHR user is not a Titrate clinician.")
    user_actor = dataclasses.replace(
        actor, kind="user", id=user.id, name=user.username, role=user.role, clinic_id=user.clinic_id
    )
    imported = ehr_import.read_ehr_patient(
        connection,
        ehr_import.PatientSelector(fhir_id=token.patient),
        access_token=token.access_token,
    )
    if can(user_actor, "patient.create") and can(user_actor, "patient.update"):
        record = ehr_import.save_imported(
            session,
            actor=user_actor,
            connection=connection,
            imported=imported,
            medications=medications,
            rules=rules,
            today=today,
        ).record
        patient_id = record.id
    else:
        found = (
            patient_repo.get_by_mrn(session, user.clinic_id, imported.mrn) if imported.mrn else None
        )
        session.commit()
        if found is None:
            raise NotFound("This patient is not in Titrate yet; a prescriber's launch imports it.")
        patient_id = found.id
    now = utc_now()
    session_id = secrets.token_urlsafe(32)
    login = UserSessionRecord(
        id_sha256=sha256_hex(session_id),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
    )
    user_repo.add(session, login)
    audit.record(
        session,
        user_actor,
        AuditEntry(
            "login.success",
            "user",
            str(user.id),
            detail={"method": "smart", "ehr": connection.id, "patient": patient_id},
        ),
    )
    session.commit()
    return LaunchResult(
        LoginSession(
            session_id, user.id, user.username, user.role, login.csrf_token, user.clinic_id
        ),
        patient_id,
        user_actor,
    )
