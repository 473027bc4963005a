"""Kalshi trading fees, in Decimal dollars.

Quadratic fee schedule: ``fee = ceil_to_cent(rate * C * P * (1 - P) * multiplier)`` per order,
with rate 0.07 for takers and 0.0175 for makers (only on series with maker fees). Because of
the rounding up, the fee is per *order*: compute it on the order's whole count, never as a
per-contract fee times the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

TAKER_RATE = Decimal("0.07")
MAKER_RATE = Decimal("0.0175")
CENT = Decimal("0.01")
FEE_TYPES: tuple[str, ...] = ("quadratic", "quadratic_with_maker_fees")


class FeeError(ValueError):
    """Raised for invalid fee inputs or an unsupported fee structure."""


def to_decimal(value: Decimal | int | str, name: str = "value") -> Decimal:
    """Convert exact money input to Decimal; floats are refused (they are not exact).

    Raises:
        FeeError: On floats, bools, non-numeric strings or non-finite values.
    """
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, bool) or not isinstance(value, int | str):
        raise FeeError(f"{name} must be Decimal, int or str (never float), got {value!r}")
    else:
        try:
            out = Decimal(value)
        except ArithmeticError:
            raise FeeError(f"{name} {value!r} is not a number") from None
    if not out.is_finite():
        raise FeeError(f"{name} must be finite, got {value!r}")
    return out


def _quadratic_fee(rate: Decimal, count: int, price: Decimal, multiplier: Decimal) -> Decimal:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise FeeError(f"count must be a non-negative int, got {count!r}")
    price = to_decimal(price, "price")
    multiplier = to_decimal(multiplier, "multiplier")
    if not Decimal(0) <= price <= Decimal(1):
        raise FeeError(f"price must be within [0, 1] dollars, got {price}")
    if multiplier < 0:
        raise FeeError(f"multiplier must be >= 0, got {multiplier}")
    raw = rate * count * price * (1 - price) * multiplier
    return raw.quantize(CENT, rounding=ROUND_CEILING)


def taker_fee(count: int, price: Decimal, multiplier: Decimal = Decimal(1)) -> Decimal:
    """Taker fee of one order: ceil to the cent of ``0.07 * C * P * (1 - P) * multiplier``.

    Args:
        count: Contracts in the order (>= 0).
        price: Contract price in dollars, in [0, 1] (the price of the side bought).
        multiplier: The series' ``fee_multiplier``.

    Returns:
        The fee in dollars, a whole number of cents (100 @ $0.50 -> $1.75; 20 @ $0.60 -> $0.34).

    Raises:
        FeeError: On a negative count, a price outside [0, 1] or float inputs.
    """
    return _quadratic_fee(TAKER_RATE, count, price, multiplier)


def maker_fee(count: int, price: Decimal, multiplier: Decimal = Decimal(1)) -> Decimal:
    """Maker fee of one order on a series with maker fees: ceil-to-cent ``0.0175*C*P*(1-P)*m``.

    Raises:
        FeeError: As :func:`taker_fee`.
    """
    return _quadratic_fee(MAKER_RATE, count, price, multiplier)


@dataclass(frozen=True)
class SeriesFees:
    """A series' fee parameters as Kalshi's ``GET /series`` reports them.

    Attributes:
        fee_type: ``"quadratic"`` or ``"quadratic_with_maker_fees"`` (``"flat"`` is refused:
            its schedule is not formula-based, so we would misprice every trade).
        fee_multiplier: Multiplier applied to both taker and maker fees.
        maker_fees: Whether resting (maker) fills pay the maker fee.
    """

    fee_type: str
    fee_multiplier: Decimal
    maker_fees: bool

    def __post_init__(self) -> None:
        if self.fee_type not in FEE_TYPES:
            raise FeeError(f"unsupported fee_type {self.fee_type!r}; supported: {FEE_TYPES}")
        multiplier = to_decimal(self.fee_multiplier, "fee_multiplier")
        if multiplier < 0:
            raise FeeError(f"fee_multiplier must be >= 0, got {multiplier}")
        object.__setattr__(self, "fee_multiplier", multiplier)

    @classmethod
    def from_series(cls, fee_type: str, fee_multiplier: Decimal | int | str | float) -> SeriesFees:
        """Build from a series payload; the JSON multiplier may be a float (via its repr).

        ``maker_fees`` follows the fee type (``quadratic_with_maker_fees``).
        """
        # The API sends a double; its shortest repr (1.0, 0.5) is the intended decimal value.
        multiplier = (
            Decimal(repr(fee_multiplier))
            if isinstance(fee_multiplier, float)
            else (to_decimal(fee_multiplier, "fee_multiplier"))
        )
        return cls(fee_type, multiplier, fee_type == "quadratic_with_maker_fees")

    def taker(self, count: int, price: Decimal) -> Decimal:
        """Taker fee of one order of ``count`` contracts at ``price`` dollars."""
        return taker_fee(count, price, self.fee_multiplier)

    def maker(self, count: int, price: Decimal) -> Decimal:
        """Maker fee of one resting order's fill; zero on series without maker fees."""
        if not self.maker_fees:
            # Still validate inputs so a bad call fails the same way on every series.
            _quadratic_fee(MAKER_RATE, count, price, self.fee_multiplier)
            return Decimal("0.00")
        return maker_fee(count, price, self.fee_multiplier)


WEATHER_SERIES_FEES = SeriesFees("quadratic", Decimal(1), maker_fees=False)
"""Current weather-series fees: standard taker fee, no maker fee."""
