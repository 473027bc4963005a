"""The case table is point in time: nothing issued after the decision reaches a row."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.cases import build_cases, forecast_columns, known_by

DAY = date(2025, 1, 2)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def targets(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"city": c, "kind": k, "climate_date": DAY, "decided_at": ts(t)} for c, k, t in rows]
    )


def forecasts(*rows: tuple) -> pd.DataFrame:
    """Rows of (city, kind, source, model, member, issued_at, value_f) for DAY."""
    frame = pd.DataFrame(
        rows, columns=["city", "kind", "source", "model", "member", "issued_at", "value_f"]
    )
    frame["issued_at"] = frame["issued_at"].map(ts)
    frame["member"] = frame["member"].astype("Int64")
    frame["climate_date"] = DAY
    return frame


def reports(*rows: tuple) -> pd.DataFrame:
    """Rows of (city, kind, value_f, final, issued_at) for DAY."""
    frame = pd.DataFrame(rows, columns=["city", "kind", "value_f", "final", "issued_at"])
    frame["issued_at"] = frame["issued_at"].map(ts)
    frame["climate_date"] = DAY
    return frame


NONE = reports()
FCS = forecasts(
    ("CHI", "high", "vc", "daily", None, "2025-01-01 06:00", 30.0),
    ("CHI", "high", "vc", "daily", None, "2025-01-01 20:00", 31.0),
    ("CHI", "high", "vc", "daily", None, "2025-01-01 23:00", 45.0),  # after the decision
    ("CHI", "high", "gefs", "ens", 1, "2025-01-01 12:00", 28.0),
    ("CHI", "high", "gefs", "ens", 2, "2025-01-01 12:00", 32.0),
    ("CHI", "high", "gefs", "ens", 1, "2025-01-01 06:00", 10.0),  # older issue
    ("CHI", "high", "late", "only", None, "2025-01-02 03:00", 99.0),  # never known in time
    ("CHI", "low", "vc", "daily", None, "2025-01-01 06:00", 20.0),
)


def test_latest_issue_before_the_decision_with_members_averaged() -> None:
    cases = build_cases(targets(("CHI", "high", "2025-01-01 22:00")), FCS, NONE)
    row = cases.iloc[0]
    assert forecast_columns(cases) == ["fc:gefs/ens", "fc:vc/daily"]
    assert row["fc:vc/daily"] == 31.0 and row["age:vc/daily"] == 2.0
    assert np.isnan(row["sd:vc/daily"])
    assert row["fc:gefs/ens"] == 30.0 and row["age:gefs/ens"] == 10.0
    assert row["sd:gefs/ens"] == pytest.approx(np.std([28.0, 32.0], ddof=1))
    assert (row["fc_mean"], row["fc_median"], row["fc_n"]) == (30.5, 30.5, 2)
    assert row["fc_std"] == pytest.approx(0.5)
    # Chicago's climate day (UTC-6) ends 2025-01-03 06:00Z: 32 h after the decision.
    assert row["lead_hours"] == 32.0 and row["doy"] == 2
    assert np.isnan(row["obs_hour"])


def test_a_forecast_issued_after_the_decision_never_appears_and_changes_nothing() -> None:
    tgt = targets(("CHI", "high", "2025-01-01 22:00"), ("CHI", "low", "2025-01-01 22:00"))
    base = build_cases(tgt, FCS, NONE)
    later = FCS["issued_at"] > ts("2025-01-01 22:00")
    assert not (base.filter(like="fc:") == 45.0).any().any()
    assert "fc:late/only" not in base.columns
    dropped = build_cases(tgt, FCS[~later], NONE)
    changed = FCS.copy()
    changed.loc[later, "value_f"] = -40.0
    for other in (dropped, build_cases(tgt, changed, NONE)):
        pd.testing.assert_frame_equal(base, other)


def test_deciding_later_sees_the_newer_issue() -> None:
    cases = build_cases(targets(("CHI", "high", "2025-01-02 04:00")), FCS, NONE)
    assert cases.loc[0, "fc:vc/daily"] == 45.0
    assert cases.loc[0, "fc:late/only"] == 99.0


def test_a_target_without_forecasts_has_nan_inputs() -> None:
    cases = build_cases(targets(("NYC", "high", "2025-01-01 22:00")), FCS, NONE)
    assert cases.loc[0, "fc_n"] == 0
    assert cases.filter(like="fc").drop(columns="fc_n").isna().all().all()


def test_truth_is_the_final_value_known_since_the_first_final() -> None:
    reps = reports(
        ("CHI", "high", 29, False, "2025-01-02 23:00"),  # intermediate: never a label
        ("CHI", "high", 32, True, "2025-01-03 13:00"),
        ("CHI", "high", 33, True, "2025-01-03 20:00"),  # a correction
    )
    tgt = targets(("CHI", "high", "2025-01-01 22:00"), ("CHI", "low", "2025-01-01 22:00"))
    cases = build_cases(tgt, FCS, reps)
    assert cases.loc[0, "truth_f"] == 33.0
    assert cases.loc[0, "truth_known_at"] == ts("2025-01-03 13:00")
    assert np.isnan(cases.loc[1, "truth_f"]) and pd.isna(cases.loc[1, "truth_known_at"])
    as_known = build_cases(tgt, FCS, reps, truth_as_of=ts("2025-01-03 14:00"))
    assert as_known.loc[0, "truth_f"] == 32.0
    before = build_cases(tgt, FCS, reps, truth_as_of=ts("2025-01-03 12:00"))
    assert np.isnan(before.loc[0, "truth_f"])


def test_known_by_respects_truth_known_at_and_decided_at() -> None:
    reps = reports(("CHI", "high", 32, True, "2025-01-03 13:00"))
    cases = build_cases(targets(("CHI", "high", "2025-01-01 22:00")), FCS, reps)
    assert known_by(cases, ts("2025-01-03 12:59")).empty
    assert len(known_by(cases, ts("2025-01-03 13:00"))) == 1
    with pytest.raises(ModelInputError, match="timezone-aware"):
        known_by(cases, pd.Timestamp("2025-01-04"))


def test_observed_extremes_inside_the_climate_day_and_before_the_decision() -> None:
    obs = pd.DataFrame(
        {
            "city": ["CHI"] * 5 + ["NYC"],
            "observed_at": [ts(f"2025-01-02 {h}:00") for h in ("05", "07", "12", "14", "15", "12")],
            "temp_f": [50.0, 19.0, 25.0, 24.0, 10.0, 60.0],
        }
    )
    tgt = targets(("CHI", "high", "2025-01-02 14:00"), ("CHI", "low", "2025-01-02 14:00"),
                  ("CHI", "high", "2025-01-01 22:00"))  # fmt: skip
    cases = build_cases(tgt, FCS, NONE, obs)
    # 05:00Z is the previous climate day in Chicago (the day starts 06:00Z); 15:00Z is later.
    assert cases["obs_extreme"].tolist()[:2] == [25.0, 19.0]
    assert np.isnan(cases.loc[2, "obs_extreme"])
    assert cases.loc[0, "obs_hour"] == 8.0 and cases.loc[0, "lead_hours"] == 16.0


def test_bad_inputs_get_clear_errors() -> None:
    naive = targets(("CHI", "high", "2025-01-01 22:00"))
    naive["decided_at"] = naive["decided_at"].dt.tz_localize(None)
    with pytest.raises(ModelInputError, match="timezone-aware"):
        build_cases(naive, FCS, NONE)
    with pytest.raises(ModelInputError, match="missing columns"):
        build_cases(naive.drop(columns="kind"), FCS, NONE)
    with pytest.raises(ModelInputError, match="std_utc_offset_hours"):
        build_cases(targets(("XYZ", "high", "2025-01-01 22:00")), FCS, NONE)


def test_a_city_outside_the_registry_works_with_its_offset() -> None:
    tgt = targets(("XYZ", "high", "2025-01-01 22:00")).assign(std_utc_offset_hours=-6)
    fcs = FCS.assign(city="XYZ")
    cases = build_cases(tgt, fcs, NONE)
    assert cases.loc[0, "lead_hours"] == 32.0 and cases.loc[0, "fc_n"] == 2


@pytest.mark.parametrize("seed", range(2))
def test_random_archives_changed_after_each_decision_give_the_same_cases(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    fcs = pd.DataFrame(
        {
            "city": rng.choice(["CHI", "NYC"], n),
            "kind": rng.choice(["high", "low"], n),
            "source": rng.choice(["s1", "s2", "s3"], n),
            "model": "m",
            "member": pd.array(rng.choice([1, 2, 3], n), dtype="Int64"),
            "issued_at": ts("2025-01-01") + pd.to_timedelta(rng.integers(0, 48 * 60, n), "min"),
            "climate_date": DAY,
            "value_f": rng.normal(30, 5, n),
        }
    )
    decided = ts("2025-01-01") + pd.to_timedelta(rng.integers(0, 48 * 60, 6), "min")
    tgt = pd.DataFrame(
        {"city": rng.choice(["CHI", "NYC"], 6), "kind": rng.choice(["high", "low"], 6),
         "climate_date": DAY, "decided_at": decided}
    )  # fmt: skip
    earliest = tgt["decided_at"].min()
    reps = reports(("CHI", "high", 31, True, "2025-01-03 13:00"))
    base = build_cases(tgt, fcs, reps)
    later = fcs["issued_at"] > earliest
    # Only what no target could see changes: values issued after every target's decision.
    after_all = fcs["issued_at"] > tgt["decided_at"].max()
    changed = fcs.copy()
    changed.loc[after_all, "value_f"] += 100.0
    pd.testing.assert_frame_equal(base, build_cases(tgt, changed, reps))
    pd.testing.assert_frame_equal(base, build_cases(tgt, fcs[~after_all], reps))
    # Per target: dropping what came after its own decision leaves its row unchanged.
    for i, row in tgt.iterrows():
        own = build_cases(tgt.iloc[[i]], fcs[fcs["issued_at"] <= row["decided_at"]], reps)
        full = build_cases(tgt.iloc[[i]], fcs, reps)
        pd.testing.assert_frame_equal(own, full)
    assert later.any()
