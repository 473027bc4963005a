"""The interface every forecast model implements: fit on a case table, predict integer pmfs.

A *case* is one (city, kind, climate day, decision instant) with everything known at that
instant (see :mod:`weather_trader.core.forecasting.cases`). A model is fitted from the
columns of a case table only, and its fitted form predicts a probability mass function over
:data:`weather_trader.core.forecasting.pmf.SUPPORT` for each case: an array of shape
``(n, len(SUPPORT))`` whose rows sum to 1, or a row of NaN where the case has no inputs the
model needs. Fitted models must pickle (the model store pickles them) and describe themselves
with a JSON-able :meth:`FittedForecast.metadata`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd


@runtime_checkable
class FittedForecast(Protocol):
    """A fitted model: predicts one pmf row per case."""

    name: str

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        """``(len(cases), len(SUPPORT))`` probabilities; a NaN row means "no inputs"."""
        ...

    def metadata(self) -> dict[str, Any]:
        """JSON-able summary: coefficients, ``n_train``, in-sample scores."""
        ...


@runtime_checkable
class ForecastModel(Protocol):
    """An unfitted model specification (fixed settings only, no data)."""

    name: str

    def fit(self, cases: pd.DataFrame) -> FittedForecast:
        """Fit from the labelled rows of ``cases`` (``truth_f`` not NaN)."""
        ...


class ModelInputError(ValueError):
    """Raised when a case table lacks the columns a model needs or holds invalid values."""


def require_columns(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], what: str) -> None:
    """Raise :class:`ModelInputError` naming the missing ``columns`` of ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ModelInputError(f"{what} is missing columns {missing}; has {list(frame.columns)}")


def to_jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays (possibly nested in dicts and lists) into plain Python."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if not np.isfinite(v) else v
    return value
