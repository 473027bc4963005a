"""Which trained model version a trader could have used at a given instant."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from weather_trader.core.cities import CITIES
from weather_trader.core.climate_day import final_report_expected_at
from weather_trader.core.predictor import PredictorParams


class NoUsableModelError(RuntimeError):
    """No model version was usable at the instant asked for."""


@dataclass(frozen=True)
class ModelCandidate:
    """A stored model version as the chooser sees it.

    Attributes:
        version: The version id.
        known_at: When every final report it was trained on was out.
        beats_baseline: Whether it passed its baseline check; one that did not is never used.
    """

    version: str
    known_at: datetime
    beats_baseline: bool


def model_version_id(family: str, train_end: date, artifact: str) -> str:
    """A version id naming the predictor family, the last training day and the artifact's
    content, so the same training always maps to the same version."""
    return f"{family}-{train_end.isoformat()}-{hashlib.sha256(artifact.encode()).hexdigest()[:8]}"


def training_known_at(train_end: date) -> datetime:
    """When a model trained through ``train_end`` can first be used: once the last final
    report it learnt from is out in every city, so no pipeline instant before sees it."""
    return max(final_report_expected_at(city, train_end) for city in CITIES)


class ModelChooser:
    """Picks, for each pipeline instant, the newest model version a trader could have had then.

    A version is usable at ``as_of`` when it beat its baseline and every final report it was
    trained on was out by ``as_of``; so a replay of past days never uses a model trained on them.

    Args:
        candidates: The stored versions, newest first.
        load: Reads a version's parameters (called once per version used).
    """

    def __init__(
        self, candidates: Iterable[ModelCandidate], load: Callable[[str], PredictorParams]
    ) -> None:
        self._candidates = [c for c in candidates if c.beats_baseline]
        self._load = load
        self._loaded: dict[str, PredictorParams] = {}

    def at(self, as_of: datetime) -> tuple[str, PredictorParams]:
        """The version usable at ``as_of`` and its parameters.

        Raises:
            NoUsableModelError: If no usable version exists.
        """
        for c in self._candidates:
            if c.known_at <= as_of:
                if c.version not in self._loaded:
                    self._loaded[c.version] = self._load(c.version)
                return c.version, self._loaded[c.version]
        raise NoUsableModelError(
            f"no temperature_model version usable at {as_of.isoformat()}: materialise "
            "temperature_model with a train_end before that day"
        )
