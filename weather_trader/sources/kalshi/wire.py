"""Kalshi's wire numbers read exactly into ``Decimal``, and the base of every payload model.

Kalshi moved to fixed-point strings on 2026-03-12: prices and money are dollar strings in
``*_dollars`` fields (``"yes_bid_dollars": "0.3300"``) and counts are ``*_fp`` strings
(``"volume_fp": "10.00"``). Older payloads and the historical archive use integer cents
(``"yes_bid": 33``) and integer counts. Both are read into ``Decimal`` dollars and ``Decimal``
counts; no money ever passes through a float.

Conversion rule for a field ``x`` (applied by every model's "before" validator):

* ``x_dollars`` / ``x_fp`` present -> parsed as a decimal string;
* else ``x`` is an ``int`` -> integer **cents** (money) or a whole count;
* else ``x`` is a ``str`` / ``Decimal`` -> already dollars (so ``model_dump()`` output
  validates back to the same model).

Numbers are bounded (:data:`MAX_MAGNITUDE`, at most :data:`MAX_DECIMALS` decimals), timestamps
too (:func:`unix_time`: 1970 to :data:`MAX_UNIX_SECONDS`), and counts, volumes, sizes, fees and
costs are never negative (``count(..., signed=True)`` / ``money(..., signed=True)`` for the few
signed fields: positions, P&L).

Unknown fields are ignored (Kalshi adds fields often); missing, invalid or out-of-range fields
raise ``pydantic.ValidationError`` (the helpers here raise ``ValueError`` only, which pydantic
wraps), never ``OverflowError`` or ``RecursionError``; the REST client turns it into
``KalshiMalformedResponse``, the WebSocket parser into ``MessageParseError``. Payloads are
decoded with :func:`loads`, which refuses nesting deeper than :data:`MAX_JSON_DEPTH`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict

ZERO = Decimal(0)
ONE = Decimal(1)
CENTS = Decimal(100)

RawPayload = Mapping[str, Any]

MAX_MAGNITUDE = Decimal(10) ** 15
"""Largest absolute number read (dollars, cents or contracts); anything larger is malformed."""
MAX_DECIMALS = 12
"""Most decimal places read (Kalshi sends 2 to 6)."""
MAX_UNIX_SECONDS = 4_102_444_800
"""2100-01-01T00:00Z: the latest Unix time read; earlier than 1970 is refused too."""
MAX_JSON_DEPTH = 64
"""Deepest array/object nesting :func:`loads` accepts (Kalshi's payloads nest 4 deep)."""


def describe(value: object, limit: int = 60) -> str:
    """A short, always-safe description of a wire value for an error message.

    Never ``repr`` of a container (a deeply nested one would raise ``RecursionError``).
    """
    if value is None or isinstance(value, bool | int | float | Decimal | str):
        text = repr(value)
        if len(text) > limit:  # a 4,000-digit int or a long string
            text = text[:limit] + "..."
        return text
    return f"<{type(value).__name__}>"


def loads(raw: str | bytes) -> Any:
    """JSON decoded with floats as ``Decimal``, refusing nesting deeper than ``MAX_JSON_DEPTH``.

    Raises:
        ValueError: For invalid JSON, too deep nesting, or numbers Python cannot read.
    """
    try:
        data = json.loads(raw, parse_float=Decimal)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"JSON is not UTF-8: {exc.reason}") from None
    if depth_exceeds(data, MAX_JSON_DEPTH):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    return data


