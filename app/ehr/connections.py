"""One configured EHR: where its FHIR server and keys are, and who its users are here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EhrConnection(BaseModel):
    """Settings for one EHR (`TITRATE_EHRS`, a JSON list of these; README "Connecting an EHR").

    ``issuer`` is the EHR's `iss` (the FHIR base a SMART launch names, and the issuer of
    its CDS Hooks JWTs); ``users`` maps the EHR's `fhirUser` (e.g. "Practitioner/123") to a
    Titrate username, whose clinic receives the imported patients.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    issuer: str = Field(min_length=1)
    fhir_base: str = Field(min_length=1)
    # The identifier system whose value is the Titrate MRN.
    mrn_system: str = Field(min_length=1)
    # SMART App Launch (user-facing): the EHR registers Titrate under this client id.
    client_id: str = ""
    authorize_url: str = ""
    token_url: str = ""
    # CDS Hooks: the EHR signs its calls with keys published here.
    jwks_url: str = ""
    # SMART Backend Services: Titrate's own client id and private key (PEM) for
    # client_credentials with a signed JWT assertion; empty: the FHIR server is read
    # without a token (a test server on the loopback only).
    backend_client_id: str = ""
    backend_private_key_pem: str = ""
    backend_key_id: str = ""
    backend_scope: str = "system/Patient.rs system/Observation.rs system/MedicationRequest.rs"
    users: dict[str, str] = Field(default_factory=dict)
    # The username whose clinic receives system imports (POST /api/v1/patients/import uses
    # the token's clinic instead).
    default_username: str = ""
