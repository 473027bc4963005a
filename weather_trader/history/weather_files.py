"""Read forecast and climate-report CSV files into validated records (no database here).

* **forecasts**: ``city, kind, source, model, member, issued_at, climate_date, value_f``;
* **reports**: ``city, kind, climate_date, value_f, final, issued_at``.

Same field rules and issue reporting as the Kalshi readers (:mod:`.importers`).
"""

from __future__ import annotations

from pathlib import Path

from weather_trader.core.climate_day import lead_days
from weather_trader.history.importers import (
    FORECAST_FIELDS,
    REPORT_FIELDS,
    ForecastRecord,
    ParsedFile,
    ReportRecord,
    RowError,
    csv_table,
    load_file,
    memo,
    parse_bool,
    parse_city,
    parse_day,
    parse_instant,
    parse_kind,
    parse_temperature,
    text_field,
)


def read_forecasts(path: Path | str) -> ParsedFile:
    """Forecast values from a CSV (.gz): ``city, kind, source, model, member, issued_at,
    climate_date, value_f``; ``member`` empty for a deterministic run."""
    path = Path(path)
    parsed = ParsedFile(str(path), "forecasts")
    data = load_file(parsed, path)
    city_of, kind_of, day_of = memo(parse_city), memo(parse_kind), memo(parse_day)
    instant = memo(lambda text: parse_instant(text, "issued_at"))
    ix, rows = csv_table(parsed, data, FORECAST_FIELDS)
    for line, fields in rows:
        row = {name: fields[ix[name]] for name in FORECAST_FIELDS}
        try:
            city = city_of(row["city"])
            member_text = row["member"].strip()
            member = None
            if member_text:
                try:
                    member = int(member_text)
                except ValueError:
                    raise RowError(f"member {member_text!r} is not an integer") from None
                if member < 0:
                    raise RowError(f"member {member} is negative (empty means deterministic)")
            issued_at = instant(row["issued_at"])
            day = day_of(row["climate_date"])
            parsed.records.append(
                ForecastRecord(
                    city=city.code,
                    climate_date=day,
                    kind=kind_of(row["kind"]),
                    source=text_field(row["source"], "source"),
                    model=text_field(row["model"], "model"),
                    member=member,
                    issued_at=issued_at,
                    lead_days=lead_days(city.code, day, issued_at),
                    value_f=parse_temperature(row["value_f"], city),
                    line=line,
                )
            )
        except RowError as exc:
            parsed.refuse(line, str(exc))
    return parsed


def read_reports(path: Path | str) -> ParsedFile:
    """Climate-report values from a CSV (.gz): ``city, kind, climate_date, value_f, final,
    issued_at``; ``value_f`` must be a whole degree (the report's)."""
    path = Path(path)
    parsed = ParsedFile(str(path), "reports")
    data = load_file(parsed, path)
    city_of, kind_of, day_of = memo(parse_city), memo(parse_kind), memo(parse_day)
    instant = memo(lambda text: parse_instant(text, "issued_at"))
    ix, rows = csv_table(parsed, data, REPORT_FIELDS)
    for line, fields in rows:
        row = {name: fields[ix[name]] for name in REPORT_FIELDS}
        try:
            city = city_of(row["city"])
            value = parse_temperature(row["value_f"], city)
            if value != int(value):
                raise RowError(f"value_f {row['value_f']!r} is not a whole degree")
            parsed.records.append(
                ReportRecord(
                    city=city.code,
                    climate_date=day_of(row["climate_date"]),
                    kind=kind_of(row["kind"]),
                    value_f=int(value),
                    final=parse_bool(row["final"], "final"),
                    issued_at=instant(row["issued_at"]),
                    line=line,
                )
            )
        except RowError as exc:
            parsed.refuse(line, str(exc))
    return parsed
