"""The set of protocols one plan is computed against (cache-free; the shell caches it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.domain.titration.errors import ProtocolError
from app.domain.titration.findings import FindingCatalogue, parse_findings
from app.domain.titration.medications import MedicationDictionary, parse_medications
from app.domain.titration.protocol import (
    Derived,
    Protocol,
    ProtocolRef,
    parse_protocol,
    read_protocol_bytes,
)

ENGINE_VERSION = "1.0.0"


@dataclass(frozen=True, slots=True)
class ProtocolSet:
    """Every packaged protocol, validated, with its ``{id, version, sha256}``."""

    oral_adult: Protocol
    oral_older_adult: Protocol
    oral_renal: Protocol
    oral_paediatric: Protocol
    oral_taper: Protocol
    itb: Protocol
    formulations: Protocol
    formulary: Protocol
    medications: MedicationDictionary
    findings: FindingCatalogue
    derived: Derived = field(default_factory=Derived, init=False, repr=False, compare=False)

    @property
    def refs(self) -> tuple[ProtocolRef, ...]:
        return self.derived.get("refs", self._refs)

    def _refs(self) -> tuple[ProtocolRef, ...]:
        parameter_protocols = (
            self.oral_adult, self.oral_older_adult, self.oral_renal, self.oral_paediatric,
            self.oral_taper, self.itb, self.formulations, self.formulary,
        )  # fmt: skip
        return (
            *(protocol.ref for protocol in parameter_protocols),
            self.medications.ref,
            self.findings.ref,
        )


def load_protocols(read: Callable[[str], bytes] = read_protocol_bytes) -> ProtocolSet:
    """Load and validate every protocol file; raise ``ProtocolError`` on the first defect.

    ``read`` maps a protocol id to its bytes (the packaged files by default).
    """
    protocol_set = ProtocolSet(
        oral_adult=parse_protocol("oral-adult", read("oral-adult")),
        oral_older_adult=parse_protocol("oral-older-adult", read("oral-older-adult")),
        oral_renal=parse_protocol("oral-renal", read("oral-renal")),
        oral_paediatric=parse_protocol("oral-paediatric", read("oral-paediatric")),
        oral_taper=parse_protocol("oral-taper", read("oral-taper")),
        itb=parse_protocol("itb", read("itb")),
        formulations=parse_protocol("formulations", read("formulations")),
        formulary=parse_protocol("formulary", read("formulary")),
        medications=parse_medications(read("medication-dictionary")),
        findings=parse_findings(read("findings")),
    )
    unknown = {
        medication_class.finding
        for medication_class in protocol_set.medications.classes.values()
        if medication_class.finding is not None
        and medication_class.finding not in protocol_set.findings.rules
    }
    if unknown:
        raise ProtocolError(f"medication-dictionary: unknown finding codes {sorted(unknown)}")
    return protocol_set


def load_stored_protocols(contents: Mapping[str, bytes]) -> ProtocolSet:
    """``load_protocols`` from stored contents (protocol id → bytes), as the database keeps
    them; a protocol missing from ``contents`` is a ``ProtocolError``."""

    def read(protocol_id: str) -> bytes:
        if protocol_id not in contents:
            raise ProtocolError(f"{protocol_id}: no approved version in the database")
        return contents[protocol_id]

    return load_protocols(read)
