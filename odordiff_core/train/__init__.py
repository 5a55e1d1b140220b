"""Training: fits the models the runtime loads (the CLI and scripts import it; the runtime never does)."""
