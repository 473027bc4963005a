"""Local Kalshi order books maintained from WebSocket snapshots and deltas.

Kalshi's book is bids only: YES bids and NO bids. The best YES ask is 1 - best NO bid; an empty
book reads bid 0 / ask 1. The ``orderbook_delta`` channel sends one ``orderbook_snapshot`` per
market, then ``orderbook_delta`` messages; ``seq`` rises by exactly 1 per subscription (``sid``),
shared by every market of that subscription, and a gap means the local books are invalid.

Hot path: the books store integers, prices in 1/10,000 dollar (``price_e4``) and counts in
1/100 contract (``count_e2``), parsed from the wire strings through small caches (the price grid
and the common sizes repeat constantly). Money leaves this module as ``Decimal`` dollars.

Wire formats accepted (2026 fixed point first, pre-2026 integer cents as a fallback)::

    snapshot msg: yes_dollars_fp / no_dollars_fp  [["0.4200", "100.00"], ...]
                  yes_dollars / no_dollars        [["0.420", 100], ...]
                  yes / no                        [[42, 100], ...]   (cents, contracts)
    delta msg:    price_dollars "0.4200" | price 42 (cents)
                  delta_fp "-20.00"      | delta -20 (contracts)
                  side "yes" | "no"

A side that is absent from a snapshot is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from weather_trader.core.records import BookLevel
from weather_trader.sources.kalshi.errors import KalshiError

PRICE_SCALE = 10_000
"""Internal price unit: 1/10,000 dollar (``"0.4200"`` -> 4200)."""
COUNT_SCALE = 100
"""Internal count unit: 1/100 contract (``"100.00"`` -> 10000)."""

_CENT = PRICE_SCALE // 100
_CACHE_LIMIT = 1 << 16
_FIXED_RE = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]*))?")
_PRICE_CACHE: dict[str, int] = {}
_COUNT_CACHE: dict[str, int] = {}
_SNAPSHOT_KEYS = (
    ("yes_dollars_fp", "no_dollars_fp", True),
    ("yes_dollars", "no_dollars", True),
    ("yes", "no", False),
)


class BookError(KalshiError):
    """Base class: an order book or an order-book message is unusable."""


class BookMessageError(BookError):
    """A snapshot or delta is malformed (missing field, bad number, price outside [0, 1])."""


class NegativeSizeError(BookError):
    """A delta would take a level below zero contracts: the local book no longer matches."""


class BookInvalid(BookError):
    """The local books of one subscription are invalid and were dropped: resubscribe.

    Attributes:
        sid: The subscription whose books were dropped.
        tickers: The markets whose books were dropped (sorted).
        reason: Why, for logs.
    """

    def __init__(self, sid: int, tickers: Iterable[str], reason: str) -> None:
        self.sid = sid
        self.tickers = tuple(sorted(tickers))
        self.reason = reason
        super().__init__(f"order books of sid {sid} invalid ({reason}); resubscribe")


class SequenceGap(BookInvalid):
    """``seq`` jumped (or went back) on a subscription: messages were lost.

    Attributes:
        expected: The ``seq`` that should have come next.
        received: The ``seq`` that came.
    """

    def __init__(self, sid: int, tickers: Iterable[str], expected: int, received: int) -> None:
        self.expected = expected
        self.received = received
        super().__init__(sid, tickers, f"sequence gap: expected seq {expected}, got {received}")


def _parse_fixed(text: str, scale_digits: int, what: str) -> int:
    """Exact fixed-point parse of a decimal string into units of 10**-scale_digits."""
    match = _FIXED_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise BookMessageError(f"{what} {text!r} is not a fixed-point decimal string")
    sign, whole, frac = match.groups()
    frac = frac or ""
    if len(frac) > scale_digits:
        if frac[scale_digits:].strip("0"):
            raise BookMessageError(f"{what} {text!r} is finer than 1e-{scale_digits}")
        frac = frac[:scale_digits]
    value = int(whole) * 10**scale_digits + int(frac.ljust(scale_digits, "0") or "0")
    return -value if sign == "-" else value


def _price_slow(text: Any) -> int:
    """Parse a dollar price string (cache miss): 0 <= price <= 1."""
    value = _parse_fixed(text, 4, "price")
    if not 0 <= value <= PRICE_SCALE:
        raise BookMessageError(f"price {text!r} is outside [0, 1] dollars")
    if len(_PRICE_CACHE) >= _CACHE_LIMIT:
        _PRICE_CACHE.clear()
    _PRICE_CACHE[text] = value
    return value


def _count_slow(text: Any) -> int:
    """Parse a fixed-point contract count string (cache miss); may be negative (deltas)."""
    value = _parse_fixed(text, 2, "count")
    if len(_COUNT_CACHE) >= _CACHE_LIMIT:
        _COUNT_CACHE.clear()
    _COUNT_CACHE[text] = value
    return value


def _cents_e4(value: Any) -> int:
    """A legacy integer-cents price as ``price_e4``."""
    if type(value) is not int or not 0 <= value <= 100:
        raise BookMessageError(f"legacy price {value!r} is not an integer number of cents 0-100")
    return value * _CENT


def _contracts_e2(value: Any) -> int:
    """A legacy integer contract count (or a fixed-point string) as ``count_e2``."""
    if type(value) is int:
        return value * COUNT_SCALE
    if isinstance(value, str):
        cached = _COUNT_CACHE.get(value)
        return cached if cached is not None else _count_slow(value)
    raise BookMessageError(f"count {value!r} is neither an integer nor a fixed-point string")


def parse_price(value: str | int) -> int:
    """A wire price as ``price_e4``: a dollar string (``"0.4200"``) or legacy integer cents.

    Raises:
        BookMessageError: If it is not a number in [0, 1] dollars with at most 4 decimals.
    """
    if isinstance(value, str):
        cached = _PRICE_CACHE.get(value)
        return cached if cached is not None else _price_slow(value)
    return _cents_e4(value)


def parse_count(value: str | int) -> int:
    """A wire count as ``count_e2``: a fixed-point string (``"-20.00"``) or legacy integer.

    Raises:
        BookMessageError: If it is not a number with at most 2 decimals.
    """
    return _contracts_e2(value)


def price_to_decimal(price_e4: int) -> Decimal:
    """``price_e4`` as ``Decimal`` dollars with 4 places (4200 -> ``Decimal("0.4200")``)."""
    return Decimal(price_e4).scaleb(-4)


def count_to_decimal(count_e2: int) -> Decimal:
    """``count_e2`` as ``Decimal`` contracts with 2 places (10000 -> ``Decimal("100.00")``)."""
    return Decimal(count_e2).scaleb(-2)


class OrderBook:
    """The bids of one market: YES bids and NO bids, price_e4 -> count_e2.

    Attributes:
        ticker: The market ticker.
        yes: YES bids, ``price_e4 -> count_e2`` (every count > 0).
        no: NO bids, ``price_e4 -> count_e2`` (every count > 0).
        market_id: Kalshi's market UUID when the snapshot carried it.
        sid: The WebSocket subscription that maintains the book, if any.
        seq: The ``seq`` of the last message applied, if any.
    """

    __slots__ = ("market_id", "no", "seq", "sid", "ticker", "yes")

    def __init__(
        self,
        ticker: str,
        yes: Mapping[int, int] | None = None,
        no: Mapping[int, int] | None = None,
        *,
        market_id: str | None = None,
        sid: int | None = None,
        seq: int | None = None,
    ) -> None:
        self.ticker = ticker
        self.yes: dict[int, int] = dict(yes or {})
        self.no: dict[int, int] = dict(no or {})
        self.market_id = market_id
        self.sid = sid
        self.seq = seq
        for side, levels in (("yes", self.yes), ("no", self.no)):
            for price, count in levels.items():
                if not 0 <= price <= PRICE_SCALE or count <= 0:
                    raise BookMessageError(
                        f"{ticker}: bad {side} level price_e4={price} count_e2={count}"
                    )

    @classmethod
    def from_snapshot(
        cls, msg: Mapping[str, Any], *, sid: int | None = None, seq: int | None = None
    ) -> OrderBook:
        """Build a book from an ``orderbook_snapshot`` ``msg`` (or REST ``orderbook_fp``).

        Reads ``yes_dollars_fp``/``no_dollars_fp``, else ``yes_dollars``/``no_dollars``, else
        the legacy integer-cent ``yes``/``no``; an absent side is empty. Zero-size levels are
        skipped.

        Raises:
            BookMessageError: On a malformed level, a negative size or a repeated price.
        """
        ticker = msg.get("market_ticker") or msg.get("ticker") or ""
        if not isinstance(ticker, str):
            raise BookMessageError(f"snapshot market_ticker {ticker!r} is not a string")
        yes_key, no_key, dollars = next(
            (keys for keys in _SNAPSHOT_KEYS if keys[0] in msg or keys[1] in msg),
            _SNAPSHOT_KEYS[0],
        )
        book = cls(ticker, market_id=msg.get("market_id"), sid=sid, seq=seq)
        _fill_side(book.yes, msg.get(yes_key), dollars, ticker, "yes")
        _fill_side(book.no, msg.get(no_key), dollars, ticker, "no")
        return book

    def apply_delta(self, side: str, price_e4: int, delta_e2: int) -> None:
        """Add ``delta_e2`` contracts (1/100) at ``price_e4`` on ``side`` ("yes" or "no").

        A level that reaches zero is removed.

        Raises:
            BookMessageError: If ``side`` is neither "yes" nor "no".
            NegativeSizeError: If the level would go below zero; the book is left unchanged.
        """
        if side == "yes":
            levels = self.yes
        elif side == "no":
            levels = self.no
        else:
            raise BookMessageError(f"{self.ticker}: delta side {side!r} is not 'yes' or 'no'")
        new = levels.get(price_e4, 0) + delta_e2
        if new > 0:
            levels[price_e4] = new
        elif new == 0:
            levels.pop(price_e4, None)
        else:
            raise NegativeSizeError(
                f"{self.ticker}: {side} level {price_to_decimal(price_e4)} would hold "
                f"{count_to_decimal(new)} contracts"
            )

    @property
    def best_yes_bid_e4(self) -> int:
        """Best YES bid as ``price_e4``; 0 when nobody bids YES."""
        return max(self.yes) if self.yes else 0

    @property
    def best_no_bid_e4(self) -> int:
        """Best NO bid as ``price_e4``; 0 when nobody bids NO."""
        return max(self.no) if self.no else 0

    @property
    def best_yes_bid(self) -> Decimal:
        """Best YES bid in dollars; 0 when nobody bids YES."""
        return price_to_decimal(self.best_yes_bid_e4)

    @property
    def best_yes_ask(self) -> Decimal:
        """Best YES ask in dollars (1 - best NO bid); 1 when nobody bids NO."""
        return price_to_decimal(PRICE_SCALE - self.best_no_bid_e4)

    @property
    def best_no_bid(self) -> Decimal:
        """Best NO bid in dollars; 0 when nobody bids NO."""
        return price_to_decimal(self.best_no_bid_e4)

    @property
    def best_no_ask(self) -> Decimal:
        """Best NO ask in dollars (1 - best YES bid); 1 when nobody bids YES."""
        return price_to_decimal(PRICE_SCALE - self.best_yes_bid_e4)

    @property
    def mid(self) -> Decimal:
        """Midpoint of the best YES bid and ask in dollars."""
        return (self.best_yes_bid + self.best_yes_ask) / 2

    @property
    def crossed(self) -> bool:
        """True when the best YES bid reaches the best YES ask (never so on a healthy book)."""
        return bool(self.yes and self.no) and self.best_yes_bid_e4 + self.best_no_bid_e4 >= (
            PRICE_SCALE
        )

    def yes_bids(self, depth: int | None = None) -> tuple[BookLevel, ...]:
        """The YES bid ladder, best (highest) first, at most ``depth`` levels."""
        return _ladder(self.yes, depth)

    def no_bids(self, depth: int | None = None) -> tuple[BookLevel, ...]:
        """The NO bid ladder, best (highest) first, at most ``depth`` levels."""
        return _ladder(self.no, depth)

    def yes_asks(self, depth: int | None = None) -> tuple[BookLevel, ...]:
        """The implied YES asks (1 - NO bid), best (lowest) first, at most ``depth`` levels."""
        prices = sorted(self.no, reverse=True)[:depth]
        return tuple(
            BookLevel(price=price_to_decimal(PRICE_SCALE - p), count=count_to_decimal(self.no[p]))
            for p in prices
        )

    def snapshot_fields(self, depth: int | None = None) -> dict[str, tuple[BookLevel, ...]]:
        """``yes_bids`` and ``no_bids`` ready for ``MarketSnapshot(**fields, ...)``."""
        return {"yes_bids": self.yes_bids(depth), "no_bids": self.no_bids(depth)}

    def copy(self) -> OrderBook:
        """An independent copy (later deltas to this book do not change it)."""
        book = OrderBook.__new__(OrderBook)
        book.ticker = self.ticker
        book.yes = dict(self.yes)
        book.no = dict(self.no)
        book.market_id = self.market_id
        book.sid = self.sid
        book.seq = self.seq
        return book

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OrderBook):
            return NotImplemented
        return self.ticker == other.ticker and self.yes == other.yes and self.no == other.no

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.ticker!r}, bid={self.best_yes_bid}, ask={self.best_yes_ask}, "
            f"yes_levels={len(self.yes)}, no_levels={len(self.no)}, seq={self.seq})"
        )


def _fill_side(levels: dict[int, int], raw: Any, dollars: bool, ticker: str, side: str) -> None:
    """Load one snapshot side into ``levels``."""
    if raw is None:
        return
    if not isinstance(raw, list):
        raise BookMessageError(f"{ticker}: snapshot {side} levels are not a list")
    for level in raw:
        if not isinstance(level, list | tuple) or len(level) != 2:
            raise BookMessageError(f"{ticker}: snapshot {side} level {level!r} is not a pair")
        if dollars and not isinstance(level[0], str):
            raise BookMessageError(f"{ticker}: snapshot {side} price {level[0]!r} not a string")
        price = parse_price(level[0]) if dollars else _cents_e4(level[0])
        count = _contracts_e2(level[1])
        if count < 0:
            raise BookMessageError(f"{ticker}: snapshot {side} level {level!r} is negative")
        if price in levels:
            raise BookMessageError(f"{ticker}: snapshot {side} repeats price {level[0]!r}")
        if count:
            levels[price] = count


def _ladder(levels: Mapping[int, int], depth: int | None) -> tuple[BookLevel, ...]:
    return tuple(
        BookLevel(price=price_to_decimal(p), count=count_to_decimal(levels[p]))
        for p in sorted(levels, reverse=True)[:depth]
    )


@dataclass(slots=True)
class _SidState:
    last_seq: int
    tickers: set[str] = field(default_factory=set)


class BookKeeper:
    """The books of many markets, fed raw ``orderbook_snapshot``/``orderbook_delta`` messages.

    ``seq`` is checked per ``sid``: the first message seen on a sid sets the baseline, every
    later one must be exactly one more. On a gap, a malformed message, a delta for a market
    without a snapshot or a delta that would make a size negative, every book of that sid is
    dropped, the sid is marked stale (its later messages are ignored) and :class:`BookInvalid`
    (:class:`SequenceGap` for gaps) is raised: the caller resubscribes those markets, and the
    new subscription's snapshots rebuild them. Call :meth:`reset` on a new connection (sids
    restart).
    """

    __slots__ = ("_books", "_sids", "_stale", "deltas_applied", "snapshots_applied")

    def __init__(self) -> None:
        self._books: dict[str, OrderBook] = {}
        self._sids: dict[int, _SidState] = {}
        self._stale: set[int] = set()
        self.deltas_applied = 0
        self.snapshots_applied = 0

    def apply(self, message: Mapping[str, Any]) -> str | None:
        """Apply one order-book message (the whole envelope: type, sid, seq, msg).

        Returns:
            The ticker whose book changed, or None when the message belongs to a stale sid.

        Raises:
            SequenceGap: ``seq`` did not follow on; the sid's books were dropped.
            BookInvalid: Any other reason the sid's books can no longer be trusted.
            BookMessageError: The message is not an order-book message at all.
        """
        kind = message.get("type")
        if kind == "orderbook_delta":
            return self.apply_delta(message)
        if kind == "orderbook_snapshot":
            return self.apply_snapshot(message)
        raise BookMessageError(f"not an order-book message: type {kind!r}")

    def apply_delta(self, message: Mapping[str, Any]) -> str | None:
        """Apply one ``orderbook_delta`` envelope; see :meth:`apply`."""
        try:
            sid = message["sid"]
            seq = message["seq"]
            msg = message["msg"]
            ticker = msg["market_ticker"]
        except (KeyError, TypeError) as exc:
            raise self._malformed(message, f"missing field {exc}") from None
        state = self._sids.get(sid)
        if state is None:
            if sid in self._stale:
                return None
            self._stale.add(sid)
            raise BookInvalid(sid, (), f"delta for {ticker} before any snapshot on the sid")
        if seq != state.last_seq + 1:
            raise SequenceGap(sid, self._drop_sid(sid), state.last_seq + 1, seq)
        state.last_seq = seq
        book = self._books.get(ticker)
        if book is None or book.sid != sid:
            raise BookInvalid(sid, self._drop_sid(sid), f"delta for {ticker} without a snapshot")
        try:
            raw = msg.get("price_dollars")
            if raw is None:
                price = _cents_e4(msg["price"])
            else:
                price = _PRICE_CACHE.get(raw)
                if price is None:
                    price = _price_slow(raw)
            raw = msg.get("delta_fp")
            if raw is None:
                raw = msg["delta"]
                if type(raw) is not int:
                    raise BookMessageError(f"legacy delta {raw!r} is not an integer")
                delta = raw * COUNT_SCALE
            else:
                delta = _COUNT_CACHE.get(raw)
                if delta is None:
                    delta = _count_slow(raw)
            side = msg["side"]
        except (BookMessageError, KeyError, TypeError) as exc:
            raise BookInvalid(sid, self._drop_sid(sid), f"malformed delta: {exc}") from None
        if side == "yes":
            levels = book.yes
        elif side == "no":
            levels = book.no
        else:
            raise BookInvalid(sid, self._drop_sid(sid), f"delta side {side!r}")
        new = levels.get(price, 0) + delta
        if new > 0:
            levels[price] = new
        elif new == 0:
            levels.pop(price, None)
        else:
            reason = f"{ticker} {side} {price_to_decimal(price)} would hold {count_to_decimal(new)}"
            raise BookInvalid(sid, self._drop_sid(sid), f"negative size: {reason}")
        book.seq = seq
        self.deltas_applied += 1
        return ticker

    def apply_snapshot(self, message: Mapping[str, Any]) -> str | None:
        """Apply one ``orderbook_snapshot`` envelope (replaces the market's book)."""
        try:
            sid = message["sid"]
            seq = message["seq"]
            msg = message["msg"]
            if type(seq) is not int or not isinstance(msg, Mapping):
                raise TypeError("seq or msg has the wrong type")
        except (KeyError, TypeError) as exc:
            raise self._malformed(message, f"bad envelope: {exc}") from None
        if sid in self._stale:
            return None
        state = self._sids.get(sid)
        if state is None:
            state = self._sids[sid] = _SidState(seq - 1)
        if seq != state.last_seq + 1:
            raise SequenceGap(sid, self._drop_sid(sid), state.last_seq + 1, seq)
        state.last_seq = seq
        try:
            book = OrderBook.from_snapshot(msg, sid=sid, seq=seq)
            if not book.ticker:
                raise BookMessageError("snapshot without market_ticker")
        except BookMessageError as exc:
            raise BookInvalid(sid, self._drop_sid(sid), f"malformed snapshot: {exc}") from None
        old = self._books.get(book.ticker)
        if old is not None and old.sid != sid and old.sid in self._sids:
            self._sids[old.sid].tickers.discard(book.ticker)
        self._books[book.ticker] = book
        state.tickers.add(book.ticker)
        self.snapshots_applied += 1
        return book.ticker

    def book(self, ticker: str) -> OrderBook | None:
        """The live book of ``ticker`` (mutated by later messages), None while invalid."""
        return self._books.get(ticker)

    def tickers(self) -> list[str]:
        """Tickers with a valid book, sorted."""
        return sorted(self._books)

    def tickers_of(self, sid: int) -> list[str]:
        """Tickers whose books the subscription ``sid`` maintains, sorted."""
        state = self._sids.get(sid)
        return sorted(state.tickers) if state else []

    def forget_sid(self, sid: int) -> list[str]:
        """Drop a subscription's books and ignore its later messages; returns the tickers."""
        return self._drop_sid(sid)

    def reset(self) -> list[str]:
        """Drop everything (a new connection: sids restart); returns the dropped tickers."""
        dropped = sorted(self._books)
        self._books.clear()
        self._sids.clear()
        self._stale.clear()
        return dropped

    def _drop_sid(self, sid: int) -> list[str]:
        state = self._sids.pop(sid, None)
        self._stale.add(sid)
        if state is None:
            return []
        dropped = []
        for ticker in state.tickers:
            book = self._books.get(ticker)
            if book is not None and book.sid == sid:
                del self._books[ticker]
                dropped.append(ticker)
        return sorted(dropped)

    def _malformed(self, message: Mapping[str, Any], reason: str) -> BookError:
        sid = message.get("sid") if isinstance(message, Mapping) else None
        if type(sid) is int:
            return BookInvalid(sid, self._drop_sid(sid), f"malformed message: {reason}")
        return BookMessageError(f"malformed order-book message: {reason}")
