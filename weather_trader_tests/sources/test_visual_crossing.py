"""VisualCrossingClient against synthetic Timeline responses (no network).

Fixtures follow the documented Timeline JSON: ``days[]`` with ``datetime`` (local date),
``tempmax``, ``tempmin`` and ``hours[]`` whose ``datetimeEpoch`` is the Unix time of the hour.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from weather_trader.sources.errors import (
    MalformedResponse,
    RateLimited,
    RequestRejected,
    SourceUnavailable,
)
from weather_trader.sources.visual_crossing import (
    DAILY_MODEL,
    HOURLY_MODEL,
    SOURCE,
    VisualCrossingClient,
)

UA = "weather-trader-tests (ops@example.test)"
SECRET = "vc-secret-key-123"
BASIS = date(2024, 5, 9)


def client(**kwargs: Any) -> VisualCrossingClient:
    options: dict[str, Any] = {"min_interval": 0.0, "max_attempts": 3, "sleep": lambda _s: None}
    options.update(kwargs)
    return VisualCrossingClient(SECRET, UA, **options)


def timeline(first: date, days: int, offset_hours: int = -5) -> dict[str, Any]:
    """Local-daylight days (Chicago in May is UTC-5) with 24 hourly values each."""
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(
            hours=offset_hours
        )
        hours = [
            {
                "datetime": f"{h:02d}:00:00",
                "datetimeEpoch": int((midnight + timedelta(hours=h)).timestamp()),
                "temp": 50.0 + h + i,
            }
            for h in range(24)
        ]
        out.append(
            {"datetime": day.isoformat(), "tempmax": 80.0 + i, "tempmin": 40.0 + i, "hours": hours}
        )
    return {
        "queryCost": 1,
        "latitude": 41.7861,
        "longitude": -87.7522,
        "resolvedAddress": "41.7861,-87.7522",
        "timezone": "America/Chicago",
        "tzoffset": -5.0,
        "days": out,
    }


def test_request_parameters_and_records(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=timeline(BASIS, 7))
    points = client().historical_forecast("CHI", BASIS)
    request = httpx_mock.get_requests()[0]
    assert request.url.host == "weather.visualcrossing.com"
    assert request.url.path.endswith("/timeline/41.7861,-87.7522/2024-05-09/2024-05-15")
    params = dict(request.url.params)
    assert params["forecastBasisDate"] == "2024-05-09"
    assert params["unitGroup"] == "us" and params["contentType"] == "json"
    assert params["include"] == "days,hours" and params["key"] == SECRET
    daily = [p for p in points if p.model == DAILY_MODEL]
    assert len(daily) == 14 and {p.source for p in points} == {SOURCE}
    lead1 = next(p for p in daily if p.climate_date == date(2024, 5, 10) and p.kind == "high")
    assert lead1.value_f == 81.0
    # Known from the end of the basis date, local standard time: 2024-05-10T06:00Z.
    assert lead1.issued_at == lead1.retrieved_at == datetime(2024, 5, 10, 6, tzinfo=UTC)


def test_hourly_extremes_over_the_lst_climate_day(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=timeline(BASIS, 7))
    points = client().historical_forecast("CHI", BASIS)
    hourly = {(p.climate_date, p.kind): p.value_f for p in points if p.model == HOURLY_MODEL}
    # LST day 2024-05-10 = local daylight 01:00 on the 10th .. 00:00 on the 11th: hours 1..23
    # of day i=1 (51+1 .. 73+1) and hour 0 of day i=2 (52).
    assert hourly[(date(2024, 5, 10), "high")] == 74.0
    assert hourly[(date(2024, 5, 10), "low")] == 52.0
    # The last day lacks its final hour (00:00 of the next local day): dropped, not guessed.
    assert (date(2024, 5, 15), "high") not in hourly
    # The basis date's own LST day runs 01:00 on the 9th .. 00:00 on the 10th: complete.
    assert (date(2024, 5, 9), "high") in hourly


def test_history_requests_each_basis_date_known_by_now(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=timeline(BASIS, 7), is_reusable=True)
    vc = client(leads=(1, 2))
    now = datetime(2024, 5, 10, 7, tzinfo=UTC)  # basis 2024-05-09 is over, 05-10 is not
    points = vc.history("CHI", date(2024, 5, 10), date(2024, 5, 12), now=lambda: now)
    bases = [r.url.params["forecastBasisDate"] for r in httpx_mock.get_requests()]
    assert bases == ["2024-05-08", "2024-05-09"]
    assert all(p.issued_at <= now for p in points)
    assert {p.climate_date for p in points} <= {date(2024, 5, 10), date(2024, 5, 11)}


def test_429_is_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, text="Too many requests")
    httpx_mock.add_response(json=timeline(BASIS, 7))
    sleeps: list[float] = []
    points = client(sleep=sleeps.append).historical_forecast("CHI", BASIS)
    assert points and len(httpx_mock.get_requests()) == 2 and len(sleeps) == 1


def test_persistent_429_and_timeouts_raise_typed_errors(httpx_mock: HTTPXMock) -> None:
    for _ in range(3):
        httpx_mock.add_response(status_code=429)
    with pytest.raises(RateLimited) as rate:
        client().historical_forecast("CHI", BASIS)
    assert SECRET not in str(rate.value) and "key=REDACTED" in str(rate.value)
    for _ in range(3):
        httpx_mock.add_exception(httpx.ReadTimeout("slow"))
    with pytest.raises(SourceUnavailable, match="timed out"):
        client().historical_forecast("CHI", BASIS)


def test_key_never_reaches_errors_or_logs(
    httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    # A 4xx body echoing the key, and a retried 5xx that logs the URL.
    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(status_code=401, text=f"No account found with API key '{SECRET}'")
    with caplog.at_level(logging.DEBUG), pytest.raises(RequestRejected) as rejected:
        client().historical_forecast("CHI", BASIS)
    assert SECRET not in str(rejected.value) and SECRET not in rejected.value.url
    assert SECRET not in caplog.text and "REDACTED" in caplog.text
    assert SECRET not in repr(client())


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"text": "<html>oops</html>"}, "invalid JSON"),
        ({"json": {"queryCost": 1}}, "schema mismatch at days"),
        ({"json": {"days": [{"datetime": "May 10", "tempmax": 1}]}}, "days.0.datetime"),
        ({"json": {"days": [{"datetime": "2024-05-10", "tempmax": "hot"}]}}, "tempmax"),
        (
            {"json": {"days": [{"datetime": "2024-05-10"}, {"datetime": "2024-05-10"}]}},
            "appears twice",
        ),
    ],
)
def test_malformed_responses(httpx_mock: HTTPXMock, body: dict[str, Any], match: str) -> None:
    httpx_mock.add_response(**body)
    with pytest.raises(MalformedResponse, match=match) as error:
        client().historical_forecast("CHI", BASIS)
    assert SECRET not in str(error.value)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="API key"):
        VisualCrossingClient(" ", UA)
    with pytest.raises(ValueError, match="leads"):
        VisualCrossingClient(SECRET, UA, leads=(7,))
    with pytest.raises(ValueError, match="empty range"):
        client().history("CHI", date(2024, 5, 2), date(2024, 5, 1))
