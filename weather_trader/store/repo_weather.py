"""Repository functions for weather data: forecasts, observations and climate reports."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weather_trader.core import climate_day
from weather_trader.core.cities import UnknownCityError, get_city
from weather_trader.core.records import ClimateReport, ForecastPoint, Observation
from weather_trader.store._util import (
    aware,
    frame,
    insert_ignoring_duplicates,
    partition_delete,
    require_columns,
)
from weather_trader.store.db import StoreError
from weather_trader.store.models import (
    DETERMINISTIC_MEMBER,
    ClimateReportRow,
    ForecastRow,
    ObservationRow,
    RawPayloadRow,
)

FORECAST_COLUMNS = (
    "city", "climate_date", "kind", "source", "model", "member", "issued_at", "lead_days",
    "value_f",
)  # fmt: skip
BULK_FORECAST_COLUMNS = (
    "city", "climate_date", "kind", "source", "model", "member", "issued_at", "retrieved_at",
    "value_f",
)  # fmt: skip
TRAINING_COLUMNS = (
    "city", "kind", "climate_date", "source", "model", "issued_at", "lead_days", "forecast_f",
    "observed_f",
)  # fmt: skip


def lead_days(point: ForecastPoint) -> int:
    """Whole days from the issue date to the climate day, in the city's standard time.

    Raises:
        StoreError: If the point's city is not registered.
    """
    try:
        return climate_day.lead_days(point.city, point.climate_date, point.issued_at)
    except UnknownCityError as exc:
        raise StoreError(str(exc)) from exc


def append_forecasts(session: Session, points: Iterable[ForecastPoint]) -> int:
    """Append forecast points to the point-in-time archive; already archived points are skipped.

    A point's identity is (city, climate_date, kind, source, model, member, issued_at); the
    first retrieval of an issue is kept and never overwritten. A deterministic run
    (``member=None``) is stored with member ``-1``.

    Args:
        session: The session (the caller's transaction).
        points: Forecast points, possibly already archived.

    Returns:
        The number of rows newly inserted.

    Raises:
        StoreError: For a negative member or an unregistered city.
    """
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for p in points:
        if p.member is not None and p.member < 0:
            raise StoreError(f"negative ensemble member {p.member} is reserved: {p!r}")
        member = DETERMINISTIC_MEMBER if p.member is None else p.member
        issued_at = p.issued_at.astimezone(UTC)
        key = (p.city, p.climate_date, p.kind, p.source, p.model, member, issued_at)
        rows.setdefault(
            key,
            {
                "city": p.city,
                "climate_date": p.climate_date,
                "kind": p.kind,
                "source": p.source,
                "model": p.model,
                "member": member,
                "issued_at": issued_at,
                "retrieved_at": p.retrieved_at,
                "lead_days": lead_days(p),
                "value_f": p.value_f,
            },
        )
    return insert_ignoring_duplicates(session, ForecastRow, list(rows.values()))


def append_forecast_frame(session: Session, forecasts: pd.DataFrame) -> int:
    """Bulk form of :func:`append_forecasts` for backfills (same identity, same no-overwrite).

    Args:
        session: The session (the caller's transaction).
        forecasts: Columns ``city``, ``climate_date`` (date), ``kind``, ``source``, ``model``,
            ``member`` (nullable int), ``issued_at`` and ``retrieved_at`` (tz-aware), ``value_f``.

    Returns:
        The number of rows newly inserted.

    Raises:
        StoreError: On missing columns, naive times, a negative member or an unknown city.
    """
    require_columns(forecasts, BULK_FORECAST_COLUMNS, "forecasts")
    if forecasts.empty:
        return 0
    df = forecasts[list(BULK_FORECAST_COLUMNS)].copy()
    for column in ("issued_at", "retrieved_at"):
        if getattr(df[column].dt, "tz", None) is None:
            raise StoreError(f"forecasts.{column} must be timezone-aware")
        df[column] = df[column].dt.tz_convert(UTC)
    members = df["member"].astype("Int64")
    if (members.dropna() < 0).any():
        raise StoreError("negative ensemble members are reserved")
    df["member"] = members.fillna(DETERMINISTIC_MEMBER).astype("int64")
    try:
        offsets = df["city"].map(lambda c: get_city(c).std_utc_offset_hours)
    except UnknownCityError as exc:
        raise StoreError(str(exc)) from exc
    # Lead in the city's standard time, as lead_days() computes it point by point.
    issued_local = (df["issued_at"] + pd.to_timedelta(offsets, unit="h")).dt.date
    df["lead_days"] = [(d - i).days for d, i in zip(df["climate_date"], issued_local, strict=True)]
    df = df.drop_duplicates(
        ["city", "climate_date", "kind", "source", "model", "member", "issued_at"]
    )
    # Column-wise conversion: DataFrame.to_dict("records") costs seconds on a year of history.
    columns = {c: df[c].tolist() for c in df.columns}
    for c in ("issued_at", "retrieved_at"):
        columns[c] = list(df[c].dt.to_pydatetime())
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    return insert_ignoring_duplicates(session, ForecastRow, rows)


def forecasts_as_of(session: Session, city: str, day: date, as_of: datetime) -> pd.DataFrame:
    """The forecasts of ``day`` a trader could have known at ``as_of`` (no look-ahead).

    For every (kind, source, model, member) the latest issue with ``issued_at <= as_of`` and
    ``retrieved_at <= as_of``.

    Returns:
        One row per (kind, source, model, member), sorted by them, with columns:
        ``city`` str, ``climate_date`` datetime.date, ``kind`` "high"/"low", ``source`` str,
        ``model`` str, ``member`` Int64 (<NA> for a deterministic run),
        ``issued_at`` datetime64[UTC], ``lead_days`` int, ``value_f`` float.

    Raises:
        StoreError: If ``as_of`` is naive.
    """
    as_of = aware(as_of, "as_of")
    stmt = select(*(getattr(ForecastRow, c) for c in FORECAST_COLUMNS)).where(
        ForecastRow.city == city,
        ForecastRow.climate_date == day,
        ForecastRow.issued_at <= as_of,
        ForecastRow.retrieved_at <= as_of,
    )
    df = frame(session.execute(stmt).all(), FORECAST_COLUMNS)
    keys = ["kind", "source", "model", "member"]
    df = df.sort_values([*keys, "issued_at"]).drop_duplicates(keys, keep="last")
    df["member"] = df["member"].astype("Int64").mask(df["member"] == DETERMINISTIC_MEMBER)
    df["issued_at"] = pd.to_datetime(df["issued_at"], utc=True)
    df["lead_days"] = df["lead_days"].astype("int64")
    df["value_f"] = df["value_f"].astype("float64")
    return df.reset_index(drop=True)


def training_history(
    session: Session, cities: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """Forecast/outcome pairs for training: every issue of every model against the final CLI.

    Ensemble members are averaged per (city, kind, climate_date, source, model, issued_at);
    each is joined to the day's final climate report (latest final, corrections included):
    its max for ``high``, its min for ``low``. Days without a final value are left out.

    Args:
        session: The session.
        cities: City codes.
        start: First climate day (inclusive).
        end: Last climate day (inclusive).

    Returns:
        Columns ``city`` str, ``kind`` "high"/"low", ``climate_date`` datetime.date,
        ``source`` str, ``model`` str, ``issued_at`` datetime64[UTC], ``lead_days`` int,
        ``forecast_f`` float (member mean), ``observed_f`` float (the final CLI value);
        sorted by city, kind, climate_date, source, model, issued_at.
    """
    # Grouped in the unique index's column order so SQLite walks the index instead of sorting.
    group = (
        ForecastRow.city, ForecastRow.climate_date, ForecastRow.kind, ForecastRow.source,
        ForecastRow.model, ForecastRow.issued_at, ForecastRow.lead_days,
    )  # fmt: skip
    stmt = (
        select(*group, func.avg(ForecastRow.value_f))
        .where(
            ForecastRow.city.in_(list(cities)),
            ForecastRow.climate_date >= start,
            ForecastRow.climate_date <= end,
        )
        .group_by(*group)
    )
    columns = ("city", "climate_date", "kind", "source", "model", "issued_at", "lead_days")
    forecasts = frame(session.execute(stmt).all(), (*columns, "forecast_f"))
    observed = _final_values(session, cities, start, end)
    df = forecasts.merge(observed, on=["city", "kind", "climate_date"], how="inner")
    df = df.sort_values(list(TRAINING_COLUMNS[:6])).reset_index(drop=True)
    df["issued_at"] = pd.to_datetime(df["issued_at"], utc=True)
    df["lead_days"] = df["lead_days"].astype("int64")
    df["forecast_f"] = df["forecast_f"].astype("float64")
    df["observed_f"] = df["observed_f"].astype("float64")
    return df[list(TRAINING_COLUMNS)]


def _final_values(session: Session, cities: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """Final CLI values as rows (city, kind, climate_date, observed_f), missing values dropped."""
    stmt = (
        select(
            ClimateReportRow.city,
            ClimateReportRow.climate_date,
            ClimateReportRow.max_f,
            ClimateReportRow.min_f,
        )
        .where(
            ClimateReportRow.city.in_(list(cities)),
            ClimateReportRow.climate_date >= start,
            ClimateReportRow.climate_date <= end,
            ClimateReportRow.final.is_(True),
        )
        .order_by(ClimateReportRow.issued_at, ClimateReportRow.id)
    )
    finals = frame(session.execute(stmt).all(), ("city", "climate_date", "high", "low"))
    finals = finals.drop_duplicates(["city", "climate_date"], keep="last")
    long = finals.melt(
        id_vars=["city", "climate_date"], value_vars=["high", "low"],
        var_name="kind", value_name="observed_f",
    )  # fmt: skip
    return long.dropna(subset=["observed_f"])


def replace_observations(session: Session, city: str, day: date, obs: Iterable[Observation]) -> int:
    """Replace the city-day's observations with ``obs`` (delete-then-insert).

    Duplicate ``observed_at`` values keep the last one given.

    Returns:
        The number of observations stored.

    Raises:
        StoreError: If an observation belongs to another city.
    """
    by_time: dict[datetime, Observation] = {}
    for o in obs:
        if o.city != city:
            raise StoreError(f"observation of {o.city!r} given for city {city!r}")
        by_time[o.observed_at.astimezone(UTC)] = o
    session.execute(partition_delete(ObservationRow, city, day))
    session.add_all(
        ObservationRow(
            city=city, climate_date=day, station=o.station, observed_at=at, temp_f=o.temp_f
        )
        for at, o in by_time.items()
    )
    session.flush()
    return len(by_time)


def observations_for(session: Session, city: str, day: date) -> list[Observation]:
    """The city-day's observations, oldest first."""
    rows = session.scalars(
        select(ObservationRow)
        .where(ObservationRow.city == city, ObservationRow.climate_date == day)
        .order_by(ObservationRow.observed_at)
    )
    return [
        Observation(city=r.city, station=r.station, observed_at=r.observed_at, temp_f=r.temp_f)
        for r in rows
    ]


def upsert_climate_reports(session: Session, reports: Iterable[ClimateReport]) -> int:
    """Insert new climate reports and update re-parsed ones, keyed by (product, day, issue).

    Returns:
        The number of reports inserted or changed (0 when all were already stored as given).
    """
    latest: dict[tuple[str, date, datetime], ClimateReport] = {}
    for r in reports:
        latest[(r.product, r.climate_date, r.issued_at.astimezone(UTC))] = r
    changed = 0
    for (product, day, issued_at), r in latest.items():
        row = session.scalars(
            select(ClimateReportRow).where(
                ClimateReportRow.product == product,
                ClimateReportRow.climate_date == day,
                ClimateReportRow.issued_at == issued_at,
            )
        ).one_or_none()
        values = {
            "city": r.city, "max_f": r.max_f, "min_f": r.min_f, "final": r.final,
            "correction": r.correction, "text": r.text,
        }  # fmt: skip
        if row is None:
            session.add(
                ClimateReportRow(product=product, climate_date=day, issued_at=issued_at, **values)
            )
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changed += 1
    session.flush()
    return changed


def _to_report(row: ClimateReportRow) -> ClimateReport:
    return ClimateReport(
        city=row.city, product=row.product, climate_date=row.climate_date, max_f=row.max_f,
        min_f=row.min_f, final=row.final, correction=row.correction, issued_at=row.issued_at,
        text=row.text,
    )  # fmt: skip


def climate_reports_for(session: Session, city: str, day: date) -> list[ClimateReport]:
    """Every stored climate report of the city-day (preliminary, final, corrections).

    Returns:
        The reports, oldest issue first.
    """
    rows = session.scalars(
        select(ClimateReportRow)
        .where(ClimateReportRow.city == city, ClimateReportRow.climate_date == day)
        .order_by(ClimateReportRow.issued_at, ClimateReportRow.id)
    )
    return [_to_report(r) for r in rows]


def final_report(session: Session, city: str, day: date) -> ClimateReport | None:
    """The final climate report of the city-day: the latest-issued final, so a correction
    (itself final) supersedes what it corrects. None until a final report arrives."""
    row = session.scalars(
        select(ClimateReportRow)
        .where(
            ClimateReportRow.city == city,
            ClimateReportRow.climate_date == day,
            ClimateReportRow.final.is_(True),
        )
        .order_by(ClimateReportRow.issued_at.desc(), ClimateReportRow.id.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else _to_report(row)


def store_raw_payload(
    session: Session,
    *,
    source: str,
    url: str,
    retrieved_at: datetime,
    status: int,
    content_type: str,
    body: bytes,
    city: str | None = None,
) -> bool:
    """Keep a response body zlib-compressed for audit; identical bodies are stored once.

    Args:
        session: The session.
        source: Source name (``nws``, ``open-meteo``...).
        url: The request URL, secrets already redacted.
        retrieved_at: When the body was received (aware).
        status: HTTP status code.
        content_type: The response's content type.
        body: The body exactly as received.
        city: The city the request was for, when it was for one.

    Returns:
        True when the body was new, False when an identical body was already kept.
    """
    row = {
        "source": source,
        "city": city,
        "url": url,
        "retrieved_at": aware(retrieved_at, "retrieved_at"),
        "status": status,
        "content_type": content_type,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size_bytes": len(body),
        "body_zlib": zlib.compress(body, 6),
    }
    return insert_ignoring_duplicates(session, RawPayloadRow, [row]) == 1


def raw_payloads(
    session: Session, source: str, start: datetime, end: datetime
) -> list[tuple[str, datetime, bytes]]:
    """The kept bodies of ``source`` retrieved in ``[start, end)``, decompressed.

    Returns:
        ``(url, retrieved_at, body)`` tuples in retrieval order.
    """
    stmt = (
        select(RawPayloadRow.url, RawPayloadRow.retrieved_at, RawPayloadRow.body_zlib)
        .where(
            RawPayloadRow.source == source,
            RawPayloadRow.retrieved_at >= aware(start, "start"),
            RawPayloadRow.retrieved_at < aware(end, "end"),
        )
        .order_by(RawPayloadRow.retrieved_at, RawPayloadRow.id)
    )
    return [(url, at, zlib.decompress(body)) for url, at, body in session.execute(stmt)]
