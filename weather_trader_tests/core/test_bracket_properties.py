"""Property tests of bracket semantics: Kalshi's strike rules, exhaustive events, probabilities."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from weather_trader.core.brackets import (
    Bracket,
    event_probabilities,
    parse_subtitle,
    standard_event_brackets,
    validate_event_brackets,
)
from weather_trader.core.distribution import NormalTemperature

SETTINGS = settings(max_examples=200, deadline=None, database=None)
QUICK = settings(SETTINGS, max_examples=60)
TEMPS = st.integers(-200, 300)
STRIKES = st.integers(-150, 250)


@st.composite
def exhaustive_events(draw: st.DrawFn) -> list[Bracket]:
    """A ``less`` tail, 0-8 adjacent ``between`` brackets of random widths, a ``greater`` tail,
    in random order."""
    start = draw(STRIKES)
    widths = draw(st.lists(st.integers(1, 6), max_size=8))
    brackets = [Bracket.less(start)]
    lo = start
    for width in widths:
        brackets.append(Bracket.between(lo, lo + width - 1))
        lo += width
    brackets.append(Bracket.greater(lo - 1))
    return draw(st.permutations(brackets))


@SETTINGS
@given(exhaustive_events(), TEMPS)
def test_exactly_one_bracket_of_an_exhaustive_event_settles_yes(
    brackets: list[Bracket], t: int
) -> None:
    assert validate_event_brackets(brackets)
    assert sum(b.settles_yes(t) for b in brackets) == 1


@QUICK
@given(st.integers(-150, 250), st.integers(1, 5), st.integers(0, 8), TEMPS)
def test_standard_events_are_exhaustive(center: int, width: int, inner: int, t: int) -> None:
    brackets = standard_event_brackets(center, width, inner)
    assert validate_event_brackets(brackets)
    assert sum(b.settles_yes(t) for b in brackets) == 1


@SETTINGS
@given(
    exhaustive_events(),
    st.floats(-300, 400, allow_nan=False),
    st.floats(1e-6, 200, allow_nan=False),
)
def test_event_probabilities_of_a_normal_sum_to_one(
    brackets: list[Bracket], mu: float, sigma: float
) -> None:
    probabilities = event_probabilities(brackets, NormalTemperature(mu, sigma))
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert math.isclose(sum(probabilities), 1.0, rel_tol=0.0, abs_tol=1e-9)


@QUICK
@given(STRIKES, st.integers(0, 10), TEMPS)
def test_between_is_yes_iff_floor_le_t_le_cap(floor: int, span: int, t: int) -> None:
    cap = floor + span
    assert Bracket.between(floor, cap).settles_yes(t) == (floor <= t <= cap)


@QUICK
@given(STRIKES, TEMPS)
def test_less_is_yes_iff_t_below_cap(cap: int, t: int) -> None:
    assert Bracket.less(cap).settles_yes(t) == (t < cap)


@QUICK
@given(STRIKES, TEMPS)
def test_greater_is_yes_iff_t_above_floor(floor: int, t: int) -> None:
    assert Bracket.greater(floor).settles_yes(t) == (t > floor)


@QUICK
@given(exhaustive_events())
def test_labels_read_back_to_the_same_bracket(brackets: list[Bracket]) -> None:
    # "73° to 74°", "83° or below", "92° or above": Kalshi's subtitles for each strike type.
    for bracket in brackets:
        assert parse_subtitle(bracket.label) == bracket
