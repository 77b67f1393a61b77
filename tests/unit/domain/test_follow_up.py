"""Suggestions from follow-up observations: sourced rules (protocols/follow-up.json)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.titration.errors import ProtocolError
from app.domain.titration.follow_up import (
    URGENT_EFFECTS,
    AdverseEffect,
    Benefit,
    FollowUp,
    FollowUpRules,
    Level,
    SuggestionKind,
    levels_on,
    load_follow_up_rules,
)
from app.domain.titration.model import PlanType
from app.domain.titration.protocol import read_protocol_bytes


def rules() -> FollowUpRules:
    """The packaged rules, read afresh by each test so that reading them is tested too."""
    return load_follow_up_rules()


def follow_up(**changes: object) -> FollowUp:
    values: dict[str, object] = {
        "adverse_effects": frozenset(), "benefit": None, "plan_type": PlanType.ORAL_TITRATION,
        "plan_day": 10, "review_day": 43, "has_lower_level": True,
    }  # fmt: skip
    values.update(changes)
    return FollowUp(**values)  # type: ignore[arg-type]


def test_drowsiness_with_a_lower_level_steps_back_and_names_its_source() -> None:
    suggestion = rules().suggest(follow_up(adverse_effects=frozenset({AdverseEffect.DROWSINESS})))
    assert suggestion.kind is SuggestionKind.STEP_BACK
    assert suggestion.rule == "FU-2"
    assert "diminish with dose adjustment" in suggestion.source


def test_adverse_effects_on_the_first_level_hold() -> None:
    suggestion = rules().suggest(
        follow_up(adverse_effects=frozenset({AdverseEffect.NAUSEA}), has_lower_level=False)
    )
    assert (suggestion.kind, suggestion.rule) == (SuggestionKind.HOLD, "FU-3")


def test_no_benefit_at_the_six_week_review_tapers_and_not_before() -> None:
    at_review = rules().suggest(follow_up(benefit=Benefit.NONE, plan_day=43))
    assert (at_review.kind, at_review.rule) == (SuggestionKind.TAPER, "FU-4")
    assert "R-OA-10" in at_review.source
    early = rules().suggest(follow_up(benefit=Benefit.NONE, plan_day=42))
    assert early.kind is SuggestionKind.CONTINUE


def test_a_taper_continues_through_drowsiness_but_not_through_withdrawal_signs() -> None:
    taper = {"plan_type": PlanType.ORAL_TAPER}
    drowsiness = frozenset({AdverseEffect.DROWSINESS})
    drowsy = rules().suggest(follow_up(adverse_effects=drowsiness, **taper))
    assert drowsy.kind is SuggestionKind.CONTINUE
    urgent = frozenset({AdverseEffect.WITHDRAWAL_SIGNS})
    assert rules().suggest(follow_up(adverse_effects=urgent, **taper)).kind is (
        SuggestionKind.SEE_CLINICIAN
    )


@given(
    effects=st.frozensets(st.sampled_from(AdverseEffect)),
    benefit=st.none() | st.sampled_from(Benefit),
    plan_type=st.sampled_from(PlanType),
    plan_day=st.integers(min_value=-400, max_value=4000),
    lower=st.booleans(),
)
def test_every_observation_gets_a_suggestion_and_seizures_never_continue(
    effects: frozenset[AdverseEffect], benefit: Benefit | None, plan_type: PlanType,
    plan_day: int, lower: bool,
) -> None:  # fmt: skip
    suggestion = rules().suggest(FollowUp(effects, benefit, plan_type, plan_day, 43, lower))
    assert all((suggestion.rule, suggestion.source, suggestion.text))
    if effects & URGENT_EFFECTS:
        assert suggestion.kind is SuggestionKind.SEE_CLINICIAN
    if effects and plan_type is not PlanType.ORAL_TAPER:
        assert suggestion.kind is not SuggestionKind.CONTINUE
    if suggestion.kind is SuggestionKind.STEP_BACK:
        assert lower


def _edited(edit) -> bytes:  # type: ignore[no-untyped-def]
    document = json.loads(read_protocol_bytes("follow-up"))
    edit(document)
    return json.dumps(document).encode()


MALFORMED = "follow-up: a malformed rule "


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(rules=[]), "follow-up: rules must be a non-empty list"),
        # no rule that always holds: the last one has a condition
        (lambda d: d["rules"].pop(), "follow-up: the last rule must hold for every observation"),
        (
            lambda d: d["rules"][-1].update(when={"benefit": "none"}),
            "follow-up: the last rule must hold for every observation",
        ),
        (
            lambda d: d["rules"][-1].update(when={"from_review_day": True}),
            "follow-up: the last rule must hold for every observation",
        ),
        (
            lambda d: d["rules"][-1].update(when={"has_lower_level": False}),
            "follow-up: the last rule must hold for every observation",
        ),
        (
            lambda d: d["rules"][-1].update(plan_types=["oral_titration"]),
            "follow-up: the last rule must hold for every plan type",
        ),
        # nothing sends a seizure to a clinician first, or only a seizure and not withdrawal
        (
            lambda d: d["rules"].pop(0),
            "follow-up: FU-2 could answer a seizure or withdrawal sign; "
            "a see_clinician rule for both must come first",
        ),
        (
            lambda d: d["rules"][0]["when"].update(adverse_effects_any=["seizure"]),
            "follow-up: FU-2 could answer a seizure or withdrawal sign; "
            "a see_clinician rule for both must come first",
        ),
        (
            lambda d: d["rules"][0].update(plan_types=["oral_taper"]),
            "follow-up: FU-2 could answer a seizure or withdrawal sign; "
            "a see_clinician rule for both must come first",
        ),
        (
            lambda d: d["rules"][0].update(suggestion="sometimes"),
            MALFORMED + "(ValueError(\"'sometimes' is not a valid SuggestionKind\"))",
        ),
        (
            lambda d: d["rules"][0].update(text=""),
            MALFORMED + "(ValueError('rule, text and source are non-empty strings'))",
        ),
        (
            lambda d: d["rules"][0]["when"].update(has_lower_level="yes"),
            MALFORMED + "(TypeError('has_lower_level is true or false'))",
        ),
        (
            lambda d: d["rules"][0].update(when=[]),
            MALFORMED + "(TypeError(\"a rule and its 'when' are objects\"))",
        ),
        (lambda d: d["rules"][0].pop("rule"), MALFORMED + "(KeyError('rule'))"),
        (
            lambda d: d["rules"].__setitem__(0, "FU-1"),
            MALFORMED + "(TypeError(\"a rule and its 'when' are objects\"))",
        ),
    ],
)
def test_a_malformed_rule_file_is_refused_when_read_saying_why(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProtocolError) as refused:
        load_follow_up_rules(_edited(edit))
    assert str(refused.value) == message


def test_each_packaged_rule_keeps_its_id_text_and_source_and_the_file_its_version() -> None:
    document = json.loads(read_protocol_bytes("follow-up"))
    loaded = rules()
    assert (loaded.ref.id, loaded.ref.version) == ("follow-up", document["version"])
    assert [
        (r.suggestion.kind.value, r.suggestion.rule, r.suggestion.text, r.suggestion.source)
        for r in loaded.rules
    ] == [
        (entry["suggestion"], entry["rule"], entry["text"], entry["source"])
        for entry in document["rules"]
    ]


def test_the_rule_list_cannot_run_out() -> None:
    rules = load_follow_up_rules()
    emptied = type(rules)(ref=rules.ref, rules=())
    with pytest.raises(ProtocolError, match=r"^follow-up: no rule holds$"):
        emptied.suggest(follow_up())


def test_levels_on_a_day_and_the_level_to_step_back_to() -> None:
    levels = [
        Level(date(2027, 1, 1), date(2027, 1, 3), Decimal(15)),
        Level(date(2027, 1, 4), date(2027, 1, 6), Decimal(30)),
        Level(date(2027, 1, 7), date(2027, 1, 9), Decimal(30)),
        Level(date(2027, 1, 10), date(2027, 2, 9), Decimal(45)),
    ]
    assert levels_on(levels, date(2026, 12, 1)) == (Decimal(15), None)
    assert levels_on(levels, date(2027, 1, 2)) == (Decimal(15), None)
    assert levels_on(levels, date(2027, 1, 3)) == (Decimal(15), None)  # a level's last day
    assert levels_on(levels, date(2027, 1, 8)) == (Decimal(30), Decimal(15))
    assert levels_on(levels, date(2027, 3, 1)) == (Decimal(45), Decimal(30))
    with pytest.raises(ValueError, match=r"^a schedule has at least one level$"):
        levels_on([], date(2027, 1, 1))
