"""The HTML view of a backtest report: one self-contained page, plots drawn here as inline SVG.

No JavaScript, no stylesheet or font fetched from anywhere: the page opens from a file, offline.
It renders the JSON report (:mod:`.report`), so an old report can be re-rendered at any time:
summary, equity and drawdown curves, P&L by city, by decision instant and by price bucket,
calibration of the probabilities traded on (and of every bracket when the report has them),
the slippage table and the trades.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE = "report.html.j2"
MAX_TRADE_ROWS = 500
"""The page lists at most this many trades (the JSON has them all)."""
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 34
BLUE, ORANGE, GREEN, RED, GREY = "#2f6fdf", "#e08a1e", "#2a9d5c", "#b3261e", "#8a94a6"


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round values spanning ``lo..hi``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t < hi + step * 0.999:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _money(v: float) -> str:
    sign = "-" if v < 0 else ""
    return f"{sign}${abs(v):,.0f}" if abs(v) >= 100 else f"{sign}${abs(v):,.2f}"


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Colour keys in the top-right corner."""
    out = []
    for i, (name, colour) in enumerate(entries):
        y = TOP + 4 + i * 14
        x = LEFT + 12
        out.append(f'<rect x="{x}" y="{y - 5}" width="10" height="10" fill="{colour}"/>'
                   f'<text class="tick" x="{x + 14}" y="{y}" dominant-baseline="middle">'
                   f"{escape(name)}</text>")  # fmt: skip
    return out


