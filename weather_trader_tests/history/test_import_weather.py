"""History import of forecast and climate-report CSVs: formats, validation, idempotency."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select

from weather_trader.history.loader import REPORT_TEXT, import_history
from weather_trader.store import repo
from weather_trader.store.db import session_scope
from weather_trader.store.models import ClimateReportRow, ForecastRow
from weather_trader.store.repo_history import forecast_history, report_history
from weather_trader_tests.history._import_files import write

FORECASTS = """city,kind,source,model,member,issued_at,climate_date,value_f
NYC,high,visual-crossing,timeline,,2025-01-09T05:00:00+00:00,2025-01-10,41.5
NYC,high,open-meteo,gfs,3,2025-01-09T06:00:00Z,2025-01-10,40
NYC,high,open-meteo,gfs,4,2025-01-09T01:00:00-05:00,2025-01-10,42
CHI,low,visual-crossing,timeline,,2025-01-09T23:00:00-06:00,2025-01-10,12.25
"""
REPORTS = """city,kind,climate_date,value_f,final,issued_at
NYC,high,2025-01-10,43,false,2025-01-10T22:00:00Z
NYC,high,2025-01-10,44,true,2025-01-11T14:00:00Z
NYC,low,2025-01-10,30.0,true,2025-01-11T14:00:00Z
CHI,high,2025-01-10,20,TRUE,2025-01-11T15:00:00+00:00
"""


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_forecasts_import_with_members_leads_and_known_instants(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path / "f.csv.gz", FORECASTS, gz=True)
    result = import_history(engine, forecasts=[path])
    assert result.written, result.issues
    assert (result.files[0].read, result.files[0].inserted) == (4, 4)
    fc = forecast_history(engine, cities=["NYC"])
    assert fc["member"].tolist() == [3, 4, pd.NA] or fc["member"].isna().tolist() == [
        False, False, True,
    ]  # fmt: skip
    gfs4 = fc[fc["member"] == 4].iloc[0]
    assert gfs4.issued_at == datetime(2025, 1, 9, 6, tzinfo=UTC) and gfs4.value_f == 42.0
    with session_scope(engine) as session:
        row = session.scalars(select(ForecastRow).where(ForecastRow.city == "CHI")).one()
    # retrieved_at is the known instant; the lead counts in the city's standard time.
    assert row.retrieved_at == row.issued_at == datetime(2025, 1, 10, 5, tzinfo=UTC)
    assert (row.member, row.lead_days, row.value_f) == (-1, 1, 12.25)
    # The live read path sees imported forecasts exactly like fetched ones.
    with session_scope(engine) as session:
        as_of = repo.forecasts_as_of(
            session, "NYC", date(2025, 1, 10), datetime(2025, 1, 9, 5, 30, tzinfo=UTC)
        )
    assert as_of["source"].tolist() == ["visual-crossing"]
    again = import_history(engine, forecasts=[path])
    assert (again.files[0].inserted, again.files[0].present) == (0, 4)
    assert _count(engine, ForecastRow) == 4


def test_reports_merge_high_and_low_of_one_issue(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", REPORTS)
    result = import_history(engine, reports=[path])
    assert result.written, result.issues
    assert result.files[0].inserted == 4
    assert _count(engine, ClimateReportRow) == 3  # NYC final carries max and min
    with session_scope(engine) as session:
        final = repo.final_report(session, "NYC", date(2025, 1, 10))
    assert final is not None
    assert (final.max_f, final.min_f, final.product, final.text) == (44, 30, "CLINYC", REPORT_TEXT)
    reports = report_history(engine, cities=["NYC"])
    assert reports[["kind", "value_f", "final"]].values.tolist() == [
        ["high", 43.0, False], ["high", 44.0, True], ["low", 30.0, True],
    ]  # fmt: skip
    again = import_history(engine, reports=[path])
    assert (again.files[0].inserted, again.files[0].present) == (0, 4)


def test_a_missing_kind_is_filled_in_and_a_different_value_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    high = write(tmp_path / "high.csv", "city,kind,climate_date,value_f,final,issued_at\n"
                 "NYC,high,2025-01-10,44,true,2025-01-11T14:00:00Z\n")  # fmt: skip
    low = write(tmp_path / "low.csv", "city,kind,climate_date,value_f,final,issued_at\n"
                "NYC,low,2025-01-10,30,true,2025-01-11T14:00:00Z\n")  # fmt: skip
    other = write(tmp_path / "other.csv", "city,kind,climate_date,value_f,final,issued_at\n"
                  "NYC,high,2025-01-10,45,true,2025-01-11T14:00:00Z\n")  # fmt: skip
    assert import_history(engine, reports=[high]).written
    filled = import_history(engine, reports=[low])
    assert (filled.files[0].inserted, filled.files[0].updated) == (0, 1)
    refused = import_history(engine, reports=[other, low])
    assert not refused.written
    assert str(refused.issues[0]) == f"{other}:2: high 45 differs from 44 for the same report issue"
    with session_scope(engine) as session:
        final = repo.final_report(session, "NYC", date(2025, 1, 10))
    assert final is not None and (final.max_f, final.min_f) == (44, 30)


def test_a_forecast_value_differing_from_the_stored_one_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    first = write(tmp_path / "a.csv", FORECASTS)
    new_row = "PHL,high,s,m,,2025-01-09T05:00:00Z,2025-01-10,40\n"
    changed = write(tmp_path / "b.csv", FORECASTS.replace(",41.5", ",39") + new_row)
    assert import_history(engine, forecasts=[first]).written
    refused = import_history(engine, forecasts=[changed])
    assert not refused.written
    assert str(refused.issues[0]).startswith(f"{changed}:2: value_f 39 differs from 41.5")
    assert _count(engine, ForecastRow) == 4  # the new PHL row was not written either
    dup = write(tmp_path / "dup.csv", FORECASTS + FORECASTS.splitlines()[1].replace("41.5", "40")
                + "\n")  # fmt: skip
    inside = import_history(engine, forecasts=[dup])
    assert not inside.written and "differs" in inside.issues[0].reason


def test_bad_weather_rows_are_reported_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.csv", FORECASTS)
    header = "city,kind,source,model,member,issued_at,climate_date,value_f"
    bad = write(tmp_path / "bad.csv", f"""{header}
