from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from weather_trader.core.brackets import Bracket, BracketError, standard_event_brackets
from weather_trader.core.fees import SeriesFees
from weather_trader.core.records import BookLevel, MarketSnapshot
from weather_trader.core.trading import (
    Decision,
    Lot,
    MarketQuote,
    RiskLimits,
    RiskState,
    TradingError,
    client_order_id,
    decide_event,
    ev_no,
    ev_yes,
    expected_value_per_contract,
    kelly_contracts,
    kelly_fraction,
    lots_from_decisions,
    order_from_decision,
    quote_from_snapshot,
    risk_state_at,
    unit_fee_rate,
)

D = Decimal
EVENT = "KXHIGHNY-26JUL04"


def quote(
    bid: str = "0.40",
    ask: str = "0.50",
    bid_size: str = "1000",
    ask_size: str = "1000",
    ticker: str = f"{EVENT}-B88.5",
    event: str = EVENT,
    bracket: Bracket | None = None,
) -> MarketQuote:
    return MarketQuote(
        ticker=ticker,
        event_ticker=event,
        bracket=bracket or Bracket.between(88, 89),
        yes_bid=D(bid),
        yes_ask=D(ask),
        yes_bid_size=D(bid_size),
        yes_ask_size=D(ask_size),
    )


LOOSE = RiskLimits(
    max_order_cost=D("1000"),
    max_event_exposure=D("1000"),
    max_total_exposure=D("10000"),
    daily_loss_limit=D("100"),
    kelly_fraction=0.25,
    min_edge=D("0.02"),
    kill_switch=False,
    max_contracts_per_order=10_000,
)
RICH = RiskState(bankroll=D("1000"))


def by_side(decisions: list[Decision], side: str) -> Decision:
    (d,) = [d for d in decisions if d.side == side]
    return d


# -- quotes ----------------------------------------------------------------------------------------


def test_market_quote_prices_and_sizes() -> None:
    q = quote(bid="0.40", ask="0.45", bid_size="12.50", ask_size="3.00")
    assert q.price("yes") == D("0.45")
    assert q.price("no") == q.no_ask == D("0.60")
    assert q.size("no") == 12 and q.size("yes") == 3
    with pytest.raises(TradingError):
        quote(bid="1.2")
    with pytest.raises(TradingError):
        quote(bid_size="-1")


def test_quote_from_snapshot() -> None:
    ts = datetime(2026, 7, 3, 15, tzinfo=UTC)
    snap = MarketSnapshot(
        ticker=f"{EVENT}-T91",
        event_ticker=EVENT,
        series_ticker="KXHIGHNY",
        city="NYC",
        climate_date=date(2026, 7, 4),
        kind="high",
        strike_type="greater",
        floor_strike=91,
        cap_strike=None,
        captured_at=ts,
        close_time=ts,
        yes_bids=(BookLevel(price=D("0.10"), count=D("25")),),
        no_bids=(BookLevel(price=D("0.85"), count=D("40")), BookLevel(price=D("0.8"), count=D(9))),
    )
    q = quote_from_snapshot(snap)
    assert q.bracket == Bracket.greater(91)
    assert (q.yes_bid, q.yes_ask) == (D("0.10"), D("0.15"))
    assert (q.yes_bid_size, q.yes_ask_size) == (D(25), D(40))
    empty = quote_from_snapshot(snap.model_copy(update={"yes_bids": (), "no_bids": ()}))
    assert (empty.yes_bid, empty.yes_ask, empty.size("yes"), empty.size("no")) == (0, 1, 0, 0)
    bad = snap.model_copy(update={"ticker": f"{EVENT}-T90"})
    with pytest.raises(BracketError):
        quote_from_snapshot(bad)


# -- EV and Kelly ----------------------------------------------------------------------------------


