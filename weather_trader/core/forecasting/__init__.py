"""Distributional forecasts of the settlement temperature (issue 8).

* :mod:`.pmf`: integer-exact distributions over :data:`.pmf.SUPPORT`, bracket probabilities,
  CRPS and log score;
* :mod:`.cases`: the point-in-time case table every model fits and predicts on;
* :mod:`.climatology`, :mod:`.emos` (and, elsewhere, XGBoost, stacking, pooling): the models,
  all implementing :class:`ForecastModel` / :class:`FittedForecast`.
"""

from weather_trader.core.forecasting.base import (
    FittedForecast,
    ForecastModel,
    ModelInputError,
)

__all__ = ["FittedForecast", "ForecastModel", "ModelInputError"]
