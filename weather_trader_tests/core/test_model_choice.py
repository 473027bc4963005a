from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from weather_trader.core.cities import CITIES
from weather_trader.core.climate_day import final_report_expected_at
from weather_trader.core.model_choice import (
    ModelCandidate,
    ModelChooser,
    NoUsableModelError,
    model_version_id,
    training_known_at,
)

T0 = datetime(2026, 7, 1, 15, tzinfo=UTC)
HOUR = timedelta(hours=1)
class Loader:
    """Records every version it is asked to load; version ``vN`` loads as ``{"n": N}``."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, version: str) -> dict[str, int]:
        self.calls.append(version)
        return {"n": int(version.removeprefix("v"))}


# Newest first, as the store lists them.
CANDIDATES = [
    ModelCandidate("v4", T0 + 30 * HOUR, beats_baseline=True),
    ModelCandidate("v3", T0 + 20 * HOUR, beats_baseline=False),
    ModelCandidate("v2", T0 + 10 * HOUR, beats_baseline=True),
    ModelCandidate("v1", T0, beats_baseline=True),
]


def test_picks_newest_usable_candidate() -> None:
    chooser = ModelChooser(CANDIDATES, Loader())
    assert chooser.at(T0)[0] == "v1"  # known_at == as_of is usable
    assert chooser.at(T0 + 10 * HOUR - timedelta(seconds=1))[0] == "v1"
    assert chooser.at(T0 + 10 * HOUR)[0] == "v2"
    assert chooser.at(T0 + 30 * HOUR)[0] == "v4"
    assert chooser.at(T0 + 1000 * HOUR)[0] == "v4"


def test_skips_candidates_that_did_not_beat_the_baseline() -> None:
    chooser = ModelChooser(CANDIDATES, Loader())
    # v3 is known but failed its check: the older v2 is used instead.
    version, loaded = chooser.at(T0 + 25 * HOUR)
    assert version == "v2"
    assert loaded == {"n": 2}


def test_loads_each_version_once() -> None:
    load = Loader()
    chooser = ModelChooser(iter(CANDIDATES), load)
    assert load.calls == []  # nothing loaded up front
    first = chooser.at(T0 + 10 * HOUR)
    again = chooser.at(T0 + 11 * HOUR)
    assert again[1] is first[1]
    chooser.at(T0)
    chooser.at(T0 + 30 * HOUR)
    chooser.at(T0 + 31 * HOUR)
    chooser.at(T0 + 1 * HOUR)
    assert load.calls == ["v2", "v1", "v4"]


def test_no_usable_model_raises() -> None:
    load = Loader()
    too_early = T0 - timedelta(seconds=1)
    with pytest.raises(NoUsableModelError, match=re.escape(too_early.isoformat())) as exc:
        ModelChooser(CANDIDATES, load).at(too_early)
    assert isinstance(exc.value, RuntimeError)
    assert "temperature_model" in str(exc.value)
    failed_only = [ModelCandidate("v9", T0, beats_baseline=False)]
    with pytest.raises(NoUsableModelError):
        ModelChooser(failed_only, load).at(T0 + 1000 * HOUR)
    with pytest.raises(NoUsableModelError):
        ModelChooser([], load).at(T0)
    assert load.calls == []


def test_training_known_at_is_the_last_final_report_over_all_cities() -> None:
    day = date(2026, 7, 4)
    known = training_known_at(day)
    per_city = [final_report_expected_at(code, day) for code in CITIES]
    assert all(known >= t for t in per_city)
    assert known in per_city
    # The westernmost city (LAX, UTC-8) reports last: 07:00 PST on the 5th = 15:00 UTC.
    assert known == datetime(2026, 7, 5, 15, tzinfo=UTC)
    assert known.utcoffset() == timedelta(0)
    assert training_known_at(date(2026, 1, 4)) == datetime(2026, 1, 5, 15, tzinfo=UTC)


def test_model_version_id_is_deterministic_and_content_addressed() -> None:
    a = model_version_id("predictor-v1", date(2026, 7, 4), '{"a": 1}')
    assert a == model_version_id("predictor-v1", date(2026, 7, 4), '{"a": 1}')
    assert a.startswith("predictor-v1-2026-07-04-")
    digest = a.removeprefix("predictor-v1-2026-07-04-")
    assert len(digest) == 8 and all(c in "0123456789abcdef" for c in digest)
    others = {
        model_version_id("predictor-v1", date(2026, 7, 4), '{"a": 2}'),
        model_version_id("predictor-v1", date(2026, 7, 5), '{"a": 1}'),
        model_version_id("predictor-v2", date(2026, 7, 4), '{"a": 1}'),
    }
    assert a not in others and len(others) == 3


def test_newest_is_by_known_at_not_by_creation_order() -> None:
    """A backtest that trains an old window today stores a version created last but known
    early: at a late instant the chooser still takes the version known latest."""
    created_order = [  # newest created first, as the store lists them
        ModelCandidate("v1", T0, beats_baseline=True),  # an old window, trained today
        ModelCandidate("v4", T0 + 30 * HOUR, beats_baseline=True),
        ModelCandidate("v2", T0 + 10 * HOUR, beats_baseline=True),
    ]
    chooser = ModelChooser(created_order, Loader())
    assert chooser.at(T0 + 40 * HOUR)[0] == "v4"
    assert chooser.at(T0 + 15 * HOUR)[0] == "v2"
    assert chooser.at(T0 + 1 * HOUR)[0] == "v1"
    assert chooser.version_at(T0 - HOUR) is None


def test_equal_known_at_keeps_the_given_preference() -> None:
    same = [
        ModelCandidate("v7", T0, beats_baseline=True),
        ModelCandidate("v6", T0, beats_baseline=True),
    ]
    assert ModelChooser(same, Loader()).at(T0)[0] == "v7"


def test_error_names_the_model() -> None:
    chooser = ModelChooser([], Loader(), name="weather_model")
    with pytest.raises(NoUsableModelError, match="weather_model"):
        chooser.at(T0)
