"""A city's report comes from its own station section of the CLI product, never the first one."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from weather_trader.core.cities import get_city
from weather_trader.sim.reports import LEADING_SECTIONS, reports_for_days
from weather_trader.sim.weather import SimWeather
from weather_trader.sources.cli_report import (
    StationSectionError,
    parse_cli,
    section_key,
    select_sections,
)

CLI_DIR = Path("nws_products/pyIEM_product_examples/CLI")


def _real(realdata_dir: Path, name: str) -> str:
    return (realdata_dir / CLI_DIR / f"{name}.txt").read_text()


def test_houston_reads_hobby_not_the_first_section(realdata_dir: Path) -> None:
    sections = parse_cli(_real(realdata_dir, "CLIHOU"))
    assert [r.station_name for r in sections] == [
        "HOUSTON INTERCONTINENTAL",
        "HOUSTON/HOBBY AIRPORT",
    ]
    (hobby,) = select_sections(sections, get_city("HOU"))
    assert (hobby.station_name, hobby.max_f, hobby.min_f) == ("HOUSTON/HOBBY AIRPORT", 79, 62)
    assert (sections[0].max_f, sections[0].min_f) == (80, 61)  # Intercontinental's: not ours
    assert hobby.to_record("HOU").max_f == 79


@pytest.mark.parametrize(
    ("product", "code", "expected"),
    [
        ("CLIDCA", "DC", ("WASHINGTON NATIONAL DC", date(2026, 6, 28), 76, 72)),
        ("CLINYC", "NYC", ("CENTRAL PARK NY", date(2013, 1, 2), 33, 22)),
    ],
)
def test_single_station_products(
    realdata_dir: Path, product: str, code: str, expected: tuple[object, ...]
) -> None:
    (report,) = select_sections(parse_cli(_real(realdata_dir, product)), get_city(code))
    assert (report.station_name, report.climate_date, report.max_f, report.min_f) == expected


def test_another_citys_product_gives_nothing(realdata_dir: Path) -> None:
    assert select_sections(parse_cli(_real(realdata_dir, "CLIHOU")), get_city("NYC")) == []
    # CLISEW is Seattle's forecast office, not Sea-Tac (CLISEA).
    assert select_sections(parse_cli(_real(realdata_dir, "CLISEW")), get_city("SEA")) == []


def test_selection_tolerates_spacing_and_case_but_not_another_word(realdata_dir: Path) -> None:
    sections = parse_cli(_real(realdata_dir, "CLIHOU"))
    loose = dataclasses.replace(get_city("HOU"), cli_section="houston / hobby   airport")
    assert [r.max_f for r in select_sections(sections, loose)] == [79]
    for wrong in ("HOUSTON HOBBY", "HOUSTON ELLINGTON", "HOBBY AIRPORT"):
        city = dataclasses.replace(get_city("HOU"), cli_section=wrong)
        with pytest.raises(StationSectionError, match=f"no '{wrong}' section for HOU"):
            select_sections(sections, city)


def test_section_key() -> None:
    assert section_key(" Houston/Hobby  Airport ") == "HOUSTON HOBBY AIRPORT"
    assert section_key("CHICAGO-MIDWAY") == section_key("chicago midway")
    assert section_key("HOUSTON INTERCONTINENTAL") != section_key("HOUSTON/HOBBY AIRPORT")


def test_simulated_houston_product_keeps_the_trap() -> None:
    """The sim prints Intercontinental first, as the real CLIHOU does; HOU still reads Hobby."""
    assert LEADING_SECTIONS["HOU"] == ("HOUSTON INTERCONTINENTAL",)
    world = SimWeather(seed=3)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(0, 365, 9)]
    for report in reports_for_days(world, "HOU", days):
        first, *rest = parse_cli(report.text)
        assert first.station_name == "HOUSTON INTERCONTINENTAL" and len(rest) == 1
        (mine,) = select_sections([first, *rest], get_city("HOU"))
        assert (mine.max_f, mine.min_f) == (report.max_f, report.min_f)
        assert first.max_f != report.max_f  # reading the first section would be wrong
