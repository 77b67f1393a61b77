"""Errors that mean "no valid plan can be produced".

Safety findings (contraindications, interactions, soft limits) are values, never exceptions.
Every class carries a stable ``code`` slug that the shell maps to a problem type.

    TitrationError                         code
    ├── InvalidInputError                  invalid_input
    │   ├── MissingInputError              missing_input
    │   ├── WrongUnitError                 wrong_unit
    │   ├── IntervalTooShortError          interval_too_short
    │   ├── StepPercentOutOfRangeError     step_percent_out_of_range
    │   ├── DoseNotDeliverableError        dose_not_deliverable
    │   ├── TargetAboveHardLimitError      target_above_hard_limit
    │   ├── RefillIntervalMissingError     refill_interval_missing
    │   ├── ConcentrationOutOfRangeError   concentration_out_of_range
    │   └── ReservoirOutOfRangeError       reservoir_out_of_range
    ├── OverrideError                      invalid_override
    │   ├── OverrideReasonMissingError     override_reason_missing
    │   ├── OverrideNotAllowedError        override_not_allowed
    │   └── OverrideNotApplicableError     override_not_applicable
    ├── AlarmVolumeMissingError            alarm_volume_missing
    └── ProtocolError                      protocol_invalid
"""

from __future__ import annotations


class TitrationError(Exception):
    """Base of every engine error; ``field`` names the offending input when there is one."""

    code = "titration_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInputError(TitrationError):
    """An input is outside what the rules can plan for."""

    code = "invalid_input"


class MissingInputError(InvalidInputError):
    """An input the plan type needs was not given."""

    code = "missing_input"


class WrongUnitError(InvalidInputError):
    """A dose is in mg where mcg is required, or the reverse; never converted (M3)."""

    code = "wrong_unit"


class IntervalTooShortError(InvalidInputError):
    """The requested step interval is shorter than the protocol allows (R-OA-3, R-REN)."""

    code = "interval_too_short"


class StepPercentOutOfRangeError(InvalidInputError):
    """The intrathecal step is outside the allowed range (R-IT-P3..P5)."""

    code = "step_percent_out_of_range"


class DoseNotDeliverableError(InvalidInputError):
    """No formulation of the library can deliver the dose."""

    code = "dose_not_deliverable"


class TargetAboveHardLimitError(InvalidInputError):
    """The target is above a hard limit that no override can lift (R-OA-5/6, A.1)."""

    code = "target_above_hard_limit"


class RefillIntervalMissingError(InvalidInputError):
    """No maximum refill interval: no refill date is given without it (A.6.8, §15.2)."""

    code = "refill_interval_missing"


class ConcentrationOutOfRangeError(InvalidInputError):
    """A pump concentration outside 50–2000 mcg/mL (A.6.8, R-IT-F1)."""

    code = "concentration_out_of_range"


class ReservoirOutOfRangeError(InvalidInputError):
    """A pump reservoir outside 10–50 mL (A.6.8, device manuals)."""

    code = "reservoir_out_of_range"


class OverrideError(TitrationError):
    """An override cannot be applied."""

    code = "invalid_override"


class OverrideReasonMissingError(OverrideError):
    """Every override needs a non-empty reason."""

    code = "override_reason_missing"


class OverrideNotAllowedError(OverrideError):
    """The finding can never be overridden (hypersensitivity, C-1)."""

    code = "override_not_allowed"


class OverrideNotApplicableError(OverrideError):
    """The override names a code that is not a block finding of this plan."""

    code = "override_not_applicable"


class AlarmVolumeMissingError(TitrationError):
    """The pump's low-reservoir alarm volume was not given: no refill date is guessed (R-IT-F5)."""

    code = "alarm_volume_missing"


class ProtocolError(TitrationError):
    """A packaged protocol file is malformed."""

    code = "protocol_invalid"