XYZ,high,s,m,,2025-01-09T05:00:00Z,2025-01-10,40
NYC,mean,s,m,,2025-01-09T05:00:00Z,2025-01-10,40
NYC,high,s,m,-2,2025-01-09T05:00:00Z,2025-01-10,40
NYC,high,s,m,,2025-01-09 05:00,2025-01-10,40
NYC,high,s,m,,2025-01-09T05:00:00Z,10/01/2025,40
NYC,high,s,m,,2025-01-09T05:00:00Z,2025-01-10,400
NYC,high,,m,,2025-01-09T05:00:00Z,2025-01-10,40
NYC,high,s,m,x,2025-01-09T05:00:00Z,2025-01-10,nan
""")  # fmt: skip
    reports = write(tmp_path / "rep.csv", """city,kind,climate_date,value_f,final
NYC,high,2025-01-10,43,false
""")  # fmt: skip
    fractional = write(tmp_path / "frac.csv", """city,kind,climate_date,value_f,final,issued_at
NYC,high,2025-01-10,43.5,true,2025-01-11T14:00:00Z
NYC,high,2025-01-10,43,perhaps,2025-01-11T14:00:00Z
""")  # fmt: skip
    result = import_history(engine, forecasts=[good, bad], reports=[reports, fractional])
    assert not result.written
    text = [str(i) for i in result.issues]
    assert text[0].startswith(f"{bad}:2: unknown city code 'XYZ'")
    assert text[1] == f"{bad}:3: kind 'mean' is not one of ['high', 'low']"
    assert "member -2 is negative" in text[2] and "no UTC offset" in text[3]
    assert "not a YYYY-MM-DD date" in text[4] and "400 is impossible for NYC" in text[5]
    assert "source is empty" in text[6] and "member 'x'" in text[7]
    assert text[8] == f"{reports}:1: missing columns ['issued_at']; header is " + str(
        ["city", "kind", "climate_date", "value_f", "final"]
    )
    assert "not a whole degree" in text[9] and "final 'perhaps'" in text[10]
    assert _count(engine, ForecastRow) == 0 and _count(engine, ClimateReportRow) == 0
