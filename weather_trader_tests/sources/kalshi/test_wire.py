"""Reading Kalshi's wire numbers: exact decimals, dollars from cents, counts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from weather_trader.sources.kalshi.wire import count, money, to_decimal


def test_conversion_helpers() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("0.4200") == Decimal("0.42")
    for bad in (True, None, "", "x", "NaN", [1]):
        with pytest.raises(ValueError):
            to_decimal(bad)
    assert money({"p_dollars": "0.33", "p": 99}, "p") == Decimal("0.33")
    assert money({"p": 33}, "p") == Decimal("0.33")
    assert money({"p": "0.33"}, "p") == Decimal("0.33")
    assert money({}, "p") is None
    assert count({"c_fp": "2.50", "c": 9}, "c") == Decimal("2.5")
    assert count({"c": 9}, "c") == Decimal(9) and count({}, "c") is None
