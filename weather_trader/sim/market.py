"""A simulated Kalshi temperature market quoted by an independent crowd.

The crowd is NOT our model: it blends the sim models' forecasts available at ``as_of`` with its
own weights, corrects only part of the models' biases, adds its own opinion noise and sizes its
uncertainty by rule of thumb. Its bracket probabilities then get a favourite-longshot bias
(``p ** gamma``, renormalised: longshots too dear, favourites too cheap) and a 1-4 cent spread.

Everything is stateless: a book is a pure function of (seed, city, day, kind, as_of minute), so
the same question always gets the same answer, across restarts.

Event life: listed 10:00 ET the day before the climate day (brackets fixed then, centred on
the crowd's forecast), trading closes 23:59 local standard time of the climate day, settled
once the final climate report is out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from scipy.special import ndtr

from weather_trader.core.brackets import Bracket, event_probabilities, standard_event_brackets
from weather_trader.core.cities import Kind, event_ticker, get_city
from weather_trader.core.climate_day import climate_day_window
from weather_trader.core.fees import WEATHER_SERIES_FEES, SeriesFees
from weather_trader.core.records import BookLevel, MarketSnapshot
from weather_trader.sim.noise import KeyedNoise
from weather_trader.sim.reports import day_reports, settlement_report
from weather_trader.sim.weather import (
    ENSEMBLE_MEMBERS,
    ENSEMBLE_MODEL,
    MODELS,
    SimWeather,
    SimWeatherError,
    hours_since_epoch,
    round_half_up,
)

LISTING_TZ = ZoneInfo("America/New_York")
LISTING_HOUR = 10
LONGSHOT_GAMMA = 0.8
# Share of each model's systematic bias the crowd corrects: real traders know the well-known
# model biases roughly (MOS, experience), so a crowd that knew none would be an easy mark.
CROWD_BIAS_KNOWLEDGE = 0.8
CROWD_BASE_WEIGHTS: dict[str, float] = {
    "gfs": 0.3,
    "ecmwf": 0.35,
    "icon": 0.2,
    ENSEMBLE_MODEL: 0.15,
}


@dataclass(frozen=True)
class CrowdDistribution:
    """The crowd's view of the true temperature: normal, clipped by what was already observed.

    For a daily high the value can no longer end below the running maximum ``floor``
    (``max(X, floor)``); for a low it cannot end above the running minimum ``cap``.

    Attributes:
        mu: Mean of the forecast part (F).
        sigma: Its standard deviation (F).
        floor: Observed running maximum so far (highs), or None.
        cap: Observed running minimum so far (lows), or None.
    """

    mu: float
    sigma: float
    floor: float | None = None
    cap: float | None = None

    def cdf(self, x: float | np.ndarray) -> float | np.ndarray:
        """P(value <= x), accepting ``±inf``."""
        x = np.asarray(x, dtype=np.float64)
        out = ndtr((x - self.mu) / self.sigma)
        if self.floor is not None:
            out = np.where(x >= self.floor, out, 0.0)
        if self.cap is not None:
            out = np.where(x >= self.cap, 1.0, out)
        return float(out) if out.ndim == 0 else out


def market_suffix(bracket: Bracket) -> str:
    """Kalshi market suffix: ``T84`` for tails (the strike), ``B73.5`` for 73-74."""
    if bracket.strike_type == "less":
        return f"T{bracket.cap_strike}"
    if bracket.strike_type == "greater":
        return f"T{bracket.floor_strike}"
    # 2-degree brackets are named by their midpoint: B73.5 = 73-74, B-1.5 = -2 to -1.
    return f"B{bracket.floor_strike + 0.5:g}"  # type: ignore[operator]


class SimMarket:
    """:class:`~weather_trader.core.ports.MarketData` for the offline world.

    Args:
        world: The sim weather (forecasts, observations, reports).
        seed: The crowd's seed (its weights, noise, spreads and sizes).
        fees: Series fee parameters reported on every market.
        longshot_gamma: Favourite-longshot exponent (< 1 overprices longshots).
    """

    def __init__(
        self,
        world: SimWeather,
        seed: int = 7,
        fees: SeriesFees = WEATHER_SERIES_FEES,
        longshot_gamma: float = LONGSHOT_GAMMA,
    ) -> None:
        self.world = world
        self.seed = int(seed)
        self.noise = KeyedNoise(self.seed)
        self.fees = fees
        self.longshot_gamma = longshot_gamma
        self._brackets: dict[tuple[str, date, Kind], list[Bracket]] = {}
        self._blends: dict[tuple[str, date, Kind, tuple[datetime | None, ...]], float | None] = {}

    # -- event schedule -----------------------------------------------------------------------

    def open_time(self, day: date) -> datetime:
        """Listing time: 10:00 ET the day before the climate day (UTC)."""
        local = datetime.combine(day - timedelta(days=1), time(LISTING_HOUR), tzinfo=LISTING_TZ)
        return local.astimezone(UTC)

    def close_time(self, city: str, day: date) -> datetime:
        """Trading close: 23:59 local standard time of the climate day (UTC)."""
        return climate_day_window(city, day)[1] - timedelta(minutes=1)

    def status(self, city: str, day: date, as_of: datetime) -> str:
        """``unopened``, ``open``, ``closed`` or ``settled`` (final report out) at ``as_of``."""
        if as_of < self.open_time(day):
            return "unopened"
        if as_of < self.close_time(city, day):
            return "open"
        return (
            "settled" if self.settlement_value(city, day, "high", as_of) is not None else "closed"
        )

    # -- the crowd ----------------------------------------------------------------------------

    def crowd_weights(self, city: str, kind: Kind) -> dict[str, float]:
        """The crowd's (fixed, per city and kind) weights on the sim models."""
        raw = {
            m: w * math.exp(0.3 * self.noise.scalar_normal("crowd-weight", city, kind, m))
            for m, w in CROWD_BASE_WEIGHTS.items()
        }
        total = sum(raw.values())
        return {m: w / total for m, w in raw.items()}

    def crowd_distribution(
        self, city: str, day: date, kind: Kind, as_of: datetime
    ) -> CrowdDistribution:
        """The crowd's distribution of ``day``'s ``kind`` at ``as_of``.

        Its mean blends the latest available model forecasts (ensemble: member mean) with
        :meth:`crowd_weights`, plus a persistent per-day opinion error and an hourly jitter.
        Its sd is a rule of thumb from the time left; observations so far clip it.
        """
        runs = tuple(self.world.latest_run(city, model, day, as_of) for model in MODELS)
        blend = self._blend(city, day, kind, runs)
        if blend is None:
            raise SimWeatherError(f"no forecast of {city} {day} available at {as_of}")
        ordinal = np.array([day.toordinal()])
        start, end = climate_day_window(city, day)
        hour = hours_since_epoch(as_of)
        mu = (
            blend
            + 0.4 * self.noise.scalar_normal("crowd-bias", city, kind)
            + 0.6 * self.noise.scalar_normal("crowd-opinion", city, kind, day.toordinal())
            + 0.25 * self.noise.scalar_normal("crowd-jitter", city, kind, day.toordinal(), hour)
        )
        steps = min(max(math.ceil((end - as_of).total_seconds() / 43200), 1), 14)
        sigma = float(self.world.error_sd(city, kind, ordinal, np.array([steps]))[0])
        floor = cap = None
        if as_of > start:
            times = self.world.observation_times(city, day)
            temps = self.world.hourly_temps(city, ordinal)[0]
            seen = [t for at, t in zip(times, temps, strict=True) if at <= as_of]
            if seen:
                floor, cap = (max(seen), None) if kind == "high" else (None, min(seen))
        return CrowdDistribution(mu, sigma, floor, cap)

    def _blend(
        self, city: str, day: date, kind: Kind, runs: tuple[datetime | None, ...]
    ) -> float | None:
        # Memoised: many books share the same latest runs, and the blend is pure.
        key = (city, day, kind, runs)
        if key in self._blends:
            return self._blends[key]
        ordinal = np.array([day.toordinal()])
        weights = self.crowd_weights(city, kind)
        blend, total = 0.0, 0.0
        for model, run in zip(MODELS, runs, strict=True):
            if run is None:
                continue
            run_h = np.array([hours_since_epoch(run)])
            if model == ENSEMBLE_MODEL:
                n = ENSEMBLE_MEMBERS
                members = self.world.forecast_values(
                    city, kind, model, np.repeat(ordinal, n), np.repeat(run_h, n), np.arange(n)
                )
                value = float(members.mean())
            else:
                value = float(self.world.forecast_values(city, kind, model, ordinal, run_h)[0])
            value -= CROWD_BIAS_KNOWLEDGE * float(
                self.world.model_bias(city, kind, model, ordinal)[0]
            )
            blend += weights[model] * value
            total += weights[model]
        result = blend / total if total else None
        if len(self._blends) > 100_000:  # bound memory in long-running processes
            self._blends.clear()
        self._blends[key] = result
        return result

    def brackets(self, city: str, day: date, kind: Kind) -> list[Bracket]:
        """The event's brackets (2 tails + 4 two-degree), centred on the crowd at listing."""
        key = (city, day, kind)
        if key not in self._brackets:
            dist = self.crowd_distribution(city, day, kind, self.open_time(day))
            # The inner brackets span center-4 .. center+3, i.e. they are centred on center-0.5.
            center = round_half_up(dist.mu + 0.5)
            self._brackets[key] = standard_event_brackets(int(center))
        return self._brackets[key]

    def crowd_prices(
        self, city: str, day: date, kind: Kind, as_of: datetime
    ) -> tuple[list[Bracket], list[float]]:
        """The brackets and the crowd's fair prices (favourite-longshot biased, sum 1)."""
        brackets = self.brackets(city, day, kind)
        probs = np.array(
            event_probabilities(brackets, self.crowd_distribution(city, day, kind, as_of))
        )
        biased = np.power(np.clip(probs, 0.0, 1.0), self.longshot_gamma)
        return brackets, list(biased / biased.sum())

    # -- MarketData ---------------------------------------------------------------------------

    def event_markets(
        self, city: str, day: date, kind: Kind, as_of: datetime
    ) -> list[MarketSnapshot]:
        """All markets of the city's ``kind`` event for ``day`` with books as of ``as_of``.

        Returns:
            One snapshot per bracket (coldest first); empty before listing. Books are empty
            once trading has closed.

        Raises:
            SimWeatherError: If ``as_of`` is naive.
            UnknownCityError: If the city is not registered.
        """
        if as_of.tzinfo is None or as_of.utcoffset() is None:
            raise SimWeatherError(f"as_of must be timezone-aware, got {as_of!r}")
        city_obj = get_city(city)
        as_of = as_of.astimezone(UTC)
        status = self.status(city, day, as_of)
        if status == "unopened":
            return []
        series = city_obj.series(kind)
        event = event_ticker(series, day)
        if status == "open":
            brackets, fair = self.crowd_prices(city, day, kind, as_of)
        else:
            brackets, fair = self.brackets(city, day, kind), []
        word = "high" if kind == "high" else "low"
        books = self._books(city, day, kind, fair, as_of) if fair else [((), ())] * len(brackets)
        out = []
        for bracket, (yes_bids, no_bids) in zip(brackets, books, strict=True):
            out.append(
                MarketSnapshot(
                    ticker=f"{event}-{market_suffix(bracket)}",
                    event_ticker=event,
                    series_ticker=series,
                    city=city,
                    climate_date=day,
                    kind=kind,
                    strike_type=bracket.strike_type,
                    floor_strike=bracket.floor_strike,
                    cap_strike=bracket.cap_strike,
                    title=f"Will the {word} temp in {city} be {bracket.label} on "
                    f"{day:%b} {day.day}, {day.year}?",
                    status=status,
                    captured_at=as_of,
                    close_time=self.close_time(city, day),
                    yes_bids=yes_bids,
                    no_bids=no_bids,
                    fee_multiplier=self.fees.fee_multiplier,
                )
            )
        return out

    def _books(
        self, city: str, day: date, kind: Kind, fair: list[float], as_of: datetime
    ) -> list[tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]]:
        """Both bid ladders of every bracket around its fair price (one vectorised draw)."""
        minute = int(as_of.timestamp() // 60)
        index = np.arange(len(fair))[:, None]
        draws = np.arange(16)[None, :]
        u = self.noise.uniform("book", city, kind, day.toordinal(), minute, index, draws)
        z = self.noise.normal("book-size", city, kind, day.toordinal(), minute, index, draws)
        out = []
        for i, p in enumerate(fair):
            spread = 1 + int(u[i, 0] * 4)  # cents, 1..4
            bid = int(round_half_up(100 * p - spread / 2))
            # A YES bid of 0 or a YES ask of 100 means that side is empty, as on Kalshi.
            bid, ask = min(max(bid, 0), 99), min(max(bid + spread, 1), 100)

            def ladder(best: int, off: int, i: int = i) -> tuple[BookLevel, ...]:
                levels, price = [], best
                for level in range(2 + int(u[i, off] < 0.5)):
                    if price < 1:
                        break
                    size = max(round(math.exp(4.3 + 0.8 * z[i, off + level]) * (1 + level)), 1)
                    levels.append(BookLevel(price=Decimal(price).scaleb(-2), count=Decimal(size)))
                    price -= 1 + int(u[i, off + 1 + level] < 0.4)
                return tuple(levels)

            out.append((ladder(bid, 1), ladder(100 - ask, 8)))
        return out

    # -- settlement ---------------------------------------------------------------------------

    def settlement_value(
        self, city: str, day: date, kind: Kind, as_of: datetime | None = None
    ) -> int | None:
        """The settling value: the last-issued final report's max/min.

        Args:
            city: Registry city code.
            day: Climate day.
            kind: ``"high"`` or ``"low"``.
            as_of: If given, only reports issued by then count (None before the final).
        """
        reports = day_reports(self.world, city, day)
        if as_of is not None:
            reports = [r for r in reports if r.issued_at <= as_of]
        report = settlement_report(reports)
        return None if report is None else report.value(kind)
