from __future__ import annotations

from decimal import Decimal

import pytest

from weather_trader.core.fees import (
    WEATHER_SERIES_FEES,
    FeeError,
    SeriesFees,
    maker_fee,
    taker_fee,
    to_decimal,
)

D = Decimal


@pytest.mark.parametrize(
    ("count", "price", "expected"),
    [
        (100, "0.50", "1.75"),  # docs/architecture.md section 5 example
        (20, "0.60", "0.34"),  # 0.336 rounds UP
        (1, "0.50", "0.02"),  # 0.0175 -> 0.02
        (1, "0.01", "0.01"),  # 0.000693 -> one cent, never zero
        (1000, "0.99", "0.70"),  # 0.693 -> 0.70
        (10, "0.30", "0.15"),  # 0.147 -> 0.15
        (0, "0.50", "0.00"),
        (100, "0", "0.00"),
        (100, "1", "0.00"),
    ],
)
def test_taker_fee_examples(count: int, price: str, expected: str) -> None:
    fee = taker_fee(count, D(price))
    assert fee == D(expected)
    assert fee.as_tuple().exponent == -2  # whole cents


def test_fee_is_per_order_not_per_contract() -> None:
    # One contract at 0.50 costs 2 cents in fees, but 100 together cost 1.75, not 2.00.
    assert taker_fee(1, D("0.5")) * 100 == D("2.00")
    assert taker_fee(100, D("0.5")) == D("1.75")


def test_multiplier_and_maker() -> None:
    assert taker_fee(100, D("0.5"), D("0.5")) == D("0.88")  # 0.875 -> 0.88
    assert taker_fee(100, D("0.5"), D(0)) == D("0.00")
    assert maker_fee(100, D("0.5")) == D("0.44")  # 0.4375 -> 0.44
    assert maker_fee(20, D("0.60")) == D("0.09")  # 0.084 -> 0.09


def test_symmetric_in_price() -> None:
    for cents in range(1, 100):
        p = D(cents) / 100
        assert taker_fee(37, p) == taker_fee(37, 1 - p)


@pytest.mark.parametrize(
    ("count", "price", "multiplier"),
    [
        (-1, D("0.5"), D(1)),
        (1.0, D("0.5"), D(1)),
        (True, D("0.5"), D(1)),
        (1, D("1.01"), D(1)),
        (1, D("-0.01"), D(1)),
        (1, 0.5, D(1)),
        (1, D("0.5"), D(-1)),
        (1, D("NaN"), D(1)),
    ],
)
def test_invalid_inputs(count: object, price: object, multiplier: object) -> None:
    with pytest.raises(FeeError):
        taker_fee(count, price, multiplier)  # type: ignore[arg-type]


def test_to_decimal() -> None:
    assert to_decimal("0.33") == D("0.33")
    assert to_decimal(2) == D(2)
    with pytest.raises(FeeError):
        to_decimal(0.33)  # type: ignore[arg-type]
    with pytest.raises(FeeError):
        to_decimal("abc")
    with pytest.raises(FeeError):
        to_decimal("Infinity")
    assert issubclass(FeeError, ValueError)


def test_series_fees() -> None:
    assert WEATHER_SERIES_FEES.taker(100, D("0.5")) == D("1.75")
    assert WEATHER_SERIES_FEES.maker(100, D("0.5")) == D("0.00")
    with pytest.raises(FeeError):
        WEATHER_SERIES_FEES.maker(-1, D("0.5"))
    half = SeriesFees("quadratic_with_maker_fees", D("0.5"), maker_fees=True)
    assert half.taker(100, D("0.5")) == D("0.88")
    assert half.maker(100, D("0.5")) == D("0.22")  # 0.21875 -> 0.22


def test_series_fees_from_series_payload() -> None:
    fees = SeriesFees.from_series("quadratic_with_maker_fees", 0.5)
    assert fees.fee_multiplier == D("0.5")
    assert fees.maker_fees is True
    plain = SeriesFees.from_series("quadratic", "1")
    assert plain.maker_fees is False and plain.fee_multiplier == D(1)
    with pytest.raises(FeeError):
        SeriesFees.from_series("flat", 1.0)
    with pytest.raises(FeeError):
        SeriesFees("quadratic", D(-1), maker_fees=False)
    with pytest.raises(FeeError):
        SeriesFees.from_series("quadratic", float("nan"))
