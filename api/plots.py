"""Small SVG charts drawn server-side: no JavaScript library, nothing fetched from a CDN.

Every function returns a :class:`markupsafe.Markup` SVG element sized by its ``viewBox`` (the
page's CSS makes it fluid). Text is escaped; values that are None are gaps. The charts are
plain: axes, a few ticks, a legend, and a ``<title>`` per mark so hovering shows the number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 24, 22, 30
PALETTE = ("#2f6fdf", "#e08a1e", "#2a9d5c", "#b3261e", "#7b4fc9", "#5b6b80", "#c94f9b")
"""Series colours in order: ours (blue) first, the market (orange) second."""


@dataclass(frozen=True)
class Series:
    """One named line: points ``(x, y)`` in data units; a None y breaks the line."""

    name: str
    points: Sequence[tuple[float, float | None]]


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values from at or below ``lo`` to at or above ``hi``."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while True:
        ticks.append(round(t, 10))
        if t >= hi - step * 1e-9:
            return ticks
        t += step


class _Frame:
    """Maps data coordinates to the plot area of a ``WIDTH`` x ``HEIGHT`` box."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        self.y0, self.y1 = y0, y1 if y1 > y0 else y0 + 1

    def x(self, v: float) -> float:
        return PAD_LEFT + (v - self.x0) / (self.x1 - self.x0) * (WIDTH - PAD_LEFT - PAD_RIGHT)

    def y(self, v: float) -> float:
        return (
            HEIGHT
            - PAD_BOTTOM
            - (v - self.y0) / (self.y1 - self.y0) * (HEIGHT - PAD_TOP - PAD_BOTTOM)
        )


def _open(label: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]


def _y_axis(frame: _Frame, ticks: Sequence[float], fmt: str) -> list[str]:
    out = []
    for t in ticks:
        y = _fmt(frame.y(t))
        out.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y}" y2="{y}"/>'
            f'<text class="tick" x="{PAD_LEFT - 4}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(format(t, fmt))}</text>'
        )
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out, x = [], PAD_LEFT
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
            f'<text class="legend" x="{x + 14}" y="13">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return out


def empty(message: str) -> Markup:
    """A placeholder box saying why there is no chart."""
    return Markup(f'<div class="chart-empty">{escape(message)}</div>')


def grouped_bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    y_max: float | None = None,
    fmt: str = ".2f",
) -> Markup:
    """Bars side by side per label, one colour per series (e.g. our P(YES) vs the market's).

    Args:
        labels: The x categories (bracket labels).
        series: Name -> one value per label (None: no bar).
        title: Accessible label of the chart.
        y_max: Top of the y axis; the largest value when omitted.
        fmt: Format of tick and hover values.
    """
    values = [v for vs in series.values() for v in vs if v is not None]
    if not labels or not values:
        return empty(f"{title}: no data")
    top = y_max if y_max is not None else max(max(values), 0.0) or 1.0
    bottom = min(0.0, min(values))
    ticks = _nice_ticks(bottom, top, 4)
    frame = _Frame(0, len(labels), ticks[0], ticks[-1])
    out = _open(title) + _y_axis(frame, ticks, fmt)
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / len(labels)
    bar = slot * 0.8 / max(1, len(series))
    zero = frame.y(0)
    for i, label in enumerate(labels):
        x_mid = frame.x(i + 0.5)
        for j, (name, vs) in enumerate(series.items()):
            v = vs[i]
            if v is None:
                continue
            x = frame.x(i) + slot * 0.1 + j * bar
            y = frame.y(v)
            out.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(min(y, zero))}" width="{_fmt(bar)}" '
                f'height="{_fmt(abs(zero - y))}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(name)}: {escape(format(v, fmt))}</title></rect>"
            )
        out.append(
            f'<text class="tick" x="{_fmt(x_mid)}" y="{HEIGHT - PAD_BOTTOM + 14}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    out.append(
        f'<line class="axis" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
        f'y1="{_fmt(zero)}" y2="{_fmt(zero)}"/>'
    )
    out += _legend(list(series))
    out.append("</svg>")
    return Markup("".join(out))


def lines(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Mapping[float, str] | None = None,
    y_range: tuple[float, float] | None = None,
    fmt: str = ".2f",
    diagonal: bool = False,
    markers: bool = False,
) -> Markup:
    """Lines over a numeric x (dates as ordinals, with ``x_labels`` naming some of them).

    Args:
        series: The lines, drawn in palette order.
        title: Accessible label of the chart.
        x_labels: Tick labels at x positions; numeric ticks when omitted.
        y_range: Fixed y axis; fitted to the data when omitted.
        fmt: Format of y ticks and hover values.
        diagonal: Draw y = x (the reliability plot's perfect calibration).
        markers: Draw a dot per point (with its value on hover).
    """
    pts = [(x, y) for s in series for x, y in s.points if y is not None]
    if not pts:
        return empty(f"{title}: no data")
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    lo, hi = y_range if y_range is not None else (min(ys), max(ys))
    if y_range is None and lo == hi:
        lo, hi = lo - 1, hi + 1
    y_ticks = _nice_ticks(lo, hi, 4)
    lo, hi = y_ticks[0], y_ticks[-1]
    x0, x1 = (lo, hi) if diagonal else (min(xs), max(xs))
    frame = _Frame(x0, x1, lo, hi)
    out = _open(title) + _y_axis(frame, y_ticks, fmt)
    ticks = x_labels or {t: format(t, "g") for t in _nice_ticks(x0, x1, 5) if x0 <= t <= x1}
    for x, label in ticks.items():
        out.append(
            f'<text class="tick" x="{_fmt(frame.x(x))}" y="{HEIGHT - PAD_BOTTOM + 14}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    if diagonal:
        out.append(
            f'<line class="diagonal" x1="{_fmt(frame.x(lo))}" y1="{_fmt(frame.y(lo))}" '
            f'x2="{_fmt(frame.x(hi))}" y2="{_fmt(frame.y(hi))}"/>'
        )
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        path, pen = [], "M"
        for x, y in s.points:
            if y is None:
                pen = "M"
                continue
            path.append(f"{pen}{_fmt(frame.x(x))},{_fmt(frame.y(y))}")
            pen = "L"
        if path:
            out.append(
                f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        if markers:
            for x, y in s.points:
                if y is not None:
                    out.append(
                        f'<circle cx="{_fmt(frame.x(x))}" cy="{_fmt(frame.y(y))}" r="3" '
                        f'fill="{colour}"><title>{escape(s.name)}: {escape(format(y, fmt))}'
                        f"</title></circle>"
                    )
    out += _legend([s.name for s in series])
    out.append("</svg>")
    return Markup("".join(out))
