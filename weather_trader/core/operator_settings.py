"""The settings an operator changes at run time from the cockpit, validated in one place.

The environment (``weather_trader.settings``) gives the defaults; values stored in the
database (``store/repo_settings.py``) override them, field by field, from the next Dagster run
on. This module is pure: it validates, merges and diffs; it never reads or writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from weather_trader.core.cities import CITIES, get_city


class OperatorSettingsError(ValueError):
    """Stored or submitted operator settings are invalid (the message names the field)."""


_INSTANT = re.compile(r"^D(?P<offset>[+-][0-9])? (?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})$")


def _instant(value: str) -> str:
    """``"D-1 16:00"``: a local-standard-time instant relative to the climate day D."""
    match = _INSTANT.match(value)
    if not match or int(match["hour"]) > 23 or int(match["minute"]) > 59:
        raise ValueError(f"{value!r} is not an instant like 'D-1 16:00' or 'D 08:00'")
    if int(match["offset"] or 0) not in (-2, -1, 0):
        raise ValueError(f"{value!r}: trade from two days before the climate day to the day")
    return value


def _cities(values: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(values) - set(CITIES))
    if unknown:
        raise ValueError(f"unknown cities {unknown}; known: {sorted(CITIES)}")
    return tuple(sorted(set(values)))


def _webhook(value: str | None) -> str | None:
    """An ``https://`` URL, or ``http://`` to a loopback host (tests, a local relay)."""
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    loopback = host in ("localhost", "127.0.0.1", "::1")
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise ValueError("the webhook must be an https:// URL (http:// only on loopback)")
    return value


def _canonical(value: Decimal) -> Decimal:
    """``0.050`` -> ``0.05``, ``25.00`` -> ``25``: one spelling per value, so an unchanged
    value never shows as a change."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


Money = Annotated[
    Decimal,
    Field(gt=0, le=Decimal("1000000"), max_digits=12, decimal_places=4),
    AfterValidator(_canonical),
]
KellyFraction = Annotated[
    Decimal, Field(gt=0, le=1, max_digits=6, decimal_places=4), AfterValidator(_canonical)
]
MinEdge = Annotated[
    Decimal, Field(ge=0, lt=1, max_digits=6, decimal_places=4), AfterValidator(_canonical)
]
Cities = Annotated[tuple[str, ...], AfterValidator(_cities)]
Instants = Annotated[tuple[Annotated[str, AfterValidator(_instant)], ...], Field(max_length=24)]
Webhook = Annotated[str | None, Field(max_length=2000), AfterValidator(_webhook)]

SECRET_FIELDS: frozenset[str] = frozenset({"notification_webhook"})
"""Fields holding a credential (a Slack webhook URL is one): shown and audited redacted."""


class OperatorSettings(BaseModel):
    """Everything the operator may change at run time.

    Attributes:
        max_order_cost: Largest cost + fee of one order (dollars).
        max_event_exposure: Largest money at risk in one event.
        max_total_exposure: Largest money at risk overall.
        daily_loss_limit: Trading halts once today's realised P&L is at or below minus this.
        kelly_fraction: Fractional-Kelly multiplier in (0, 1].
        min_edge: Smallest EV per contract (after fees) worth trading, dollars.
        kill_switch: When on, no decision is taken and no order is sent.
        manual_approval: When on, decisions wait in the approval queue for a person.
        cities_enabled: Cities the trading sensor trades (the others are skipped).
        trading_instants: Local-standard-time instants relative to the climate day
            (``"D-1 16:00"``) at which to trade; empty means whenever inputs change.
        notification_webhook: Slack-compatible webhook URL for notifications; None is off.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_order_cost: Money
    max_event_exposure: Money
    max_total_exposure: Money
    daily_loss_limit: Money
    kelly_fraction: KellyFraction
    min_edge: MinEdge
    kill_switch: bool
    manual_approval: bool = False
    cities_enabled: Cities = tuple(sorted(CITIES))
    trading_instants: Instants = ()
    notification_webhook: Webhook = None

    @classmethod
    def defaults_from(cls, settings: Any) -> OperatorSettings:
        """The defaults: the same-named attributes of ``settings`` (the environment's values).

        ``settings`` is a ``weather_trader.settings.Settings`` or anything with its trading
        fields; fields it lacks keep this model's defaults.
        """
        values = {
            name: getattr(settings, name) for name in cls.model_fields if hasattr(settings, name)
        }
        return cls.model_validate(values)

    def public(self) -> dict[str, Any]:
        """The settings as JSON, credentials redacted (what a response or an audit shows)."""
        data = self.model_dump(mode="json")
        for name in SECRET_FIELDS:
            data[name] = redact(name, data[name])
        return data

    def limits_values(self) -> dict[str, Any]:
        """The fields :class:`weather_trader.core.trading.RiskLimits` takes."""
        return {
            "max_order_cost": self.max_order_cost,
            "max_event_exposure": self.max_event_exposure,
            "max_total_exposure": self.max_total_exposure,
            "daily_loss_limit": self.daily_loss_limit,
            "kelly_fraction": float(self.kelly_fraction),
            "min_edge": self.min_edge,
            "kill_switch": self.kill_switch,
        }


