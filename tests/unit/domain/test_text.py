"""Typed text is taken as typed, except NUL and the explicit bidirectional controls."""

from __future__ import annotations

import pytest

from app.domain.text import BIDI_CONTROLS, refused_character_problem


@pytest.mark.parametrize(
    "text",
    ["Nguyễn Thị Ánh", "<script>alert(1)</script>", "{{7*7}}", "Line\r\nbreak", "\u200fmark"],
)
def test_ordinary_and_hostile_looking_text_is_taken_as_typed(text: str) -> None:
    assert refused_character_problem(text) is None


def test_nul_is_refused_by_name() -> None:
    problem = refused_character_problem("A\x00B")
    assert problem is not None
    assert "NUL" in problem


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_every_explicit_bidirectional_control_is_refused(control: str) -> None:
    problem = refused_character_problem(f"Ann{control}gnp")
    assert problem is not None
    assert "bidirectional" in problem


def test_refusals_say_which_character_and_why_in_the_shown_words() -> None:
    # The message is what the person who typed the text reads (form and problem+json alike).
    assert refused_character_problem("A\x00B") == (
        "Text may not contain the NUL character (U+0000)."
    )
    assert refused_character_problem("Ann\u202egnp") == (
        "Text may not contain bidirectional control characters (U+202A–U+202E, "
        "U+2066–U+2069): they reorder the text shown after them."
    )
