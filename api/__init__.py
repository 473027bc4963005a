"""The FastAPI sidecar: dashboard, JSON overview, live WebSocket feed and Prometheus metrics.

It reads the domain database (``weather_trader.store``) and never imports the Dagster
definitions.
"""

from __future__ import annotations

from api.app import create_app
from api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