def test_ev_hand_computed() -> None:
    # 100 YES @ 0.50, fee 1.75 -> 0.6 - 0.5 - 0.0175
    assert expected_value_per_contract(0.6, D("0.50"), 100) == D("0.0825")
    # one contract pays a whole 2-cent fee
    assert expected_value_per_contract(0.6, D("0.50"), 1) == D("0.08")
    q = quote(bid="0.40", ask="0.50")
    assert ev_yes(0.6, q, 100) == D("0.0825")
    # NO at 1 - 0.40 = 0.60, p(NO) = 0.7, 20 contracts fee 0.34 -> 0.7 - 0.6 - 0.017
    assert ev_no(0.3, q, 20) == D("0.083")
    half = SeriesFees("quadratic", D("0.5"), maker_fees=False)
    assert expected_value_per_contract(0.6, D("0.50"), 100, half) == D("0.6") - D("0.5") - D(
        "0.0088"
    )
    with pytest.raises(TradingError):
        expected_value_per_contract(0.6, D("0.5"), 0)
    with pytest.raises(TradingError):
        expected_value_per_contract(1.2, D("0.5"), 1)


def test_unit_fee_rate() -> None:
    assert unit_fee_rate(D("0.5")) == D("0.0175")
    assert unit_fee_rate(D("0.6"), SeriesFees("quadratic", D(2), False)) == D("0.0336")


def test_kelly_fraction_and_contracts() -> None:
    assert kelly_fraction(0.6, D("0.5")) == D("0.2")
    assert kelly_fraction(0.5, D("0.5")) == 0
    assert kelly_fraction(0.4, D("0.5")) == 0
    assert kelly_fraction(1.0, D("1")) == 0
    # quarter Kelly of 1000 at 0.50: 0.25 * 0.2 * 1000 / 0.5 = 100 contracts
    assert kelly_contracts(0.6, D("0.5"), D("1000"), 0.25) == 100
    # with the unit fee in the cost: 0.25 * (0.0825/0.4825) * 1000 / 0.5175 = 82.6
    assert kelly_contracts(0.6, D("0.5175"), D("1000"), D("0.25")) == 82
    assert kelly_contracts(0.4, D("0.5"), D("1000"), 0.25) == 0
    assert kelly_contracts(0.6, D("0.5"), D("-5"), 0.25) == 0
    assert kelly_contracts(0.6, D("0.5"), D("1"), 0.25) == 0  # floors to zero


# -- RiskLimits ------------------------------------------------------------------------------------


def test_risk_limits_validation_and_json() -> None:
    limits = LOOSE.model_copy(update={"max_order_cost": D("25.50")})
    assert limits.max_order_cost == D("25.50")
    assert RiskLimits(**{**LOOSE.model_dump(), "max_order_cost": "25.50"}) == limits
    assert RiskLimits.model_validate_json(limits.model_dump_json()) == limits
    for bad in (
        {"kelly_fraction": 0},
        {"kelly_fraction": 1.5},
        {"max_order_cost": 0},
        {"daily_loss_limit": 0},
        {"max_contracts_per_order": 0},
        {"min_edge": -0.01},
        {"surprise": 1},
    ):
        with pytest.raises(ValidationError):
            RiskLimits(**{**LOOSE.model_dump(), **bad})
    with pytest.raises(ValidationError, match="min_edge"):
        RiskLimits(**LOOSE.model_dump(exclude={"min_edge"}))  # no silent default


# -- decide_event: each reason -------------------------------------------------------------------


def test_taken_yes_with_hand_computed_size() -> None:
    decisions = decide_event([quote(bid="0.40", ask="0.50")], [0.6], RICH, LOOSE)
    assert [(d.side, d.reason) for d in decisions] == [("yes", "taken"), ("no", "no_edge")]
    yes = decisions[0]
    assert yes.taken and yes.count == 82 and yes.target == 82 and yes.held == 0
    assert yes.cost == D("41.00")
    assert yes.fee == D("1.44")  # 0.07 * 82 * 0.25 = 1.435 -> 1.44
    assert yes.ev_per_contract == D("0.082439")  # 0.1 - 1.44 / 82, reported to 1e-6
    assert yes.edge == D("0.1") and yes.p_model == 0.6 and yes.price == D("0.50")
    no = decisions[1]
    assert no.count == 0 and no.fee == 0 and no.cost == 0
    assert no.price == D("0.60") and no.p_model == pytest.approx(0.4)
    assert no.ev_per_contract < 0


