from __future__ import annotations

import math

import numpy as np
import pytest

from weather_trader.core.brackets import (
    Bracket,
    BracketError,
    bracket_probability,
    event_probabilities,
    parse_rules,
    parse_subtitle,
    standard_event_brackets,
    ticker_agrees,
    validate_event_brackets,
)
from weather_trader.core.distribution import NormalTemperature

# -- construction and semantics ----------------------------------------------------------------


def test_between_is_inclusive_both_ends() -> None:
    b = Bracket.between(73, 74)
    assert [b.settles_yes(t) for t in (71, 72, 73, 74, 75)] == [False, False, True, True, False]
    assert b.integer_range() == (73, 74)
    assert b.label == "73° to 74°"


def test_less_is_strict() -> None:
    b = Bracket.less(84)
    assert b.settles_yes(83) and not b.settles_yes(84)
    assert b.settles_yes(-40)
    assert b.integer_range() == (None, 83)
    assert b.label == "83° or below"


def test_greater_is_strict() -> None:
    b = Bracket.greater(91)
    assert b.settles_yes(92) and not b.settles_yes(91)
    assert b.integer_range() == (92, None)
    assert b.label == "92° or above"
    assert str(b) == b.label


def test_negative_and_zero_strikes() -> None:
    b = Bracket.less(0)
    assert b.label == "-1° or below"
    assert b.settles_yes(-1) and not b.settles_yes(0)
    assert Bracket.between(-3, -2).settles_yes(-2)


def test_settles_yes_accepts_numpy_ints_refuses_floats() -> None:
    b = Bracket.between(10, 11)
    assert b.settles_yes(np.int64(10))
    for bad in (10.0, "10", True, None):
        with pytest.raises(BracketError):
            b.settles_yes(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("strike_type", "floor", "cap"),
    [
        ("between", None, 5),
        ("between", 5, None),
        ("between", 6, 5),
        ("less", 5, 6),
        ("less", None, None),
        ("greater", None, 5),
        ("greater", 5, 6),
        ("above", 5, None),
        ("between", 5.0, 6),
        ("between", True, 6),
    ],
)
def test_invalid_brackets(strike_type: str, floor: object, cap: object) -> None:
    with pytest.raises(BracketError):
        Bracket(strike_type, floor, cap)  # type: ignore[arg-type]


def test_bracket_is_frozen_and_hashable() -> None:
    b = Bracket.between(1, 2)
    assert {b, Bracket("between", 1, 2)} == {b}
    with pytest.raises(AttributeError):
        b.floor_strike = 3  # type: ignore[misc]
    assert issubclass(BracketError, ValueError)


def test_contains_interval() -> None:
    assert Bracket.between(73, 74).contains_interval() == (72.5, 74.5)
    assert Bracket.less(84).contains_interval() == (-math.inf, 83.5)
    assert Bracket.greater(91).contains_interval() == (91.5, math.inf)


# -- parsing ------------------------------------------------------------------------------------


def _market(**kw: object) -> dict[str, object]:
    return {"ticker": "KXHIGHNY-26JUL12-X", **kw}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"strike_type": "less", "cap_strike": 84}, Bracket.less(84)),
        ({"strike_type": "greater", "floor_strike": 89.0}, Bracket.greater(89)),
        (
            {"strike_type": "between", "floor_strike": "88", "cap_strike": "89.00"},
            Bracket("between", 88, 89),
        ),
        # A stray opposite strike on a tail is ignored.
        ({"strike_type": "less", "floor_strike": None, "cap_strike": 0}, Bracket.less(0)),
        ({"strike_type": "greater", "floor_strike": 70, "cap_strike": ""}, Bracket.greater(70)),
    ],
)
def test_from_strike_fields(fields: dict[str, object], expected: Bracket) -> None:
    assert Bracket.from_kalshi_market(_market(**fields)) == expected


def test_strike_fields_win_over_subtitle() -> None:
    m = _market(strike_type="less", cap_strike=84, yes_sub_title="garbage")
    assert Bracket.from_kalshi_market(m) == Bracket.less(84)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23° or below", Bracket.less(24)),
        ("-1° or below", Bracket.less(0)),
        ("45° to 46°", Bracket.between(45, 46)),
        ("31° or above", Bracket.greater(30)),
        ("31 or above", Bracket.greater(30)),
        ("45-46°", Bracket.between(45, 46)),
        (" 45°F to 46°F ", Bracket.between(45, 46)),
        ("-5° to -4°", Bracket.between(-5, -4)),
        ("46° to 45°", None),
        ("between 45 and 46", None),
        ("", None),
    ],
)
def test_parse_subtitle(text: str, expected: Bracket | None) -> None:
    assert parse_subtitle(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("If the highest temperature ... is less than 84°, then the market resolves to Yes.",
         Bracket.less(84)),
        ("... for May 1, 2025 as reported by the NWS, is greater than 89°, then ...",
         Bracket.greater(89)),
        ("... is between 80-81° according to the NWS's Daily Climate Report, then ...",
         Bracket.between(80, 81)),
        ("... is between 80° and 81°, then ...", Bracket.between(80, 81)),
        ("... is less than -2°, then ...", Bracket.less(-2)),
        ("... is 23° or below, then ...", Bracket.less(24)),
        ("... is 31° or above, then ...", Bracket.greater(30)),
        ("nothing useful here", None),
    ],
)  # fmt: skip
def test_parse_rules(text: str, expected: Bracket | None) -> None:
    assert parse_rules(text) == expected


