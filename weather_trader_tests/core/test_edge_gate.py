"""The measured-edge gate: instants, the nearest-instant rule, the verdict and its reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from weather_trader.core.brackets import Bracket
from weather_trader.core.gating import (
    NO_MEASURED_EDGE,
    MeasuredEdge,
    edge_gate_reason,
    gate_on_edge,
    nearest_instant,
    reason_code,
)
from weather_trader.core.instants import DecisionInstant, InstantError, parse_instant
from weather_trader.core.trading import MarketQuote, RiskLimits, RiskState, decide_event

DAY = date(2026, 3, 10)
INSTANTS = [parse_instant("D-1 16:00"), parse_instant("D 08:00")]


def test_parse_and_place_instants_in_local_standard_time() -> None:
    before, on_day = INSTANTS
    assert before == DecisionInstant("D-1 16:00", -1, 16, 0)
    assert on_day == DecisionInstant("D 08:00", 0, 8, 0)
    # Chicago is UTC-6 all year for climate purposes; NYC UTC-5 (even in July).
    assert on_day.at("CHI", DAY) == datetime(2026, 3, 10, 14, tzinfo=UTC)
    assert before.at("NYC", date(2026, 7, 4)) == datetime(2026, 7, 3, 21, tzinfo=UTC)
    assert parse_instant("D+1 00:30").at("NYC", DAY) == datetime(2026, 3, 11, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize("label", ["D-1 25:00", "16:00", "D-1", "X 08:00", "D 8:0"])
def test_bad_instant_labels_are_refused(label: str) -> None:
    with pytest.raises(InstantError):
        parse_instant(label)


def test_a_decision_maps_to_the_nearest_instant_ties_to_the_earlier() -> None:
    before, on_day = INSTANTS
    at = before.at("NYC", DAY)
    # A replay decides at 10:00 the day before: 6 h from D-1 16:00, 22 h from D 08:00.
    assert nearest_instant("NYC", DAY, at - timedelta(hours=6), INSTANTS) == before
    assert (
        nearest_instant("NYC", DAY, on_day.at("NYC", DAY) + timedelta(hours=5), INSTANTS) == on_day
    )
    midway = at + (on_day.at("NYC", DAY) - at) / 2  # exactly 8 h from both
    assert nearest_instant("NYC", DAY, midway, INSTANTS) == before
    assert nearest_instant("NYC", DAY, midway + timedelta(seconds=1), INSTANTS) == on_day
    with pytest.raises(InstantError):
        nearest_instant("NYC", DAY, at, [])


def test_edge_counts_only_when_ours_beats_the_market_on_enough_events() -> None:
    on_day = INSTANTS[1]
    good = MeasuredEdge("CHI", "D 08:00", 112, brier_ours=0.500, brier_market=0.520, diff_se=0.01)
    assert edge_gate_reason(good, on_day) is None
    noisy = MeasuredEdge("CHI", "D 08:00", 112, brier_ours=0.500, brier_market=0.520, diff_se=0.02)
    assert edge_gate_reason(noisy, on_day) == (
        "no_measured_edge: ours 0.500 vs market 0.520 event Brier over 112 events at D 08:00"
        " (within noise: upper 95% bound +0.013)"
    )
    unsure = MeasuredEdge("CHI", "D 08:00", 112, brier_ours=0.500, brier_market=0.520)
    assert edge_gate_reason(unsure, on_day) is not None
    worse = MeasuredEdge("CHI", "D 08:00", 112, brier_ours=0.531, brier_market=0.520)
    assert edge_gate_reason(worse, on_day) == (
        "no_measured_edge: ours 0.531 vs market 0.520 event Brier over 112 events at D 08:00"
    )
    tied = MeasuredEdge("CHI", "D 08:00", 112, brier_ours=0.520, brier_market=0.520)
    assert edge_gate_reason(tied, on_day) is not None
    few = MeasuredEdge("CHI", "D 08:00", 12, brier_ours=0.3, brier_market=0.5, diff_se=0.05)
    assert "fewer than 30" in str(edge_gate_reason(few, on_day))
    assert edge_gate_reason(few, on_day, min_events=10) is None
    none = MeasuredEdge("CHI", "D 08:00", 0, brier_ours=None, brier_market=None)
    assert edge_gate_reason(none, on_day) == "no_measured_edge: no event scored at D 08:00"
    assert edge_gate_reason(None, on_day) == (
        "no_measured_edge: no evaluation of this city at D 08:00"
    )
    assert reason_code(str(edge_gate_reason(None, on_day))) == NO_MEASURED_EDGE
    assert reason_code("taken") == "taken"


LIMITS = RiskLimits(
    max_order_cost=Decimal(50),
    max_event_exposure=Decimal(100),
    max_total_exposure=Decimal(500),
    daily_loss_limit=Decimal(100),
    kelly_fraction=0.25,
    min_edge=Decimal("0.02"),
    kill_switch=False,
)


def _quotes() -> list[MarketQuote]:
    return [
        MarketQuote(
            "T-B1", "EV", Bracket.between(60, 61), Decimal("0.20"), Decimal("0.22"), 50, 50
        ),
        MarketQuote(
            "T-B2", "EV", Bracket.between(62, 63), Decimal("0.50"), Decimal("0.52"), 50, 50
        ),
        MarketQuote("T-B3", "EV", Bracket.greater(63), Decimal("0.00"), Decimal("1.00"), 0, 0),
    ]


def test_gate_untakes_every_model_edge_trade_and_keeps_other_reasons() -> None:
    decisions = decide_event(_quotes(), [0.6, 0.2, 0.2], RiskState(Decimal(1000)), LIMITS)
    assert any(d.taken for d in decisions)
    reason = "no_measured_edge: ours 0.531 vs market 0.520 event Brier over 112 events at D 08:00"
    gated = gate_on_edge(decisions, reason)
    assert not any(d.taken for d in gated)
    for before, after in zip(decisions, gated, strict=True):
        if before.reason in ("no_edge", "no_liquidity"):
            assert after == before
        else:
            assert after.reason == reason and after.count == 0 and after.cost == 0
            assert after.p_model == before.p_model and after.price == before.price


def test_market_probabilities_prefer_trades_fall_back_to_mids_and_normalise() -> None:
    from weather_trader.core.trading import TradingError, market_probabilities

    probs = market_probabilities([0.30, float("nan"), 0.10], [0.5, 0.45, 0.2])
    assert probs == pytest.approx([0.30 / 0.85, 0.45 / 0.85, 0.10 / 0.85])
    assert sum(probs) == pytest.approx(1.0)
    assert all(p != p for p in market_probabilities([0.0, 0.0], [0.0, 0.0]))  # all NaN
    with pytest.raises(TradingError):
        market_probabilities([0.1], [0.1, 0.2])
