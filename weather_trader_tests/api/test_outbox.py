"""The outbox hub on its own, with an in-memory outbox."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from api.metrics import DomainSnapshot, SidecarMetrics
from api.outbox import Frame, OutboxHub, Signal, Subscription
from api.schemas import EventOut


class FakeOutbox:
    """An in-memory events table; ``fail`` makes reads raise."""

    def __init__(self) -> None:
        self.events: list[EventOut] = []
        self.fail = False

    def append(self, n: int) -> list[int]:
        ids = []
        for _ in range(n):
            event_id = len(self.events) + 1
            self.events.append(
                EventOut(
                    id=event_id,
                    created_at=datetime.now(UTC),
                    topic="t",
                    city=None,
                    climate_date=None,
                    payload={},
                )
            )
            ids.append(event_id)
        return ids

    def fetch(self, after: int, limit: int) -> list[EventOut]:
        if self.fail:
            raise ConnectionError("database down")
        return [e for e in self.events if e.id > after][:limit]

    def head(self) -> int:
        if self.fail:
            raise ConnectionError("database down")
        return len(self.events)


def _metrics() -> SidecarMetrics:
    def snapshot() -> DomainSnapshot:
        raise RuntimeError("not used")

    return SidecarMetrics(snapshot)


def _hub(
    outbox: FakeOutbox, metrics: SidecarMetrics, queue_size: int = 10, recent: int = 100
) -> OutboxHub:
    return OutboxHub(outbox.fetch, outbox.head, 0.01, queue_size, metrics, recent=recent)


async def _received(sub: Subscription, n: int) -> list[Frame]:
    """The next ``n`` frames ``sub`` receives (fails after 2 s)."""
    frames: list[Frame] = []
    while len(frames) < n:
        item = await asyncio.wait_for(sub.get(), 2)
        assert isinstance(item, list)
        frames += item
    return frames


async def test_start_tails_from_head_and_publishes_new_events() -> None:
    outbox, metrics = FakeOutbox(), _metrics()
    outbox.append(3)
    hub = _hub(outbox, metrics)
    await hub.start()
    sub = hub.subscribe()
    new = outbox.append(2)

    got = await _received(sub, len(new))
    await hub.stop()

    assert [e.id for e in got] == new  # history before start is not pushed
    assert metrics.registry.get_sample_value("weather_trader_outbox_last_event_id") == 5


async def test_overflow_drops_only_the_slow_subscriber() -> None:
    outbox, metrics = FakeOutbox(), _metrics()
    hub = _hub(outbox, metrics, queue_size=2)
    await hub.poll_once()  # finds the (empty) head
    slow, fast = hub.subscribe(), hub.subscribe()
    outbox.append(2)
    await hub.poll_once()
    fast.get_nowait()  # fast drains both, slow does not
    outbox.append(1)

    await hub.poll_once()

    assert slow.dropped and slow.get_nowait() is Signal.OVERFLOW and len(slow) == 0
    fast_got = fast.get_nowait()
    assert not fast.dropped and isinstance(fast_got, list) and [f.id for f in fast_got] == [3]
    assert hub.subscriber_count == 1


async def test_stop_signals_shutdown_to_subscribers() -> None:
    hub = _hub(FakeOutbox(), _metrics())
    await hub.start()
    sub = hub.subscribe()

    await hub.stop()

    assert sub.get_nowait() is Signal.SHUTDOWN
    assert hub.subscriber_count == 0


async def test_poll_errors_are_counted_and_retried() -> None:
    outbox, metrics = FakeOutbox(), _metrics()
    hub = _hub(outbox, metrics)
    await hub.start()
    outbox.fail = True
    await asyncio.sleep(0.1)
    outbox.fail = False
    sub = hub.subscribe()
    outbox.append(1)
    (frame,) = await _received(sub, 1)
    await hub.stop()

    assert frame.id == 1 and EventOut.model_validate_json(frame.text).id == 1
    errors = metrics.registry.get_sample_value("weather_trader_outbox_poll_errors_total")
    assert errors is not None and errors >= 1


async def test_read_pages_in_id_order() -> None:
    outbox = FakeOutbox()
    outbox.append(5)
    hub = _hub(outbox, _metrics())

    assert [e.id for e in await hub.read(2, limit=2)] == [3, 4]


def test_unsubscribe_is_idempotent() -> None:
    hub = _hub(FakeOutbox(), _metrics())
    sub = hub.subscribe()
    hub.unsubscribe(sub)
    hub.unsubscribe(sub)
    assert hub.subscriber_count == 0


async def test_start_survives_an_unreachable_database() -> None:
    outbox = FakeOutbox()
    outbox.fail = True
    hub = _hub(outbox, _metrics())

    await hub.start()
    await hub.stop()

    assert hub.last_id == 0


async def test_outage_at_startup_does_not_replay_history() -> None:
    outbox = FakeOutbox()
    outbox.append(4)
    outbox.fail = True
    hub = _hub(outbox, _metrics())
    sub = hub.subscribe()
    with pytest.raises(ConnectionError):
        await hub.poll_once()

    outbox.fail = False
    await hub.poll_once()  # finds the head first
    new = outbox.append(1)
    await hub.poll_once()

    assert hub.last_id == new[0]
    got = sub.get_nowait()
    assert isinstance(got, list) and [f.id for f in got] == new  # not events 1-4
    assert sub.get_nowait() is None


async def test_each_event_is_serialised_once_for_every_subscriber() -> None:
    outbox, metrics = FakeOutbox(), _metrics()
    hub = _hub(outbox, metrics)
    await hub.poll_once()
    first, second = hub.subscribe(), hub.subscribe()
    outbox.append(2)

    await hub.poll_once()

    a, b = first.get_nowait(), second.get_nowait()
    assert isinstance(a, list) and isinstance(b, list)
    assert all(x is y for x, y in zip(a, b, strict=True))  # the same Frame objects
    assert [json.loads(f.text) for f in a] == [
        json.loads(e.model_dump_json()) for e in outbox.events
    ]


async def test_one_query_per_page_of_new_events() -> None:
    outbox, metrics = FakeOutbox(), _metrics()
    calls: list[tuple[int, int]] = []

    def fetch(after: int, limit: int) -> list[EventOut]:
        calls.append((after, limit))
        return outbox.fetch(after, limit)

    hub = OutboxHub(fetch, outbox.head, 0.01, 5000, metrics)
    await hub.poll_once()
    outbox.append(1200)

    assert await hub.poll_once() == 1200

    assert calls == [(0, 500), (500, 500), (1000, 500)]


async def test_recent_frames_serve_catch_up_from_memory() -> None:
    outbox, metrics = FakeOutbox(), _metrics()
    outbox.append(3)
    hub = _hub(outbox, metrics, recent=8)
    await hub.poll_once()  # head is 3: memory reaches back to it, not before
    outbox.append(12)
    await hub.poll_once()

    assert hub.recent_after(2) is None  # before the head at start: from the table
    recent = hub.recent_after(10)
    assert recent is not None and [f.id for f in recent] == list(range(11, 16))
    assert hub.recent_after(15) == []
    assert hub.recent_after(99) == []
    # Memory keeps the latest ``recent`` frames (8-15) and answers only for ids it covers.
    from_seven = hub.recent_after(7)
    assert from_seven is not None and [f.id for f in from_seven] == list(range(8, 16))
    assert hub.recent_after(6) is None


async def test_subscribe_with_backlog_delivers_it_first() -> None:
    outbox, metrics = FakeOutbox(), _metrics()
    hub = _hub(outbox, metrics)
    await hub.poll_once()
    outbox.append(2)
    await hub.poll_once()
    backlog = hub.recent_after(0)
    assert backlog is not None

    sub = hub.subscribe(backlog)
    outbox.append(1)
    await hub.poll_once()

    assert [f.id for f in await _received(sub, 3)] == [1, 2, 3]