def test_subtitle_fallback_and_order() -> None:
    m = _market(ticker="KXHIGHCHI-25JAN16-B38.5", yes_sub_title="38° to 39°")
    assert Bracket.from_kalshi_market(m) == Bracket.between(38, 39)
    # yes_sub_title unparseable: subtitle is next.
    m = _market(ticker="X-T42", yes_sub_title="??", subtitle="43° or above")
    assert Bracket.from_kalshi_market(m) == Bracket.greater(42)
    # strike_type present but the needed strike missing: fall back to the text.
    m = _market(ticker="X-T42", strike_type="greater", floor_strike=None, subtitle="43° or above")
    assert Bracket.from_kalshi_market(m) == Bracket.greater(42)


def test_rules_fallback() -> None:
    m = {
        "ticker": "KXHIGHNY-25JAN28-T38",
        "yes_sub_title": "",
        "strike_type": None,
        "rules_primary": "If the highest temperature ... is greater than 38°, then ... Yes.",
    }
    assert Bracket.from_kalshi_market(m) == Bracket.greater(38)


def test_ticker_contradiction_raises() -> None:
    with pytest.raises(BracketError, match="KXHIGHNY-25JAN28-T38"):
        Bracket.from_kalshi_market(
            {"ticker": "KXHIGHNY-25JAN28-T38", "strike_type": "greater", "floor_strike": 39}
        )
    with pytest.raises(BracketError, match=r"B38\.5"):
        Bracket.from_kalshi_market({"ticker": "X-25JAN16-B38.5", "yes_sub_title": "39° to 40°"})
    with pytest.raises(BracketError):
        Bracket.from_kalshi_market({"ticker": "X-25JAN16-B38.5", "yes_sub_title": "39° or above"})


def test_nothing_parses_names_ticker() -> None:
    with pytest.raises(BracketError, match="KXHIGHNY-26JAN01-Q1"):
        Bracket.from_kalshi_market({"ticker": "KXHIGHNY-26JAN01-Q1", "yes_sub_title": "Maybe"})
    with pytest.raises(BracketError, match="no ticker"):
        Bracket.from_kalshi_market({})


@pytest.mark.parametrize(
    "fields",
    [
        {"strike_type": "between", "floor_strike": 84.5, "cap_strike": 86},
        {"strike_type": "between", "floor_strike": "abc", "cap_strike": 86},
        {"strike_type": "between", "floor_strike": 87, "cap_strike": 86},
        {"strike_type": "custom", "floor_strike": 1, "cap_strike": 2},
        {"strike_type": "less", "cap_strike": True},
    ],
)
def test_bad_strike_fields_raise(fields: dict[str, object]) -> None:
    with pytest.raises(BracketError, match="KXHIGHNY-26JUL12-X"):
        Bracket.from_kalshi_market(_market(**fields))


@pytest.mark.parametrize(
    ("ticker", "bracket", "ok"),
    [
        ("HIGHNY-24AUG16-T84", Bracket.less(84), True),
        ("HIGHNY-24AUG16-T91", Bracket.greater(91), True),
        ("HIGHNY-24AUG16-T91", Bracket.greater(92), False),
        ("HIGHNY-24AUG16-T84", Bracket.between(83, 84), False),
        ("HIGHNY-24AUG16-B84.5", Bracket.between(84, 85), True),
        ("HIGHNY-24AUG16-B84.5", Bracket.between(85, 86), False),
        ("HIGHNY-24AUG16-B84.5", Bracket.greater(84), False),
        ("KXHIGHCHI-25JAN21-T0", Bracket.less(0), True),
        ("KXHIGHCHI-26JAN21-B-1.5", Bracket.between(-2, -1), True),
        ("SOMETHING", Bracket.less(3), True),
    ],
)
def test_ticker_agrees(ticker: str, bracket: Bracket, ok: bool) -> None:
    assert ticker_agrees(ticker, bracket) is ok


# -- events ---------------------------------------------------------------------------------------


