"""The REST routes of the local exchange, one module per resource, each an ``APIRouter``.

:func:`~weather_trader.sim.exchange.app.create_exchange_app` mounts them (in this order):
:mod:`.exchange_status` and :mod:`.markets` (public market data), :mod:`.portfolio` (signed
reads, and the retired V1 order writes) and :mod:`.orders` (signed V2 order writes) under
``/trade-api/v2``; :mod:`.sim_admin` under ``/sim``.
"""
