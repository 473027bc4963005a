"""The outbox hub on its own, with an in-memory outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from api.metrics import DomainSnapshot, SidecarMetrics
from api.outbox import OutboxHub, Signal
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


def _hub(outbox: FakeOutbox, metrics: SidecarMetrics, queue_size: int = 10) -> OutboxHub:
    return OutboxHub(outbox.fetch, outbox.head, 0.01, queue_size, metrics)


async def test_start_tails_from_head_and_publishes_new_events() -> None:
    outbox, metrics = FakeOutbox(), _metrics()
    outbox.append(3)
    hub = _hub(outbox, metrics)
    await hub.start()
    sub = hub.subscribe()
    new = outbox.append(2)

    got = [await asyncio.wait_for(sub.queue.get(), 2) for _ in new]
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
    fast.queue.get_nowait(), fast.queue.get_nowait()  # fast drains, slow does not
    outbox.append(1)

    await hub.poll_once()

    assert slow.dropped and slow.queue.get_nowait() is Signal.OVERFLOW and slow.queue.empty()
    assert not fast.dropped and fast.queue.get_nowait().id == 3
    assert hub.subscriber_count == 1


async def test_stop_signals_shutdown_to_subscribers() -> None:
    hub = _hub(FakeOutbox(), _metrics())
    await hub.start()
    sub = hub.subscribe()

    await hub.stop()

    assert sub.queue.get_nowait() is Signal.SHUTDOWN
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
    event = await asyncio.wait_for(sub.queue.get(), 2)
    await hub.stop()

    assert isinstance(event, EventOut) and event.id == 1
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
    assert sub.queue.get_nowait().id == new[0]  # not events 1-4
    assert sub.queue.empty()
