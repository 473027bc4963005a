"""Server-side SVG charts and the backtest report reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api import backtest_reports, plots


def test_grouped_bars_draw_one_bar_per_value_and_escape_labels() -> None:
    svg = plots.grouped_bars(
        ["<70", "70-71"], {"ours": [0.25, 0.75], "market": [None, 0.5]}, title="P", y_max=1.0
    )

    assert (
        svg.startswith('<svg class="chart"') and svg.count("</title></rect>") == 3
    )  # bars (legend swatches have no title)
    assert "&lt;70" in svg and "<70" not in svg.replace("&lt;70", "")
    assert "<title>70-71 ours: 0.75</title>" in svg


def test_negative_bars_hang_below_zero() -> None:
    svg = plots.grouped_bars(["A", "B"], {"P&L": [10.0, -5.0]}, title="pnl")

    assert "P&amp;L" in svg and "-5.00" in svg


def test_lines_break_at_gaps_and_draw_the_diagonal() -> None:
    svg = plots.lines(
        [plots.Series("s", [(0, 0.1), (1, None), (2, 0.3), (3, 0.4)])],
        title="t",
        y_range=(0.0, 1.0),
        diagonal=True,
        markers=True,
    )

    (path,) = [p for p in svg.split("<path ")[1:]]
    assert path.count("M") == 2 and path.count("L") == 1  # a new segment after the gap
    assert 'class="diagonal"' in svg and svg.count("<circle") == 3


def test_empty_data_says_so() -> None:
    assert "no data" in plots.lines([plots.Series("s", [])], title="equity")
    assert "no data" in plots.grouped_bars([], {}, title="bars")


def test_ticks_cover_the_range_with_round_steps() -> None:
    assert plots._nice_ticks(0.0, 1.0, 4) == [0.0, 0.25, 0.5, 0.75, 1.0]
    ticks = plots._nice_ticks(-52.0, 0.0, 4)
    assert ticks[0] <= -52.0 and ticks[-1] >= 0.0 and len(ticks) <= 6


def test_backtest_reports_summaries_and_series(tmp_path: Path) -> None:
    folder = backtest_reports.reports_dir(tmp_path)
    assert backtest_reports.list_reports(folder) == []
    folder.mkdir()
    report = {
        "strategy": "ours",
        "totals": {"pnl": "12.50", "trades": 4},
        "equity": [{"date": "2026-01-01", "equity": 100, "drawdown": 0}],
        "briers": [0.7, 0.65],
        "notes": ["text is not a series"],
        "by_city": [{"city": "NYC", "pnl": 3.5, "extra": {"nested": 1}}],
        "trades": [{"decided_at": "2026-01-01T10:00:00Z", "pnl": 1.0}],
    }
    (folder / "a.json").write_text(json.dumps(report))

    (listed,) = backtest_reports.list_reports(folder)
    parsed = backtest_reports.read_report(folder, listed.name)

    assert parsed.summary == {"strategy": "ours", "totals.pnl": "12.50", "totals.trades": 4}
    assert set(parsed.series) == {"equity.equity", "equity.drawdown", "briers"}
    assert parsed.series["briers"] == [("0", 0.7), ("1", 0.65)]
    assert parsed.tables == {"by_city": [{"city": "NYC", "pnl": 3.5}]}  # trades are skipped
    with pytest.raises(FileNotFoundError):
        backtest_reports.read_report(folder, "../a.json")
    assert backtest_reports.x_position("2026-01-02", 5) == 739618.0
    assert backtest_reports.x_position("step 3", 5) == 5.0
