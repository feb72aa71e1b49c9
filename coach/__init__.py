"""coach: a home neuromuscular-retraining coach for facial synkinesis."""

__version__ = "0.1.0"
