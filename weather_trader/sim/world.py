"""One-call construction of the offline world for the Dagster resources."""

from __future__ import annotations

from weather_trader.sim.market import SimMarket
from weather_trader.sim.sources import SimWeatherSource
from weather_trader.sim.weather import SimWeather


def build_sim(seed: int = 7) -> tuple[SimWeatherSource, SimMarket]:
    """Build the sim weather source and market over one shared :class:`SimWeather`.

    Args:
        seed: World seed; the crowd uses the same seed on its own noise streams.

    Returns:
        ``(weather source, market)``; pair with a
        :class:`~weather_trader.sim.broker.PaperBroker` for orders.
    """
    world = SimWeather(seed)
    return SimWeatherSource(world), SimMarket(world, seed=seed)
