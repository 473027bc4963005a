from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from weather_trader.core.brackets import Bracket, BracketError
from weather_trader.core.cities import Kind
from weather_trader.core.scoring import ScoringError
from weather_trader.core.settlement import SettledPosition, settle_position
from weather_trader.core.trading import Side

D = Decimal
EVENT = "KXHIGHNY-26JUL04"
SETTLED_AT = datetime(2026, 7, 5, 12, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Held:
    ticker: str
    outcome_side: Side
    count: int
    cost: Decimal
    fees: Decimal
    kind: Kind = "high"


def test_yes_on_between_wins_inside_both_strikes() -> None:
    held = Held(f"{EVENT}-B88.5", "yes", 10, D("4.10"), D("0.20"))
    bracket = Bracket.between(88, 89)
    for value in (88, 89):  # both strikes inclusive
        s = settle_position(held, bracket, value, SETTLED_AT)
        assert s.settled_yes
        assert s.payout == D("10")
        assert s.pnl == D("5.70")  # 10 - 4.10 - 0.20
    for value in (87, 90):
        s = settle_position(held, bracket, value, SETTLED_AT)
        assert not s.settled_yes
        assert s.payout == 0
        assert s.pnl == D("-4.30")


def test_settled_position_carries_the_position() -> None:
    held = Held(f"{EVENT}-B88.5", "yes", 10, D("4.10"), D("0.20"), kind="high")
    s = settle_position(held, Bracket.between(88, 89), 88, SETTLED_AT)
    assert s == SettledPosition(
        kind="high",
        ticker=f"{EVENT}-B88.5",
        outcome_side="yes",
        settled_value=88,
        settled_yes=True,
        count=10,
        cost=D("4.10"),
        fees=D("0.20"),
        payout=D("10"),
        pnl=D("5.70"),
        settled_at=SETTLED_AT,
    )


def test_no_on_less_tail() -> None:
    # less with cap 84: YES iff T < 84 ("83° or below").
    held = Held("KXLOWTNYC-26JUL04-T84", "no", 7, D("2.45"), D("0.11"), kind="low")
    bracket = Bracket.less(84)
    yes = settle_position(held, bracket, 83, SETTLED_AT)
    assert yes.settled_yes and yes.payout == 0
    assert yes.pnl == D("-2.56")  # 0 - 2.45 - 0.11
    no = settle_position(held, bracket, 84, SETTLED_AT)
    assert not no.settled_yes and no.payout == D("7")
    assert no.pnl == D("4.44")  # 7 - 2.45 - 0.11
    assert no.kind == "low"


def test_yes_and_no_on_greater_tail() -> None:
    # greater with floor 91: YES iff T > 91 ("92° or above").
    bracket = Bracket.greater(91)
    yes_held = Held(f"{EVENT}-T91", "yes", 3, D("0.45"), D("0.03"))
    no_held = Held(f"{EVENT}-T91", "no", 5, D("4.25"), D("0.07"))
    at_floor = settle_position(yes_held, bracket, 91, SETTLED_AT)
    assert not at_floor.settled_yes and at_floor.payout == 0 and at_floor.pnl == D("-0.48")
    above = settle_position(yes_held, bracket, 92, SETTLED_AT)
    assert above.settled_yes and above.payout == D("3") and above.pnl == D("2.52")
    no_wins = settle_position(no_held, bracket, 91, SETTLED_AT)
    assert no_wins.payout == D("5") and no_wins.pnl == D("0.68")  # 5 - 4.25 - 0.07
    no_loses = settle_position(no_held, bracket, 92, SETTLED_AT)
    assert no_loses.payout == 0 and no_loses.pnl == D("-4.32")


def test_zero_count() -> None:
    held = Held(f"{EVENT}-B88.5", "yes", 0, D("0"), D("0"))
    s = settle_position(held, Bracket.between(88, 89), 88, SETTLED_AT)
    assert s.settled_yes and s.count == 0
    assert s.payout == 0 and s.pnl == 0
    # Fees are subtracted whatever the count.
    charged = settle_position(
        Held(f"{EVENT}-B88.5", "no", 0, D("0"), D("0.02")), Bracket.between(88, 89), 90, SETTLED_AT
    )
    assert not charged.settled_yes and charged.payout == 0 and charged.pnl == D("-0.02")


def test_invalid_inputs_raise() -> None:
    bracket = Bracket.between(88, 89)
    with pytest.raises(BracketError):
        settle_position(Held("T", "yes", 1, D("0.5"), D("0")), bracket, 88.0, SETTLED_AT)  # type: ignore[arg-type]
    with pytest.raises(ScoringError):
        settle_position(Held("T", "yes", -1, D("0.5"), D("0")), bracket, 88, SETTLED_AT)
