"""Shared fixtures. Heavy models are loaded once per test session."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def settings():
    from odordiff_core.config import Settings

    return Settings.from_env()


@pytest.fixture(scope="session")
def predictor(settings):
    from odordiff_core.odor import load_predictor

    return load_predictor(settings)
