"""Real core results (not test stand-ins) survive a trip through Redis unchanged: a safety report and a
whole generation result, each rebuilt by its own `from_json`."""
from __future__ import annotations

import pytest
from _redis_helpers import RedisServer

from odordiff_core.cache import ResultCache, cached_call, request_key
from odordiff_core.chem import canonical_smiles, parse_smiles
from odordiff_core.safety import SafetyReport, load_screen

pytestmark = pytest.mark.redis


def test_a_real_safety_report_round_trips_through_redis(redis_server: RedisServer, settings) -> None:
    screen = load_screen(settings)
    mol = parse_smiles("CC(C)=CCCC(C)=CC=O")  # citral: several flags, long reasons (compressed value)
    req = {"smiles": canonical_smiles(mol)}
    calls = []

    def compute() -> dict:
        calls.append(1)
        return screen.screen(mol).to_json()

    first = cached_call(ResultCache(redis_server.url), "screen", screen.version, req, compute)
    second = cached_call(ResultCache(redis_server.url), "screen", screen.version, req, compute)  # another client
    assert len(calls) == 1
    assert redis_server.client().get(request_key("screen", screen.version, req))[:1] == b"Z"
    rebuilt = SafetyReport.from_json(second)
    assert rebuilt == screen.screen(mol)
    assert second == first


def test_a_real_generation_result_round_trips_through_redis(redis_server: RedisServer, settings) -> None:
    from dataclasses import replace
    from pathlib import Path

    from odordiff_core.pipeline import GenerateRequest, GenerationResult, load_pipeline

    tiny = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"
    pipe = load_pipeline(replace(settings, generator_dir=tiny))
    req = GenerateRequest(prompt="a clean citrus top note", n=4, seed=0)
    calls = []

    def compute() -> dict:
        calls.append(1)
        return pipe.generate(req).to_json()

    cached_call(ResultCache(redis_server.url), "generate", pipe.model_version, req.to_json(), compute)
    second = cached_call(ResultCache(redis_server.url), "generate", pipe.model_version, req.to_json(), compute)
    assert len(calls) == 1
    assert GenerationResult.from_json(second) == pipe.generate(req)
