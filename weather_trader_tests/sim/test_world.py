from __future__ import annotations

from datetime import date

from weather_trader.core.ports import Broker, MarketData, WeatherSource
from weather_trader.sim.broker import PaperBroker
from weather_trader.sim.market import SimMarket
from weather_trader.sim.sources import SimWeatherSource
from weather_trader.sim.world import build_sim


def test_build_sim_wires_one_world() -> None:
    source, market = build_sim(11)
    assert isinstance(source, SimWeatherSource) and isinstance(market, SimMarket)
    assert source.world is market.world and market.world.seed == 11 and market.seed == 11
    # Static conformance to the ports (mypy checks these assignments).
    ws: WeatherSource = source
    md: MarketData = market
    br: Broker = PaperBroker()
    assert ws and md and br
    again, _ = build_sim(11)
    day = date(2026, 1, 10)
    assert again.world.true_value("DEN", day, "high") == source.world.true_value("DEN", day, "high")
    assert build_sim()[0].world.seed == 7
