"""``weather-trader cities``: the series registry (every Kalshi temperature series, its station
and whether that station is verified).

It prints the stored registry. With ``--refresh``, or when nothing is stored yet, it first
discovers the series from the configured Kalshi API (``GET /series`` and a recent event's rules
text per series), reconciles them with our station table and stores the result. In sim mode
without ``KALSHI_API_URL`` the local exchange is started on loopback for the discovery, and
read through the same REST client as Kalshi itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from weather_trader.core.series_registry import RegistryEntry, reconcile, unlisted_series
from weather_trader.settings import Settings

COLUMNS = ("series_ticker", "city", "kind", "station", "cli_product", "utc_offset", "verified")
HEADERS = ("series", "city", "kind", "station", "CLI", "UTC", "verified")


def add_arguments(subparsers: Any) -> None:
    """Add the ``cities`` command to ``subparsers``."""
    cities = subparsers.add_parser(
        "cities",
        help="the series registry: Kalshi temperature series, stations, verified or why not",
        description="Print the stored series registry; discover it from the configured Kalshi "
        "API first with --refresh or when none is stored (sim mode without KALSHI_API_URL "
        "starts the local exchange for it).",
    )
    cities.add_argument("--json", action="store_true", help="print the registry as JSON")
    cities.add_argument(
        "--refresh", action="store_true", help="discover from the exchange before printing"
    )


@contextlib.contextmanager
def _api_url(settings: Settings) -> Iterator[str]:
    """The Kalshi REST base to discover from: the configured one, else (sim mode) a local
    exchange served on loopback for the duration."""
    configured = settings.resolved_kalshi_api_url
    if configured is not None:
        yield configured
        return
    from weather_trader.sim.exchange import throwaway_exchange_api

    with throwaway_exchange_api(settings.sim_seed) as url:
        yield url


def discover(settings: Settings) -> list[RegistryEntry]:
    """Discover the series from the configured exchange and reconcile them with our table.

    Raises:
        KalshiApiError: If the exchange's series cannot be read.
    """
    from weather_trader.sources.kalshi.discovery import discover_listings
    from weather_trader.sources.kalshi.rest_markets import MarketReads

    with (
        _api_url(settings) as url,
        MarketReads(url, user_agent=settings.user_agent or "weather-trader") as reads,
    ):
        return reconcile(discover_listings(reads))


def format_table(entries: list[RegistryEntry], discovered_at: datetime | None) -> str:
    """The registry as a readable table, each unverified series followed by its reason."""
    rows = [
        [("yes" if e.verified else "NO") if c == "verified" else str(getattr(e, c) or "-")
         for c in COLUMNS]
        for e in entries
    ]  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)).rstrip()]
    for entry, row in zip(entries, rows, strict=True):
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if not entry.verified:
            lines.append(f"    reason: {entry.reason}")
    verified = sum(e.verified for e in entries)
    when = f", discovered {discovered_at:%Y-%m-%d %H:%M} UTC" if discovered_at else ""
    lines.append(f"{len(entries)} series, {verified} verified{when}")
    missing = unlisted_series(entries)
    if missing:
        lines.append(f"in our table but not listed by the exchange: {', '.join(missing)}")
    return "\n".join(lines)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Print (after discovering, when asked or needed) the series registry."""
    from weather_trader.sources.kalshi.errors import KalshiApiError
    from weather_trader.store.db import make_engine, migrate, session_scope
    from weather_trader.store.repo_registry import (
        load_registry,
        registry_discovered_at,
        save_registry,
    )

    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        with session_scope(engine) as session:
            entries = load_registry(session)
        if args.refresh or not entries:
            try:
                found = discover(settings)
            except KalshiApiError as exc:
                print(f"weather-trader cities: discovery failed: {exc}", file=sys.stderr)
                return 1
            if not found:  # replacing the registry with nothing would stop all trading
                print("weather-trader cities: the exchange listed no temperature series; the "
                      "stored registry is kept", file=sys.stderr)  # fmt: skip
                return 1
            with session_scope(engine) as session:
                save_registry(session, found, datetime.now(UTC))
        with session_scope(engine) as session:
            entries = load_registry(session)
            discovered_at = registry_discovered_at(session)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps([e.as_json() for e in entries], indent=2))
    else:
        print(format_table(entries, discovered_at))
    return 0
