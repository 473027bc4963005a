"""The backtest configuration: everything a replay varies, in one JSON-able pydantic model.

A config names the cities and climate days replayed, the decision instants, the strategy and its
parameters, the predictor whose probabilities are traded on, the bankroll and risk limits, the
fill assumptions (slippage, latency, the spread assumed where only trades were recorded) and the
fee schedule of each series. Two runs with equal configs on equal inputs give equal results.

Defaults of the money and risk settings equal the production defaults of
``weather_trader.settings.Settings`` (a test checks it); they are repeated here, not imported,
so this package stays pure (no environment read when a config is built).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from weather_trader.core.fees import FEE_TYPES, SeriesFees
from weather_trader.core.instants import DecisionInstant
from weather_trader.core.trading import RiskLimits

Exit = Literal["hold", "sell_back"]


class ConfigError(ValueError):
    """Raised for a config that cannot be read or does not validate (the message says why)."""


class FeeConfig(BaseModel):
    """One series' Kalshi fee schedule (``GET /series``: ``fee_type``, ``fee_multiplier``).

    Taker fee per fill: ceil to the cent of ``0.07 * C * P * (1 - P) * multiplier``; maker fee
    ``0.0175 * ...`` only where ``fee_type`` is ``quadratic_with_maker_fees`` (weather series
    currently charge no maker fee). See :mod:`weather_trader.core.fees`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fee_type: str = "quadratic"
    fee_multiplier: Decimal = Field(default=Decimal(1), ge=0)

    @field_validator("fee_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in FEE_TYPES:
            raise ValueError(f"fee_type must be one of {FEE_TYPES}, got {value!r}")
        return value

    def series_fees(self) -> SeriesFees:
        """The core fee object (``maker_fees`` follows the fee type)."""
        return SeriesFees.from_series(self.fee_type, self.fee_multiplier)


class RiskConfig(BaseModel):
    """Risk limits of the simulated account (as production's, plus cooldown and drawdown kill).

    Attributes:
        max_order_cost: Largest cost + fee of one order (dollars).
        max_event_exposure: Largest money at risk in one event.
        max_total_exposure: Largest money at risk overall (resting orders included).
        daily_loss_limit: No new orders once the UTC day's realised P&L is at or below minus this.
        max_contracts_per_order: Largest count of one order.
        kill_switch: Nothing is traded at all.
        cooldown_after_losses: After this many consecutive losing settled positions, no new
            orders for ``cooldown_hours`` (None: no cooldown).
        cooldown_hours: Length of that pause.
        kill_drawdown: The kill switch engages for the rest of the run once equity falls this
            many dollars below its peak (None: never).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_order_cost: Decimal = Field(default=Decimal("25"), gt=0)
    max_event_exposure: Decimal = Field(default=Decimal("50"), gt=0)
    max_total_exposure: Decimal = Field(default=Decimal("400"), gt=0)
    daily_loss_limit: Decimal = Field(default=Decimal("100"), gt=0)
    max_contracts_per_order: int = Field(default=100, ge=1)
    kill_switch: bool = False
    cooldown_after_losses: int | None = Field(default=None, ge=1)
    cooldown_hours: float = Field(default=24.0, gt=0)
    kill_drawdown: Decimal | None = Field(default=None, gt=0)


class BacktestConfig(BaseModel):
    """Everything a backtest varies (JSON round-trips through :meth:`to_json`/:meth:`from_json`).

    Attributes:
        cities: City codes replayed (``["CHI", "NYC"]``).
        start, end: First and last climate day replayed (inclusive; None: open).
        instants: Decision instants, local standard time relative to the climate day D.
        kinds: ``high`` and/or ``low`` markets.
        strategy: Registered strategy name (``taker``, ``maker``, ``longshot``, or your own).
        strategy_params: That strategy's parameters (validated by the strategy's params model).
        predictor: Whose probabilities are traded on: a predictor column of the walk-forward
            (``ours``, ``weather``, ``market``, a component name).
        bankroll: Starting capital in dollars.
        compound: Kelly sizing applies to bankroll plus realised P&L (else to the start bankroll).
        kelly_fraction: Fractional-Kelly multiplier.
        min_edge: Smallest EV per contract after fees worth trading (dollars).
        risk: Risk limits.
        slippage_cents: Whole cents added against us to every taker fill's price.
        latency_seconds: An order reaches the exchange this long after its decision instant;
            only prints (and quotes) after that can fill it.
        taker_window_seconds: Where only trades were recorded, a taker order takes liquidity
            printed at most this long after it arrives (production sends immediate-or-cancel
            orders; a short window is the closest a tape can say); None: until it expires.
        half_spread_cents: Where no quote was recorded, the book assumed at a decision is the
            reference price (volume-weighted trades of the last ``price_window_minutes``, else the
            last trade) minus/plus this many cents.
        price_window_minutes: Look-back of that reference price.
        quote_max_age_seconds: A recorded quote older than this at the decision is not used.
        exit: ``hold`` to settlement, or ``sell_back`` when the market crosses fair value.
        exit_margin: Sell back once the price we can sell at is this far above our probability.
        fees: Fee schedule per series ticker (``KXHIGHNY``); series not listed use
            ``default_fees``.
        default_fees: The fee schedule of every other series (weather: taker only).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cities: list[str] = Field(default_factory=lambda: ["CHI", "NYC"], min_length=1)
    start: date | None = None
    end: date | None = None
    instants: list[str] = Field(default_factory=lambda: ["D-1 16:00", "D 08:00"], min_length=1)
    kinds: list[Literal["high", "low"]] = Field(default_factory=lambda: ["high"], min_length=1)
    strategy: str = "taker"
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    predictor: str = "ours"
    bankroll: Decimal = Field(default=Decimal("1000"), gt=0)
    compound: bool = True
    kelly_fraction: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    min_edge: Decimal = Field(default=Decimal("0.03"), ge=0)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    slippage_cents: int = Field(default=0, ge=0, le=98)
    latency_seconds: float = Field(default=1.0, ge=0)
    taker_window_seconds: float | None = Field(default=None, gt=0)
    half_spread_cents: int = Field(default=1, ge=0, le=49)
    price_window_minutes: float = Field(default=60.0, gt=0)
    quote_max_age_seconds: float = Field(default=600.0, gt=0)
    exit: Exit = "hold"
    exit_margin: Decimal = Field(default=Decimal("0.02"), ge=0)
    fees: dict[str, FeeConfig] = Field(default_factory=dict)
    default_fees: FeeConfig = Field(default_factory=FeeConfig)

    @field_validator("cities")
    @classmethod
    def _upper_unique(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for code in value:
            code = code.strip().upper()
            if code and code not in out:
                out.append(code)
        if not out:
            raise ValueError("cities must name at least one city")
        return out

    @field_validator("instants")
    @classmethod
    def _parse_instants(cls, value: list[str]) -> list[str]:
        labels: list[str] = []
        for text in value:
            label = DecisionInstant.parse(text).label  # ValueError names the expected form
            if label not in labels:
                labels.append(label)
        return labels

    @model_validator(mode="after")
    def _ordered_range(self) -> BacktestConfig:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self

    # -- derived views ------------------------------------------------------------------------

    def decision_instants(self) -> list[DecisionInstant]:
        """The parsed instants, in config order."""
        return [DecisionInstant.parse(text) for text in self.instants]

    def limits(self) -> RiskLimits:
        """Production's risk limits for ``core.trading.decide_event``."""
        return RiskLimits(
            max_order_cost=self.risk.max_order_cost,
            max_event_exposure=self.risk.max_event_exposure,
            max_total_exposure=self.risk.max_total_exposure,
            daily_loss_limit=self.risk.daily_loss_limit,
            kelly_fraction=float(self.kelly_fraction),
            min_edge=self.min_edge,
            kill_switch=self.risk.kill_switch,
            max_contracts_per_order=self.risk.max_contracts_per_order,
        )

    def fees_for(self, series_ticker: str | None) -> SeriesFees:
        """The fee schedule of ``series_ticker`` (``default_fees`` when not listed)."""
        chosen = self.fees.get(series_ticker or "", self.default_fees)
        return chosen.series_fees()

    def with_changes(self, **changes: Any) -> BacktestConfig:
        """A validated copy with ``changes`` (e.g. a parameter-grid point)."""
        return BacktestConfig.model_validate(self.model_dump() | changes)

    # -- JSON ---------------------------------------------------------------------------------

    def to_jsonable(self) -> dict[str, Any]:
        """Plain JSON values (money as decimal strings, dates ISO)."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        """The config as JSON text."""
        return json.dumps(self.to_jsonable(), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BacktestConfig:
        """Parse JSON text.

        Raises:
            ConfigError: On invalid JSON or values (the message names the field).
        """
        try:
            return cls.model_validate_json(text)
        except ValueError as exc:
            raise ConfigError(f"invalid backtest config: {exc}") from None
