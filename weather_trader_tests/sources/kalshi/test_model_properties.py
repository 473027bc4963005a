"""Property tests of the Kalshi wire models: arbitrary JSON (recursive, deeply nested, huge
numbers, negative counts) gives a valid model or the typed error, never anything else.

The typed errors: ``pydantic.ValidationError`` for the payload models (the REST client turns it
into ``KalshiMalformedResponse``), :class:`MessageParseError` (a ``KalshiError``) for
:func:`parse_event`, ``ValueError`` for :func:`wire.loads`.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from weather_trader.sources.kalshi.errors import KalshiError
from weather_trader.sources.kalshi.market_models import (
    Candlestick,
    Event,
    HistoricalCutoff,
    Market,
    Orderbook,
    Series,
    Trade,
)
from weather_trader.sources.kalshi.portfolio_models import (
    Balance,
    BatchOrderResult,
    CancelAck,
    KalshiFill,
    KalshiOrder,
    KalshiPosition,
    KalshiSettlement,
    OrderAck,
    OrderGroup,
)
from weather_trader.sources.kalshi.wire import MAX_JSON_DEPTH, loads
from weather_trader.sources.kalshi.ws_messages import EVENT_TYPES, MessageParseError, parse_event

SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
QUICK = settings(SETTINGS, max_examples=60)

MARKET: dict[str, Any] = {
    "ticker": "KXHIGHNY-26JUL12-T89",
    "event_ticker": "KXHIGHNY-26JUL12",
    "status": "active",
    "open_time": "2026-07-11T14:00:00Z",
    "close_time": "2026-07-13T04:59:00Z",
    "yes_bid_dollars": "0.0000",
    "yes_ask_dollars": "0.0100",
    "no_bid_dollars": "0.9900",
    "no_ask_dollars": "1.0000",
    "volume_fp": "1944.25",
    "open_interest_fp": "1642.25",
    "yes_ask_size_fp": "211.00",
    "strike_type": "greater",
    "floor_strike": 89,
}
FILL: dict[str, Any] = {
    "trade_id": "t-1",
    "order_id": "o-1",
    "market_ticker": "KXHIGHNY-26JUL12-T89",
    "side": "yes",
    "action": "buy",
    "count": 5,
    "yes_price": 42,
    "is_taker": True,
    "fee_cost": 2,
    "ts": 1707667200,
}
BOOK: dict[str, Any] = {"orderbook_fp": {"yes_dollars": [["0.1500", "100.00"]], "no_dollars": []}}
WS_MSG: dict[str, Any] = {
    "market_ticker": "KXHIGHNY-26JUL12-T89",
    "trade_id": "t-1",
    "order_id": "o-1",
    "is_taker": False,
    "yes_price_dollars": "0.5500",
    "count_fp": "10.00",
    "position_fp": "-3.00",
    "status": "resting",
    "event_type": "settled",
    "event_ticker": "KXHIGHNY-26JUL12",
    "ts": 1707667200,
}

HUGE = st.sampled_from(
    [10**15 + 1, -(10**15) - 1, 10**30, 2**63, 10**4000, -(10**300), 253402300800, -1]
)
NUMERIC_TEXT = st.sampled_from(
    ["1e999999999", "-1e999999999", "1e-999999999", "-5", "-0.01", "NaN", "Infinity", "1_000"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | HUGE
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=False)
    | st.text(max_size=12)
    | NUMERIC_TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def deep(depth: int = 100_000) -> Any:
    """A list nested ``depth`` deep, built without recursion."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


DEEP = deep()
DEEP_DICT: Any = 0
for _ in range(50_000):
    DEEP_DICT = {"a": DEEP_DICT}


