"""Overrides of block findings (A.5): a reason is required; hypersensitivity never."""

from __future__ import annotations

from app.domain.titration.errors import (
    OverrideNotAllowedError,
    OverrideNotApplicableError,
    OverrideReasonMissingError,
)
from app.domain.titration.findings import Finding, Severity
from app.domain.titration.model import Override
from app.domain.titration.plan import AppliedOverride, PlanStatus


def apply_overrides(
    findings: tuple[Finding, ...], overrides: tuple[Override, ...]
) -> tuple[PlanStatus, tuple[AppliedOverride, ...]]:
    """Check every override against the plan's block findings and settle the status.

    Raises an ``OverrideError`` when a reason is empty, the code is not a block finding of
    this plan (or is given twice), or the finding can never be overridden.
    """
    blocks = {finding.code: finding for finding in findings if finding.severity is Severity.BLOCK}
    applied: list[AppliedOverride] = []
    for override in overrides:
        if not override.reason.strip():
            raise OverrideReasonMissingError(
                f"The override of {override.code!r} needs a reason.", field="overrides"
            )
        finding = blocks.get(override.code)
        if finding is None or any(done.code == override.code for done in applied):
            raise OverrideNotApplicableError(
                f"{override.code!r} is not a block finding of this plan (or is listed twice).",
                field="overrides",
            )
        if not finding.overridable:
            raise OverrideNotAllowedError(
                f"{override.code!r} can never be overridden.", field="overrides"
            )
        applied.append(AppliedOverride(override.code, override.reason.strip()))
    overridden = {done.code for done in applied}
    blocked = any(code not in overridden for code in blocks)
    return (PlanStatus.BLOCKED if blocked else PlanStatus.READY), tuple(applied)
