"""Kalshi temperature brackets: parsing, settlement and pricing.

Semantics (Kalshi's strike fields, T = the reported whole-degree value):

* ``between`` with floor F and cap C: YES iff F <= T <= C (both inclusive);
* ``less`` with cap C: YES iff T < C (the subtitle reads "C-1° or below");
* ``greater`` with floor F: YES iff T > F (the subtitle reads "F+1° or above").

A continuous forecast X of the temperature gives P(T = k) = P(k - 0.5 <= X < k + 0.5), so a
bracket's probability is a difference of two CDF values and the brackets of one event (mutually
exclusive, exhaustive over the integers) telescope to exactly 1.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from weather_trader.core.distribution import TemperatureDistribution

StrikeType = Literal["between", "less", "greater"]
STRIKE_TYPES: tuple[str, ...] = get_args(StrikeType)


class BracketError(ValueError):
    """Raised for an invalid bracket, an unparseable market or an invalid event structure."""


@dataclass(frozen=True)
class Bracket:
    """One binary market's YES condition on the integer settlement temperature.

    Attributes:
        strike_type: ``"between"``, ``"less"`` or ``"greater"``.
        floor_strike: Kalshi's floor (``between`` and ``greater``), else None.
        cap_strike: Kalshi's cap (``between`` and ``less``), else None.
    """

    strike_type: StrikeType
    floor_strike: int | None = None
    cap_strike: int | None = None

    def __post_init__(self) -> None:
        st, floor, cap = self.strike_type, self.floor_strike, self.cap_strike
        if st not in STRIKE_TYPES:
            raise BracketError(f"unknown strike_type {st!r}; expected one of {STRIKE_TYPES}")
        for name, value in (("floor_strike", floor), ("cap_strike", cap)):
            # bool is an int subclass but never a temperature.
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise BracketError(f"{name} must be an int or None, got {value!r}")
        needs_floor, needs_cap = st in ("between", "greater"), st in ("between", "less")
        if (floor is not None) != needs_floor or (cap is not None) != needs_cap:
            raise BracketError(
                f"{st} bracket needs floor={'int' if needs_floor else 'None'} and "
                f"cap={'int' if needs_cap else 'None'}; got floor={floor!r}, cap={cap!r}"
            )
        if st == "between" and floor > cap:  # type: ignore[operator]
            raise BracketError(f"between bracket with floor {floor} > cap {cap}")

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def between(cls, floor: int, cap: int) -> Bracket:
        """YES iff ``floor <= T <= cap``."""
        return cls("between", floor, cap)

    @classmethod
    def less(cls, cap: int) -> Bracket:
        """YES iff ``T < cap`` ("cap-1° or below")."""
        return cls("less", None, cap)

    @classmethod
    def greater(cls, floor: int) -> Bracket:
        """YES iff ``T > floor`` ("floor+1° or above")."""
        return cls("greater", floor, None)

    @classmethod
    def from_kalshi_market(cls, market: Mapping[str, Any]) -> Bracket:
        """Build the bracket of a Kalshi market payload (any API vintage).

        Order of trust: the strike fields (``strike_type``, ``floor_strike``, ``cap_strike``);
        when they are absent, ``yes_sub_title`` / ``subtitle`` ("23° or below", "45° to 46°",
        "31° or above"); then ``rules_primary`` ("is less than 84°", "is between 80-81°").
        The ticker suffix (``-T84``, ``-B73.5``) is never a source, only a cross-check: when
        it contradicts the parsed bracket the market is rejected.

        Args:
            market: A market object as returned by ``GET /markets`` (or an equivalent dict).

        Raises:
            BracketError: Naming the ticker when no field parses or the ticker contradicts it.
        """
        ticker = str(market.get("ticker") or "<no ticker>")
        bracket = _from_strike_fields(market, ticker)
        if bracket is None:
            for key in ("yes_sub_title", "subtitle"):
                text = market.get(key)
                if isinstance(text, str) and (bracket := parse_subtitle(text)) is not None:
                    break
        if bracket is None:
            rules = market.get("rules_primary")
            if isinstance(rules, str):
                bracket = parse_rules(rules)
        if bracket is None:
            raise BracketError(
                f"market {ticker}: no strike fields, subtitle or rules text describe a bracket"
            )
        if not ticker_agrees(ticker, bracket):
            raise BracketError(f"market {ticker}: ticker suffix contradicts parsed {bracket}")
        return bracket

    # -- semantics ----------------------------------------------------------------------------

    def integer_range(self) -> tuple[int | None, int | None]:
        """Inclusive integer bounds ``(lo, hi)`` of YES; None is an open end."""
        if self.strike_type == "between":
            return self.floor_strike, self.cap_strike
        if self.strike_type == "less":
            return None, self.cap_strike - 1  # type: ignore[operator]
        return self.floor_strike + 1, None  # type: ignore[operator]

    def settles_yes(self, value_f: int) -> bool:
        """Whether the market resolves YES for the reported whole-degree value ``value_f``.

        Raises:
            BracketError: If ``value_f`` is not an integer (the CLI reports whole degrees).
        """
        if isinstance(value_f, bool):
            raise BracketError(f"settlement value must be an integer, got {value_f!r}")
        try:
            # operator.index accepts numpy integers but refuses floats and strings.
            value_f = operator.index(value_f)
        except TypeError:
            raise BracketError(f"settlement value must be an integer, got {value_f!r}") from None
        lo, hi = self.integer_range()
        return (lo is None or value_f >= lo) and (hi is None or value_f <= hi)

    def contains_interval(self) -> tuple[float, float]:
        """The continuous interval ``[lower, upper)`` of X whose rounding settles YES."""
        lo, hi = self.integer_range()
        lower = -math.inf if lo is None else lo - 0.5
        upper = math.inf if hi is None else hi + 0.5
        return lower, upper

    @property
    def label(self) -> str:
        """Kalshi-style subtitle: ``"73° to 74°"``, ``"83° or below"``, ``"92° or above"``."""
        lo, hi = self.integer_range()
        if lo is None:
            return f"{hi}° or below"
        if hi is None:
            return f"{lo}° or above"
        return f"{lo}° to {hi}°"

    def __str__(self) -> str:
        return self.label


# -- parsing helpers ---------------------------------------------------------------------------

_DEG = r"\s*(?:°|º|˚|deg(?:rees)?)?\s*F?"
_NUM = r"(-?\d+)"
_SUB_LESS = re.compile(rf"^\s*{_NUM}{_DEG}\s+or\s+(?:below|lower|less)\s*$", re.I)
_SUB_GREATER = re.compile(rf"^\s*{_NUM}{_DEG}\s+or\s+(?:above|higher|more)\s*$", re.I)
_SUB_BETWEEN = re.compile(rf"^\s*{_NUM}{_DEG}\s*(?:to|-|–|—)\s*{_NUM}{_DEG}\s*$", re.I)
_RULE_LESS = re.compile(rf"\bis\s+(?:strictly\s+)?less\s+than\s+{_NUM}", re.I)
_RULE_GREATER = re.compile(rf"\bis\s+(?:strictly\s+)?greater\s+than\s+{_NUM}", re.I)
_RULE_BETWEEN = re.compile(rf"\bis\s+between\s+{_NUM}{_DEG}\s*(?:-|–|—|to|and)\s*{_NUM}", re.I)
_RULE_OR_BELOW = re.compile(rf"\bis\s+{_NUM}{_DEG}\s+or\s+(?:below|lower|less)\b", re.I)
_RULE_OR_ABOVE = re.compile(rf"\bis\s+{_NUM}{_DEG}\s+or\s+(?:above|higher|more)\b", re.I)
_TICKER_SUFFIX = re.compile(r"-([TB])(-?\d+(?:\.\d+)?)$")


def _parse_strike(value: object, name: str, ticker: str) -> int | None:
    """A strike as int: accepts ints, integral floats (84.0) and strings ("84", "84.00")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BracketError(f"market {ticker}: {name} {value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BracketError(f"market {ticker}: {name} {value!r} is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise BracketError(f"market {ticker}: {name} {value!r} is not a whole degree")
    return int(number)


def _from_strike_fields(market: Mapping[str, Any], ticker: str) -> Bracket | None:
    raw_type = market.get("strike_type")
    if raw_type is None or (isinstance(raw_type, str) and not raw_type.strip()):
        return None
    strike_type = str(raw_type).strip().lower()
    if strike_type not in STRIKE_TYPES:
        raise BracketError(f"market {ticker}: unsupported strike_type {raw_type!r}")
    floor = _parse_strike(market.get("floor_strike"), "floor_strike", ticker)
    cap = _parse_strike(market.get("cap_strike"), "cap_strike", ticker)
    # Tails carry only one strike; ignore a stray other one rather than reject the market.
    if strike_type == "less":
        floor = None
    elif strike_type == "greater":
        cap = None
    if (strike_type != "less" and floor is None) or (strike_type != "greater" and cap is None):
        return None  # incomplete strike fields: fall back to the text
    try:
        return Bracket(strike_type, floor, cap)  # type: ignore[arg-type]
    except BracketError as exc:
        raise BracketError(f"market {ticker}: {exc}") from None


def parse_subtitle(text: str) -> Bracket | None:
    """Parse a Kalshi subtitle ("23° or below", "45° to 46°", "31° or above"); None if no match."""
    if m := _SUB_LESS.match(text):
        return Bracket.less(int(m.group(1)) + 1)
    if m := _SUB_GREATER.match(text):
        return Bracket.greater(int(m.group(1)) - 1)
    if m := _SUB_BETWEEN.match(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        return Bracket.between(lo, hi) if lo <= hi else None
    return None


def parse_rules(text: str) -> Bracket | None:
    """Parse ``rules_primary`` ("... is less than 84°, then ..."); None if no clause matches."""
    if m := _RULE_BETWEEN.search(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        return Bracket.between(lo, hi) if lo <= hi else None
    if m := _RULE_LESS.search(text):
        return Bracket.less(int(m.group(1)))
    if m := _RULE_GREATER.search(text):
        return Bracket.greater(int(m.group(1)))
    if m := _RULE_OR_BELOW.search(text):
        return Bracket.less(int(m.group(1)) + 1)
    if m := _RULE_OR_ABOVE.search(text):
        return Bracket.greater(int(m.group(1)) - 1)
    return None


def ticker_agrees(ticker: str, bracket: Bracket) -> bool:
    """Whether a market ticker's suffix is consistent with ``bracket``.

    ``-T<n>`` marks a tail whose strike is n (``less`` cap or ``greater`` floor); ``-B<x>`` a
    ``between`` bracket whose midpoint is x (``-B73.5`` = 73-74). A ticker without a
    recognisable suffix agrees with anything: the suffix is only a cross-check.
    """
    m = _TICKER_SUFFIX.search(ticker)
    if m is None:
        return True
    kind, number = m.group(1), Decimal(m.group(2))
    if kind == "T":
        strike = bracket.cap_strike if bracket.strike_type == "less" else bracket.floor_strike
        return bracket.strike_type != "between" and strike == number
    if bracket.strike_type != "between":
        return False
    return Decimal(bracket.floor_strike + bracket.cap_strike) / 2 == number  # type: ignore[operator]


# -- events and probabilities ------------------------------------------------------------------


def _sort_key(bracket: Bracket) -> float:
    lo, _ = bracket.integer_range()
    return -math.inf if lo is None else lo


def validate_event_brackets(brackets: Sequence[Bracket]) -> list[Bracket]:
    """Check that an event's brackets are mutually exclusive and exhaustive over the integers.

    That means: exactly one ``less`` tail, exactly one ``greater`` tail, and the brackets,
    sorted, tile the integers with no gap and no overlap.

    Args:
        brackets: The brackets of one event, in any order.

    Returns:
        The brackets sorted from coldest to warmest.

    Raises:
        BracketError: Describing the first gap, overlap or missing tail found.
    """
    if not brackets:
        raise BracketError("an event needs at least two brackets; got none")
    ordered = sorted(brackets, key=_sort_key)
    n_less = sum(b.strike_type == "less" for b in ordered)
    n_greater = sum(b.strike_type == "greater" for b in ordered)
    if n_less != 1 or n_greater != 1:
        raise BracketError(
            f"an event needs exactly one 'less' and one 'greater' tail; got {n_less} and "
            f"{n_greater} in {[b.label for b in ordered]}"
        )
    if ordered[0].strike_type != "less" or ordered[-1].strike_type != "greater":
        raise BracketError(f"tails overlap the inner brackets: {[b.label for b in ordered]}")
    for prev, nxt in itertools.pairwise(ordered):
        prev_hi, next_lo = prev.integer_range()[1], nxt.integer_range()[0]
        assert prev_hi is not None and next_lo is not None  # tails are at the ends
        if next_lo <= prev_hi:
            raise BracketError(f"brackets overlap: {prev.label!r} and {nxt.label!r}")
        if next_lo > prev_hi + 1:
            raise BracketError(f"gap between {prev.label!r} and {nxt.label!r}")
    return ordered


def bracket_probability(bracket: Bracket, dist: TemperatureDistribution) -> float:
    """P(YES) = P(lower <= X < upper) with integer settlement (X rounded to whole degrees).

    A ``between`` F..C bracket is ``cdf(C + 0.5) - cdf(F - 0.5)``; tails use ``±inf``.
    """
    lower, upper = bracket.contains_interval()
    p = float(dist.cdf(upper)) - float(dist.cdf(lower))
    # Only float round-off can make this negative; clamp so callers never see -1e-17.
    return max(p, 0.0)


def event_probabilities(brackets: Sequence[Bracket], dist: TemperatureDistribution) -> list[float]:
    """P(YES) of each bracket of one event, in the given order, after validating the event.

    The probabilities sum to 1 (up to float round-off) without any renormalisation, because a
    validated event tiles the real line with adjacent half-integer intervals.

    Raises:
        BracketError: If the brackets are not exclusive and exhaustive.
    """
    validate_event_brackets(brackets)
    return [bracket_probability(b, dist) for b in brackets]


def standard_event_brackets(center: int, width: int = 2, inner: int = 4) -> list[Bracket]:
    """The real Kalshi event structure: a ``less`` tail, ``inner`` brackets, a ``greater`` tail.

    The inner brackets are ``width`` degrees wide and cover ``inner * width`` integers around
    ``center``. ``standard_event_brackets(88)`` gives "83° or below", 84-85, 86-87, 88-89,
    90-91, "92° or above" (the HIGHNY-24AUG16 event).

    Raises:
        BracketError: If ``width < 1`` or ``inner < 0``.
    """
    if width < 1 or inner < 0:
        raise BracketError(f"need width >= 1 and inner >= 0; got width={width}, inner={inner}")
    start = center - (inner * width) // 2
    out = [Bracket.less(start)]
    out += [Bracket.between(start + i * width, start + (i + 1) * width - 1) for i in range(inner)]
    out.append(Bracket.greater(start + inner * width - 1))
    return out
