"""Trade decisions, orders, settlements and scores."""