def test_taken_no_side() -> None:
    d = by_side(decide_event([quote(bid="0.40", ask="0.50")], [0.2], RICH, LOOSE), "no")
    assert d.reason == "taken" and d.price == D("0.60") and d.p_model == pytest.approx(0.8)
    assert d.yes_book_price == D("0.40")


def test_kill_switch_and_daily_loss() -> None:
    markets = [quote(), quote(ticker=f"{EVENT}-T91", bracket=Bracket.greater(91))]
    killed = decide_event(markets, [0.9, 0.1], RICH, LOOSE.model_copy(update={"kill_switch": True}))
    assert len(killed) == 4 and {d.reason for d in killed} == {"kill_switch"}
    assert all(d.count == 0 for d in killed)
    losing = RiskState(bankroll=D("1000"), realised_pnl_today=D("-100"))
    halted = decide_event(markets, [0.9, 0.1], losing, LOOSE)
    assert {d.reason for d in halted} == {"daily_loss_limit"}
    nearly = RiskState(bankroll=D("1000"), realised_pnl_today=D("-99.99"))
    assert decide_event(markets, [0.9, 0.1], nearly, LOOSE)[0].reason == "taken"


def test_stale_inputs_skip_every_candidate() -> None:
    markets = [quote(), quote(ticker=f"{EVENT}-T91", bracket=Bracket.greater(91))]
    stale = decide_event(markets, [0.9, 0.1], RICH, LOOSE, stale_inputs=True)
    assert len(stale) == 4 and {d.reason for d in stale} == {"stale_inputs"}
    assert all(d.count == 0 for d in stale)


def test_no_liquidity() -> None:
    empty = quote(bid="0", ask="1", bid_size="0", ask_size="0")
    assert [d.reason for d in decide_event([empty], [0.99], RICH, LOOSE)] == [
        "no_liquidity",
        "no_liquidity",
    ]
    # Price is fine but nothing (or under one contract) is offered.
    thin = quote(ask_size="0.5")
    assert decide_event([thin], [0.99], RICH, LOOSE)[0].reason == "no_liquidity"


def test_no_edge_uses_fee_and_min_edge() -> None:
    # edge 0.03 - unit fee 0.0175 = 0.0125 < min_edge 0.02
    assert decide_event([quote()], [0.53], RICH, LOOSE)[0].reason == "no_edge"
    # same trade passes a lower bar
    low_bar = LOOSE.model_copy(update={"min_edge": D("0.01")})
    assert decide_event([quote()], [0.53], RICH, low_bar)[0].reason == "taken"
    # zero EV is never taken, even with min_edge 0
    zero_bar = LOOSE.model_copy(update={"min_edge": D("0")})
    assert decide_event([quote()], [0.5175], RICH, zero_bar)[0].reason == "no_edge"


def test_no_edge_after_fee_rounding_on_small_order() -> None:
    # ev_large = 0.54 - 0.5 - 0.0175 = 0.0225 >= 0.021, but one contract pays 0.02 -> 0.02 < 0.021
    limits = LOOSE.model_copy(update={"min_edge": D("0.021"), "max_contracts_per_order": 1})
    d = decide_event([quote()], [0.54], RICH, limits)[0]
    assert d.reason == "no_edge" and d.ev_per_contract == D("0.02") and d.count == 0


def test_size_zero_when_bankroll_small() -> None:
    d = decide_event([quote()], [0.6], RiskState(bankroll=D("2")), LOOSE)[0]
    assert d.reason == "size_zero" and d.target == 0


def test_already_held_counts_toward_target() -> None:
    held_all = RiskState(bankroll=D("1000"), held={(f"{EVENT}-B88.5", "yes"): 82})
    d = decide_event([quote()], [0.6], held_all, LOOSE)[0]
    assert d.reason == "already_held" and d.target == 82 and d.held == 82
    held_some = RiskState(bankroll=D("1000"), held={(f"{EVENT}-B88.5", "yes"): 50})
    d = decide_event([quote()], [0.6], held_some, LOOSE)[0]
    assert d.reason == "taken" and d.count == 32 and d.held == 50
    # Holding the other side does not count.
    held_no = RiskState(bankroll=D("1000"), held={(f"{EVENT}-B88.5", "no"): 500})
    assert decide_event([quote()], [0.6], held_no, LOOSE)[0].count == 82


