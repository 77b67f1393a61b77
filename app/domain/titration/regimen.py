"""Oral dosing parameters for one patient (A.1): population rows combined most-restrictively.

R-REN-8: across adult, elderly, renal and paediatric rows take the lowest start, step,
target and cap, and the longest interval. Children's mg/kg values also take the renal
factor (R-PED-11).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain.titration.age import Age
from app.domain.titration.errors import MissingInputError
from app.domain.titration.library import ProtocolSet
from app.domain.titration.oral_doses import DoseCountRule
from app.domain.titration.plan import RenalBand
from app.domain.titration.protocol import Protocol

RENAL_MODIFIER_BANDS = (RenalBand.MILD, RenalBand.MODERATE, RenalBand.SEVERE, RenalBand.DIALYSIS)


@dataclass(frozen=True, slots=True)
class OralRegimen:
    """mg/day parameters of one patient; ``doses_per_day`` is fixed only for children."""

    start: Decimal
    step: Decimal
    interval_days: int
    target: Decimal
    cap: Decimal
    inpatient_cap: Decimal
    soft_alert: Decimal | None
    doses_per_day: int | None
    protocols: tuple[Protocol, ...]
    max_single: Decimal = Decimal(0)

    @property
    def per_dose_steps(self) -> bool:
        """Weight-based (child) regimens step every single dose equally (R-PED-2, SC-17)."""
        return self.doses_per_day is not None


def derive_regimen(
    age: Age, weight_kg: Decimal | None, band: RenalBand, protocols: ProtocolSet
) -> OralRegimen:
    """The regimen for this age, weight and renal band; children need a weight."""
    if age.is_under(protocols.oral_adult.integer("adult_age_years")):
        if weight_kg is None:
            raise MissingInputError(
                "Children are dosed by weight: weight_kg is required.", field="weight_kg"
            )
        return _with_renal_row(_child_regimen(age, weight_kg, band, protocols), band, protocols)
    elderly = not age.is_under(protocols.oral_older_adult.integer("elderly_age_years"))
    # An adult's regimen follows from the protocols, the age group and the band alone.
    return protocols.derived.get(
        ("adult_regimen", elderly, band), lambda: _adult_regimen_for(elderly, band, protocols)
    )


def _adult_regimen_for(elderly: bool, band: RenalBand, protocols: ProtocolSet) -> OralRegimen:
    regimen = _adult_regimen(protocols.oral_adult)
    if elderly:
        older = protocols.oral_older_adult
        regimen = _combine(regimen, _row(older, "", "cap_mg_day", soft="soft_alert_mg_day"))
    return _with_renal_row(regimen, band, protocols)


def _with_renal_row(regimen: OralRegimen, band: RenalBand, protocols: ProtocolSet) -> OralRegimen:
    if band in RENAL_MODIFIER_BANDS:
        regimen = _combine(
            regimen, _row(protocols.oral_renal, f"{band.value}_", f"{band.value}_cap_mg_day")
        )
    return regimen


def _adult_regimen(adult: Protocol) -> OralRegimen:
    row = _row(adult, "", "cap_outpatient_mg_day", soft="soft_alert_mg_day")
    return OralRegimen(
        row.start, row.step, row.interval_days, row.target, row.cap,
        adult.decimal("cap_inpatient_mg_day"), row.soft_alert, None, (adult,),
        adult.decimal("max_single_dose_mg"),
    )  # fmt: skip


def _row(protocol: Protocol, prefix: str, cap: str, *, soft: str | None = None) -> OralRegimen:
    cap_value = protocol.decimal(cap)
    return OralRegimen(
        start=protocol.decimal(f"{prefix}start_mg_day"),
        step=protocol.decimal(f"{prefix}step_mg_day"),
        interval_days=protocol.integer(f"{prefix}interval_days"),
        target=protocol.decimal(f"{prefix}target_mg_day"),
        cap=cap_value,
        inpatient_cap=cap_value,
        soft_alert=protocol.decimal(soft) if soft else None,
        doses_per_day=None,
        protocols=(protocol,),
    )


def _child_regimen(
    age: Age, weight_kg: Decimal, band: RenalBand, protocols: ProtocolSet
) -> OralRegimen:
    ped = protocols.oral_paediatric

    def per_kg(name: str) -> Decimal:
        amount = ped.decimal(name) * weight_kg
        if band in RENAL_MODIFIER_BANDS:  # R-PED-11: renal factor on the mg/kg values
            return protocols.oral_renal.ratio(f"{band.value}_factor").apply(amount)
        return amount

    under_boundary = age.is_under(ped.integer("cap_age_boundary_years"))
    age_cap = ped.decimal(
        "cap_below_boundary_mg_day" if under_boundary else "cap_from_boundary_mg_day"
    )
    cap = min(per_kg("max_mg_kg_day"), age_cap)
    band_upper = _age_band_upper(age, ped)
    return OralRegimen(
        per_kg("start_mg_kg_day"), per_kg("step_mg_kg_day"), ped.integer("interval_days"),
        min(band_upper, cap), cap, cap, band_upper, ped.integer("doses_per_day"), (ped,),
        age_cap / ped.integer("doses_per_day"),  # A.6.2: the age cap ÷ 4
    )  # fmt: skip


def _age_band_upper(age: Age, ped: Protocol) -> Decimal:
    """R-PED-6 typical maintenance upper value of the patient's age band."""
    bands = zip(
        ped.decimal_lists["band_from_months"], ped.decimal_lists["band_upper_mg_day"], strict=True
    )
    return [upper for from_months, upper in bands if age.months >= from_months][-1]


