"""Bodies of `POST /api/v1/patients/import` (API.md §5.4)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from app.api.v1.schemas import InputModel, OutputModel, PatientRead


class EhrIdentifier(InputModel):
    system: str | None = Field(
        default=None, max_length=300, description="Defaults to the EHR's MRN system."
    )
    value: str = Field(min_length=1, max_length=100)


class PatientImport(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"ehr": "ward", "identifier": {"value": "MRN-1001"}}]},
    )

    ehr: str = Field(min_length=1, max_length=40, description="The id of a configured EHR.")
    fhir_patient_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-.]{1,64}$"
    )
    identifier: EhrIdentifier | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> PatientImport:
        if (self.fhir_patient_id is None) == (self.identifier is None):
            raise ValueError("Give exactly one of fhir_patient_id and identifier.")
        return self


class ImportFindingRead(OutputModel):
    code: Literal["stale_lab", "value_not_imported"]
    field: str
    message: str
    source: str


class ImportedMedicationRead(OutputModel):
    name: str
    recognised: bool
    source: str


class PatientImportResult(OutputModel):
    created: bool
    source: str = Field(description="The FHIR Patient the values came from.")
    patient: PatientRead
    findings: list[ImportFindingRead]
    medications: list[ImportedMedicationRead]