def test_caps_shrink_before_skipping() -> None:
    # max_order_cost 10 at 0.50: 19 * 0.5 + 0.34 = 9.84 fits; 20 * 0.5 + 0.35 = 10.35 does not.
    d = decide_event([quote()], [0.6], RICH, LOOSE.model_copy(update={"max_order_cost": D(10)}))[0]
    assert (d.reason, d.count, d.cost + d.fee) == ("taken", 19, D("9.84"))
    d = decide_event(
        [quote()], [0.6], RICH, LOOSE.model_copy(update={"max_contracts_per_order": 7})
    )[0]
    assert (d.reason, d.count) == ("taken", 7)
    d = decide_event([quote(ask_size="12.9")], [0.6], RICH, LOOSE)[0]
    assert (d.reason, d.count) == ("taken", 12)
    # Event room of 5 dollars left: 9 * 0.5 + 0.16 = 4.66 fits, 10 -> 5.18 does not.
    partly = RiskState(
        bankroll=D("1000"), event_exposure={EVENT: D("995")}, total_exposure=D("995")
    )
    d = decide_event([quote()], [0.6], partly, LOOSE)[0]
    assert (d.reason, d.count) == ("taken", 9)


def test_cap_reasons_when_shrunk_to_zero() -> None:
    tiny = LOOSE.model_copy(update={"max_order_cost": D("0.30")})
    assert decide_event([quote()], [0.6], RICH, tiny)[0].reason == "max_order_cost"
    full_event = RiskState(bankroll=D("1000"), event_exposure={EVENT: D("1000")})
    d = decide_event([quote()], [0.6], full_event, LOOSE)[0]
    assert d.reason == "event_exposure" and d.count == 0 and d.target == 82
    # Another event's exposure does not count against this one.
    other = RiskState(bankroll=D("1000"), event_exposure={"OTHER": D("1000")})
    assert decide_event([quote()], [0.6], other, LOOSE)[0].reason == "taken"
    full_total = RiskState(bankroll=D("1000"), total_exposure=D("10000"))
    assert decide_event([quote()], [0.6], full_total, LOOSE)[0].reason == "total_exposure"


def test_best_candidates_first_until_event_cap() -> None:
    brackets = standard_event_brackets(88)
    tickers = [f"{EVENT}-M{i}" for i in range(len(brackets))]
    markets = [
        quote(bid="0.05", ask="0.10", ticker=t, bracket=b)
        for t, b in zip(tickers, brackets, strict=True)
    ]
    # Market 2 has the best edge, market 4 the second best; the rest have none.
    probs = [0.01, 0.05, 0.45, 0.05, 0.30, 0.01]
    limits = LOOSE.model_copy(update={"max_event_exposure": D("20")})
    decisions = decide_event(markets, probs, RICH, limits)
    assert len(decisions) == 12
    assert [(d.ticker, d.side) for d in decisions[:4]] == [
        (tickers[0], "yes"),
        (tickers[0], "no"),
        (tickers[1], "yes"),
        (tickers[1], "no"),
    ]
    best, second = by_side(decisions[4:6], "yes"), by_side(decisions[8:10], "yes")
    # Best first: 0.45 at 0.10 has a quarter-Kelly target of 904, cut by the $20 event cap to
    # 188 (18.80 + 1.19 fee = 19.99; 189 would cost 20.10).
    assert (best.reason, best.count, best.target) == ("taken", 188, 904)
    assert best.exposure == D("19.99")
    # The cap is used up, so the second-best edge (and the cheap NO tails) are skipped.
    assert (second.reason, second.count) == ("event_exposure", 0)
    assert second.ev_per_contract > LOOSE.min_edge
    assert by_side(decisions[0:2], "no").reason == "event_exposure"
    assert [d.reason for d in decisions].count("taken") == 1
    # With room for both, both are taken and the total respects the cap.
    roomy = decide_event(
        markets, probs, RICH, LOOSE.model_copy(update={"max_event_exposure": D(100)})
    )
    taken = [d for d in roomy if d.taken]
    assert [(d.ticker, d.count) for d in taken] == [(tickers[2], 904), (tickers[4], 36)]
    assert sum((d.exposure for d in taken), D(0)) == D("99.93")


