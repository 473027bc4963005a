"""Kalshi's 2026 wire formats: fixed-point dollar and count strings, times, cursors.

Prices and money are kept internally as integer cents (the markets use the 1-cent grid) and
counts as whole contracts; these helpers convert at the API boundary, never through float.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
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


MAX_NUMBER_CHARS = 32
"""Longest accepted number string: enough for any price or count, too short for abuse."""
MAX_COUNT = 1_000_000
"""Most contracts in one order or amount (far above any account's buying power)."""
_MAX_DIGITS = 15  # an accepted number's integer part has at most this many digits


def parse_price(value: object, name: str = "price") -> int:
    """A dollar price (``"0.42"``, ``"0.4200"``) as integer cents on the 1-cent grid, 1..99.

    Raises:
        BadRequestError: If the value is not a string/number of at most 6 decimals, is off
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
            fractional trading), or a count below 1 (below 0 with ``allow_zero``) or above
            :data:`MAX_COUNT`.
    """
    amount = _decimal(value, name, max_places=2)
    if amount != amount.to_integral_value():
        raise BadRequestError(
            f"{name} {value!r}: fractional contracts are not enabled on this market",
            code="invalid_count",
        )
    count = int(amount)  # cheap: _decimal bounded the digits
    if count < (0 if allow_zero else 1):
        raise BadRequestError(f"{name} {value!r} is too small", code="invalid_count")
    if count > MAX_COUNT:
        raise BadRequestError(
            f"{name} {value!r} exceeds the most contracts per order ({MAX_COUNT})",
            code="invalid_count",
        )
    return count


def _decimal(value: object, name: str, max_places: int) -> Decimal:
    """``value`` as a Decimal of at most ``max_places`` decimals and :data:`_MAX_DIGITS`
    integer digits, checked before any arithmetic: ``Decimal("1e300000")`` is cheap to build
    but converting or quantizing it costs time proportional to its exponent."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRequestError(f"{name} must be a fixed-point string, got {value!r}")
    if isinstance(value, int) and not -(10**_MAX_DIGITS) < value < 10**_MAX_DIGITS:
        raise BadRequestError(f"{name} {value} is out of range")
    if isinstance(value, str) and len(value) > MAX_NUMBER_CHARS:
        raise BadRequestError(f"{name} is longer than {MAX_NUMBER_CHARS} characters")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BadRequestError(f"{name} {value!r} is not a number") from None
    if not amount.is_finite():
        raise BadRequestError(f"{name} {value!r} is not a finite number")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if -exponent > max_places:
        raise BadRequestError(f"{name} {value!r} has more than {max_places} decimals")
    if amount and amount.adjusted() >= _MAX_DIGITS:
        raise BadRequestError(f"{name} {value!r} is out of range")
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


MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2100, 1, 1, tzinfo=UTC)
"""Accepted instants (request times, the sim clock): the markets' era, with room to spare."""


def parse_iso(text: object, name: str = "time") -> datetime:
    """An ISO-8601 instant with an offset, within :data:`MIN_TIME`..:data:`MAX_TIME`.

    Raises:
        BadRequestError: If unparseable, naive or out of range.
    """
    if not isinstance(text, str) or len(text) > 64:
        raise BadRequestError(f"{name} must be an ISO-8601 string, got {str(text)[:64]!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise BadRequestError(f"{name} {text!r} must carry a UTC offset")
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 or 9999 shifted out of range by the offset
        raise BadRequestError(f"{name} {text!r} is not an ISO-8601 instant") from None
    return check_time(moment, name)


def check_time(moment: datetime, name: str) -> datetime:
    """``moment`` if within :data:`MIN_TIME`..:data:`MAX_TIME`.

    Raises:
        BadRequestError: Otherwise (naming the field).
    """
    if not MIN_TIME <= moment < MAX_TIME:
        raise BadRequestError(
            f"{name} {moment.isoformat()} is outside {MIN_TIME.year}..{MAX_TIME.year - 1}"
        )
    return moment


def time_from_seconds(value: object, name: str) -> datetime:
    """Unix seconds as an instant within :data:`MIN_TIME`..:data:`MAX_TIME`.

    Raises:
        BadRequestError: If not an integer or out of range (naming the field).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"{name} must be Unix seconds, got {value!r}")
    if not MIN_TIME.timestamp() <= value < MAX_TIME.timestamp():
        raise BadRequestError(f"{name} {value} is outside {MIN_TIME.year}..{MAX_TIME.year - 1}")
    return datetime.fromtimestamp(value, UTC)


_MAX_CURSOR_CHARS = 200


def _cursor_text(cursor: str, prefix: str) -> str:
    """The payload of a cursor issued with ``prefix``.

    Raises:
        BadRequestError: If the cursor was not issued by this exchange.
    """
    try:
        if len(cursor) > _MAX_CURSOR_CHARS:
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(prefix):
            raise ValueError(text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequestError(
            f"invalid cursor {cursor[:_MAX_CURSOR_CHARS]!r}", code="invalid_parameters"
        ) from None
    return text[len(prefix) :]


def encode_cursor(offset: int) -> str:
    """An opaque offset cursor for the next page starting at ``offset``."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset of a cursor from :func:`encode_cursor`; 0 for none.

    Raises:
        BadRequestError: If the cursor was not issued by this exchange.
    """
    if not cursor:
        return 0
    text = _cursor_text(cursor, "o:")
    if not text.isdigit() or len(text) > 9:
        raise BadRequestError(f"invalid cursor {cursor!r}", code="invalid_parameters")
    return int(text)


def page(items: list[T], cursor: str | None, limit: int) -> tuple[list[T], str]:
    """One page of ``items`` by offset and the cursor of the next page (``""`` when none is
    left). Only for listings whose rows do not come and go between pages (the catalog's)."""
    start = decode_cursor(cursor)
    chunk = items[start : start + limit]
    end = start + len(chunk)
    return chunk, (encode_cursor(end) if end < len(items) and limit > 0 else "")


def keyset_page(
    items: list[T], cursor: str | None, limit: int, key: Callable[[T], int | str]
) -> tuple[list[T], str]:
    """One page of ``items`` after the cursor's row, and the cursor of the next page.

    ``items`` must be sorted by ``key`` (unique and fixed for a row's life; descending for an
    ``int`` key, ascending for a ``str`` key). The cursor holds the last row's key, so rows
    added or changed between pages never make a row appear twice or be skipped.
    """
    if cursor:
        text = _cursor_text(cursor, "k:")
        if text[:1] == "n" and text[1:].isdigit() and len(text) <= 20:
            last: int | str = int(text[1:])
        elif text[:1] == "s":
            last = text[1:]
        else:
            raise BadRequestError(f"invalid cursor {cursor!r}", code="invalid_parameters")
        items = [i for i in items if _after(key(i), last)]
    chunk = items[:limit]
    if len(chunk) == len(items) or not chunk:
        return chunk, ""
    end = key(chunk[-1])
    text = f"n{end}" if isinstance(end, int) else f"s{end}"
    return chunk, base64.urlsafe_b64encode(f"k:{text}".encode()).decode()


def _after(value: int | str, last: int | str) -> bool:
    if isinstance(value, int):
        return isinstance(last, int) and value < last  # numbers: newest first
    return isinstance(last, str) and value > last  # names: alphabetical


def cents_of(price: Decimal) -> int:
    """A dollar Decimal on the cent grid as integer cents."""
    return int((price / _CENT).to_integral_value())
