"""Weather observations, forecasts and climate reports."""
