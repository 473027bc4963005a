"""The temperature model and the predictive distributions it makes."""