def test_exposure_accumulates_across_taken() -> None:
    markets = [quote(ticker=f"{EVENT}-A"), quote(ticker=f"{EVENT}-B")]
    limits = LOOSE.model_copy(update={"max_total_exposure": D("50")})
    decisions = decide_event(markets, [0.6, 0.6], RICH, limits)
    a, b = decisions[0], decisions[2]
    assert a.reason == "taken" and a.count == 82  # 41 + 1.44 = 42.44
    assert b.reason == "taken" and b.count == 14  # 7 + 0.25 = 7.25 <= 7.56 room
    assert a.exposure + b.exposure <= D("50")


def test_decide_event_input_validation() -> None:
    with pytest.raises(TradingError):
        decide_event([quote()], [0.5, 0.5], RICH, LOOSE)
    with pytest.raises(TradingError):
        decide_event([quote()], [1.5], RICH, LOOSE)
    with pytest.raises(TradingError):
        decide_event([quote()], [float("nan")], RICH, LOOSE)
    assert decide_event([], [], RICH, LOOSE) == []


def test_decide_event_is_deterministic_and_pure() -> None:
    state = RiskState(bankroll=D("1000"), event_exposure={EVENT: D("3")}, total_exposure=D("3"))
    markets = [quote(ticker=f"{EVENT}-{i}") for i in range(4)]
    first = decide_event(markets, [0.6, 0.7, 0.2, 0.55], state, LOOSE)
    assert first == decide_event(markets, [0.6, 0.7, 0.2, 0.55], state, LOOSE)
    assert state.event_exposure == {EVENT: D("3")}  # not mutated


def test_taken_lots_count_so_the_same_edge_is_not_bought_twice() -> None:
    at = datetime(2026, 7, 3, 15, tzinfo=UTC)
    decisions = decide_event([quote()], [0.6], RICH, LOOSE)
    lots = lots_from_decisions(decisions, at, at + timedelta(days=1))
    after = risk_state_at(RICH.bankroll, lots, at)
    assert after.held_count(f"{EVENT}-B88.5", "yes") == 82
    assert after.exposure_of(EVENT) == D("42.44") == after.total_exposure
    again = decide_event([quote()], [0.6], after, LOOSE)
    assert again[0].reason == "already_held"


def test_risk_state_at_is_point_in_time() -> None:
    t0 = datetime(2026, 7, 3, 15, tzinfo=UTC)
    won = Lot("T1", "E1", "yes", 10, D("4.10"), t0, t0 + timedelta(hours=20), pnl=D("5.90"))
    lost = Lot("T2", "E2", "no", 5, D("3.05"), t0 + timedelta(hours=2), t0 + timedelta(hours=22),
               pnl=D("-3.05"))  # fmt: skip
    unsettled = Lot("T3", "E2", "no", 1, D("0.50"), t0 + timedelta(hours=3))
    lots = [won, lost, unsettled]
    before = risk_state_at(D("100"), lots, t0 - timedelta(minutes=1))
    assert before.total_exposure == 0 and before.held == {}
    mid = risk_state_at(D("100"), lots, t0 + timedelta(hours=4))
    assert mid.total_exposure == D("7.65")
    assert mid.event_exposure == {"E1": D("4.10"), "E2": D("3.55")}
    assert mid.held == {("T1", "yes"): 10, ("T2", "no"): 5, ("T3", "no"): 1}
    assert mid.realised_pnl_today == 0
    later = risk_state_at(D("100"), lots, t0 + timedelta(hours=23))  # 2026-07-04 14:00 UTC
    assert later.total_exposure == D("0.50") and later.held == {("T3", "no"): 1}
    assert later.realised_pnl_today == D("2.85")  # both settled on 2026-07-04 (UTC)
    next_day = risk_state_at(D("100"), lots, t0 + timedelta(days=2))
    assert next_day.realised_pnl_today == 0


# -- orders ----------------------------------------------------------------------------------------


