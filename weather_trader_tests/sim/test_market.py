from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from weather_trader.core.brackets import (
    Bracket,
    event_probabilities,
    ticker_agrees,
    validate_event_brackets,
)
from weather_trader.core.climate_day import climate_day_window, decision_time
from weather_trader.core.distribution import NormalTemperature
from weather_trader.core.records import MarketSnapshot
from weather_trader.sim.market import CrowdDistribution, SimMarket, event_ticker, market_suffix
from weather_trader.sim.reports import day_reports, settlement_report
from weather_trader.sim.weather import DETERMINISTIC_MODELS, SimWeather, SimWeatherError

WORLD = SimWeather(7)
MARKET = SimMarket(WORLD, seed=7)
DAY = date(2026, 11, 27)


def _brackets(markets: list[MarketSnapshot]) -> list[Bracket]:
    return [Bracket(m.strike_type, m.floor_strike, m.cap_strike) for m in markets]


def test_tickers_follow_kalshi() -> None:
    assert event_ticker("KXHIGHNY", DAY) == "KXHIGHNY-26NOV27"
    assert event_ticker("KXLOWTCHI", date(2026, 3, 5)) == "KXLOWTCHI-26MAR05"
    assert market_suffix(Bracket.less(84)) == "T84"
    assert market_suffix(Bracket.greater(91)) == "T91"
    assert market_suffix(Bracket.between(73, 74)) == "B73.5"
    # Below zero the midpoint keeps its sign, and the ticker still cross-checks its bracket.
    assert market_suffix(Bracket.between(-2, -1)) == "B-1.5"
    assert market_suffix(Bracket.less(-2)) == "T-2"
    assert Bracket.from_kalshi_market(
        {"ticker": "KXLOWTCHI-26NOV27-B-1.5", "strike_type": "between",
         "floor_strike": -2, "cap_strike": -1}
    ) == Bracket.between(-2, -1)  # fmt: skip
    markets = MARKET.event_markets("NYC", DAY, "high", MARKET.open_time(DAY))
    assert len(markets) == 6
    for m in markets:
        assert m.event_ticker == "KXHIGHNY-26NOV27" and m.series_ticker == "KXHIGHNY"
        assert re.fullmatch(r"KXHIGHNY-26NOV27-(T\d+|B\d+\.5)", m.ticker)
        assert ticker_agrees(m.ticker, Bracket(m.strike_type, m.floor_strike, m.cap_strike))
        assert m.fee_multiplier == Decimal(1) and m.city == "NYC" and m.kind == "high"
    low = MARKET.event_markets("PHL", DAY, "low", MARKET.open_time(DAY))
    assert low[0].event_ticker == "KXLOWTPHIL-26NOV27"


def test_brackets_exclusive_exhaustive_centred_and_fixed() -> None:
    for i in range(40):
        day = date(2025, 1, 1) + timedelta(days=9 * i)
        for city, kind in (("NYC", "high"), ("DEN", "low"), ("MIA", "high")):
            opened = MARKET.open_time(day)
            brackets = _brackets(MARKET.event_markets(city, day, kind, opened))
            validate_event_brackets(brackets)
            assert [b.strike_type for b in brackets] == ["less"] + ["between"] * 4 + ["greater"]
            assert all(b.cap_strike - b.floor_strike == 1 for b in brackets[1:5])
            mu = MARKET.crowd_distribution(city, day, kind, opened).mu
            middle = (brackets[1].floor_strike + brackets[4].cap_strike) / 2
            assert abs(middle - mu) <= 0.5 + 1e-9
            later = MARKET.event_markets(city, day, kind, opened + timedelta(hours=20))
            assert _brackets(later) == brackets