def test_standard_event_matches_real_event() -> None:
    labels = [b.label for b in standard_event_brackets(88)]
    assert labels == [
        "83° or below",
        "84° to 85°",
        "86° to 87°",
        "88° to 89°",
        "90° to 91°",
        "92° or above",
    ]
    assert standard_event_brackets(88)[0] == Bracket.less(84)
    assert standard_event_brackets(88)[-1] == Bracket.greater(91)


@pytest.mark.parametrize(("center", "width", "inner"), [(0, 1, 0), (50, 1, 5), (-7, 3, 6)])
def test_standard_event_shapes_validate(center: int, width: int, inner: int) -> None:
    brackets = standard_event_brackets(center, width, inner)
    assert len(brackets) == inner + 2
    assert validate_event_brackets(brackets) == brackets
    for b in brackets[1:-1]:
        lo, hi = b.integer_range()
        assert hi - lo + 1 == width  # type: ignore[operator]


def test_standard_event_rejects_bad_args() -> None:
    with pytest.raises(BracketError):
        standard_event_brackets(50, width=0)
    with pytest.raises(BracketError):
        standard_event_brackets(50, inner=-1)


def test_validate_sorts_shuffled_event() -> None:
    brackets = standard_event_brackets(60)
    shuffled = [brackets[i] for i in (3, 0, 5, 1, 4, 2)]
    assert validate_event_brackets(shuffled) == brackets


@pytest.mark.parametrize(
    ("brackets", "match"),
    [
        ([], "none"),
        ([Bracket.less(80), Bracket.between(80, 81)], "tail"),
        ([Bracket.between(80, 81), Bracket.greater(81)], "tail"),
        ([Bracket.less(80), Bracket.less(70), Bracket.greater(79)], "tail"),
        ([Bracket.less(80), Bracket.between(81, 82), Bracket.greater(82)], "gap"),
        ([Bracket.less(80), Bracket.between(79, 82), Bracket.greater(82)], "overlap"),
        ([Bracket.less(80), Bracket.between(80, 82), Bracket.greater(81)], "overlap"),
        ([Bracket.less(80), Bracket.greater(70)], "overlap"),
        (
            [Bracket.less(80), Bracket.between(80, 81), Bracket.between(80, 81),
             Bracket.greater(81)],
            "overlap",
        ),
        ([Bracket.less(80), Bracket.between(85, 86), Bracket.greater(78)], "overlap"),
    ],
)  # fmt: skip
def test_validate_rejects(brackets: list[Bracket], match: str) -> None:
    with pytest.raises(BracketError, match=match):
        validate_event_brackets(brackets)


def test_two_tails_alone_are_a_valid_event() -> None:
    assert validate_event_brackets([Bracket.greater(79), Bracket.less(80)]) == [
        Bracket.less(80),
        Bracket.greater(79),
    ]


# -- probabilities -------------------------------------------------------------------------------


def test_bracket_probability_hand_computed() -> None:
    d = NormalTemperature(70.0, 1.0)
    # 70..71 covers [69.5, 71.5): Phi(1.5) - Phi(-0.5)
    assert bracket_probability(Bracket.between(70, 71), d) == pytest.approx(
        0.9331927987311419 - 0.3085375387259869
    )
    # less 70 covers X < 69.5
    assert bracket_probability(Bracket.less(70), d) == pytest.approx(0.3085375387259869)
    # greater 71 covers X >= 71.5
    assert bracket_probability(Bracket.greater(71), d) == pytest.approx(1 - 0.9331927987311419)


def test_single_integer_probability_matches_rounding() -> None:
    # P(T = k) by Monte Carlo rounding of X agrees with the half-integer CDF difference.
    d = NormalTemperature(41.3, 1.7)
    x = d.sample(np.random.default_rng(7), size=400_000)
    t = np.floor(x + 0.5)
    for k in range(38, 46):
        mc = float(np.mean(t == k))
        assert bracket_probability(Bracket.between(k, k), d) == pytest.approx(mc, abs=0.004)


def test_far_tail_probability_is_non_negative() -> None:
    d = NormalTemperature(0.0, 0.1)
    assert bracket_probability(Bracket.between(500, 501), d) == 0.0
    assert bracket_probability(Bracket.greater(500), d) >= 0.0


def test_event_probabilities_order_and_validation() -> None:
    d = NormalTemperature(88.0, 2.0)
    brackets = standard_event_brackets(88)
    probs = event_probabilities(brackets, d)
    rev = event_probabilities(list(reversed(brackets)), d)
    assert probs == list(reversed(rev))
    assert max(probs) == probs[3]  # 88-89 holds the mean's upper half
    with pytest.raises(BracketError):
        event_probabilities(brackets[:-1], d)


