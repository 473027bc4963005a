"""Schemathesis over the sidecar's OpenAPI schema: no request makes it answer 5xx.

The run is Schemathesis' own engine (what ``schemathesis run`` does: examples, coverage with
unexpected methods, then generated cases, every default check) against the app itself (ASGI,
lifespan running) on a seeded database, bounded by :data:`MAX_EXAMPLES`. ``/health``
documents its 503 for a database outage; on a healthy database any 5xx is a failure. The
WebSocket ``/ws`` is not in OpenAPI and is covered by ``test_live.py``.

(Schemathesis' pytest integration, ``from_fixture``/``parametrize``, does not run under
pytest 9, hence the engine.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES
from schemathesis.config._operations import OperationConfig, OperationsConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi

from api import create_app
from api.security import SESSION_COOKIE, authenticate
from weather_trader.store.db import make_engine
from weather_trader_tests.api.conftest import TEST_PASSWORD, TEST_USER, SettingsFactory, add_user
from weather_trader_tests.api.test_queue import queue_proposals

MAX_EXAMPLES = 30
"""Generated cases per operation: the whole run takes a few seconds."""


@pytest.fixture
def sidecar_schema(
    make_settings: SettingsFactory, seeded: dict[str, Any], database_url: str
) -> Iterator[Any]:
    """The sidecar's OpenAPI schema, loaded from a started app on the seeded database."""
    add_user(database_url)
    engine = make_engine(database_url)
    queue_proposals(engine, 3)  # the approval queue has pending proposals to act on
    session = authenticate(engine, TEST_USER, TEST_PASSWORD, timedelta(hours=1))
    engine.dispose()
    assert session is not None
    auth = {"Cookie": f"{SESSION_COOKIE}={session.token}", "X-CSRF-Token": session.csrf_token}
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(make_settings()), headers=auth
    )
    schema.config.update(headers=auth)
    schema = schema.exclude(path="/api/auth/logout")  # would end the session mid-run
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    # Settings carry rules no schema states (limits ordered against each other, a PEM that
    # parses as an RSA key): a schema-valid body they refuse gets a documented 422, not a 2xx.
    schema.config.operations = OperationsConfig(
        operations=[
            OperationConfig.from_dict(
                {
                    "include-path-regex": "^/api/settings",
                    "include-method": "PUT",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, 422]
                        }
                    },
                }
            )
        ]
    )
    try:
        yield schema
    finally:
        asgi.shutdown_lifespans()  # stops the app's outbox tailer before the database goes away


def test_no_request_gets_a_server_error(sidecar_schema: Any) -> None:
    responses: list[tuple[str, str, int]] = []
    failed_checks: list[tuple[str, str]] = []
    errors: list[str] = []
    stop_reason = None

    for event in from_schema(sidecar_schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            responses += [
                (i.request.method, recorder.label, i.response.status_code)
                for i in recorder.interactions.values()
                if i.response is not None
            ]
            failed_checks += [
                (recorder.label, check.name)
                for checks in recorder.checks.values()
                for check in checks
                if check.status != Status.SUCCESS
            ]
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(repr(event))
        elif isinstance(event, events.EngineFinished):
            stop_reason = event.stop_reason

    assert stop_reason == "completed" and not errors
    assert [r for r in responses if r[2] >= 500] == [], [r for r in responses if r[2] >= 500]
    assert failed_checks == [], sorted(set(failed_checks))
    tested = {(method, label) for method, label, status in responses if status == 200}
    assert tested >= {("GET", "GET /health"), ("GET", "GET /api/overview"), ("GET", "GET /metrics")}
    assert ("GET", "GET /api/proposals") in tested
    answered = {label for _, label, _ in responses}
    assert {
        "POST /api/proposals/{proposal_id}/approve",
        "POST /api/proposals/{proposal_id}/reject",
    } <= answered