def _combine(base: OralRegimen, modifier: OralRegimen) -> OralRegimen:
    alerts = [alert for alert in (base.soft_alert, modifier.soft_alert) if alert is not None]
    return OralRegimen(
        start=min(base.start, modifier.start),
        step=min(base.step, modifier.step),
        interval_days=max(base.interval_days, modifier.interval_days),
        target=min(base.target, modifier.target),
        cap=min(base.cap, modifier.cap),
        inpatient_cap=min(base.inpatient_cap, modifier.inpatient_cap),
        soft_alert=min(alerts) if alerts else None,
        doses_per_day=base.doses_per_day,
        protocols=base.protocols + modifier.protocols,
        max_single=base.max_single,  # A.6.2: set by age (adult 20 mg, child age cap ÷ 4)
    )


def dose_count_rule(
    max_single: Decimal, *, child: bool, protocols: ProtocolSet, taper: bool = False
) -> DoseCountRule:
    """Doses a day for this population (A.6.1): 4 for children (R-PED-2), 3 up to 60 mg/day
    and 4 above for adults (R-OA-7); single doses within ``max_single`` (A.6.2)."""
    return protocols.derived.get(
        ("dose_count_rule", max_single, child, taper),
        lambda: _dose_count_rule(max_single, child=child, protocols=protocols, taper=taper),
    )


def _dose_count_rule(
    max_single: Decimal, *, child: bool, protocols: ProtocolSet, taper: bool
) -> DoseCountRule:
    adult = protocols.oral_adult
    if child:
        count = protocols.oral_paediatric.integer("doses_per_day")
        up_to, threshold, above = count, None, count
    else:
        up_to = adult.integer("doses_per_day_up_to_threshold")
        threshold = adult.decimal("doses_per_day_threshold_mg_day")
        above = adult.integer("doses_per_day_above_threshold")
    return DoseCountRule(
        count_up_to=up_to, threshold=threshold, count_above=above,
        max_count=adult.integer("max_doses_per_day"), max_single=max_single,
        few_doses_max_daily=adult.decimal("few_doses_max_mg_day"),
        priority=adult.text_lists["remainder_priority"], lowering_only=taper,
    )  # fmt: skip
