"""Kalshi markets and our probabilities for their brackets."""
