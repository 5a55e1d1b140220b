"""AppTest runs the real app in this process: the generator is the tiny committed checkpoint (fast on CPU)."""
from __future__ import annotations

from pathlib import Path

import pytest

TINY_GENERATOR = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"


@pytest.fixture(autouse=True, scope="session")
def tiny_generator():
    """Points the app at tests/data/tiny_generator (app_ui.resources reads ODORDIFF_GENERATOR_DIR)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ODORDIFF_GENERATOR_DIR", str(TINY_GENERATOR))
    yield TINY_GENERATOR
    mp.undo()
