"""A local, Kalshi-compatible exchange over the simulated market (docs/architecture.md section 3).

Any Kalshi client works against it unchanged: REST under ``/trade-api/v2`` (series, events,
markets, order books, trades; signed ``/portfolio`` routes with V2 orders at
``/portfolio/events/orders``), the WebSocket at ``/trade-api/ws/v2`` and Kalshi's signed-request
auth (keys registered with ``weather-trader exchange add-key`` / ``create-key``). Books are the
independent crowd of :class:`~weather_trader.sim.market.SimMarket` plus resting user orders;
:mod:`.engine` matches, charges fees, tracks positions and settles from the sim's final
climate report. State persists in ``$WEATHER_TRADER_HOME/exchange/``.

Each operation is atomic: its records are stored in one transaction before it counts, and a
failed one is rolled back in memory. Numbers and times are bounded before any arithmetic (400
naming the field); listings that grow page with keyset cursors.

Sim-only extensions (not Kalshi's API, outside ``/trade-api``), answered to loopback clients
sending a signed request (as for ``/portfolio``) only:

* ``GET /sim/clock`` -> ``{"now": ISO, "simulated": bool}``.
* ``PUT /sim/clock`` with ``{"now": "2026-11-27T15:00:00-05:00"}`` (an offset is required;
  years 2000-2099)
  moves the exchange clock forward or to any instant, then processes resting-order crossings
  (minute by minute), expirations, closes, listings and settlements up to it. Moving back
  undoes nothing. Until the first move the clock is wall time.
* ``DELETE /sim/clock`` returns the exchange to wall time (live runs after a replay).
* ``POST /sim/ws/seq-gap`` (test hook) makes the next ``orderbook_delta``/``snapshot`` message
  of every order-book subscription skip one ``seq``.

Start with :meth:`ExchangeState.create`, :func:`create_exchange_app` and
:func:`run_exchange_in_thread`.
"""

from weather_trader.sim.exchange.app import ExchangeState, create_exchange_app
from weather_trader.sim.exchange.clock import ExchangeClock
from weather_trader.sim.exchange.engine import ExchangeEngine
from weather_trader.sim.exchange.keys import KeyStore, create_key
from weather_trader.sim.exchange.server import (
    run_exchange_in_thread,
    serve,
    throwaway_exchange_api,
)

__all__ = [
    "ExchangeClock",
    "ExchangeEngine",
    "ExchangeState",
    "KeyStore",
    "create_exchange_app",
    "create_key",
    "run_exchange_in_thread",
    "serve",
    "throwaway_exchange_api",
]
