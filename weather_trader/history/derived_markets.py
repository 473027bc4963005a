"""Market rows rebuilt from their tickers, for trade tapes without an event file.

Legacy tapes (``HIGHNY-``/``HIGHCHI-`` before August 2024) have trades but no event file; their
brackets are read from the ticker suffix and the event's other tickers (:func:`derive_markets`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from weather_trader.core.brackets import Bracket, BracketError
from weather_trader.core.cities import UnknownCityError, city_for_series, parse_event_ticker
from weather_trader.core.climate_day import climate_day_window
from weather_trader.history.importers import DERIVED_STATUS, MarketRecord, RowError

_MARKET_TICKER = re.compile(
    r"^(?P<event>[A-Z0-9]+-\d{2}[A-Z]{3}\d{2})-(?P<t>[TB])(?P<n>-?\d+(?:\.\d+)?)$"
)


def market_event_ticker(ticker: str) -> str | None:
    """The event part of a bracket market ticker (``HIGHCHI-24JAN14`` of ``...-T-1``), or None."""
    m = _MARKET_TICKER.match(ticker)
    return None if m is None else m["event"]


def derive_markets(
    tickers: Iterable[str], known: Mapping[str, Iterable[str]] | None = None
) -> tuple[list[MarketRecord], dict[str, str]]:
    """Rebuild the market rows of tickers that have no event file (legacy tapes).

    ``-B43.5`` is the two-degree bracket 43-44 (the only width these series ever listed).
    ``-T<n>`` is a tail: the lower ``T`` of an event is the "or below" (``less``, cap n), the
    higher the "or above" (``greater``, floor n). With a single ``T`` the event's ``B``
    brackets decide: below them it is the ``less``, above them the ``greater``. Anything else is
    left underived (its trades still import; it just has no market row).

    Args:
        tickers: Market tickers to derive.
        known: Other market tickers of the same events (stored or imported), by event ticker,
            which help place a lone ``T``.

    Returns:
        ``(records, underived)``: records have status :data:`DERIVED_STATUS`, no result,
        the series' default fee multiplier and the climate day's end as close time;
        ``underived`` maps each ticker left out to the reason.
    """
    by_event: dict[str, set[str]] = defaultdict(set)
    underived: dict[str, str] = {}
    parsed: dict[str, tuple[str, str, Decimal]] = {}
    for ticker in {*tickers}:
        m = _MARKET_TICKER.match(ticker)
        if m is None:
            underived[ticker] = "not a YYMONDD-T<n>/B<n> market ticker"
            continue
        parsed[ticker] = (m["event"], m["t"], Decimal(m["n"]))
        by_event[m["event"]].add(ticker)
    for event, others in (known or {}).items():
        if event in by_event:
            by_event[event].update(t for t in others if _MARKET_TICKER.match(t))
    records = []
    for ticker, (event, t, n) in sorted(parsed.items()):
        try:
            bracket = _derived_bracket(t, n, by_event[event])
            series, day = parse_event_ticker(event)
            city, kind = city_for_series(series)
        except (RowError, BracketError, ValueError, UnknownCityError) as exc:
            underived[ticker] = str(exc.args[0]) if exc.args else type(exc).__name__
            continue
        records.append(
            MarketRecord(
                ticker=ticker,
                event_ticker=event,
                series_ticker=city.series(kind),
                city=city.code,
                climate_date=day,
                kind=kind,
                strike_type=bracket.strike_type,
                floor_strike=bracket.floor_strike,
                cap_strike=bracket.cap_strike,
                title=bracket.label,
                status=DERIVED_STATUS,
                close_time=climate_day_window(city.code, day)[1],
                result=None,
                settled_value=None,
            )
        )
    return records, underived


def _derived_bracket(t: str, n: Decimal, event_tickers: Iterable[str]) -> Bracket:
    if t == "B":
        if abs(n) % 1 != Decimal("0.5"):
            raise RowError(f"B{n}: only half-degree midpoints (two-degree brackets) are derived")
        return Bracket.between(int(n - Decimal("0.5")), int(n + Decimal("0.5")))
    tails, floors, caps = [], [], []
    for other in event_tickers:
        m = _MARKET_TICKER.match(other)
        assert m is not None
        value = Decimal(m["n"])
        if m["t"] == "T":
            tails.append(value)
        elif abs(value) % 1 == Decimal("0.5"):
            floors.append(value - Decimal("0.5"))
            caps.append(value + Decimal("0.5"))
    if n != n.to_integral_value():
        raise RowError(f"T{n}: a tail strike is a whole degree")
    lowest_b, highest_b = min(floors, default=None), max(caps, default=None)
    if len(tails) >= 2 and n in (min(tails), max(tails)):
        is_less = n == min(tails)
    elif len(tails) == 1 and lowest_b is not None and n <= lowest_b:
        is_less = True
    elif len(tails) == 1 and highest_b is not None and n >= highest_b:
        is_less = False
    else:
        raise RowError(f"T{n}: cannot tell the 'or below' from the 'or above' tail")
    # The tail must sit outside the event's brackets, as Kalshi lists them.
    if is_less and lowest_b is not None and n > lowest_b:
        raise RowError(f"T{n} as 'or below' would overlap the bracket from {lowest_b}")
    if not is_less and highest_b is not None and n < highest_b:
        raise RowError(f"T{n} as 'or above' would overlap the bracket up to {highest_b}")
    return Bracket.less(int(n)) if is_less else Bracket.greater(int(n))
