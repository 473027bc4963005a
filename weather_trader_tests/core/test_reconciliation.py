from __future__ import annotations

from weather_trader.core.reconciliation import PositionMismatch, net_yes, position_mismatches


def test_net_yes_subtracts_no_contracts() -> None:
    held = [("A", "yes", 10), ("A", "no", 3), ("B", "no", 4), ("C", "yes", 0)]
    assert net_yes(held) == {"A": 7, "B": -4, "C": 0}


def test_mismatches_list_only_the_markets_that_differ() -> None:
    ours = {"A": 5, "B": -4, "C": 0}
    exchange = {"A": 10, "B": -4, "D": 2}  # a missing ticker holds 0
    assert position_mismatches(ours, exchange, ["D", "A", "B", "C", "E"]) == [
        PositionMismatch("A", 5, 10),
        PositionMismatch("D", 0, 2),
    ]


def test_only_the_given_markets_are_compared() -> None:
    assert position_mismatches({"A": 5}, {"A": 6, "B": 1}, ["B"]) == [PositionMismatch("B", 0, 1)]
    assert position_mismatches({"A": 5}, {"A": 6}, []) == []
