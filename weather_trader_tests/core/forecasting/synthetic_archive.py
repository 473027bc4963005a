"""A small synthetic archive (forecasts, reports, markets, trades) and stand-in models for tests.

The frames have the columns of ``store.repo_history``. Each day's truth is a seasonal cycle
plus noise; two sources forecast it (issued at 12:00 UTC the day before and 06:00 UTC the
day), the final report comes out at 14:00 UTC the day after, and each event has six brackets
whose markets trade hourly near a noisy fair price from 15:00 UTC the day before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from scipy.stats import norm

from weather_trader.core.cities import event_ticker, get_city
from weather_trader.core.forecasting.base import ModelInputError
from weather_trader.core.forecasting.pmf import pmf_from_normal


@dataclass
class Archive:
    forecasts: pd.DataFrame
    reports: pd.DataFrame
    markets: pd.DataFrame
    trades: pd.DataFrame


def _utc(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def make_archive(
    start: date = date(2024, 1, 1), days: int = 150, cities: tuple[str, ...] = ("CHI", "NYC"),
    seed: int = 7,
) -> Archive:  # fmt: skip
    rng = np.random.default_rng(seed)
    fc_rows, rep_rows, mkt_rows, trade_rows = [], [], [], []
    for city in cities:
        series = get_city(city).high_series
        for i in range(days):
            day = start + timedelta(days=i)
            truth = round(55 + 20 * np.sin(2 * np.pi * (i - 100) / 365) + rng.normal(0, 4))
            for source, issued, noise, bias in (
                ("vc", _utc(day, 12) - timedelta(days=1), 3.0, -1.5),
                ("nbm", _utc(day, 6), 2.0, 0.5),
            ):
                value = truth + bias + rng.normal(0, noise)
                fc_rows.append((city, "high", source, "det", pd.NA, issued, day, value))
            rep_rows.append(
                (city, "high", day, float(truth), True, _utc(day, 14) + timedelta(days=1))
            )
            event = event_ticker(series, day)
            center = round(truth + rng.normal(0, 3))
            edges = [center - 4, center - 2, center, center + 2]
            brackets = [("less", None, edges[0])]
            brackets += [("between", a, a + 1) for a in edges]
            brackets.append(("greater", edges[-1] + 1, None))
            mu = truth + rng.normal(0, 2.5)
            for j, (st, fl, cap) in enumerate(brackets):
                ticker = f"{event}-{j}"
                lo = -np.inf if fl is None else (fl + (0.5 if st == "greater" else -0.5))
                hi = np.inf if cap is None else (cap - 0.5 if st == "less" else cap + 0.5)
                fair = float(norm.cdf(hi, mu, 3) - norm.cdf(lo, mu, 3))
                yes = lo < truth < hi
                mkt_rows.append(
                    (ticker, event, series, city, "high", day, st, fl, cap,
                     "yes" if yes else "no", truth)
                )  # fmt: skip
                open_at = _utc(day, 15) - timedelta(days=1)
                for h in range(0, 33, 1):
                    if rng.random() < 0.6:
                        price = float(np.clip(fair + rng.normal(0, 0.03), 0.01, 0.99))
                        at = open_at + timedelta(hours=h, minutes=int(rng.integers(0, 60)))
                        trade_rows.append(
                            (f"{ticker}-{h}", ticker, at, round(price, 2),
                             float(rng.integers(1, 20)), "yes")
                        )  # fmt: skip
    forecasts = pd.DataFrame(
        fc_rows,
        columns=[
            "city",
            "kind",
            "source",
            "model",
            "member",
            "issued_at",
            "climate_date",
            "value_f",
        ],
    )
    forecasts["member"] = forecasts["member"].astype("Int64")
    forecasts["issued_at"] = pd.to_datetime(forecasts["issued_at"], utc=True)
    reports = pd.DataFrame(
        rep_rows, columns=["city", "kind", "climate_date", "value_f", "final", "issued_at"]
    )
    reports["issued_at"] = pd.to_datetime(reports["issued_at"], utc=True)
    markets = pd.DataFrame(
        mkt_rows,
        columns=["ticker", "event_ticker", "series_ticker", "city", "kind", "climate_date",
                 "strike_type", "floor_strike", "cap_strike", "result", "settled_value"],
    )  # fmt: skip
    trades = pd.DataFrame(
        trade_rows, columns=["trade_id", "ticker", "traded_at", "yes_price", "count", "taker_side"]
    )
    trades["traded_at"] = pd.to_datetime(trades["traded_at"], utc=True)
    return Archive(
        forecasts, reports, markets, trades.sort_values("traded_at").reset_index(drop=True)
    )


@dataclass
class FittedNormal:
    name: str
    column: str
    bias: float
    sd: float

    def predict_pmf(self, cases: pd.DataFrame) -> np.ndarray:
        values = (
            cases[self.column].to_numpy(dtype=float)
            if self.column in cases
            else np.full(len(cases), np.nan)
        )
        return pmf_from_normal(values - self.bias, self.sd)

    def metadata(self) -> dict:
        return {"bias": self.bias, "sd": self.sd}


@dataclass
class NormalOn:
    """Stand-in component: a bias-corrected normal around one case column."""

    name: str
    column: str

    def fit(self, cases: pd.DataFrame) -> FittedNormal:
        if self.column not in cases:
            raise ModelInputError(f"no {self.column}")
        err = (cases[self.column] - cases["truth_f"]).dropna()
        if len(err) < 5:
            raise ModelInputError("too few")
        return FittedNormal(self.name, self.column, float(err.mean()), float(max(err.std(), 1.0)))


def stand_in_components() -> list[NormalOn]:
    return [NormalOn("mean_model", "fc_mean"), NormalOn("median_model", "fc_median")]
