"""Kalshi's 2026 wire formats: fixed-point dollar and count strings, times, cursors.

Prices and money are kept internally as integer cents (the markets use the 1-cent grid) and
counts as whole contracts; these helpers convert at the API boundary, never through float.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar

from weather_trader.sim.exchange.errors import BadRequestError

_FOUR = Decimal("0.0001")
_SIX = Decimal("0.000001")
_CENT = Decimal("0.01")
T = TypeVar("T")


def dollars(cents: int) -> str:
    """Integer cents as a 4-decimal dollar string: ``42 -> "0.4200"``, ``-5 -> "-0.0500"``."""
    return str((Decimal(int(cents)) / 100).quantize(_FOUR))


def dollars_exact(amount: Decimal) -> str:
    """A dollar amount with 4 decimals, or up to 6 when 4 would lose precision."""
    four = amount.quantize(_FOUR, rounding=ROUND_HALF_UP)
    if four == amount:
        return str(four)
    return str(amount.quantize(_SIX, rounding=ROUND_HALF_UP))


def count_fp(count: int) -> str:
    """Whole contracts as a 2-decimal fixed-point count: ``10 -> "10.00"``."""
    return f"{int(count)}.00"


def parse_price(value: object, name: str = "price") -> int:
    """A dollar price (``"0.42"``, ``"0.4200"``) as integer cents on the 1-cent grid, 1..99.

    Raises:
        BadRequestError: If the value is not a string/number of at most 4 decimals, is off
            the 1-cent grid, or is outside 0.01..0.99.
    """
    amount = _decimal(value, name, max_places=6)
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise BadRequestError(
            f"{name} {value!r} is not on the market's 1-cent price grid", code="invalid_price"
        )
    if not 1 <= cents <= 99:
        raise BadRequestError(
            f"{name} {value!r} must be within 0.01 and 0.99", code="invalid_price"
        )
    return int(cents)


def parse_count(value: object, name: str = "count", *, allow_zero: bool = False) -> int:
    """A fixed-point count (``"10"``, ``"10.00"``, or an int) as whole contracts.

    Raises:
        BadRequestError: On more than 2 decimals, fractions (these markets do not enable
            fractional trading), or a count below 1 (below 0 with ``allow_zero``).
    """
    amount = _decimal(value, name, max_places=2)
    if amount != amount.to_integral_value():
        raise BadRequestError(
            f"{name} {value!r}: fractional contracts are not enabled on this market",
            code="invalid_count",
        )
    count = int(amount)
    if count < (0 if allow_zero else 1):
        raise BadRequestError(f"{name} {value!r} is too small", code="invalid_count")
    return count


def _decimal(value: object, name: str, max_places: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRequestError(f"{name} must be a fixed-point string, got {value!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BadRequestError(f"{name} {value!r} is not a number") from None
    if not amount.is_finite():
        raise BadRequestError(f"{name} {value!r} is not a finite number")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > max_places:
        raise BadRequestError(f"{name} {value!r} has more than {max_places} decimals")
    return amount


def iso(moment: datetime) -> str:
    """RFC 3339 UTC timestamp with a ``Z`` (``2026-11-27T15:04:05.123Z``)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def ts_ms(moment: datetime) -> int:
    """Unix milliseconds."""
    return int(moment.timestamp() * 1000)


def parse_iso(text: object, name: str = "time") -> datetime:
    """An ISO-8601 instant with an offset.

    Raises:
        BadRequestError: If unparseable or naive.
    """
    if not isinstance(text, str):
        raise BadRequestError(f"{name} must be an ISO-8601 string, got {text!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(f"{name} {text!r} is not ISO-8601") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadRequestError(f"{name} {text!r} must carry a UTC offset")
    return moment.astimezone(UTC)


def encode_cursor(offset: int) -> str:
    """An opaque pagination cursor for the next page starting at ``offset``."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset of a cursor from :func:`encode_cursor`; 0 for none.

    Raises:
        BadRequestError: If the cursor was not issued by this exchange.
    """
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        offset = int(text[2:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequestError(f"invalid cursor {cursor!r}", code="invalid_parameters") from None
    if offset < 0:
        raise BadRequestError(f"invalid cursor {cursor!r}", code="invalid_parameters")
    return offset


def page(items: list[T], cursor: str | None, limit: int) -> tuple[list[T], str]:
    """One page of ``items`` and the cursor of the next page (``""`` when none is left)."""
    start = decode_cursor(cursor)
    chunk = items[start : start + limit]
    end = start + len(chunk)
    return chunk, (encode_cursor(end) if end < len(items) and limit > 0 else "")


def cents_of(price: Decimal) -> int:
    """A dollar Decimal on the cent grid as integer cents."""
    return int((price / _CENT).to_integral_value())
