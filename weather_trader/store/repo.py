"""The repository API of the domain database: one import point for every function.

Every function takes a :class:`~sqlalchemy.orm.Session` and works inside the caller's
transaction (use :func:`weather_trader.store.db.session_scope`); ``replace_*`` functions
delete-then-insert one partition so re-runs never duplicate.
"""

from __future__ import annotations

from weather_trader.store.repo_markets import (
    append_trades,
    bracket_probabilities_for,
    distribution_for,
    market_snapshots,
    replace_bracket_probabilities,
    replace_distribution,
    replace_markets,
    set_market_result,
    trades_for,
)
from weather_trader.store.repo_meta import (
    append_event,
    events_after,
    get_setting,
    latest_model_version,
    model_versions,
    save_model_version,
    set_setting,
)
from weather_trader.store.repo_metrics import (
    ModelStatus,
    ProviderFetches,
    TradingCounts,
    model_status,
    trading_counts,
    weather_fetches,
)
from weather_trader.store.repo_scores import city_summary, event_scores, mean_briers
from weather_trader.store.repo_status import (
    count_events,
    data_freshness,
    head_event_id,
    latest_decisions,
)
from weather_trader.store.repo_trading import (
    decisions_for,
    orders_for,
    pnl_summary,
    position_lots,
    positions_for,
    record_fills,
    record_order,
    replace_decisions,
    replace_settlements,
)
from weather_trader.store.repo_weather import (
    append_forecast_frame,
    append_forecasts,
    climate_reports_for,
    final_report,
    forecasts_as_of,
    observations_for,
    raw_payloads,
    replace_observations,
    store_raw_payload,
    training_history,
    upsert_climate_reports,
)

__all__ = [
    "ModelStatus",
    "ProviderFetches",
    "TradingCounts",
    "append_event",
    "append_forecast_frame",
    "append_forecasts",
    "append_trades",
    "bracket_probabilities_for",
    "city_summary",
    "climate_reports_for",
    "count_events",
    "data_freshness",
    "decisions_for",
    "distribution_for",
    "event_scores",
    "events_after",
    "final_report",
    "forecasts_as_of",
    "get_setting",
    "head_event_id",
    "latest_decisions",
    "latest_model_version",
    "market_snapshots",
    "mean_briers",
    "model_status",
    "model_versions",
    "observations_for",
    "orders_for",
    "pnl_summary",
    "position_lots",
    "positions_for",
    "raw_payloads",
    "record_fills",
    "record_order",
    "replace_bracket_probabilities",
    "replace_decisions",
    "replace_distribution",
    "replace_markets",
    "replace_observations",
    "replace_settlements",
    "save_model_version",
    "set_market_result",
    "set_setting",
    "store_raw_payload",
    "trades_for",
    "trading_counts",
    "training_history",
    "upsert_climate_reports",
    "weather_fetches",
]