def depth_exceeds(data: object, limit: int) -> bool:
    """Whether ``data`` (decoded JSON) nests lists/objects deeper than ``limit`` (no recursion)."""
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def to_decimal(value: object, name: str = "value", *, signed: bool = True) -> Decimal:
    """An exact Decimal from a JSON scalar: str, int, Decimal, or float (via its shortest repr).

    Args:
        value: The wire value.
        name: The field name, for the error message.
        signed: False for fields that are never negative (counts, sizes, fees, costs).

    Raises:
        ValueError: For bools, empty or non-numeric strings, non-finite values, magnitudes over
            ``MAX_MAGNITUDE``, more than ``MAX_DECIMALS`` decimals, or a negative unsigned value.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name}: expected a number, got {describe(value)}")
    try:
        if isinstance(value, Decimal):
            out = value
        elif isinstance(value, int):
            if abs(value) > MAX_MAGNITUDE:  # before Decimal(): no 10**100000-digit conversion
                raise ValueError(f"{name}: {describe(value)} is out of range")
            out = Decimal(value)
        elif isinstance(value, float):
            out = Decimal(repr(value))
        elif isinstance(value, str) and value.strip() and len(value) <= 64:
            out = Decimal(value.strip())
        else:
            raise ValueError(f"{name}: expected a number, got {describe(value)}")
    except (InvalidOperation, ArithmeticError):
        raise ValueError(f"{name}: {describe(value)} is not a number") from None
    if not out.is_finite():
        raise ValueError(f"{name}: {describe(value)} is not finite")
    # copy_abs, not abs(): abs() rounds in the context and overflows on "1e999999999".
    if out.copy_abs() > MAX_MAGNITUDE or int(out.as_tuple().exponent) < -MAX_DECIMALS:
        raise ValueError(f"{name}: {describe(value)} is out of range")
    if not signed and out < 0:
        raise ValueError(f"{name}: {describe(value)} must not be negative")
    return out


def money(raw: RawPayload, name: str, *, signed: bool = False) -> Decimal | None:
    """Dollars of money field ``name``: ``name_dollars``, else legacy integer cents in ``name``.

    Never negative unless ``signed`` (P&L, position cost).
    """
    dollars = raw.get(f"{name}_dollars")
    if dollars is not None and dollars != "":
        return to_decimal(dollars, f"{name}_dollars", signed=signed)
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return to_decimal(value, name, signed=signed) / CENTS
    return to_decimal(value, name, signed=signed)


def count(raw: RawPayload, name: str, *, signed: bool = False) -> Decimal | None:
    """Contracts in count field ``name``: ``name_fp``, else the legacy integer ``name``.

    Never negative unless ``signed`` (positions: YES > 0, NO < 0).
    """
    for key in (f"{name}_fp", name):
        value = raw.get(key)
        if value is not None and value != "":
            return to_decimal(value, key, signed=signed)
    return None


def unix_time(value: object, name: str, *, unit: str = "s") -> datetime:
    """An aware UTC datetime from a Unix time in seconds (``unit="s"``) or milliseconds ("ms").

    Raises:
        ValueError: For non-integers and times before 1970 or after ``MAX_UNIX_SECONDS``.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name}: {describe(value)} is not a Unix time")
    scale = 1000 if unit == "ms" else 1
    if not 0 <= value <= MAX_UNIX_SECONDS * scale:
        raise ValueError(f"{name}: Unix time {describe(value)} is out of range")
    return datetime.fromtimestamp(value / scale, UTC)


def blank_to_none(raw: dict[str, Any], *names: str) -> None:
    """Turn the empty strings Kalshi sends for unset optional fields into None, in place."""
    for name in names:
        if raw.get(name) == "":
            raw[name] = None


def list_or_empty(value: object) -> Any:
    """``[]`` for the null Kalshi sends instead of an empty list."""
    return [] if value is None else value


def check_price(value: Decimal | None, name: str) -> Decimal | None:
    """``value`` unchanged when it is None or a price within [0, 1] dollars.

    Raises:
        ValueError: If the price is outside [0, 1].
    """
    if value is not None and not ZERO <= value <= ONE:
        raise ValueError(f"{name} must be a price within [0, 1] dollars, got {describe(value)}")
    return value


class KalshiModel(BaseModel):
    """Base of the Kalshi payload models: immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")
