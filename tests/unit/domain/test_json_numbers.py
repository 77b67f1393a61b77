from decimal import Decimal

import pytest

from app.domain.json_numbers import json_number


def test_whole_decimals_are_ints_and_exact_fractions_floats() -> None:
    assert json_number(Decimal("20.0")) == 20
    assert isinstance(json_number(Decimal("20.0")), int)
    assert json_number(Decimal("2.5")) == 2.5


def test_a_decimal_a_float_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="exactly"):
        json_number(Decimal("0.12345678901234567890"))
