"""Backtest reports for the dashboard: JSON files found in the home's ``backtests/`` folder.

The backtest engine (``weather_trader/backtest/report.py``) writes one JSON report per run.
This module only reads: a report's scalars (nested objects flattened as ``summary.pnl``)
become its summary, any list of numbers, of ``[x, y]`` pairs, or of objects with a date-like
field and numeric fields becomes a plottable series (``equity.equity``, ``equity.drawdown``),
and other lists of objects (``by_city``, ``slippage``) become tables. A file that is
not valid JSON is listed with its error instead of breaking the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

MAX_REPORT_BYTES = 20_000_000
"""Larger files are listed but not parsed (the page must stay quick)."""
X_KEYS = ("date", "day", "climate_date", "as_of", "t", "x")
TABLE_ROWS = 50
"""Rows shown of a list of records without a date (per city, per price bucket, ...)."""
SKIPPED = frozenset({"trades"})
"""Per-trade lists: too long for the page (the engine's own HTML report lists them)."""


@dataclass(frozen=True)
class ReportFile:
    """A report file in the folder."""

    name: str
    size: int
    modified: datetime


@dataclass
class Report:
    """A parsed report: its summary scalars and its numeric series (x labels, y values)."""

    name: str
    summary: dict[str, Any] = field(default_factory=dict)
    series: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: str | None = None


def reports_dir(home: Path) -> Path:
    """Where reports are looked for: ``<home>/backtests``."""
    return home / "backtests"


def list_reports(folder: Path) -> list[ReportFile]:
    """The ``*.json`` files in ``folder``, newest first (empty when it does not exist)."""
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.json") if p.is_file()]
    return sorted(
        (
            ReportFile(p.name, p.stat().st_size, datetime.fromtimestamp(p.stat().st_mtime, UTC))
            for p in files
        ),
        key=lambda f: f.modified,
        reverse=True,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _series_of(name: str, value: list[Any]) -> dict[str, list[tuple[str, float]]]:
    """The numeric series a list holds, keyed ``name`` or ``name.field``."""
    if not value:
        return {}
    if all(_number(v) is not None for v in value):
        return {name: [(str(i), _number(v) or 0.0) for i, v in enumerate(value)]}
    if all(isinstance(v, list) and len(v) == 2 and _number(v[1]) is not None for v in value):
        return {name: [(str(v[0]), _number(v[1]) or 0.0) for v in value]}
    if all(isinstance(v, dict) for v in value):
        x_key = next((k for k in X_KEYS if all(k in v for v in value)), None)
        if x_key is None:
            return {}
        fields = [
            k for k in value[0] if k != x_key and all(_number(v.get(k)) is not None for v in value)
        ]
        return {
            f"{name}.{f}": [(str(v[x_key]), _number(v[f]) or 0.0) for v in value] for f in fields
        }
    return {}


def read_report(folder: Path, name: str) -> Report:
    """Parse one report; ``name`` must be a ``.json`` file directly in ``folder``.

    Raises:
        FileNotFoundError: If there is no such report (or ``name`` tries to leave the folder).
    """
    path = folder / name
    if Path(name).name != name or path.suffix != ".json" or not path.is_file():
        raise FileNotFoundError(name)
    report = Report(name)
    if path.stat().st_size > MAX_REPORT_BYTES:
        report.error = f"larger than {MAX_REPORT_BYTES} bytes: not parsed"
        return report
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        report.error = f"not valid JSON: {exc}"
        return report
    if not isinstance(data, dict):
        report.error = "not a JSON object"
        return report
    _walk(report, "", data)
    return report


def _walk(report: Report, prefix: str, data: dict[str, Any]) -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, str | int | float | bool) or value is None:
            report.summary[name] = value
        elif isinstance(value, dict) and len(prefix.split(".")) < 3:
            _walk(report, f"{name}.", value)
        elif isinstance(value, list) and key not in SKIPPED:
            series = _series_of(name, value)
            report.series.update(series)
            if not series and value and all(isinstance(v, dict) for v in value):
                report.tables[name] = [
                    {k: v for k, v in row.items() if not isinstance(v, dict | list)}
                    for row in value[:TABLE_ROWS]
                ]


def x_position(label: str, index: int) -> float:
    """Where a series point goes on the x axis: its date's ordinal when it is one, else index."""
    try:
        return float(date.fromisoformat(label[:10]).toordinal())
    except ValueError:
        return float(index)
