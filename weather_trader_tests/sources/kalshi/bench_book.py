"""Benchmark of the order-book apply path.

Run: ``python -m weather_trader_tests.sources.kalshi.bench_book [--markets N --deltas N]``.

A realistic stream: 500 markets on 5 subscriptions, 10 levels a side to start, random-walk
prices around a drifting centre, sizes up and down and about a quarter of the touches removing
a level to zero, in the 2026 wire format. The stream is generated and serialised to JSON text
untimed, in chunks; two figures are timed per chunk:

- ``apply``: ``BookKeeper.apply`` on already-parsed message dicts;
- ``json.loads + apply``: from the JSON text, as the WebSocket client sees it.

At the end both keepers' books are checked against the generator's own book.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from weather_trader.sources.kalshi.book import COUNT_SCALE, BookKeeper

_SIDS = 5


def _price(cents: int) -> str:
    return f"{cents / 100:.4f}"


def _count(count_e2: int) -> str:
    sign = "-" if count_e2 < 0 else ""
    whole, frac = divmod(abs(count_e2), 100)
    return f"{sign}{whole}.{frac:02d}"


class _Stream:
    """Generates the messages and keeps the reference book (cents -> count_e2)."""

    def __init__(self, markets: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tickers = [f"KXHIGHT{i:03d}-26NOV27-B{40 + i % 50}.5" for i in range(markets)]
        self.centre = [self.rng.randint(10, 90) for _ in range(markets)]
        self.books: list[dict[str, dict[int, int]]] = [
            {"yes": {}, "no": {}} for _ in range(markets)
        ]
        self.seq = [0] * _SIDS

    def _next_seq(self, market: int) -> tuple[int, int]:
        sid = market % _SIDS + 1
        self.seq[sid - 1] += 1
        return sid, self.seq[sid - 1]

    def snapshots(self) -> list[str]:
        out = []
        for m, ticker in enumerate(self.tickers):
            c = self.centre[m]
            for k in range(1, 11):
                if c - k > 0:
                    self.books[m]["yes"][c - k] = self.rng.randint(1, 500) * COUNT_SCALE
                if 100 - c - k > 0:
                    self.books[m]["no"][100 - c - k] = self.rng.randint(1, 500) * COUNT_SCALE
            sid, seq = self._next_seq(m)
            msg = {
                "market_ticker": ticker,
                "market_id": f"id-{m}",
                "yes_dollars_fp": [[_price(p), _count(n)] for p, n in self.books[m]["yes"].items()],
                "no_dollars_fp": [[_price(p), _count(n)] for p, n in self.books[m]["no"].items()],
            }
            out.append(
                json.dumps({"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg})
            )
        return out

    def deltas(self, n: int) -> list[str]:
        rng = self.rng
        out = []
        for _ in range(n):
            m = rng.randrange(len(self.tickers))
            if rng.random() < 0.02:
                self.centre[m] = min(95, max(5, self.centre[m] + rng.choice((-1, 1))))
            side = "yes" if rng.random() < 0.5 else "no"
            best = self.centre[m] - 1 if side == "yes" else 99 - self.centre[m]
            price = best - min(int(rng.expovariate(0.4)), best - 1)
            levels = self.books[m][side]
            size = levels.get(price, 0)
            r = rng.random()
            if size and r < 0.25:
                delta = -size
            elif size and r < 0.6:
                delta = -rng.randint(1, size)
            else:
                delta = rng.randint(1, 300) * COUNT_SCALE
            if size + delta:
                levels[price] = size + delta
            else:
                del levels[price]
            sid, seq = self._next_seq(m)
            msg = {
                "market_ticker": self.tickers[m],
                "market_id": f"id-{m}",
                "price_dollars": _price(price),
                "delta_fp": _count(delta),
                "side": side,
                "ts": "2026-11-26T15:00:00Z",
            }
            out.append(json.dumps({"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg}))
        return out


def run(markets: int, deltas: int, chunk: int, seed: int) -> dict[str, float]:
    """Run the benchmark; returns the two rates in deltas per second."""
    stream = _Stream(markets, seed)
    parsed_keeper, text_keeper = BookKeeper(), BookKeeper()
    for text in stream.snapshots():
        parsed_keeper.apply(json.loads(text))
        text_keeper.apply(json.loads(text))
    apply_time = loads_time = 0.0
    done = 0
    while done < deltas:
        texts = stream.deltas(min(chunk, deltas - done))
        parsed = [json.loads(t) for t in texts]
        apply = parsed_keeper.apply
        start = time.perf_counter()
        for message in parsed:
            apply(message)
        apply_time += time.perf_counter() - start
        apply, loads = text_keeper.apply, json.loads
        start = time.perf_counter()
        for text in texts:
            apply(loads(text))
        loads_time += time.perf_counter() - start
        done += len(texts)
    for keeper in (parsed_keeper, text_keeper):
        for m, ticker in enumerate(stream.tickers):
            book = keeper.book(ticker)
            assert book is not None
            for side in ("yes", "no"):
                expected = {p * 100: n for p, n in stream.books[m][side].items()}
                assert getattr(book, side) == expected, (ticker, side)
    return {"apply": done / apply_time, "loads_apply": done / loads_time, "deltas": done}


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--deltas", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = run(args.markets, args.deltas, args.chunk, args.seed)
    print(f"markets: {args.markets}  deltas: {result['deltas']:,}  (books verified)")
    print(f"apply (parsed dicts):   {result['apply']:>12,.0f} deltas/s")
    print(f"json.loads + apply:     {result['loads_apply']:>12,.0f} deltas/s")


if __name__ == "__main__":
    main()