class _Box:
    """Data coordinates to the plot area."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.x0, self.x1 = x0, (x1 if x1 > x0 else x0 + 1)
        self.y0, self.y1 = y0, (y1 if y1 > y0 else y0 + 1)

    def x(self, v: float) -> float:
        return LEFT + (v - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return HEIGHT - BOTTOM - (v - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)


def _svg(label: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _y_axis(box: _Box, ticks: Sequence[float], fmt: Any) -> list[str]:
    out = []
    for t in ticks:
        y = _fmt(box.y(t))
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y}" text-anchor="end" '
                   f'dominant-baseline="middle">{escape(fmt(t))}</text>')  # fmt: skip
    return out


def _empty(label: str) -> Markup:
    return _svg(label, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
                        "no data</text>"])  # fmt: skip


def line_chart(
    label: str,
    days: Sequence[date],
    series: Mapping[str, tuple[Sequence[float], str]],
    *,
    baseline: float | None = None,
    fmt: Any = _money,
    fill: bool = False,
) -> Markup:
    """Lines over calendar days: ``series`` maps a name to (values, colour).

    Args:
        label: Accessible name (and tooltip) of the chart.
        days: The x values.
        series: Name -> (one value per day, colour).
        baseline: A dashed horizontal reference (e.g. the bankroll).
        fmt: Formats the y tick labels.
        fill: Shade between the first line and the baseline (drawdown curves).
    """
    if not days or not series:
        return _empty(label)
    xs = [d.toordinal() for d in days]
    values = [v for vals, _ in series.values() for v in vals if math.isfinite(v)]
    if baseline is not None:
        values.append(baseline)
    ticks = nice_ticks(min(values), max(values))
    box = _Box(min(xs), max(xs), ticks[0], ticks[-1])
    body = _y_axis(box, ticks, fmt)
    for i in sorted({0, len(days) // 2, len(days) - 1}):
        x = _fmt(box.x(xs[i]))
        anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
        body.append(f'<text class="tick" x="{x}" y="{HEIGHT - BOTTOM + 16}" '
                    f'text-anchor="{anchor}">{days[i].isoformat()}</text>')  # fmt: skip
    if baseline is not None:
        y = _fmt(box.y(baseline))
        body.append(f'<line class="base" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" '
                    f'stroke="{GREY}" stroke-dasharray="4 3"/>')  # fmt: skip
    for n, (name, (vals, colour)) in enumerate(series.items()):
        points = " ".join(f"{_fmt(box.x(x))},{_fmt(box.y(v))}" for x, v in zip(xs, vals,
                          strict=True) if math.isfinite(v))  # fmt: skip
        if fill and n == 0 and baseline is not None:
            base = _fmt(box.y(baseline))
            area = f"{_fmt(box.x(xs[0]))},{base} {points} {_fmt(box.x(xs[-1]))},{base}"
            body.append(f'<polygon points="{area}" fill="{colour}" fill-opacity="0.25"/>')
        body.append(f'<polyline class="series" points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="1.5"><title>{escape(name)}</title></polyline>')  # fmt: skip
    return _svg(label, body)


def bar_chart(label: str, bars: Sequence[tuple[str, float]], fmt: Any = _money) -> Markup:
    """Vertical bars (green up, red down) with their value as a tooltip."""
    bars = [(k, v) for k, v in bars if v is not None and math.isfinite(v)]
    if not bars:
        return _empty(label)
    values = [v for _, v in bars]
    ticks = nice_ticks(min(0.0, *values), max(0.0, *values))
    box = _Box(0, len(bars), ticks[0], ticks[-1])
    body = _y_axis(box, ticks, fmt)
    slot = (WIDTH - LEFT - RIGHT) / len(bars)
    zero = box.y(0.0)
    for i, (name, v) in enumerate(bars):
        x, top = LEFT + i * slot + slot * 0.15, min(zero, box.y(v))
        height = abs(box.y(v) - zero)
        colour = GREEN if v >= 0 else RED
        body.append(
            f'<rect class="bar" x="{_fmt(x)}" y="{_fmt(top)}" width="{_fmt(slot * 0.7)}" '
            f'height="{_fmt(max(height, 0.5))}" fill="{colour}">'
            f"<title>{escape(name)}: {escape(fmt(v))}</title></rect>"
        )
        body.append(f'<text class="tick" x="{_fmt(x + slot * 0.35)}" y="{HEIGHT - BOTTOM + 16}" '
                    f'text-anchor="middle">{escape(name)}</text>')  # fmt: skip
    return _svg(label, body)


def calibration_chart(
    label: str, tables: Mapping[str, tuple[Sequence[Mapping[str, Any]], str]]
) -> Markup:
    """Observed frequency against mean forecast per bin, with the diagonal; ``tables`` maps a
    name to (reliability rows of :func:`.metrics.calibration`, colour)."""
    if not any(rows for rows, _ in tables.values()):
        return _empty(label)
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    box = _Box(0, 1, 0, 1)
    body = _y_axis(box, ticks, lambda t: f"{t:.1f}")
    for t in ticks:
        body.append(f'<text class="tick" x="{_fmt(box.x(t))}" y="{HEIGHT - BOTTOM + 16}" '
                    f'text-anchor="middle">{t:.1f}</text>')  # fmt: skip
    body.append(f'<line x1="{_fmt(box.x(0))}" y1="{_fmt(box.y(0))}" x2="{_fmt(box.x(1))}" '
                f'y2="{_fmt(box.y(1))}" stroke="{GREY}" stroke-dasharray="4 3"/>')  # fmt: skip
    body += _legend([(name, colour) for name, (_, colour) in tables.items()])
    for name, (rows, colour) in tables.items():
        pts = [(r["mean_p"], r["observed"], r["n"]) for r in rows]
        if not pts:
            continue
        line = " ".join(f"{_fmt(box.x(p))},{_fmt(box.y(o))}" for p, o, _ in pts)
        body.append(f'<polyline class="series" points="{line}" fill="none" stroke="{colour}" '
                    f'stroke-width="1.2"/>')  # fmt: skip
        for p, o, n in pts:
            body.append(
                f'<circle class="point" cx="{_fmt(box.x(p))}" cy="{_fmt(box.y(o))}" r="3.5" '
                f'fill="{colour}"><title>{escape(name)}: forecast {p:.3f}, observed {o:.3f}, '
                f"n={n}</title></circle>"
            )
    return _svg(label, body)


def _days(equity: Sequence[Mapping[str, Any]]) -> list[date]:
    return [date.fromisoformat(r["date"]) for r in equity]


def charts(report: Mapping[str, Any]) -> dict[str, Markup]:
    """Every plot of the report, by title."""
    equity = report.get("equity") or []
    days = _days(equity)
    bankroll = report.get("summary", {}).get("bankroll")
    out = {
        "Equity (end of day)": line_chart(
            "equity curve", days, {"equity": ([r["equity"] for r in equity], BLUE)},
            baseline=bankroll,
        ),
        "Drawdown below the running peak": line_chart(
            "drawdown curve", days, {"drawdown": ([-r["drawdown"] for r in equity], RED)},
            baseline=0.0, fill=True,
        ),
        "P&L by city": bar_chart(
            "P&L by city", [(r["city"], r["pnl"]) for r in report.get("by_city", [])]
        ),
        "P&L by decision instant": bar_chart(
            "P&L by decision instant",
            [(r["instant"], r["pnl"]) for r in report.get("by_instant", [])],
        ),
        "P&L by price paid": bar_chart(
            "P&L by price bucket",
            [(r["price_bucket"], r["pnl"]) for r in report.get("by_price_bucket", [])
             if r["trades"]],
        ),
    }  # fmt: skip
    calibration = report.get("calibration", {})
    for scope, title in (("traded", "markets traded"), ("all", "every bracket")):
        tables = calibration.get(scope)
        if tables:
            out[f"Calibration: {title}"] = calibration_chart(
                f"calibration of {title}",
                {"model": (tables.get("model", []), BLUE),
                 "market": (tables.get("market", []), ORANGE)},
            )  # fmt: skip
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.2f}"
    return str(value)


def render_html(report: Mapping[str, Any], title: str = "Backtest") -> str:
    """The report as one self-contained HTML page."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _cell
    trades = report.get("trades", [])
    return env.get_template(TEMPLATE).render(
        title=title,
        report=report,
        charts=charts(report),
        trades=trades[:MAX_TRADE_ROWS],
        trades_hidden=max(0, len(trades) - MAX_TRADE_ROWS),
    )


def write_html(report: Mapping[str, Any], path: Path, title: str = "Backtest") -> Path:
    """Render and write the page whole or not at all (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(report, title), encoding="utf-8")
    tmp.replace(path)
    return path
