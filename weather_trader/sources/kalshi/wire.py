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

Unknown fields are ignored (Kalshi adds fields often); missing or invalid required fields raise
``pydantic.ValidationError``, which the REST client turns into ``KalshiMalformedResponse``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict

ZERO = Decimal(0)
ONE = Decimal(1)
CENTS = Decimal(100)

RawPayload = Mapping[str, Any]


def to_decimal(value: object, name: str = "value") -> Decimal:
    """An exact Decimal from a JSON scalar: str, int, Decimal, or float (via its shortest repr).

    Raises:
        ValueError: For bools, empty or non-numeric strings, and non-finite values.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name}: expected a number, got {value!r}")
    try:
        if isinstance(value, Decimal):
            out = value
        elif isinstance(value, int):
            out = Decimal(value)
        elif isinstance(value, float):
            out = Decimal(repr(value))
        elif isinstance(value, str) and value.strip():
            out = Decimal(value.strip())
        else:
            raise ValueError(f"{name}: expected a number, got {value!r}")
    except InvalidOperation:
        raise ValueError(f"{name}: {value!r} is not a number") from None
    if not out.is_finite():
        raise ValueError(f"{name}: {value!r} is not finite")
    return out


def money(raw: RawPayload, name: str) -> Decimal | None:
    """Dollars of money field ``name``: ``name_dollars``, else legacy integer cents in ``name``."""
    dollars = raw.get(f"{name}_dollars")
    if dollars is not None and dollars != "":
        return to_decimal(dollars, f"{name}_dollars")
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value) / CENTS
    return to_decimal(value, name)


def count(raw: RawPayload, name: str) -> Decimal | None:
    """Contracts in count field ``name``: ``name_fp``, else the legacy integer ``name``."""
    for key in (f"{name}_fp", name):
        value = raw.get(key)
        if value is not None and value != "":
            return to_decimal(value, key)
    return None


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
        raise ValueError(f"{name} must be a price within [0, 1] dollars, got {value}")
    return value


class KalshiModel(BaseModel):
    """Base of the Kalshi payload models: immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")
