"""Discover Kalshi's daily temperature series and the rules text that names their station.

``GET /series`` (Climate and Weather, ``KXHIGH*``/``KXLOWT*``) gives each series' title and
settlement sources; the station is only named in its markets' ``rules_primary``, so one page
of the series' events (with nested markets) is read for it. Reconciling that with our station
table is :func:`weather_trader.core.series_registry.reconcile`'s job.

Failures: a failing or malformed ``GET /series`` raises the client's error (nothing can be
discovered). A series whose events request fails is still listed, with no rules and the error
in ``rules_error``: it comes out unverified with that reason instead of hiding every other
series behind one bad response.
"""

from __future__ import annotations

import logging

from weather_trader.core.series_registry import SeriesListing
from weather_trader.sources.kalshi.errors import KalshiApiError
from weather_trader.sources.kalshi.market_models import Event, Series
from weather_trader.sources.kalshi.rest_markets import MarketReads

logger = logging.getLogger(__name__)

EVENTS_PER_SERIES = 5
"""Events read per series (one page): any one with markets carries the rules text."""


def rules_of(events: list[Event]) -> str | None:
    """The ``rules_primary`` of the first market with one, over ``events`` in order."""
    for event in events:
        for market in event.markets or ():
            if market.rules_primary.strip():
                return market.rules_primary
    return None


def listing_of(reads: MarketReads, series: Series) -> SeriesListing:
    """What the exchange says about one series: its sources and a recent event's rules.

    Raises nothing for the events request: its failure is recorded in ``rules_error``.
    """
    sources = tuple((s.name, s.url) for s in series.settlement_sources)
    try:
        events = reads.events(
            series_ticker=series.ticker,
            with_nested_markets=True,
            limit=EVENTS_PER_SERIES,
            max_pages=1,
        )
    except KalshiApiError as exc:
        logger.warning("no events for series %s: %s", series.ticker, exc)
        return SeriesListing(series.ticker, series.title, sources, None, rules_error=str(exc))
    return SeriesListing(series.ticker, series.title, sources, rules_of(events))


def discover_listings(reads: MarketReads) -> list[SeriesListing]:
    """Every daily temperature series the exchange lists, sorted by ticker.

    Raises:
        KalshiApiError: If the series themselves cannot be read (any subclass: unavailable,
            malformed response, ...).
    """
    found = reads.temperature_series()
    return [listing_of(reads, s) for s in sorted(found, key=lambda s: s.ticker)]
