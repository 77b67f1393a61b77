"""Follow-up observations and the suggestion the sourced rules make from them.

The rules are data (``protocols/follow-up.json``), each with its id and source, tried in
order: the first whose conditions hold gives the suggestion. The file must end with a rule
that always holds, and a seizure or withdrawal sign can never lead to "continue" (checked
when the file is read, and as a property in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.domain.titration.errors import ProtocolError
from app.domain.titration.model import PlanType
from app.domain.titration.protocol import ProtocolRef, parse_document, read_protocol_bytes

FOLLOW_UP_PROTOCOL = "follow-up"


class AdverseEffect(StrEnum):
    DROWSINESS = "drowsiness"
    DIZZINESS = "dizziness"
    WEAKNESS = "weakness"
    CONFUSION = "confusion"
    NAUSEA = "nausea"
    HYPOTENSION = "hypotension"
    SEIZURE = "seizure"
    WITHDRAWAL_SIGNS = "withdrawal_signs"
    OTHER = "other"


# Never "continue" with one of these (R-STOP-1, R-IT-W1).
URGENT_EFFECTS = frozenset({AdverseEffect.SEIZURE, AdverseEffect.WITHDRAWAL_SIGNS})


class Benefit(StrEnum):
    NONE = "none"
    SOME = "some"
    CLEAR = "clear"


# Modified Ashworth Scale scores and the Penn spasm frequency scale (0–4).
MAS_SCORES = ("0", "1", "1+", "2", "3", "4")
PENN_SCORES = range(5)


class SuggestionKind(StrEnum):
    CONTINUE = "continue"
    HOLD = "hold"
    STEP_BACK = "step_back"
    TAPER = "taper"
    SEE_CLINICIAN = "see_clinician"


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What the observation says that the rules read."""

    adverse_effects: frozenset[AdverseEffect]
    benefit: Benefit | None
    plan_type: PlanType
    # The plan's day on the observation date (1 = start date) and its review day (43).
    plan_day: int
    review_day: int
    # True when the plan was at a lower daily dose before the level in effect that day.
    has_lower_level: bool


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: SuggestionKind
    rule: str
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class _Rule:
    suggestion: Suggestion
    plan_types: frozenset[PlanType]
    effects_any: frozenset[AdverseEffect]
    benefit: Benefit | None
    from_review_day: bool
    has_lower_level: bool | None

    def holds(self, follow_up: FollowUp) -> bool:
        return (
            follow_up.plan_type in self.plan_types
            and (not self.effects_any or bool(self.effects_any & follow_up.adverse_effects))
            and (self.benefit is None or follow_up.benefit is self.benefit)
            and (not self.from_review_day or follow_up.plan_day >= follow_up.review_day)
            and (self.has_lower_level is None or follow_up.has_lower_level == self.has_lower_level)
        )


@dataclass(frozen=True, slots=True)
class FollowUpRules:
    ref: ProtocolRef
    rules: tuple[_Rule, ...]

    def suggest(self, follow_up: FollowUp) -> Suggestion:
        for rule in self.rules:
            if rule.holds(follow_up):
                return rule.suggestion
        raise ProtocolError(f"{FOLLOW_UP_PROTOCOL}: no rule holds")  # the parser forbids it


def load_follow_up_rules(raw: bytes | None = None) -> FollowUpRules:
    """Parse the follow-up rules (the packaged file unless ``raw`` is given)."""
    if raw is None:
        raw = read_protocol_bytes(FOLLOW_UP_PROTOCOL)
    ref, _, document = parse_document(FOLLOW_UP_PROTOCOL, raw)
    entries = document.get("rules")
    if not isinstance(entries, list) or not entries:
        raise ProtocolError(f"{FOLLOW_UP_PROTOCOL}: rules must be a non-empty list")
    rules = tuple(_parse_rule(entry) for entry in entries)
    last = rules[-1]
    if last.effects_any or last.benefit or last.from_review_day or last.has_lower_level is not None:
        raise ProtocolError(f"{FOLLOW_UP_PROTOCOL}: the last rule must hold for every observation")
    if set(PlanType) - last.plan_types:
        raise ProtocolError(f"{FOLLOW_UP_PROTOCOL}: the last rule must hold for every plan type")
    for position, rule in enumerate(rules):
        urgent_first = any(
            other.effects_any >= URGENT_EFFECTS and other.plan_types >= rule.plan_types
            and other.suggestion.kind is SuggestionKind.SEE_CLINICIAN
            for other in rules[:position]
        )  # fmt: skip
        if rule.suggestion.kind is not SuggestionKind.SEE_CLINICIAN and not urgent_first:
            raise ProtocolError(
                f"{FOLLOW_UP_PROTOCOL}: {rule.suggestion.rule} could answer a seizure or "
                "withdrawal sign; a see_clinician rule for both must come first"
            )
    return FollowUpRules(ref=ref, rules=rules)


def _parse_rule(entry: object) -> _Rule:
    try:
        if not isinstance(entry, dict) or not isinstance(entry["when"], dict):
            raise TypeError("a rule and its 'when' are objects")
        when = entry["when"]
        rule_id, text, source = (entry[key] for key in ("rule", "text", "source"))
        if not all(isinstance(value, str) and value for value in (rule_id, text, source)):
            raise ValueError("rule, text and source are non-empty strings")
        lower = when.get("has_lower_level")
        if not (lower is None or isinstance(lower, bool)):
            raise TypeError("has_lower_level is true or false")
        benefit = when.get("benefit")
        return _Rule(
            suggestion=Suggestion(SuggestionKind(entry["suggestion"]), rule_id, text, source),
            plan_types=frozenset(PlanType(p) for p in entry["plan_types"]),
            effects_any=frozenset(AdverseEffect(e) for e in when.get("adverse_effects_any", [])),
            benefit=None if benefit is None else Benefit(benefit),
            from_review_day=when.get("from_review_day", False) is True,
            has_lower_level=lower,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"{FOLLOW_UP_PROTOCOL}: a malformed rule ({error!r})") from error


@dataclass(frozen=True, slots=True)
class Level:
    """One step of a stored schedule: its dates and its daily dose (in the plan's unit)."""

    start: date
    end: date
    daily_dose: Decimal


def levels_on(levels: Sequence[Level], day: date) -> tuple[Decimal, Decimal | None]:
    """The daily dose in effect on ``day`` and the last lower level before it (the level to
    step back to), or None when no earlier level was lower. Before the first step the first
    level is in effect; after the last, the last one (it is held)."""
    if not levels:
        raise ValueError("a schedule has at least one level")
    index = len(levels) - 1
    for position, level in enumerate(levels):
        if day <= level.end:
            index = position
            break
    current = levels[index].daily_dose
    for level in reversed(levels[:index]):
        if level.daily_dose < current:
            return current, level.daily_dose
    return current, None
