"""The simulated world's climate reports read back through the real-report parser."""

from __future__ import annotations

from datetime import date, timedelta

from weather_trader.core.cities import CITIES, get_city
from weather_trader.sim.reports import reports_for_days
from weather_trader.sim.weather import SimWeather
from weather_trader.sources.cli_report import parse_cli, select_sections


def test_every_simulated_report_parses_to_its_own_values() -> None:
    world = SimWeather(seed=7)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(0, 365, 17)]
    checked = 0
    for city in sorted(CITIES):
        for report in reports_for_days(world, city, days):
            # Houston's product also holds Intercontinental: read the city's own section.
            (parsed,) = select_sections(parse_cli(report.text), get_city(city))
            assert parsed.to_record(city, text=report.text) == report
            checked += 1
    assert checked >= 2 * len(CITIES) * len(days)  # a preliminary and a final per city-day at least