class SettingsPatch(BaseModel):
    """A change to some operator settings: only the fields given change (PUT body)."""

    model_config = ConfigDict(extra="forbid")

    max_order_cost: Money | None = None
    max_event_exposure: Money | None = None
    max_total_exposure: Money | None = None
    daily_loss_limit: Money | None = None
    kelly_fraction: KellyFraction | None = None
    min_edge: MinEdge | None = None
    kill_switch: bool | None = None
    manual_approval: bool | None = None
    cities_enabled: Cities | None = None
    trading_instants: Instants | None = None
    notification_webhook: Webhook = Field(
        default=None, description="an https URL; an empty string turns notifications off"
    )


def redact(field: str, value: Any) -> Any:
    """``value`` as shown to people: a credential becomes its scheme and host only."""
    if field not in SECRET_FIELDS or value is None:
        return value
    parts = urlsplit(str(value))
    return f"{parts.scheme}://{parts.hostname}/…"


def _explain(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


def merge(defaults: OperatorSettings, stored: Mapping[str, Any]) -> OperatorSettings:
    """The effective settings: ``stored`` values (JSON) over ``defaults``.

    Stored keys that are no longer fields are ignored (a field removed in a later version).

    Raises:
        OperatorSettingsError: If a stored value is invalid (naming the field).
    """
    known = {k: v for k, v in stored.items() if k in OperatorSettings.model_fields}
    try:
        return OperatorSettings.model_validate({**defaults.model_dump(), **known})
    except ValidationError as exc:
        raise OperatorSettingsError(f"invalid stored settings: {_explain(exc)}") from None


def apply_patch(
    current: OperatorSettings, patch: SettingsPatch
) -> tuple[OperatorSettings, dict[str, tuple[Any, Any]]]:
    """Apply ``patch`` to ``current``; return the new settings and what changed.

    Returns:
        The new settings and, per changed field, its (old, new) JSON values.

    Raises:
        OperatorSettingsError: If the result is invalid.
    """
    given = patch.model_dump(exclude_unset=True)
    try:
        new = OperatorSettings.model_validate({**current.model_dump(), **given})
    except ValidationError as exc:
        raise OperatorSettingsError(_explain(exc)) from None
    old_json, new_json = current.model_dump(mode="json"), new.model_dump(mode="json")
    changed = {
        name: (old_json[name], new_json[name]) for name in given if old_json[name] != new_json[name]
    }
    return new, changed


def instant_of(spec: str, city: str, day: date) -> datetime:
    """The UTC instant of ``spec`` (``"D-1 16:00"``) for ``city``'s climate day ``day``."""
    match = _INSTANT.match(_instant(spec))
    assert match is not None
    local = datetime.combine(
        day + timedelta(days=int(match["offset"] or 0)),
        time(int(match["hour"]), int(match["minute"])),
        tzinfo=get_city(city).standard_tz,
    )
    return local.astimezone(UTC)


def latest_instant(
    instants: tuple[str, ...], city: str, day: date, now: datetime
) -> datetime | None:
    """The latest of ``instants`` at or before ``now`` for the city-day, None before the first."""
    passed = [t for t in (instant_of(s, city, day) for s in instants) if t <= now]
    return max(passed) if passed else None
