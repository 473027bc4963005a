"""The offline world (DESIGN.md section 5): synthetic weather and forecasts, CLI reports, a
crowd-quoted Kalshi-style market and a paper broker. Start from
:func:`weather_trader.sim.world.build_sim`.
"""
