"""The offline world (docs/architecture.md section 1): synthetic weather, forecasts, CLI reports, a
crowd-quoted Kalshi-style market and a paper broker. Start from
:func:`weather_trader.sim.world.build_sim`.
"""
