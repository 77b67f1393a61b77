"""Reads from an EHR's FHIR R4 server (httpx, JSON with exact decimals).

Only the reads Titrate needs: a Patient by id or identifier, Observations by LOINC code,
active MedicationRequests and MedicationStatements. Every failure is an ``EhrError`` with a
message that names the request, never the patient.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

FHIR_JSON = "application/fhir+json"
TIMEOUT_SECONDS = 10.0
SEARCH_PAGE = 50

Resource = dict[str, Any]


class EhrError(Exception):
    """The EHR could not answer, refused, or answered something unusable."""


class EhrNotFound(EhrError):
    """No such patient (or not exactly one) on the EHR."""


@dataclass(frozen=True, slots=True)
class FhirClient:
    base_url: str
    access_token: str | None = None
    transport: httpx.BaseTransport | None = None

    def read(self, resource_type: str, resource_id: str) -> Resource:
        return self._get(f"{resource_type}/{resource_id}", {})

    def search(self, resource_type: str, params: dict[str, str]) -> list[Resource]:
        """The resources of one searchset page (SEARCH_PAGE entries at most, matches only)."""
        bundle = self._get(resource_type, {**params, "_count": str(SEARCH_PAGE)})
        if bundle.get("resourceType") != "Bundle":
            raise EhrError(f"{resource_type} search did not answer a Bundle")
        return [
            entry["resource"]
            for entry in bundle.get("entry", [])
            if isinstance(entry.get("resource"), dict)
            and entry.get("search", {}).get("mode", "match") == "match"
            and entry["resource"].get("resourceType") == resource_type
        ]

    def reference_url(self, resource: Resource) -> str:
        """The absolute address of a resource on this server (what an import records)."""
        return f"{self.base_url.rstrip('/')}/{resource['resourceType']}/{resource.get('id', '')}"

    def _get(self, path: str, params: dict[str, str]) -> Resource:
        headers = {"Accept": FHIR_JSON}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        url = f"{self.base_url.rstrip('/')}/{path}"
        try:
            with httpx.Client(transport=self.transport, timeout=TIMEOUT_SECONDS) as client:
                response = client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise EhrError(f"the FHIR server did not answer ({type(exc).__name__})") from exc
        if response.status_code in (404, 410):
            raise EhrNotFound(f"{path.split('/')[0]} not found on the FHIR server")
        if response.status_code in (401, 403):
            raise EhrError(f"the FHIR server refused the read ({response.status_code})")
        if response.status_code != 200:
            raise EhrError(f"the FHIR server answered {response.status_code}")
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise EhrError("the FHIR server answered something that is not JSON") from exc
        if not isinstance(body, dict):
            raise EhrError("the FHIR server answered something that is not a resource")
        return body
