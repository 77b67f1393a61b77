"""Safety findings: the A.5 catalogue (data) and the finding values a plan carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from app.domain.titration.errors import ProtocolError
from app.domain.titration.protocol import ProtocolRef, parse_document


class Severity(StrEnum):
    BLOCK = "block"
    MAJOR = "major"
    MODERATE = "moderate"
    INFO = "info"


class Route(StrEnum):
    ORAL = "oral"
    INTRATHECAL = "intrathecal"


@dataclass(frozen=True, slots=True)
class FindingRule:
    """One row of A.5: default severity, whether it can be overridden, rule id and source."""

    code: str
    severity: Severity
    overridable: bool
    rule: str
    source: str
    routes: tuple[Route, ...]
    message: str


@dataclass(frozen=True, slots=True)
class Finding:
    """A safety finding on a plan: a value, never an exception."""

    code: str
    severity: Severity
    overridable: bool
    rule: str
    message: str
    source: str


# Findings made before, kept with the catalogue (a finding is an immutable value; the same
# code and detail recur on every preview). Bounded: at the limit the memory starts again.
MAX_REMEMBERED_FINDINGS = 4096


@dataclass(frozen=True, slots=True)
class FindingCatalogue:
    ref: ProtocolRef
    rules: Mapping[str, FindingRule]
    _remembered: dict[tuple[str, str], Finding] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def make(self, code: str, detail: str = "") -> Finding:
        """Build the finding ``code``; ``detail`` (patient-specific facts) is appended."""
        finding = self._remembered.get((code, detail))
        if finding is None:
            rule = self.rules[code]
            message = f"{rule.message} {detail}".strip()
            finding = Finding(
                code, rule.severity, rule.overridable, rule.rule, message, rule.source
            )
            if len(self._remembered) >= MAX_REMEMBERED_FINDINGS:
                self._remembered.clear()
            self._remembered[(code, detail)] = finding
        return finding


_FIELDS = {"severity", "overridable", "rule", "source", "routes", "message"}


def parse_findings(raw: bytes) -> FindingCatalogue:
    """Parse findings.json; only block findings may be overridable (A.5)."""
    ref, _, document = parse_document("findings", raw)
    entries = document.get("findings")
    if not isinstance(entries, dict) or not entries:
        raise ProtocolError("findings: 'findings' must be a non-empty object")
    return FindingCatalogue(
        ref, {code: _parse_rule(code, entry) for code, entry in entries.items()}
    )


def _parse_rule(code: str, entry: object) -> FindingRule:
    if not isinstance(entry, dict) or set(entry) != _FIELDS:
        raise ProtocolError(f"findings.{code}: needs exactly {sorted(_FIELDS)}")
    rule, source, message = entry["rule"], entry["source"], entry["message"]
    routes = entry["routes"]
    try:
        severity = Severity(entry["severity"])
        parsed_routes = tuple(Route(route) for route in routes)
    except (ValueError, TypeError) as error:
        raise ProtocolError(f"findings.{code}: unknown severity or route ({error})") from error
    valid = (
        all(isinstance(text, str) and text for text in (rule, source, message))
        and isinstance(entry["overridable"], bool)
        and parsed_routes
        and (severity is Severity.BLOCK or not entry["overridable"])
    )
    if not valid:
        raise ProtocolError(f"findings.{code}: invalid rule, source, message or overridable flag")
    return FindingRule(code, severity, entry["overridable"], rule, source, parsed_routes, message)
