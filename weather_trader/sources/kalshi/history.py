"""Kalshi history backfill: a series' settled events with their markets, and every trade.

Through the REST client (:class:`~weather_trader.sources.kalshi.rest.KalshiClient`, so the
rate limiter, retries and typed errors apply), following Kalshi's OpenAPI v3.13:

* ``GET /events?series_ticker=&status=settled&with_nested_markets=true`` (cursor pages of up
  to 200). Markets settled before the historical cutoff are *not* nested ("Historical markets
  settled before the historical cutoff will not be included"), so an event that comes back
  without markets gets them from ``GET /historical/markets?event_ticker=``.
* ``GET /markets/trades?ticker=&limit=1000`` (cursor pages), plus ``GET /historical/trades``
  for a market that closed before ``trades_created_ts`` of ``GET /historical/cutoff``; both
  tapes are merged by ``trade_id``.

Payloads are kept as Kalshi sent them (after checking each against the wire models, so a
malformed one fails here with the endpoint's path), and can be written as the files
``weather-trader history import --events/--trades`` reads
(:func:`write_import_files`): one ``events/<event_ticker>.json`` ``{"event": {...,
"markets": [...]}}`` and one ``trades/<event_ticker>.json`` ``{"trades": [...]}`` per event.
Typed views (:class:`Event`, :class:`Trade`) are one call away (:meth:`EventHistory.event`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from weather_trader.core.cities import parse_event_ticker
from weather_trader.sources.kalshi.errors import KalshiMalformedResponse, KalshiNotFound
from weather_trader.sources.kalshi.market_models import Event, HistoricalCutoff, Market, Trade
from weather_trader.sources.kalshi.rest import KalshiClient
from weather_trader.sources.kalshi.rest_transport import items_of

EVENTS_PAGE = 200
TRADES_PAGE = 1000
MAX_PAGES = 10_000
"""A guard against a server that never ends its cursor chain."""

RawItem = dict[str, Any]


@dataclass(frozen=True)
class EventHistory:
    """One settled event as Kalshi sent it: the event (markets nested) and its trades."""

    event_payload: RawItem
    trades: tuple[RawItem, ...] = ()

    @property
    def event_ticker(self) -> str:
        return str(self.event_payload["event_ticker"])

    def event(self) -> Event:
        """The typed event with its markets."""
        return Event.model_validate(self.event_payload)

    def typed_trades(self) -> list[Trade]:
        """The typed trades, oldest first."""
        return sorted((Trade.model_validate(t) for t in self.trades), key=lambda t: t.created_time)


class KalshiHistory:
    """Backfill of settled events and trades through a :class:`KalshiClient` (public reads).

    Args:
        client: The REST client (production, demo or the local exchange).
    """

    def __init__(self, client: KalshiClient) -> None:
        self.client = client
        self._cutoff: HistoricalCutoff | None = None
        self._cutoff_known = False

    # -- pages -----------------------------------------------------------------------------------

    def _pages(self, path: str, params: Mapping[str, Any], key: str) -> Iterator[list[Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = {**params, "cursor": cursor} if cursor else dict(params)
            data = self.client.request_json("GET", path, params=query)
            yield items_of(data, key, self.client.signed_path(path))
            cursor = data.get("cursor") or None
            if not cursor:
                return
            if cursor in seen:
                raise self._malformed(path, f"pagination cursor {cursor!r} repeated")
            seen.add(cursor)
        raise self._malformed(path, f"more than {MAX_PAGES} pages")

    def _malformed(self, path: str, message: str) -> KalshiMalformedResponse:
        return KalshiMalformedResponse(
            None, "schema_mismatch", message, self.client.signed_path(path), method="GET"
        )

    def _checked(self, model: type[BaseModel], item: Any, path: str) -> RawItem:
        """``item`` unchanged once it validates as ``model``; else a typed error."""
        if not isinstance(item, Mapping):
            raise self._malformed(path, f"expected an object, got {type(item).__name__}")
        try:
            model.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)[:5]
            )
            raise self._malformed(path, problems) from None
        return dict(item)

    # -- events ----------------------------------------------------------------------------------

    def cutoff(self) -> HistoricalCutoff | None:
        """``GET /historical/cutoff`` once; None where the host has no historical archive."""
        if not self._cutoff_known:
            try:
                self._cutoff = self.client.historical_cutoff()
            except KalshiNotFound:
                self._cutoff = None
            self._cutoff_known = True
        return self._cutoff

    def settled_events(
        self, series_ticker: str, start: date | None = None, end: date | None = None
    ) -> list[RawItem]:
        """The series' settled events of climate days ``start..end`` with markets nested.

        Raises:
            KalshiApiError: On a failed request or a malformed payload.
        """
        path = "/events"
        params = {
            "series_ticker": series_ticker,
            "status": "settled",
            "with_nested_markets": True,
            "limit": EVENTS_PAGE,
        }
        events: list[RawItem] = []
        for page in self._pages(path, params, "events"):
            for item in page:
                event = self._checked(Event, item, path)
                try:
                    day = parse_event_ticker(str(event["event_ticker"]))[1]
                except ValueError as exc:
                    raise self._malformed(path, str(exc)) from None
                if (start and day < start) or (end and day > end):
                    continue
                if not event.get("markets"):
                    event["markets"] = self.archived_markets(str(event["event_ticker"]))
                events.append(event)
        return sorted(events, key=lambda e: str(e["event_ticker"]))

    def archived_markets(self, event_ticker: str) -> list[RawItem]:
        """An event's markets from the historical archive (``GET /historical/markets``)."""
        if self.cutoff() is None:
            return []
        path = "/historical/markets"
        params = {"event_ticker": event_ticker, "limit": TRADES_PAGE}
        return [
            self._checked(Market, m, path)
            for page in self._pages(path, params, "markets")
            for m in page
        ]

    # -- trades ----------------------------------------------------------------------------------

    def trades(self, market: Mapping[str, Any]) -> list[RawItem]:
        """Every public trade of ``market`` (a raw market), live and archived, by trade id."""
        ticker = str(market["ticker"])
        found: dict[str, RawItem] = {}
        sources = ["/markets/trades"]
        if self._archived_trades(market):
            sources.append("/historical/trades")
        for path in sources:
            params = {"ticker": ticker, "limit": TRADES_PAGE}
            for page in self._pages(path, params, "trades"):
                for item in page:
                    trade = self._checked(Trade, item, path)
                    if trade.get("ticker") != ticker:
                        raise self._malformed(
                            path, f"trade of {trade.get('ticker')!r} for {ticker}"
                        )
                    found.setdefault(str(trade["trade_id"]), trade)
        return sorted(found.values(), key=lambda t: str(t["created_time"]))

    def _archived_trades(self, market: Mapping[str, Any]) -> bool:
        cutoff = self.cutoff()
        if cutoff is None:
            return False
        close = Market.model_validate(market).close_time
        return close < cutoff.trades_created_ts

    # -- the whole series ------------------------------------------------------------------------

    def backfill(
        self,
        series_ticker: str,
        start: date | None = None,
        end: date | None = None,
        *,
        with_trades: bool = True,
        skip: Callable[[str], bool] = lambda _event_ticker: False,
    ) -> Iterator[EventHistory]:
        """Each settled event of the series (``start..end``) with its trades, one at a time.

        ``skip(event_ticker)`` true leaves an event out before its trades are fetched (a
        resumed backfill skips what it already has).
        """
        for event in self.settled_events(series_ticker, start, end):
            if skip(str(event["event_ticker"])):
                continue
            trades: list[RawItem] = []
            if with_trades:
                for market in event.get("markets") or ():
                    trades += self.trades(market)
            yield EventHistory(event, tuple(trades))


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):  # wire.loads reads JSON floats (strikes) as Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_import_files(history: EventHistory, out_dir: Path) -> tuple[Path, Path]:
    """Write ``events/<ticker>.json`` and ``trades/<ticker>.json`` (the import formats).

    Files are written atomically (``.partial`` then rename), so an interrupted backfill never
    leaves a half file that a resumed one would skip.
    """
    ticker = history.event_ticker
    written = []
    for folder, body in (
        ("events", {"event": history.event_payload}),
        ("trades", {"trades": list(history.trades), "cursor": ""}),
    ):
        path = out_dir / folder / f"{ticker}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(body, default=_json_default, indent=None))
        partial.replace(path)
        written.append(path)
    return written[0], written[1]


def already_written(out_dir: Path) -> Callable[[str], bool]:
    """``skip`` for :meth:`KalshiHistory.backfill`: events whose files are both in ``out_dir``."""

    def skip(event_ticker: str) -> bool:
        return all((out_dir / f / f"{event_ticker}.json").exists() for f in ("events", "trades"))

    return skip
