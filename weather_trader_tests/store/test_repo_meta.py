"""Settings, the event outbox and model versions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from weather_trader.store.db import StoreError, session_scope
from weather_trader.store.models import EventRow
from weather_trader.store.repo import (
    append_event,
    events_after,
    get_setting,
    latest_model_version,
    model_versions,
    save_model_version,
    set_setting,
)
from weather_trader.store.repo_meta import event_key
from weather_trader.store.schemas import ModelVersionRecord
from weather_trader_tests.store.factories import DAY, T0


def test_settings_round_trip(session: Session) -> None:
    assert get_setting(session, "risk", default={"max": 1}) == {"max": 1}
    set_setting(session, "risk", {"max_exposure": Decimal("250.00"), "cities": ["NYC", "CHI"]})
    set_setting(session, "mode", "sim", now=T0)
    set_setting(session, "mode", "paper")
    session.commit()
    assert get_setting(session, "risk") == {"max_exposure": "250.00", "cities": ["NYC", "CHI"]}
    assert get_setting(session, "mode") == "paper"


def test_events_are_monotonic_and_resume(engine: Engine) -> None:
    ids = []
    for i in range(5):
        payload = {"i": i, "price": Decimal("0.35"), "at": T0}
        with session_scope(engine) as s:
            ids.append(append_event(s, "decision", payload, city="NYC", climate_date=DAY))
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    with session_scope(engine) as s:
        first = events_after(s, 0, limit=2)
        assert [e.payload["i"] for e in first] == [0, 1]
        rest = events_after(s, first[-1].id)
        assert [e.payload["i"] for e in rest] == [2, 3, 4]
        assert events_after(s, rest[-1].id) == []
    event = first[0]
    assert (event.topic, event.city, event.climate_date) == ("decision", "NYC", DAY)
    assert event.payload == {"i": 0, "price": "0.35", "at": "2026-05-11T12:00:00Z"}
    assert event.created_at.tzinfo is not None


def test_event_ids_are_not_reused_after_deletion(engine: Engine) -> None:
    with session_scope(engine) as s:
        append_event(s, "fill", {})
        last = append_event(s, "fill", {})
    with session_scope(engine) as s:
        s.execute(delete(EventRow).where(EventRow.id == last))
    with session_scope(engine) as s:
        assert append_event(s, "fill", {}) > last


def test_rolled_back_event_is_never_seen(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        append_event(s, "settlement", {"pnl": "1.00"})
        raise RuntimeError("asset failed")
    with session_scope(engine) as s:
        assert events_after(s, 0) == []


def test_event_ids_follow_commit_order(engine: Engine) -> None:
    """A writer appending while another transaction holds an event waits for its commit, so a
    reader that has seen id N can never later find a committed event with a smaller id."""
    done = threading.Event()
    second: list[int] = []

    def other_writer() -> None:
        with session_scope(engine) as s:
            second.append(append_event(s, "fill", {"n": 2}))
        done.set()

    with session_scope(engine) as s:
        first = append_event(s, "fill", {"n": 1})
        thread = threading.Thread(target=other_writer)
        thread.start()
        assert not done.wait(0.5)  # blocked behind our open transaction
    thread.join(timeout=10)
    assert done.is_set()
    assert second[0] > first


def test_an_event_key_is_appended_once(engine: Engine) -> None:
    as_of = datetime(2026, 5, 10, 14, 0, tzinfo=UTC)
    key = ("KXHIGHNY-26MAY11-B73.5", "yes", as_of)
    with session_scope(engine) as s:
        first = append_event(s, "decision", {"n": 1}, city="NYC", climate_date=DAY, key=key)
    assert first is not None
    same_instant = as_of.astimezone(timezone(timedelta(hours=-4)))
    with session_scope(engine) as s:
        again = ("KXHIGHNY-26MAY11-B73.5", "yes", same_instant)
        assert (
            append_event(s, "decision", {"n": 2}, city="NYC", climate_date=DAY, key=again) is None
        )
        other_side = ("KXHIGHNY-26MAY11-B73.5", "no", as_of)
        assert append_event(s, "decision", {"n": 3}, city="NYC", climate_date=DAY, key=other_side)
        # The same identity in another city, day or topic is another event.
        assert append_event(s, "decision", {"n": 4}, city="CHI", climate_date=DAY, key=key)
        assert append_event(s, "decision", {"n": 5}, city="NYC", climate_date=T0.date(), key=key)
        assert append_event(s, "order", {"n": 6}, city="NYC", climate_date=DAY, key=key)
        # Events without a key always append.
        assert append_event(s, "fill", {"n": 7}) and append_event(s, "fill", {"n": 7})
    with session_scope(engine) as s:
        assert [e.payload["n"] for e in events_after(s, 0)] == [1, 3, 4, 5, 6, 7, 7]


def test_event_keys_name_the_event_and_bound_their_length() -> None:
    as_of = datetime(2026, 5, 10, 10, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert event_key("distribution", "NYC", DAY, ("high", as_of)) == (
        "distribution|NYC|2026-05-12|high|2026-05-10T14:00:00Z"
    )
    assert event_key("order", None, None, "abc") == "order|||abc"
    long = event_key("settlement", "NYC", DAY, ["x" * 300])
    assert long.startswith("settlement|sha256:") and len(long) <= 255
    assert long == event_key("settlement", "NYC", DAY, ["x" * 300])
    assert long != event_key("settlement", "NYC", DAY, ["y" * 300])
    with pytest.raises(StoreError, match="timezone-aware"):
        event_key("decision", "NYC", DAY, [datetime(2026, 5, 10, 14, 0)])


def test_duplicate_key_in_a_rolled_back_transaction_does_not_block(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        append_event(s, "settlement", {"pnl": "1.00"}, city="NYC", climate_date=DAY, key="a")
        raise RuntimeError("asset failed")
    with session_scope(engine) as s:
        assert append_event(s, "settlement", {"pnl": "1.00"}, city="NYC", climate_date=DAY, key="a")


def test_model_versions(session: Session) -> None:
    assert latest_model_version(session, "temperature") is None
    old = ModelVersionRecord(
        name="temperature", version="v1", created_at=T0, params={"depth": 4},
        metrics={"crps": 1.52},
    )  # fmt: skip
    new = ModelVersionRecord(
        name="temperature", version="v2", created_at=T0 + timedelta(days=7),
        params={"depth": 5}, metrics={"crps": Decimal("1.41")},
    )  # fmt: skip
    save_model_version(session, new)
    save_model_version(session, old)
    session.commit()
    got = latest_model_version(session, "temperature")
    assert got is not None
    assert (got.version, got.metrics) == ("v2", {"crps": "1.41"})
    assert [v.version for v in model_versions(session, "temperature")] == ["v2", "v1"]
    assert model_versions(session, "other") == []
    retrained = new.model_copy(update={"created_at": datetime(2026, 6, 1, tzinfo=UTC)})
    save_model_version(session, retrained)
    got = latest_model_version(session, "temperature")
    assert got is not None
    assert got.created_at == retrained.created_at
