"""Which series, events and markets the local exchange lists, derived from :class:`SimMarket`.

Every registered city has a high and a low series. An event (one city, kind and climate day)
is listed from the sim's listing time (10:00 ET the day before) and keeps the sim's brackets;
its status follows the sim: open until 23:59 local standard time of the climate day, then
closed, then settled once the final climate report is out. Listings cover the last
``history_days`` climate days up to tomorrow; older events still resolve by ticker.

Crowd books are a pure function of the minute, so snapshots are cached per (event, minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from weather_trader.core.brackets import Bracket
from weather_trader.core.cities import CITIES, KINDS, City, Kind, event_ticker, parse_event_ticker
from weather_trader.core.records import MarketSnapshot
from weather_trader.sim.exchange.errors import NotFoundError
from weather_trader.sim.exchange.wire import cents_of
from weather_trader.sim.market import SimMarket, market_suffix
from weather_trader.sim.reports import day_reports, settlement_report
from weather_trader.sim.weather import SimWeatherError

_CACHE_LIMIT = 20_000

Status = str  # "unopened" | "open" | "closed" | "settled" (the sim's / the filter's words)


@dataclass(frozen=True)
class EventRef:
    """One listed event: a city's high or low on one climate day."""

    city: City
    kind: Kind
    day: date
    series: str
    event_ticker: str


@dataclass(frozen=True)
class MarketRef:
    """One bracket market of an event."""

    event: EventRef
    bracket: Bracket
    ticker: str


@dataclass(frozen=True)
class Final:
    """The settling report of an event: its value (for the event's kind) and issue time."""

    value: int
    issued_at: datetime


