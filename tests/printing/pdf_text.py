"""Reading a PDF back as text with poppler's pdftotext, and the checks every schedule passes."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from typing import Any

# ISMP: "5 mg", never "5.0 mg" or "5,0 mg"; "0.5 mL", never ".5 mL".
TRAILING_ZERO = re.compile(r"\b\d+[.,]0+\s*(mg|mcg|mL)\b")
NAKED_DECIMAL = re.compile(r"(^|\s)[.,]\d", re.MULTILINE)
MG = re.compile(r"\bmg\b")


def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each page; non-breaking spaces read as spaces."""
    assert pdf.startswith(b"%PDF-"), pdf[:40]
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    text = result.stdout.decode("utf-8").replace("\u00a0", " ")
    return [page for page in text.split("\f") if page.strip()]


def number(value: Any, language: str) -> str:
    """A stored number as the schedule must print it (written here without Babel)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text.replace(".", ",") if language in ("de", "vi") else text


def plan_doses(plan: dict[str, Any], language: str = "en") -> set[str]:
    """Every dose of a stored plan, with its unit: each single dose and each daily total."""
    doses = set()
    for step in plan["steps"]:
        daily = step["daily_dose"]
        doses.add(f"{number(daily['value'], language)} {daily['unit']}")
        for admin in step["administrations"]:
            doses.add(f"{number(admin['dose']['value'], language)} {admin['dose']['unit']}")
    return doses


def quantities(text: str) -> set[str]:
    """Every "number unit" pair in a text: "1.3 mg", "150 mcg", "0,5 mL"."""
    return set(re.findall(r"(?<![\d.,])\d+(?:[.,]\d+)? (?:mg|mcg|mL)\b", text))


def assert_ismp(text: str) -> None:
    assert not TRAILING_ZERO.search(text), TRAILING_ZERO.search(text)
    assert not NAKED_DECIMAL.search(text), NAKED_DECIMAL.search(text)


def assert_one_unit_system(text: str, *, intrathecal: bool) -> None:
    if intrathecal:
        assert not MG.search(text), "an intrathecal schedule shows mg"
        assert "mcg" in text
    else:
        assert "mcg" not in text, "an oral schedule shows mcg"
        assert MG.search(text)