def test_schedule_and_status() -> None:
    opened = MARKET.open_time(DAY)
    assert opened == datetime(2026, 11, 26, 15, tzinfo=UTC)  # 10:00 EST the day before
    assert MARKET.event_markets("NYC", DAY, "high", opened - timedelta(minutes=1)) == []
    close = MARKET.close_time("NYC", DAY)
    assert close == datetime(2026, 11, 28, 4, 59, tzinfo=UTC)  # 23:59 EST
    assert close == climate_day_window("NYC", DAY)[1] - timedelta(minutes=1)
    markets = MARKET.event_markets("NYC", DAY, "high", close - timedelta(minutes=1))
    assert {m.status for m in markets} == {"open"} and all(m.close_time == close for m in markets)
    closed = MARKET.event_markets("NYC", DAY, "high", close)
    assert {m.status for m in closed} == {"closed"}
    assert all(not m.yes_bids and not m.no_bids for m in closed)
    final = settlement_report(day_reports(WORLD, "NYC", DAY))
    assert final is not None
    after = MARKET.event_markets("NYC", DAY, "high", final.issued_at + timedelta(minutes=1))
    assert {m.status for m in after} == {"settled"}
    # Summer: listing follows Eastern daylight time, close stays on standard time.
    assert MARKET.open_time(date(2026, 7, 4)) == datetime(2026, 7, 3, 14, tzinfo=UTC)
    assert MARKET.close_time("LAX", date(2026, 7, 4)) == datetime(2026, 7, 5, 7, 59, tzinfo=UTC)


def test_books_on_the_cent_grid_with_a_spread() -> None:
    cent = Decimal("0.01")
    seen_spreads = set()
    for h in range(0, 36, 5):
        at = MARKET.open_time(DAY) + timedelta(hours=h, minutes=7)
        for m in MARKET.event_markets("CHI", DAY, "high", at):
            assert m.yes_bids or m.no_bids
            for ladder in (m.yes_bids, m.no_bids):
                # A dead bracket has no YES bids (bid 0); otherwise 2-3 levels unless near 0.
                assert len(ladder) <= 3
                assert len(ladder) >= 2 or not ladder or ladder[0].price <= Decimal("0.02")
                prices = [lvl.price for lvl in ladder]
                assert prices == sorted(prices, reverse=True) and len(set(prices)) == len(prices)
                for lvl in ladder:
                    assert lvl.price % cent == 0 and Decimal("0.01") <= lvl.price <= Decimal("0.99")
                    assert lvl.count > 0
            if m.yes_bids:  # both sides quoted
                assert m.yes_bid < m.yes_ask
                seen_spreads.add(int((m.yes_ask - m.yes_bid) * 100))
    assert seen_spreads <= {1, 2, 3, 4} and len(seen_spreads) >= 3


def test_books_are_stateless_and_seeded() -> None:
    at = datetime(2026, 11, 26, 19, 33, tzinfo=UTC)
    a = MARKET.event_markets("AUS", DAY, "low", at)
    assert SimMarket(SimWeather(7), seed=7).event_markets("AUS", DAY, "low", at) == a
    other = SimMarket(WORLD, seed=8).event_markets("AUS", DAY, "low", at)
    assert [m.yes_bids for m in other] != [m.yes_bids for m in a]
    with pytest.raises(SimWeatherError):
        MARKET.event_markets("AUS", DAY, "low", datetime(2026, 11, 26, 19))


def test_crowd_fair_prices_sum_to_one() -> None:
    brackets, fair = MARKET.crowd_prices("LAX", DAY, "high", MARKET.open_time(DAY))
    assert len(brackets) == len(fair) == 6 and abs(sum(fair) - 1) < 1e-9


