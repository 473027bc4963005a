from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import numpy as np

from weather_trader.core.cities import get_city
from weather_trader.core.records import ClimateReport
from weather_trader.sim.reports import (
    TempRow,
    day_reports,
    render_cli_text,
    reports_for_days,
    settlement_report,
)
from weather_trader.sim.weather import SimWeather, round_half_up
from weather_trader_tests.shared_data import require_realdata

WORLD = SimWeather(7)
REAL_CLI = ("nws_products", "pyIEM_product_examples", "CLI", "CLINYC.txt")
ROW = re.compile(
    r"^  (MAXIMUM|MINIMUM)\s+(-?\d+)R?\s+(\d{1,4} [AP]M)\s+(-?\d+)\s+(\d{4})\s+(-?\d+)"
)


def _value_columns(text: str) -> list[tuple[str, int]]:
    """(label, end column of each number) of the MAXIMUM row, to compare layouts."""
    line = next(ln for ln in text.splitlines() if ln.startswith("  MAXIMUM"))
    return [(m.group(), m.end()) for m in re.finditer(r"-?\d+", line)]


def test_prelim_and_final_of_a_day() -> None:
    day = date(2026, 5, 12)
    reports = day_reports(WORLD, "NYC", day)
    prelim, final = reports[0], reports[-1]
    start = datetime(2026, 5, 12, 5, tzinfo=UTC)
    assert not prelim.final and final.final and not final.correction
    # Prelim ~17:00 EST (22Z), final ~07:00 EST next day (12Z).
    assert start + timedelta(hours=17) < prelim.issued_at < start + timedelta(hours=18)
    assert start + timedelta(hours=31) <= final.issued_at < start + timedelta(hours=32)
    high = WORLD.true_value("NYC", day, "high")
    low = WORLD.true_value("NYC", day, "low")
    assert (final.max_f, final.min_f) == (round_half_up(high), round_half_up(low))
    temps = WORLD.hourly_temps("NYC", np.array([day.toordinal()]))[0]
    assert prelim.max_f == round_half_up(temps[:17].max())
    assert prelim.min_f == round_half_up(temps[:17].min())
    assert prelim.product == final.product == "CLINYC"


def test_report_text_carries_the_numbers_and_flags() -> None:
    day = date(2026, 5, 12)
    prelim, final = day_reports(WORLD, "NYC", day)[:2]
    for report, when in ((prelim, "TODAY"), (final, "YESTERDAY")):
        text = report.text
        assert "CLINYC" in text and "NATIONAL WEATHER SERVICE NEW YORK NY" in text
        assert "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR MAY 12 2026..." in text
        assert f"\n {when}\n" in text and text.rstrip().endswith("$$")
        rows = {m.group(1): int(m.group(2)) for m in map(ROW.match, text.splitlines()) if m}
        assert rows == {"MAXIMUM": report.max_f, "MINIMUM": report.min_f}
    assert "VALID TODAY AS OF 0500 PM LOCAL TIME." in prelim.text
    assert "VALID TODAY AS OF" not in final.text
    assert re.search(r"^CDUS41 KOKX 13\d{4}$", final.text, re.M)
    # The header prints local clock time: EDT in May.
    assert re.search(r"^\d{3,4} AM EDT WED MAY 13 2026$", final.text, re.M)


def test_table_layout_matches_a_real_cli() -> None:
    real = require_realdata(*REAL_CLI).read_text()
    sim = day_reports(WORLD, "NYC", date(2026, 1, 2))[-1].text
    assert [c for _, c in _value_columns(sim)] == [c for _, c in _value_columns(real)]
    for text in (real, sim):
        assert ROW.match(next(ln for ln in text.splitlines() if ln.startswith("  MAXIMUM")))


def test_render_marks_records_and_corrections() -> None:
    t = datetime(2026, 7, 4, 15, 51)
    hot = TempRow(101, t, 101, 2026, True, 85, 88)
    cool = TempRow(70, t, 55, 1901, False, 70, 71)
    text = render_cli_text("PHL", date(2026, 7, 4), datetime(2026, 7, 5, 15, tzinfo=UTC),
                           hot, cool, True, correction_of="HIGH")  # fmt: skip
    assert "  MAXIMUM        101R   351 PM 101    2026  85     16       88" in text
    assert re.search(r"^CDUS41 KPHI 051500 CCA$", text, re.M)
    assert "CLIMATE REPORT...CORRECTED HIGH TEMPERATURE..." in text
    assert "MOUNT HOLLY NJ" in text and "PHILADELPHIA PA CLIMATE SUMMARY FOR JULY 4 2026" in text


def test_corrections_are_rare_and_fix_the_value() -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(1500)]
    reports = reports_for_days(WORLD, "MIA", days)
    by_day: dict[date, list[ClimateReport]] = {}
    for r in reports:
        by_day.setdefault(r.climate_date, []).append(r)
    corrected = [d for d, rs in by_day.items() if any(r.correction for r in rs)]
    assert 3 <= len(corrected) <= 35  # ~1% of 1500
    for d in corrected:
        rs = by_day[d]
        assert [r.final for r in rs] == [False, True, True]
        original, fix = rs[1], rs[2]
        assert fix.correction and " CCA" in fix.text and fix.issued_at > original.issued_at
        truth = (round_half_up(WORLD.true_value("MIA", d, "high")),
                 round_half_up(WORLD.true_value("MIA", d, "low")))  # fmt: skip
        assert (fix.max_f, fix.min_f) == truth != (original.max_f, original.min_f)
        assert settlement_report(rs) == fix
    assert all(len(by_day[d]) == 2 for d in days if d not in corrected)


def test_bulk_and_single_day_reports_agree() -> None:
    days = [date(2025, 6, 1) + timedelta(days=i) for i in range(5)]
    bulk = reports_for_days(WORLD, "LAX", days)
    single = [r for d in days for r in day_reports(WORLD, "LAX", d)]
    assert bulk == single
    assert reports_for_days(WORLD, "LAX", []) == []
    assert all(r.product == get_city("LAX").cli_product for r in bulk)


def test_settlement_report_needs_a_final() -> None:
    prelim = day_reports(WORLD, "NYC", date(2026, 1, 5))[0]
    assert settlement_report([prelim]) is None
    assert settlement_report([]) is None
