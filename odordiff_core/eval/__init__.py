"""Evaluation: measures the models and prints the figures of the model cards (never imported at runtime)."""
