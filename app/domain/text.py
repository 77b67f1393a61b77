"""Characters typed text may not hold, whichever surface it arrives through.

Everything else a person can type is stored as typed and shown as text (escaped by the
templates, quoted by the exports). These few are refused because no escaping helps:

- NUL: PostgreSQL can neither store nor compare it (SQLite can), and no name needs one.
- The explicit bidirectional formatting characters of Unicode (UAX #9: embeddings,
  overrides, isolates). One that is not closed runs on to the end of the line it is shown
  on: a family name ending in U+202E prints the running head of every page of a plan as
  "Name · 1891 ,2 yaM · …", the date of birth reversed into another year. Nobody types them;
  text pasted with them is refused rather than silently changed. The implicit marks
  (U+200E, U+200F, U+061C) reorder nothing after them and stay allowed.
"""

from __future__ import annotations

NUL = "\x00"
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def refused_character_problem(text: str) -> str | None:
    """Why `text` cannot be taken as typed; None when it can."""
    if NUL in text:
        return "Text may not contain the NUL character (U+0000)."
    if not BIDI_CONTROLS.isdisjoint(text):
        return (
            "Text may not contain bidirectional control characters (U+202A–U+202E, "
            "U+2066–U+2069): they reorder the text shown after them."
        )
    return None
