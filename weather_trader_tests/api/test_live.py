"""``/ws``: live events, resume by id, first-message hello, slow-consumer disconnect."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api import create_app
from api.routes.live import CLOSE_SLOW_CONSUMER
from weather_trader_tests.api.conftest import (
    SettingsFactory,
    TestClient,
    add_user,
    append_events,
    login,
    receive_event,
    wait_for,
)


def receive_frame(ws: WebSocketTestSession) -> list[dict[str, Any]]:
    """The next ``?batch=true`` frame: a JSON array of events."""
    frame: Any = receive_event(ws)
    assert isinstance(frame, list) and frame
    return frame


def _subscribed(client: TestClient, n: int = 1) -> None:
    """Wait until ``n`` WebSocket clients are receiving live events."""
    hub = client.app.state.hub
    wait_for(lambda: hub.subscriber_count == n)


def test_event_appended_after_connect_reaches_client(client: TestClient, engine: Engine) -> None:
    with client.websocket_connect("/ws?last_event_id=0") as ws:
        _subscribed(client)
        (event_id,) = append_events(engine, 1, topic="fill")

        event = receive_event(ws)

    assert event["id"] == event_id
    assert event["topic"] == "fill"
    assert event["city"] == "NYC"
    assert event["climate_date"] == "2026-01-15"
    assert event["payload"] == {"seq": 0}
    assert set(event) == {"id", "created_at", "topic", "city", "climate_date", "payload"}


def test_resume_receives_exactly_the_events_after_last_id(
    client: TestClient, engine: Engine
) -> None:
    ids = append_events(engine, 5)

    with client.websocket_connect(f"/ws?last_event_id={ids[1]}") as ws:
        backlog = [receive_event(ws)["id"] for _ in range(3)]
        _subscribed(client)
        (live_id,) = append_events(engine, 1)
        following = receive_event(ws)["id"]

    assert backlog == ids[2:]
    assert following == live_id  # nothing repeated, nothing skipped


def test_last_event_id_in_first_message(client: TestClient, engine: Engine) -> None:
    ids = append_events(engine, 4)

    with client.websocket_connect("/ws") as ws:
        ws.send_json({"last_event_id": ids[2]})
        event = receive_event(ws)

    assert event["id"] == ids[3]


def test_without_last_event_id_the_feed_starts_at_head(client: TestClient, engine: Engine) -> None:
    append_events(engine, 3)
    wait_for(lambda: client.app.state.hub.last_id == 3)

    with client.websocket_connect("/ws") as ws:
        _subscribed(client)  # after the hello timeout
        (new_id,) = append_events(engine, 1)
        event = receive_event(ws)

    assert event["id"] == new_id == 4


def test_invalid_last_event_id_is_rejected(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws?last_event_id=-3"):
        pass


def test_slow_client_is_disconnected_and_loses_nothing_on_resume(
    make_settings: SettingsFactory, engine: Engine, database_url: str
) -> None:
    add_user(database_url)
    app = create_app(make_settings(ws_queue_size=3))
    with TestClient(app) as client:
        login(client)
        received: list[int] = []
        with client.websocket_connect("/ws?last_event_id=0") as ws:
            _subscribed(client)
            ids = append_events(engine, 10)  # one poll, 10 events > queue of 3
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    received.append(receive_event(ws)["id"])
        assert closed.value.code == CLOSE_SLOW_CONSUMER
        assert app.state.hub.subscriber_count == 0
        assert received == ids[: len(received)]  # in order, no gaps before the drop

        resume_from = received[-1] if received else 0
        with client.websocket_connect(f"/ws?last_event_id={resume_from}") as ws:
            rest = [receive_event(ws)["id"] for _ in range(len(ids) - len(received))]
        assert received + rest == ids

        wait_for(lambda: 'reason="slow_consumer"} 1.0' in client.get("/metrics").text)


def test_tailer_publishes_to_every_client(client: TestClient, engine: Engine) -> None:
    with (
        client.websocket_connect("/ws?last_event_id=0") as first,
        client.websocket_connect("/ws?last_event_id=0") as second,
    ):
        _subscribed(client, 2)
        ids = append_events(engine, 2)

        assert [receive_event(first)["id"] for _ in ids] == ids
        assert [receive_event(second)["id"] for _ in ids] == ids
    assert client.app.state.hub.last_id == ids[-1]


def test_resume_from_before_the_tailer_started_reads_the_table_in_pages(
    make_settings: SettingsFactory, engine: Engine, database_url: str
) -> None:
    ids = append_events(engine, 1100)  # before start: the hub's memory does not reach back
    add_user(database_url)

    with TestClient(create_app(make_settings())) as client:
        login(client)
        with client.websocket_connect("/ws?last_event_id=7") as ws:
            backlog = [receive_event(ws)["id"] for _ in ids[7:]]
            _subscribed(client)
            live = append_events(engine, 2)
            following = [receive_event(ws)["id"] for _ in live]

    assert backlog == ids[7:]
    assert following == live


def test_batch_frames_carry_arrays_of_events_in_order(client: TestClient, engine: Engine) -> None:
    ids = append_events(engine, 5)
    wait_for(lambda: client.app.state.hub.last_id == ids[-1])

    with client.websocket_connect(f"/ws?last_event_id={ids[1]}&batch=true") as ws:
        backlog = receive_frame(ws)
        _subscribed(client)
        live = append_events(engine, 3)
        following: list[dict[str, Any]] = []
        while len(following) < len(live):
            following += receive_frame(ws)

    assert [e["id"] for e in backlog] == ids[2:]
    assert [e["id"] for e in following] == live
    assert set(following[0]) == {"id", "created_at", "topic", "city", "climate_date", "payload"}
    assert following[0]["payload"] == {"seq": 0}
