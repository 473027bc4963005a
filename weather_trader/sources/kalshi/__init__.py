"""Kalshi's 2026 trade API: request signing, models, REST and WebSocket clients."""
