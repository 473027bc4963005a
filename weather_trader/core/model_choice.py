"""Which trained model version a trader could have used at a given instant."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from weather_trader.core.cities import CITIES
from weather_trader.core.climate_day import final_report_expected_at

T = TypeVar("T")


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


class ModelChooser(Generic[T]):
    """Picks, for each pipeline instant, the newest model version a trader could have had then.

    A version is usable at ``as_of`` when it beat its baseline and every final report it was
    trained on was out by ``as_of``; so a replay of past days never uses a model trained on them.
    "Newest" is by ``known_at``, not by when the version was created: a backtest that trains
    an old window today creates a version that is newer in the store but older in knowledge,
    and a version known later always saw at least as much history. Ties on ``known_at`` keep
    the order given (the store lists newest created first).

    Args:
        candidates: The stored versions, in any order (ties on ``known_at``: preferred first).
        load: Reads a version's artifact (called once per version used).
        name: The model's name, for the error message.
    """

    def __init__(
        self,
        candidates: Iterable[ModelCandidate],
        load: Callable[[str], T],
        name: str = "temperature_model",
    ) -> None:
        usable = [c for c in candidates if c.beats_baseline]
        # sorted() is stable: equal known_at keep the caller's preference order.
        self._candidates = sorted(usable, key=lambda c: c.known_at, reverse=True)
        self._load = load
        self._name = name
        self._loaded: dict[str, T] = {}

    def version_at(self, as_of: datetime) -> str | None:
        """The id of the version usable at ``as_of`` without loading it, None when none is."""
        return next((c.version for c in self._candidates if c.known_at <= as_of), None)

    def at(self, as_of: datetime) -> tuple[str, T]:
        """The version usable at ``as_of`` and its parameters.

        Raises:
            NoUsableModelError: If no usable version exists.
        """
        version = self.version_at(as_of)
        if version is None:
            raise NoUsableModelError(
                f"no {self._name} version usable at {as_of.isoformat()}: materialise "
                f"{self._name} with a train_end before that day"
            )
        if version not in self._loaded:
            self._loaded[version] = self._load(version)
        return version, self._loaded[version]
