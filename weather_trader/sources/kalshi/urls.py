"""Kalshi's hosts: the REST bases and WebSocket URLs of production and the demo.

A leaf module, so reading a URL does not import the clients.
"""

from __future__ import annotations

PROD_BASE_URL = "https://api.elections.kalshi.com/trade-api/v2"
DEMO_BASE_URL = "https://demo-api.kalshi.co/trade-api/v2"
PROD_WS_URL = "wss://api.elections.kalshi.com/trade-api/ws/v2"
DEMO_WS_URL = "wss://demo-api.kalshi.co/trade-api/ws/v2"
