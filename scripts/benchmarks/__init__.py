"""`make bench` sections, one module per kind of figure; `scripts/bench.py` runs them."""
