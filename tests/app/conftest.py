"""AppTest runs the real app in this process: the generator is the tiny committed checkpoint (fast on CPU)."""
from __future__ import annotations

from pathlib import Path

import pytest

TINY_GENERATOR = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"


@pytest.fixture(autouse=True, scope="module")
def tiny_generator():
    """Points the app at tests/data/tiny_generator (app_ui.resources reads ODORDIFF_GENERATOR_DIR) for each module
    here, and back after it: session scope kept the variable set for every later test of the run (the unit tests'
    shipped-model CLI runs got the tiny generator)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ODORDIFF_GENERATOR_DIR", str(TINY_GENERATOR))
    yield TINY_GENERATOR
    mp.undo()


@pytest.fixture(autouse=True)
def work_dir(tmp_path, monkeypatch):
    """Gives each test an empty saved-work database (SQLite in a temp ODORDIFF_WORK_DIR), so no test sees another's
    shortlist and none writes to the user's own ~/.local/share/odordiff."""
    from app_ui import resources

    monkeypatch.setenv("ODORDIFF_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.delenv("ODORDIFF_DATABASE_URL", raising=False)
    resources.get_settings.clear()
    resources.get_store.clear()
    yield tmp_path / "work"
    resources.get_settings.clear()
    resources.get_store.clear()
