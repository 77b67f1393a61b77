"""Numbers the engine quotes in its messages are written the ISMP way: "40 mL/min" and
"100 mg/day", never "40.0" or "100.0", whatever precision the input or the arithmetic left.
A finding's message reaches the planner page, the clinician summary and its PDF as it is."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.titration import TargetAboveHardLimitError
from app.domain.titration.units import plain_number
from tests.unit.domain.builders import make_patient, mg, plan_for

D = Decimal


@pytest.mark.parametrize(
    ("value", "text"),
    [("40.0", "40"), ("40.10", "40.1"), ("0.50", "0.5"), ("100", "100"), ("1E+2", "100")],
)
def test_plain_number_drops_trailing_zeros_and_never_writes_an_exponent(
    value: str, text: str
) -> None:
    assert plain_number(D(value)) == text


def test_a_renal_finding_quotes_the_clearance_without_a_trailing_zero() -> None:
    plan = plan_for(patient=make_patient(creatinine_clearance_ml_min=D("40.0")))
    messages = [finding.message for finding in plan.findings]
    assert any("Creatinine clearance: 40 mL/min." in message for message in messages), messages
    assert not any("40.0" in message for message in messages)


def test_the_hard_limit_refusal_quotes_both_doses_without_trailing_zeros() -> None:
    with pytest.raises(TargetAboveHardLimitError) as error:
        plan_for(target_daily_dose=mg("100.0"))
    assert str(error.value).startswith("Target 100 mg/day is above the hard limit of 80 mg/day")