def overridden(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with some of its fields (and their ``_dollars``/``_fp`` twins) set to any JSON."""
    keys = sorted({*base, *(f"{k}_dollars" for k in base), *(f"{k}_fp" for k in base), "ts_ms"})
    values = JSON | st.just(DEEP) | st.just(DEEP_DICT) | HUGE | NUMERIC_TEXT
    return st.dictionaries(st.sampled_from(keys), values, max_size=4).map(
        lambda over: {**base, **over}
    )


def _valid_or_typed(model: type[BaseModel], payload: object) -> BaseModel | None:
    try:
        return model.model_validate(payload)
    except ValidationError:
        return None


def _check_numbers(obj: BaseModel) -> None:
    """Counts, sizes, volumes and fees of a valid model are never negative."""
    for name in ("volume", "volume_24h", "open_interest", "yes_bid_size", "yes_ask_size"):
        value = getattr(obj, name, None)
        assert value is None or value >= 0, name
    for name in ("count", "fee_cost"):
        value = getattr(obj, name, None)
        assert value is None or value >= 0, name
    for name in ("yes_bid", "yes_ask", "no_bid", "no_ask", "yes_price"):
        value = getattr(obj, name, None)
        assert value is None or 0 <= value <= 1, name


@SETTINGS
@given(st.one_of(JSON, overridden(MARKET)))
def test_market_is_valid_or_validation_error(payload: object) -> None:
    market = _valid_or_typed(Market, payload)
    if market is not None:
        _check_numbers(market)


@SETTINGS
@given(st.one_of(JSON, overridden(FILL), overridden({**FILL, "ts": 0})))
def test_fill_is_valid_or_validation_error(payload: object) -> None:
    fill = _valid_or_typed(KalshiFill, payload)
    if fill is not None:
        _check_numbers(fill)
        assert fill.created_time is None or 1970 <= fill.created_time.year <= 9999


LEVEL = st.lists(JSON | HUGE | NUMERIC_TEXT, min_size=0, max_size=3)


@SETTINGS
@given(
    st.one_of(
        JSON,
        overridden(BOOK),
        st.fixed_dictionaries(
            {"orderbook": st.fixed_dictionaries({"yes": st.lists(LEVEL, max_size=3)})}
        ),
        st.fixed_dictionaries({"yes_bids": st.lists(LEVEL, max_size=3) | JSON}),
    )
)
def test_orderbook_is_valid_or_validation_error(payload: object) -> None:
    book = _valid_or_typed(Orderbook, payload)
    if book is not None:
        for level in (*book.yes_bids, *book.no_bids):
            assert 0 <= level.price <= 1 and level.count >= 0


@SETTINGS
@given(
    st.sampled_from(sorted(EVENT_TYPES)),
    st.one_of(JSON, overridden(WS_MSG)),
)
def test_ws_event_is_valid_or_message_parse_error(kind: str, msg: object) -> None:
    try:
        event = parse_event({"type": kind, "sid": 1, "msg": msg})
    except MessageParseError as exc:
        assert isinstance(exc, KalshiError)
        return
    assert event is not None
    for name in ("count", "volume", "open_interest", "fee", "yes_bid_size", "yes_ask_size"):
        value = getattr(event, name, None)
        assert value is None or value >= 0, name


@QUICK
@given(JSON)
def test_ws_any_message_is_event_none_or_message_parse_error(message: object) -> None:
    if not isinstance(message, dict):
        return
    with contextlib.suppress(MessageParseError):
        parse_event(message)


# -- targeted cases the properties cover at random -----------------------------------------------


@pytest.mark.parametrize("ts", [10**20, -(10**20), 2**63, -1, 253402300800])
def test_legacy_fill_ts_out_of_range_is_a_validation_error(ts: int) -> None:
    with pytest.raises(ValidationError, match="out of range"):
        KalshiFill.model_validate({**FILL, "ts": ts})


@pytest.mark.parametrize("ts", [10**20, -(10**20), 2**63, -1, 4_102_444_800_001])
def test_ws_ts_out_of_range_is_a_message_parse_error(ts: int) -> None:
    # Above 10**11 a WebSocket ``ts`` is read as milliseconds (253402300800 is 1978).
    with pytest.raises(MessageParseError, match="out of range"):
        parse_event({"type": "fill", "msg": {**WS_MSG, "ts": ts}})
    with pytest.raises(MessageParseError, match="out of range"):
        parse_event({"type": "ticker", "msg": {**WS_MSG, "ts_ms": ts * 1000}})


@pytest.mark.parametrize(
    ("model", "base", "field"),
    [
        (Market, MARKET, "volume_fp"),
        (Market, MARKET, "open_interest_fp"),
        (Market, MARKET, "yes_ask_size_fp"),
        (Market, MARKET, "volume_24h"),
        (KalshiFill, FILL, "count"),
        (KalshiFill, FILL, "fee_cost"),
        (KalshiFill, FILL, "fee_cost_dollars"),
    ],
)
def test_negative_counts_fees_volumes_are_validation_errors(
    model: type[BaseModel], base: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError, match="negative"):
        model.model_validate({**base, field: -1})
    with pytest.raises(ValidationError, match="negative"):
        model.model_validate({**base, field: "-0.01"})


def test_negative_book_size_and_ws_counts_are_refused() -> None:
    with pytest.raises(ValidationError):
        Orderbook.model_validate({"orderbook": {"yes": [[15, -1]]}})
    for field in ("count_fp", "volume_fp", "open_interest_fp", "yes_bid_size_fp", "fee_cost"):
        kind = "ticker" if field in ("volume_fp", "open_interest_fp", "yes_bid_size_fp") else "fill"
        with pytest.raises(MessageParseError, match="negative"):
            parse_event({"type": kind, "msg": {**WS_MSG, field: "-1"}})
    # Positions are signed: a NO position is negative.
    assert parse_event({"type": "market_position", "msg": WS_MSG}) is not None


@pytest.mark.parametrize("value", [DEEP, DEEP_DICT])
def test_deep_nesting_in_any_field_is_a_typed_error(value: Any) -> None:
    for field in ("ticker", "yes_bid_dollars", "volume_fp", "open_time"):
        with pytest.raises(ValidationError):
            Market.model_validate({**MARKET, field: value})
    with pytest.raises(ValidationError):
        Orderbook.model_validate({"orderbook": {"yes": value}})
    with pytest.raises(MessageParseError):
        parse_event({"type": "fill", "msg": {**WS_MSG, "ts": value}})
    with pytest.raises(MessageParseError):
        parse_event({"type": "fill", "msg": {**WS_MSG, "is_taker": value}})


def test_loads_refuses_deep_json_and_decodes_decimals() -> None:
    assert loads('{"p": 0.1, "a": [[1]]}') == {"p": Decimal("0.1"), "a": [[1]]}
    for text in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        with pytest.raises(ValueError, match="nested"):
            loads(text)
    too_deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(ValueError, match="nested"):
        loads(too_deep)
    assert loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    with pytest.raises(ValueError):
        loads("1" * 5000)  # more digits than Python converts
    with pytest.raises(ValueError):
        loads(b"\xff")


@QUICK
@given(JSON)
def test_loads_round_trips_json_or_raises_value_error(value: Any) -> None:
    try:
        text = json.dumps(value, default=str)
    except (ValueError, TypeError):
        return
    with contextlib.suppress(ValueError):
        loads(text)


ALL_MODELS: list[type[BaseModel]] = [
    Market,
    Event,
    Series,
    Orderbook,
    Trade,
    Candlestick,
    HistoricalCutoff,
    KalshiOrder,
    OrderAck,
    BatchOrderResult,
    CancelAck,
    OrderGroup,
    KalshiFill,
    KalshiPosition,
    KalshiSettlement,
    Balance,
]


@st.composite
def model_payloads(draw: st.DrawFn) -> tuple[type[BaseModel], dict[str, Any]]:
    """A model and a payload over its own field names (and their ``_dollars``/``_fp`` twins)."""
    model = draw(st.sampled_from(ALL_MODELS))
    names = sorted(model.model_fields)
    keys = sorted({*names, *(f"{n}_dollars" for n in names), *(f"{n}_fp" for n in names)})
    values = JSON | HUGE | NUMERIC_TEXT | st.just(DEEP) | st.just(DEEP_DICT)
    return model, draw(st.dictionaries(st.sampled_from(keys), values, max_size=8))


@SETTINGS
@given(model_payloads())
def test_every_model_is_valid_or_validation_error(case: tuple[type[BaseModel], Any]) -> None:
    model, payload = case
    obj = _valid_or_typed(model, payload)
    if obj is not None:
        _check_numbers(obj)
        obj.model_dump()  # and it serialises
