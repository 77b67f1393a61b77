"""The protocol draft form: one row per parameter of the protocol's own schema, its value
prefilled, a source required for each change (issue 17).

A parameter counts as changed when its value differs from the current one or a new source is
typed (a new source alone re-grounds a value). Ranges, hard limits and the required source are
the service's rules; its FieldProblems come back here and land next to their parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from starlette.datastructures import FormData

from app.domain.patients import FieldProblem
from app.domain.titration.protocol_editing import EditableParameter, typed_value
from app.services.protocols import ParameterChange

MAX_VALUE_LENGTH = 200  # a list of strengths fits; the API allows 40 per value
MAX_SOURCE_LENGTH = 500  # the API's limit for a source


def value_field(name: str) -> str:
    return f"value.{name}"


def source_field(name: str) -> str:
    return f"source.{name}"


@dataclass
class DraftForm:
    """What the pharmacist typed, kept verbatim so a refused draft loses nothing."""

    parameters: tuple[EditableParameter, ...]
    values: dict[str, str]
    sources: dict[str, str]
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # form field name -> message

    @classmethod
    def start(cls, parameters: tuple[EditableParameter, ...]) -> DraftForm:
        return cls(parameters, {p.name: p.value for p in parameters}, {})

    @classmethod
    def from_form(cls, parameters: tuple[EditableParameter, ...], form: FormData) -> DraftForm:
        def text(name: str) -> str:
            return str(form.get(name, "")).strip()

        # A field the post does not carry keeps its current value (unchanged).
        values = {
            p.name: text(value_field(p.name)) if value_field(p.name) in form else p.value
            for p in parameters
        }
        sources = {p.name: text(source_field(p.name)) for p in parameters}
        return cls(parameters, values, sources, text("reason"))

    def changes(self) -> dict[str, ParameterChange]:
        """The changed parameters, each with its typed source ("" when none was typed: the
        service refuses that, naming the parameter)."""
        changes = {}
        for parameter in self.parameters:
            value, source = self.values[parameter.name], self.sources.get(parameter.name, "")
            too_long = (
                (value_field(parameter.name), value, MAX_VALUE_LENGTH),
                (source_field(parameter.name), source, MAX_SOURCE_LENGTH),
            )
            for name, typed, limit in too_long:
                if len(typed) > limit:
                    self.errors[name] = f"At most {limit} characters."
            if value != parameter.value or source:
                changes[parameter.name] = ParameterChange(
                    value=typed_value(parameter.kind, value), source=source
                )
        return changes

    def add_problems(self, problems: tuple[FieldProblem, ...]) -> None:
        """The service's problems by field: parameters.<name> is the value of <name>,
        parameters.<name>.source its source."""
        for problem in problems:
            name = problem.field.removeprefix("parameters.")
            if problem.field.startswith("parameters.") and name.endswith(".source"):
                target = source_field(name.removesuffix(".source"))
            elif problem.field.startswith("parameters."):
                target = value_field(name)
            else:
                target = problem.field  # "parameters" (the whole draft) or "reason"
            self.errors.setdefault(target, _sentence(problem.message))

    @property
    def changed_count(self) -> int:
        return sum(
            1 for p in self.parameters if self.values[p.name] != p.value or self.sources.get(p.name)
        )


@dataclass
class ApprovalForm:
    """The effective date typed on a draft's approve form (YYYY-MM-DD)."""

    version: int
    effective_from: str
    error: str = ""
    date_refused: bool = False  # the error is about the date typed (marks the field)

    def parsed(self) -> date | None:
        try:
            return date.fromisoformat(self.effective_from)
        except ValueError:
            self.error = "Write the effective date as YYYY-MM-DD, e.g. 2026-12-07."
            self.date_refused = True
            return None


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