def test_order_from_decision_yes_and_no() -> None:
    as_of = datetime(2026, 7, 3, 15, tzinfo=UTC)
    yes = decide_event([quote()], [0.6], RICH, LOOSE)[0]
    order = order_from_decision(yes, "NYC|2026-07-04", as_of)
    assert (order.side, order.price, order.count) == ("bid", D("0.50"), 82)
    assert order.time_in_force == "immediate_or_cancel"
    assert order.client_order_id == client_order_id("NYC|2026-07-04", yes.ticker, "yes", as_of)
    no = by_side(decide_event([quote()], [0.2], RICH, LOOSE), "no")
    order_no = order_from_decision(no, "NYC|2026-07-04", as_of)
    assert (order_no.side, order_no.price) == ("ask", D("0.40"))
    assert order_no.client_order_id != order.client_order_id
    skipped = decide_event([quote()], [0.6], RICH, LOOSE)[1]
    with pytest.raises(TradingError):
        order_from_decision(skipped, "NYC|2026-07-04", as_of)


def test_client_order_id_is_deterministic() -> None:
    as_of = datetime(2026, 7, 3, 15, tzinfo=UTC)
    a = client_order_id("NYC|2026-07-04", "T", "yes", as_of)
    assert a == client_order_id("NYC|2026-07-04", "T", "yes", as_of.isoformat())
    assert a.startswith("wt-") and len(a) == 35
    others = {
        client_order_id("NYC|2026-07-05", "T", "yes", as_of),
        client_order_id("NYC|2026-07-04", "U", "yes", as_of),
        client_order_id("NYC|2026-07-04", "T", "no", as_of),
        client_order_id("NYC|2026-07-04", "T", "yes", as_of, version="trading-v2"),
        client_order_id("NYC|2026-07-04", "T", "yes", datetime(2026, 7, 3, 16, tzinfo=UTC)),
    }
    assert a not in others and len(others) == 5


# -- re-runs and stored decisions ------------------------------------------------------------------


def test_lots_before_excludes_the_events_own_later_lots() -> None:
    from weather_trader.core.trading import lots_before

    as_of = datetime(2026, 7, 3, 15, tzinfo=UTC)
    minute = timedelta(minutes=1)
    own_earlier = Lot("A1", EVENT, "yes", 3, D("1.50"), as_of - minute)
    own_at = Lot("A2", EVENT, "yes", 5, D("2.50"), as_of)
    own_later = Lot("A3", EVENT, "no", 2, D("1.00"), as_of + minute)
    other_at = Lot("B1", "KXHIGHCHI-26JUL04", "yes", 4, D("2.00"), as_of)
    other_later = Lot("B2", "KXHIGHCHI-26JUL04", "no", 1, D("0.60"), as_of + minute)
    lots = [own_earlier, own_at, other_at, own_later, other_later]
    assert lots_before(lots, {EVENT}, as_of) == [own_earlier, other_at, other_later]
    assert lots_before(iter(lots), [EVENT, "KXHIGHCHI-26JUL04"], as_of) == [own_earlier]
    assert lots_before(lots, set(), as_of) == lots
    assert lots_before([], {EVENT}, as_of) == []


def test_decision_record_round_trip() -> None:
    from dataclasses import fields, replace

    from weather_trader.core.trading import DECISION_RECORD_FIELDS

    decisions = decide_event([quote()], [0.6], RICH, LOOSE)
    taken = by_side(decisions, "yes")
    assert taken.taken and taken.target > 0
    record = taken.record()
    assert tuple(record) == DECISION_RECORD_FIELDS
    assert set(DECISION_RECORD_FIELDS) == {f.name for f in fields(Decision)} - {"target", "held"}
    assert record["count"] == 82 and record["price"] == D("0.50") and record["reason"] == "taken"
    # target and held are not stored: they come back as their defaults.
    assert Decision.from_record(record) == replace(taken, target=0, held=0)
    for d in decisions:
        back = Decision.from_record({**d.record(), "extra": "ignored"})
        assert back.record() == d.record()
        assert (back.exposure, back.yes_book_price) == (d.exposure, d.yes_book_price)
    with pytest.raises(KeyError):
        Decision.from_record({k: v for k, v in record.items() if k != "fee"})
