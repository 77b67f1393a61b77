"""Exact decimals as JSON numbers, shared by every surface that writes doses as numbers."""

from __future__ import annotations

from decimal import Decimal


def json_number(value: Decimal) -> int | float:
    """The exact decimal as a JSON number: an int, or the float whose shortest repr is the
    same decimal text. Refuses a value that a float cannot carry exactly, so no dose is ever
    changed by the encoding."""
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} cannot be written exactly as a JSON number")
    return number
