"""Benchmark of the pure dosing engine: plans per second per plan type on one core,
and the cost of a 12-week versus a 52-week plan.

The engine remembers what follows from the protocols alone and small immutable values
(dose forms, levels, findings, a patient's renal estimate; ARCHITECTURE.md, "The engine's
memory"), so the same request repeated (the live preview's case: the patient stays, the
plan fields change) is its fast path. `oral_titration, 1,000 patients` cycles through
1,000 different patients again and again (a clinic's day: the same patients come back);
`oral_titration, 20,000 first seen` builds 20,000 requests once each, every one with a
start date and weight no request before it had, so no request-keyed memory can help: the
floor for a stream of new requests.

Run: .venv/bin/python bench/engine.py   (stdlib only: time.perf_counter, tracemalloc)
"""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from app.domain.titration import (
    CreatinineUnit,
    Dose,
    DoseUnit,
    Indication,
    IntrathecalInput,
    Patient,
    PlanRequest,
    PlanType,
    ProtocolSet,
    SerumCreatinine,
    Sex,
    build_plan,
    load_protocols,
)

SECONDS_PER_CASE = 2.0
PATIENT = Patient(
    sex=Sex.MALE,
    age_years=Decimal(45),
    weight_kg=Decimal(80),
    height_cm=Decimal(180),
    serum_creatinine=SerumCreatinine(Decimal("0.9"), CreatinineUnit.MG_DL),
    medications=("amlodipine", "ibuprofen"),
)
BASE = PlanRequest(
    PlanType.ORAL_TITRATION, date(2026, 12, 1), Indication.MULTIPLE_SCLEROSIS, PATIENT
)
ITB = IntrathecalInput(
    Dose(Decimal(75), DoseUnit.MCG), Decimal(6), screening_responses=(False, True)
)

CASES = {
    "oral_titration": BASE,
    "oral_titration_child": dataclasses.replace(
        BASE, patient=dataclasses.replace(PATIENT, age_years=Decimal("1.5"), weight_kg=Decimal(11))
    ),
    "oral_taper": dataclasses.replace(
        BASE, plan_type=PlanType.ORAL_TAPER, current_daily_dose=Dose(Decimal(80), DoseUnit.MG)
    ),
    "itb_screening": dataclasses.replace(BASE, plan_type=PlanType.ITB_SCREENING, intrathecal=ITB),
    "itb_titration": dataclasses.replace(BASE, plan_type=PlanType.ITB_TITRATION, intrathecal=ITB),
}


def plans_per_second(request: PlanRequest, protocols: ProtocolSet) -> float:
    return cycle_per_second((request,), protocols)


def cycle_per_second(requests: tuple[PlanRequest, ...], protocols: ProtocolSet) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS_PER_CASE:
        for request in requests:
            build_plan(request, protocols)
        count += len(requests)
    return count / (time.perf_counter() - started)


def distinct_patients(count: int) -> tuple[PlanRequest, ...]:
    """Oral titrations of ``count`` different adults (age, weight, creatinine), each to the
    protocol's default target for that patient (always plannable)."""
    return tuple(
        dataclasses.replace(
            BASE,
            patient=dataclasses.replace(
                PATIENT,
                age_years=Decimal(20 + n % 60),
                weight_kg=Decimal(50 + n % 70) + Decimal(n % 10) / 10,
                serum_creatinine=SerumCreatinine(
                    Decimal("0.6") + Decimal(n % 9) / 10, CreatinineUnit.MG_DL
                ),
            ),
            target_daily_dose=None,
        )
        for n in range(count)
    )


def first_seen_per_second(count: int) -> float:
    """One pass over ``count`` requests that share no start date and weight with any other,
    on freshly loaded protocols (which remember nothing yet)."""
    requests = [
        dataclasses.replace(
            request,
            start_date=date.fromordinal(BASE.start_date.toordinal() + n),
            patient=dataclasses.replace(request.patient, weight_kg=Decimal(50) + Decimal(n) / 1000),
        )
        for n, request in enumerate(distinct_patients(1000) * (count // 1000))
    ]
    protocols = load_protocols()
    started = time.perf_counter()
    for request in requests:
        build_plan(request, protocols)
    return len(requests) / (time.perf_counter() - started)


def seconds_per_plan(make: Callable[[], object], repeats: int = 300) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        make()
    return (time.perf_counter() - started) / repeats


def peak_kib(make: Callable[[], object]) -> float:
    tracemalloc.start()
    make()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024


def main() -> None:
    protocols = load_protocols()
    print(f"load_protocols: {seconds_per_plan(load_protocols, 50) * 1000:.2f} ms")
    for name, request in CASES.items():
        rate = plans_per_second(request, protocols)
        memory = peak_kib(lambda request=request: build_plan(request, protocols))
        print(f"{name:22} {rate:9.0f} plans/s   peak {memory:7.1f} KiB")
    rate = cycle_per_second(distinct_patients(1000), protocols)
    print(f"{'oral_titration, 1,000 patients':30} {rate:9.0f} plans/s")
    print(f"{'oral_titration, 20,000 first seen':30} {first_seen_per_second(20_000):9.0f} plans/s")
    # Same patient, ITB titration over 84 days (12 weeks) versus 364 days (52 weeks):
    # one step per distinct daily dose, so the cost grows with the horizon.
    itb = CASES["itb_titration"]
    short = dataclasses.replace(itb, intrathecal=dataclasses.replace(ITB, days=84))
    long = dataclasses.replace(itb, intrathecal=dataclasses.replace(ITB, days=364))
    twelve = seconds_per_plan(lambda: build_plan(short, protocols))
    fifty_two = seconds_per_plan(lambda: build_plan(long, protocols))
    print(
        f"itb 12 weeks {twelve * 1e6:8.0f} us   52 weeks {fifty_two * 1e6:8.0f} us"
        f"   ratio {fifty_two / twelve:.2f}"
    )
    # Oral titration stretched by the step interval (+15 mg/day to 80 mg/day, 6 steps).
    oral_short = dataclasses.replace(
        BASE, target_daily_dose=Dose(Decimal(80), DoseUnit.MG), step_interval_days=14
    )
    oral_long = dataclasses.replace(oral_short, step_interval_days=61)
    twelve = seconds_per_plan(lambda: build_plan(oral_short, protocols))
    fifty_two = seconds_per_plan(lambda: build_plan(oral_long, protocols))
    weeks = (
        build_plan(oral_short, protocols).steps[-1].end_day / 7,
        build_plan(oral_long, protocols).steps[-1].end_day / 7,
    )
    print(
        f"oral {weeks[0]:.0f} weeks {twelve * 1e6:8.0f} us"
        f"   {weeks[1]:.0f} weeks {fifty_two * 1e6:8.0f} us"
        f"   ratio {fifty_two / twelve:.2f}"
    )


if __name__ == "__main__":
    main()
