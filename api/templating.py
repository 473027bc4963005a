"""The Jinja2 environment of the dashboard pages and its filters (money, ages, probabilities)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def money(value: Decimal | float | None) -> str:
    """``-12.5`` -> ``-$12.50``; None -> ``-``."""
    if value is None:
        return "-"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def signed_money(value: Decimal | float | None) -> str:
    """``12.5`` -> ``+$12.50`` (P&L reads better signed)."""
    if value is None:
        return "-"
    return ("+" if value > 0 else "") + money(value)


def age(seconds: float | None) -> str:
    """Seconds -> a short human age (``45s``, ``12m``, ``3.2h``, ``2.0d``)."""
    if seconds is None:
        return "never"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def prob(value: float | None) -> str:
    """``0.4712`` -> ``0.47``; None -> ``-``."""
    return "-" if value is None else f"{value:.2f}"


def when(value: datetime | None) -> str:
    """An aware datetime as ``YYYY-MM-DD HH:MM`` UTC; None -> ``-``."""
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


templates.env.filters.update(money=money, signed_money=signed_money, age=age, prob=prob, when=when)
