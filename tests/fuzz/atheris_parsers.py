"""Atheris harness: the API's request parsers and the engine behind them, fed fuzzed bytes.

Each input becomes a preview body or a refill body (JSON decoded from the bytes, or a body
built field by field with extreme numbers and dates), goes through the pydantic request
model, the mapping to the engine, the engine and the answer model, exactly as the routes do.
A pydantic ValidationError or an engine TitrationError is a refusal (a 422); any other
exception is a crash, and atheris stops with a non-zero exit and the input that caused it.

Run: python tests/fuzz/atheris_parsers.py -runs=3000 -seed=1 (tests/fuzz/test_atheris.py).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from typing import Any

import atheris

with atheris.instrument_imports(include=["app"]):
    from pydantic import ValidationError

    from app.api.v1.plan_mapping import plan_to_out, preview_request_to_domain
    from app.api.v1.plan_schemas import (
        PREVIEW_EXAMPLE,
        REFILL_EXAMPLE,
        PlanPreviewRequest,
        RefillOut,
        RefillRequest,
    )
    from app.domain.titration import (
        Dose,
        TitrationError,
        build_plan,
        calculate_refill,
        load_protocols,
    )

PROTOCOLS = load_protocols()
TODAY = date(2026, 12, 1)
NUMBERS: tuple[Any, ...] = (
    0, 1, -1, 0.0001, 0.00001, 99_999_999.9999, 9_999_999, 1e308, -1e308, 2**63, 2**64,
    10**40, "1E-999999", "NaN", "Infinity", 15, 30, 49.9, 50, 500, 1000, 1000.5, 2000,
    2000.1, 5000, 0.3, 350, 350.1, 250, 20, 10, 100,
)  # fmt: skip
DATES = (
    "0001-01-01", "1899-12-31", "1900-01-01", "1970-01-01", "2026-12-01", "2200-12-31",
    "2201-01-01", "9999-12-31", "2026-02-30", "", "2026-13-01",
)  # fmt: skip
PLAN_TYPES = ("oral_titration", "oral_taper", "itb_screening", "itb_titration", "bogus")
MEDICATIONS = (
    "Oxycodon/Naloxon 10/5 mg", "Targin", "co-codamol", "Lioresal", "Rượu", "Đ", "", "10 mg",
    "x" * 100, "tilidin(+naloxon)", "mirtazapine 15 mg",
)  # fmt: skip


def _number(fdp: atheris.FuzzedDataProvider) -> Any:
    if fdp.ConsumeBool():
        return fdp.PickValueInList(list(NUMBERS))
    return fdp.ConsumeIntInRange(-10, 3000) / fdp.PickValueInList([1, 10, 1000, 10_000])


def _dose(fdp: atheris.FuzzedDataProvider, unit: str | None = None) -> dict[str, Any]:
    return {"value": _number(fdp), "unit": unit or fdp.PickValueInList(["mg", "mcg", "g"])}


def _preview(fdp: atheris.FuzzedDataProvider) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(PREVIEW_EXAMPLE))
    patient = body["patient"]
    body["plan_type"] = fdp.PickValueInList(list(PLAN_TYPES))
    body["start_date"] = fdp.PickValueInList(list(DATES))
    for name in ("weight_kg", "height_cm", "creatinine_clearance_ml_min", "age_years"):
        if fdp.ConsumeBool():
            patient[name] = _number(fdp)
    if fdp.ConsumeBool():
        patient["birth_date"] = fdp.PickValueInList(list(DATES))
    if fdp.ConsumeBool():
        patient["brain_injury_date"] = fdp.PickValueInList(list(DATES))
    patient["serum_creatinine"] = {
        "value": _number(fdp), "unit": fdp.PickValueInList(["mg/dL", "umol/L"])
    }  # fmt: skip
    patient["sex"] = fdp.PickValueInList(["female", "male"])
    patient["pregnant"] = fdp.ConsumeBool()
    patient["dialysis"] = fdp.ConsumeBool()
    patient["medications"] = [
        fdp.PickValueInList(list(MEDICATIONS)) for _ in range(fdp.ConsumeIntInRange(0, 4))
    ]
    if fdp.ConsumeBool():
        body["target_daily_dose"] = _dose(fdp)
    if fdp.ConsumeBool():
        body["current_daily_dose"] = _dose(fdp, "mg")
    if fdp.ConsumeBool():
        body["doses_per_day"] = fdp.ConsumeIntInRange(-1, 7)
    if fdp.ConsumeBool():
        body["step_interval_days"] = fdp.ConsumeIntInRange(-1, 61)
    if body["plan_type"].startswith("itb") or fdp.ConsumeBool():
        body["intrathecal"] = {
            "effective_bolus": _dose(fdp, "mcg"),
            "effect_duration_hours": _number(fdp),
            "step_percent": _number(fdp) if fdp.ConsumeBool() else None,
            "days": fdp.ConsumeIntInRange(-1, 91) if fdp.ConsumeBool() else None,
            "screening_responses": [fdp.ConsumeBool() for _ in range(fdp.ConsumeIntInRange(0, 5))],
        }
    return body


def _refill(fdp: atheris.FuzzedDataProvider) -> dict[str, Any]:
    body: dict[str, Any] = dict(REFILL_EXAMPLE)
    for name in ("reservoir_ml", "alarm_volume_ml", "concentration_mcg_per_ml"):
        if fdp.ConsumeBool():
            body[name] = _number(fdp)
    if fdp.ConsumeBool():
        body["daily_dose"] = _dose(fdp, "mcg")
    body["fill_date"] = fdp.PickValueInList(list(DATES))
    if fdp.ConsumeBool():
        body["max_refill_interval_days"] = fdp.PickValueInList([None, 0, 1, 5, 6, 365, 366])
    return body


def check_preview(body: object) -> None:
    try:
        parsed = PlanPreviewRequest.model_validate(body)
        plan = build_plan(preview_request_to_domain(parsed, today=TODAY), PROTOCOLS)
    except (ValidationError, TitrationError):
        return
    plan_to_out(plan).model_dump_json()


def check_refill(body: object) -> None:
    try:
        parsed = RefillRequest.model_validate(body)
        refill = calculate_refill(
            reservoir_ml=parsed.reservoir_ml, alarm_volume_ml=parsed.alarm_volume_ml,
            concentration_mcg_per_ml=parsed.concentration_mcg_per_ml,
            daily_dose=Dose(Decimal(parsed.daily_dose.value), parsed.daily_dose.unit),
            fill_date=parsed.fill_date, max_refill_interval_days=parsed.max_refill_interval_days,
            protocols=PROTOCOLS,
        )  # fmt: skip
    except (ValidationError, TitrationError):
        return
    RefillOut.model_validate(refill, from_attributes=True).model_dump_json()


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 3)
    if mode == 0:  # raw bytes as a JSON body
        try:
            body = json.loads(fdp.ConsumeUnicodeNoSurrogates(4096))
        except ValueError:
            return
        check_preview(body)
        check_refill(body)
    elif mode == 1:
        check_refill(_refill(fdp))
    else:
        check_preview(_preview(fdp))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