def test_crowd_distribution_clipped_by_observations() -> None:
    dist = CrowdDistribution(70.0, 3.0, floor=74.2)
    assert dist.cdf(74.0) == 0.0 and dist.cdf(np.inf) == 1.0 and dist.cdf(-np.inf) == 0.0
    assert dist.cdf(74.2) == pytest.approx(NormalTemperature(70, 3).cdf(74.2))
    low = CrowdDistribution(50.0, 3.0, cap=45.0)
    assert low.cdf(45.0) == 1.0 and low.cdf(44.0) == pytest.approx(NormalTemperature(50, 3).cdf(44))
    # Late on the day the brackets below the observed max are dead.
    day = date(2026, 7, 20)
    at = climate_day_window("DEN", day)[0] + timedelta(hours=22)
    observed_max = WORLD.true_value("DEN", day, "high")
    for m in MARKET.event_markets("DEN", day, "high", at):
        hi = Bracket(m.strike_type, m.floor_strike, m.cap_strike).integer_range()[1]
        if hi is not None and hi < round(observed_max) - 1:
            assert not m.yes_bids and m.yes_ask <= Decimal("0.02")


def _sample_events(n_days: int = 60) -> list[tuple[list[MarketSnapshot], int, np.ndarray]]:
    """Decision-time books, outcomes and a bias-corrected model (what we might build)."""
    out = []
    for city in ("NYC", "CHI", "AUS"):
        for i in range(n_days):
            day = date(2025, 2, 1) + timedelta(days=i * 5)
            at = decision_time(city, day)
            for kind in ("high", "low"):
                markets = MARKET.event_markets(city, day, kind, at)
                values = []
                for model in DETERMINISTIC_MODELS:
                    run = WORLD.latest_run(city, model, day, at)
                    assert run is not None
                    bias = WORLD.model_bias(city, kind, model, np.array([day.toordinal()]))[0]
                    values.append(WORLD.forecast(city, day, kind, model, run) - bias)
                sd = float(
                    WORLD.error_sd(city, kind, np.array([day.toordinal()]), np.array([5]))[0]
                )
                ours = np.array(
                    event_probabilities(_brackets(markets), NormalTemperature(np.mean(values), sd))
                )
                value = MARKET.settlement_value(city, day, kind)
                assert value is not None
                out.append((markets, value, ours))
    return out


@pytest.fixture(scope="module")
def events() -> list[tuple[list[MarketSnapshot], int, np.ndarray]]:
    return _sample_events()


def test_market_is_not_a_bias_corrected_model(events) -> None:  # type: ignore[no-untyped-def]
    gaps, brier_crowd, brier_ours = [], [], []
    for markets, value, ours in events:
        mids = np.array([float(m.yes_bid + m.yes_ask) / 2 for m in markets])
        outcome = np.array([b.settles_yes(value) for b in _brackets(markets)], dtype=float)
        gaps.append(np.abs(mids - ours).mean())
        brier_crowd.append(((mids - outcome) ** 2).sum())
        brier_ours.append(((ours - outcome) ** 2).sum())
    assert np.mean(gaps) > 0.03  # prices are not our probabilities plus a little noise
    # ...and a model that knows the biases beats the crowd: there is an edge to find.
    assert np.mean(brier_ours) < np.mean(brier_crowd)


def test_favourite_longshot_bias(events) -> None:  # type: ignore[no-untyped-def]
    implied, hits = [], []
    for markets, value, _ in events:
        mids = [float(m.yes_bid + m.yes_ask) / 2 for m in markets]
        cheapest = int(np.argmin(mids))
        implied.append(mids[cheapest])
        hits.append(_brackets(markets)[cheapest].settles_yes(value))
    assert np.mean(implied) > np.mean(hits) + 0.015


def test_settlement_value_from_the_final_report() -> None:
    reports = day_reports(WORLD, "NYC", DAY)
    final = settlement_report(reports)
    assert final is not None
    assert MARKET.settlement_value("NYC", DAY, "high") == final.max_f
    assert MARKET.settlement_value("NYC", DAY, "low") == final.min_f
    assert (
        MARKET.settlement_value("NYC", DAY, "high", as_of=final.issued_at - timedelta(seconds=1))
        is None
    )
    assert MARKET.settlement_value("NYC", DAY, "high", as_of=final.issued_at) == final.max_f