def minute_of(moment: datetime) -> int:
    """Minutes since the epoch (the crowd re-quotes every minute)."""
    return int(moment.timestamp() // 60)


def minute_start(minute: int) -> datetime:
    """The instant a minute starts."""
    return datetime.fromtimestamp(minute * 60, UTC)


class Catalog:
    """Series, events and markets of the exchange, and the crowd's books.

    Args:
        market: The simulated market (crowd quotes, schedule, settlement).
        history_days: Past climate days still listed by ``GET /events`` and ``GET /markets``.
    """

    def __init__(self, market: SimMarket, history_days: int = 3) -> None:
        self.market = market
        self.fees = market.fees
        self.history_days = history_days
        self._series: dict[str, tuple[City, Kind]] = {
            city.series(kind): (city, kind) for city in CITIES.values() for kind in KINDS
        }
        self._markets: dict[str, list[MarketRef]] = {}
        self._refs: dict[str, MarketRef] = {}
        self._closes: dict[str, datetime] = {}
        self._snapshots: dict[tuple[str, int], list[MarketSnapshot]] = {}
        self._finals: dict[str, Final] = {}
        self._no_final: dict[str, int] = {}

    # -- structure ----------------------------------------------------------------------------

    def series(self) -> list[tuple[str, City, Kind]]:
        """All series as (ticker, city, kind), sorted by ticker."""
        return sorted((s, c, k) for s, (c, k) in self._series.items())

    def series_of(self, ticker: str) -> tuple[City, Kind]:
        """City and kind of a series ticker.

        Raises:
            NotFoundError: If the exchange has no such series.
        """
        try:
            return self._series[ticker]
        except KeyError:
            raise NotFoundError(f"series {ticker} not found") from None

    def event_ref(self, city: City, kind: Kind, day: date) -> EventRef:
        """The event of ``city``'s ``kind`` on ``day``."""
        series = city.series(kind)
        return EventRef(city, kind, day, series, event_ticker(series, day))

    def event(self, ticker: str, now: datetime | None = None) -> EventRef:
        """The event with this ticker (``KXHIGHNY-26NOV27``), listed at ``now`` if given.

        Raises:
            NotFoundError: Unknown series, malformed ticker, or not listed yet at ``now``.
        """
        try:
            series, day = parse_event_ticker(ticker)
        except ValueError:
            raise NotFoundError(f"event {ticker} not found") from None
        if series not in self._series:
            raise NotFoundError(f"event {ticker} not found")
        ref = self.event_ref(*self._series[series], day)
        if ref.event_ticker != ticker or (now is not None and now < self.open_time(ref)):
            raise NotFoundError(f"event {ticker} not found")
        return ref

    def markets_of(self, ev: EventRef) -> list[MarketRef]:
        """The event's bracket markets, coldest first.

        Raises:
            NotFoundError: If the sim cannot build the event (no forecast that far ahead).
        """
        refs = self._markets.get(ev.event_ticker)
        if refs is None:
            try:
                brackets = self.market.brackets(ev.city.code, ev.day, ev.kind)
            except SimWeatherError:
                raise NotFoundError(f"event {ev.event_ticker} not found") from None
            refs = [MarketRef(ev, b, f"{ev.event_ticker}-{market_suffix(b)}") for b in brackets]
            self._markets[ev.event_ticker] = refs
        return refs

    def market_ref(self, ticker: str, now: datetime | None = None) -> MarketRef:
        """The market with this ticker, listed at ``now`` if given.

        Raises:
            NotFoundError: If there is no such market (at ``now``).
        """
        ref = self._refs.get(ticker)
        if ref is None:
            try:  # SERIES-DATE-SUFFIX; a suffix may hold a minus sign (T-2: below -2 F)
                ev = self.event(event_ticker(*parse_event_ticker(ticker)))
            except (ValueError, NotFoundError):
                ev = None
            ref = next((r for r in self.markets_of(ev) if r.ticker == ticker), None) if ev else None
            if ref is None:
                raise NotFoundError(f"market {ticker} not found")
            self._refs[ticker] = ref
        if now is not None and now < self.open_time(ref.event):
            raise NotFoundError(f"market {ticker} not found")
        return ref

    def listed_events(self, now: datetime) -> list[EventRef]:
        """Events listed at ``now`` within the history window, by climate day then series."""
        today = now.astimezone(UTC).date()
        out = []
        for offset in range(-self.history_days - 1, 2):
            day = today + timedelta(days=offset)
            for series, city, kind in self.series():
                ev = EventRef(city, kind, day, series, event_ticker(series, day))
                if self.open_time(ev) <= now and self._buildable(ev):
                    out.append(ev)
        return out

    def events_opening(self, after: datetime, until: datetime) -> list[EventRef]:
        """Events whose listing time is in ``(after, until]`` (at most 10 days are scanned)."""
        first = max(after.astimezone(UTC).date(), until.astimezone(UTC).date() - timedelta(10))
        out = []
        day = first
        while day <= until.astimezone(UTC).date() + timedelta(days=1):
            for _, city, kind in self.series():
                ev = self.event_ref(city, kind, day)
                if after < self.open_time(ev) <= until and self._buildable(ev):
                    out.append(ev)
            day += timedelta(days=1)
        return out

    def _buildable(self, ev: EventRef) -> bool:
        try:
            self.markets_of(ev)
        except NotFoundError:
            return False
        return True

    # -- schedule and status ------------------------------------------------------------------

    def open_time(self, ev: EventRef) -> datetime:
        """Listing (trading open) time."""
        return self.market.open_time(ev.day)

    def close_time(self, ev: EventRef) -> datetime:
        """Trading close: 23:59 local standard time of the climate day."""
        close = self._closes.get(ev.event_ticker)
        if close is None:
            close = self.market.close_time(ev.city.code, ev.day)
            self._closes[ev.event_ticker] = close
        return close

    def status(self, ev: EventRef, now: datetime) -> Status:
        """``unopened``, ``open``, ``closed`` or ``settled`` at ``now``."""
        if now < self.open_time(ev):
            return "unopened"
        if now < self.close_time(ev):
            return "open"
        return "settled" if self.final(ev, now) is not None else "closed"

    def final(self, ev: EventRef, now: datetime) -> Final | None:
        """The settlement value once the final climate report is out at ``now``.

        The value is :meth:`SimMarket.settlement_value` at ``now``; the first one seen is kept
        (the exchange settles once).
        """
        known = self._finals.get(ev.event_ticker)
        if known is not None:
            return known
        if now < self.close_time(ev):
            return None
        minute = minute_of(now)
        if self._no_final.get(ev.event_ticker) == minute:
            return None
        value = self.market.settlement_value(ev.city.code, ev.day, ev.kind, as_of=now)
        if value is None:
            self._no_final[ev.event_ticker] = minute
            return None
        reports = [r for r in day_reports(self.market.world, ev.city.code, ev.day)]
        report = settlement_report([r for r in reports if r.issued_at <= now])
        issued = report.issued_at if report is not None else now
        final = Final(value, max(issued, self.close_time(ev)))
        self._finals[ev.event_ticker] = final
        return final

    # -- the crowd ----------------------------------------------------------------------------

    def snapshots(self, ev: EventRef, minute: int) -> list[MarketSnapshot]:
        """The sim's market snapshots (crowd books) of an event at the start of ``minute``."""
        key = (ev.event_ticker, minute)
        cached = self._snapshots.get(key)
        if cached is None:
            if len(self._snapshots) > _CACHE_LIMIT:
                self._snapshots.clear()
            cached = self.market.event_markets(ev.city.code, ev.day, ev.kind, minute_start(minute))
            self._snapshots[key] = cached
        return cached

    def crowd_book(self, ref: MarketRef, minute: int) -> tuple[dict[int, int], dict[int, int]]:
        """The crowd's YES and NO bid ladders (cents -> contracts) of a market at ``minute``."""
        for snap in self.snapshots(ref.event, minute):
            if snap.ticker == ref.ticker:
                yes = {cents_of(lvl.price): int(lvl.count) for lvl in snap.yes_bids}
                no = {cents_of(lvl.price): int(lvl.count) for lvl in snap.no_bids}
                return yes, no
        return {}, {}
