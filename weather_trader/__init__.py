"""weather-trader: trades Kalshi's daily temperature markets."""