def _random_event(rng: np.random.Generator) -> list[Bracket]:
    lo = int(rng.integers(-30, 110))
    n_inner = int(rng.integers(0, 9))
    brackets = [Bracket.less(lo)]
    for _ in range(n_inner):
        w = int(rng.integers(1, 5))
        brackets.append(Bracket.between(lo, lo + w - 1))
        lo += w
    brackets.append(Bracket.greater(lo - 1))
    rng.shuffle(brackets)  # type: ignore[arg-type]
    return brackets


def test_probabilities_sum_to_one_without_renormalisation() -> None:
    rng = np.random.default_rng(20260704)
    for _ in range(2_000):
        brackets = _random_event(rng)
        d = NormalTemperature(float(rng.uniform(-40, 120)), float(rng.uniform(0.05, 15)))
        probs = event_probabilities(brackets, d)
        assert all(0.0 <= p <= 1.0 for p in probs)
        assert math.fsum(probs) == pytest.approx(1.0, abs=1e-12)


# -- real Kalshi data ------------------------------------------------------------------------------


def _load_events(realdata_dir):  # type: ignore[no-untyped-def]
    import json

    files = sorted((realdata_dir / "kalshi" / "cpratim" / "events").glob("*/*.json"))
    if not files:
        pytest.skip(f"no Kalshi event files under {realdata_dir}/kalshi/cpratim/events")
    return [(f, json.loads(f.read_text())) for f in files]


def test_real_events_settle_as_kalshi_settled(realdata_dir) -> None:  # type: ignore[no-untyped-def]
    n_checked = 0
    n_no_strikes = 0
    for path, payload in _load_events(realdata_dir):
        markets = payload["markets"]
        values = {m["expiration_value"] for m in markets if m.get("expiration_value")}
        assert len(values) <= 1, f"{path}: conflicting expiration values {values}"
        if not values:
            continue
        value_dec = float(values.pop())
        assert value_dec == int(value_dec), path
        value = int(value_dec)
        winners = 0
        for m in markets:
            if m.get("result") not in ("yes", "no"):
                continue
            bracket = Bracket.from_kalshi_market(m)
            assert bracket.settles_yes(value) == (m["result"] == "yes"), (m["ticker"], value)
            winners += m["result"] == "yes"
            n_no_strikes += m.get("strike_type") is None
            n_checked += 1
        assert winners == 1, path
    # ~3,000 settled markets, including the ~50 early-2025 ones without strike fields.
    assert n_checked > 2_500
    assert n_no_strikes >= 40


def test_real_events_parse_and_validate(realdata_dir) -> None:  # type: ignore[no-untyped-def]
    n_events = 0
    for path, payload in _load_events(realdata_dir):
        markets = payload["markets"]
        brackets = [Bracket.from_kalshi_market(m) for m in markets]
        ordered = validate_event_brackets(brackets)
        assert len(ordered) == 6, path
        # Our labels reproduce Kalshi's subtitles exactly.
        for m, b in zip(markets, brackets, strict=True):
            assert b.label == m["yes_sub_title"], m["ticker"]
        probs = event_probabilities(brackets, NormalTemperature(60.0, 10.0))
        assert math.fsum(probs) == pytest.approx(1.0, abs=1e-12)
        n_events += 1
    assert n_events > 500


def test_real_2026_markets(realdata_dir) -> None:  # type: ignore[no-untyped-def]
    import json

    folder = realdata_dir / "kalshi" / "tMer234_trimmed"
    files = [folder / "kxhighny_open_trimmed.json", folder / "kxhighny_settled_trimmed.json"]
    if not all(f.is_file() for f in files):
        pytest.skip(f"2026 Kalshi market samples missing under {folder}")
    n = 0
    for f in files:
        for m in json.loads(f.read_text())["markets"]:
            b = Bracket.from_kalshi_market(m)
            assert b.label == m["yes_sub_title"]
            if m.get("result") in ("yes", "no"):
                value = int(float(m["expiration_value"]))
                assert b.settles_yes(value) == (m["result"] == "yes")
            n += 1
    assert n == 5


def test_real_finalized_markets_csv_events_validate(realdata_dir) -> None:  # type: ignore[no-untyped-def]
    import csv
    from collections import defaultdict

    path = realdata_dir / "kalshi" / "sameeres" / "kalshi_markets.csv"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    events: dict[str, list[Bracket]] = defaultdict(list)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            m = {
                "ticker": row["market_ticker"],
                "strike_type": row["strike_type"],
                "floor_strike": row["floor_strike"],  # strings, "" when absent
                "cap_strike": row["cap_strike"],
                "yes_sub_title": row["market_subtitle"],
            }
            b = Bracket.from_kalshi_market(m)
            assert b.label == row["market_subtitle"], row["market_ticker"]
            events[row["event_ticker"]].append(b)
    assert len(events) > 150
    for event_ticker, brackets in events.items():
        try:
            validate_event_brackets(brackets)
        except BracketError as exc:  # pragma: no cover - message aid
            pytest.fail(f"{event_ticker}: {exc}")
