"""When Open-Meteo publishes a model run: the estimates behind its forecasts' ``issued_at``.

Open-Meteo's forecast and ensemble APIs do not report which run they served, so
:func:`estimated_run` takes the newest 6-hourly cycle (00/06/12/18Z) at least the model's
:data:`AVAILABILITY_DELAY` older than the retrieval: an estimate erring early (longer lead).
The history backfill uses the same delays the other way round: a previous run issued at
``issued_at`` could first have been retrieved at ``issued_at + availability_delay(model)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = [
    "AVAILABILITY_DELAY",
    "DEFAULT_AVAILABILITY_DELAY",
    "ENSEMBLE_SUFFIX",
    "RUN_CYCLE",
    "availability_delay",
    "estimated_run",
]

RUN_CYCLE = timedelta(hours=6)
ENSEMBLE_SUFFIX = "_ens"
"""Appended to ensemble model ids (``ecmwf_ifs025_ens``): ECMWF's deterministic IFS and its
ensemble share the Open-Meteo id ``ecmwf_ifs025``, and per-model averaging must not mix them."""
AVAILABILITY_DELAY: dict[str, timedelta] = {
    "gfs_seamless": timedelta(hours=5),
    "ecmwf_ifs025": timedelta(hours=8),
    "icon_seamless": timedelta(hours=5),
    "gem_seamless": timedelta(hours=6),
    "ncep_gefs025" + ENSEMBLE_SUFFIX: timedelta(hours=7),
    "ecmwf_ifs025" + ENSEMBLE_SUFFIX: timedelta(hours=9),
}
"""Conservative hours from a run's initialisation until Open-Meteo serves it, per model."""
DEFAULT_AVAILABILITY_DELAY = timedelta(hours=9)


def availability_delay(model: str) -> timedelta:
    """The conservative availability delay of an Open-Meteo model id (ensemble ids suffixed)."""
    return AVAILABILITY_DELAY.get(model, DEFAULT_AVAILABILITY_DELAY)


def estimated_run(retrieved_at: datetime, model: str) -> datetime:
    """The newest 6-hourly run of ``model`` that Open-Meteo surely served at ``retrieved_at``.

    ``floor(retrieved_at - availability_delay, 6 h)``: never after the retrieval, and at worst
    one cycle earlier than the run actually served (a longer lead than the truth).
    """
    moment = retrieved_at.astimezone(UTC) - availability_delay(model)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    cycles = (moment - epoch) // RUN_CYCLE
    return epoch + cycles * RUN_CYCLE
