"""Real core results (not test stand-ins) survive a trip through Redis unchanged: a safety report and a
whole generation result, each rebuilt by its own `from_json`; poisoned and tampered generation results
are misses that are recomputed and overwritten, never shown."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from _redis_helpers import RedisServer

from odordiff_core.cache import ResultCache, cached_call, encode_value, request_key, seal
from odordiff_core.chem import canonical_smiles, parse_smiles
from odordiff_core.safety import SafetyReport, load_screen
from odordiff_core.types import Verdict

pytestmark = pytest.mark.redis

SECRET = "test-secret-shared-by-the-replicas"
TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"
AETT = "CCC1=CC2=C(C=C1C(=O)C)C(CCC2(C)C)(C)C"  # IFRA-prohibited (neurotoxic): the screen blocks it


@pytest.fixture(scope="module")
def pipe(settings):
    from odordiff_core.pipeline import load_pipeline

    return load_pipeline(replace(settings, generator_dir=TINY))


@pytest.fixture(scope="module")
def generated(pipe):
    """(request, its fresh GenerationResult): computed once for the module (generation is the slow part)."""
    from odordiff_core.pipeline import GenerateRequest

    req = GenerateRequest(prompt="a clean citrus top note", n=4, seed=0)
    return req, pipe.generate(req)


def test_a_real_safety_report_round_trips_through_redis(redis_server: RedisServer, settings) -> None:
    screen = load_screen(settings)
    mol = parse_smiles("CC(C)=CCCC(C)=CC=O")  # citral: several flags, long reasons (compressed value)
    req = {"smiles": canonical_smiles(mol)}
    calls = []

    def compute() -> dict:
        calls.append(1)
        return screen.screen(mol).to_json()

    first = cached_call(ResultCache(redis_server.url, secret=SECRET), "screen", screen.version, req, compute,
                        decode=SafetyReport.from_json)
    second = cached_call(ResultCache(redis_server.url, secret=SECRET), "screen", screen.version, req, compute,
                         decode=SafetyReport.from_json)  # another client
    assert len(calls) == 1
    assert redis_server.client().get(request_key("screen", screen.version, req))[32:33] == b"Z"
    assert second == first == screen.screen(mol)


def test_a_real_generation_result_round_trips_through_redis(redis_server: RedisServer, pipe, generated) -> None:
    from odordiff_core.pipeline import GenerationResult

    req, real = generated
    calls = []

    def compute() -> dict:
        calls.append(1)
        return pipe.generate(req).to_json()

    cached_call(ResultCache(redis_server.url, secret=SECRET), "generate", pipe.model_version, req.to_json(), compute,
                decode=GenerationResult.from_json)
    second = cached_call(ResultCache(redis_server.url, secret=SECRET), "generate", pipe.model_version, req.to_json(),
                         compute, decode=GenerationResult.from_json)
    assert len(calls) == 1
    assert second == real


def test_the_model_version_names_every_model_and_table_that_shapes_a_result(pipe) -> None:
    parts = pipe.model_version.split("|")
    assert parts[:4] == [pipe.generator.version, pipe.reporter.predictor.version, pipe.interpreter.version,
                         pipe.reporter.screen.version]
    request_key("generate", pipe.model_version, {})  # a valid key part: no ':' or whitespace


@pytest.mark.parametrize("poison", ["J{}", "candidates-not-a-list", "candidate-not-an-object", "bad-verdict"])
def test_a_poisoned_but_authentic_generation_result_is_a_miss_recomputed_and_overwritten(
    redis_server: RedisServer, pipe, generated, poison: str
) -> None:
    # What a buggy replica holding the secret could write: before issue 14 each raised KeyError / TypeError
    # from GenerationResult.from_json on every identical request, and was never overwritten.
    from odordiff_core.pipeline import GenerationResult

    req, real = generated
    key = request_key("generate", pipe.model_version, req.to_json())
    good = real.to_json()
    value = {"J{}": {},
             "candidates-not-a-list": {**good, "candidates": 5},
             "candidate-not-an-object": {**good, "candidates": [1]},
             "bad-verdict": {**good, "candidates": [{**good["candidates"][0], "safety": {
                 "verdict": "fine", "flags": [], "version": "x"}}]}}[poison]
    redis_server.client().set(key, seal(SECRET.encode(), key, encode_value(value)))
    cache = ResultCache(redis_server.url, secret=SECRET)
    calls = []

    def compute() -> dict:
        calls.append(1)
        return pipe.generate(req).to_json()

    got = cached_call(cache, "generate", pipe.model_version, req.to_json(), compute, decode=GenerationResult.from_json)
    assert got == real and calls == [1]
    again = cached_call(cache, "generate", pipe.model_version, req.to_json(), compute, decode=GenerationResult.from_json)
    assert again == real and calls == [1]  # overwritten: the repeat is a hit


@pytest.mark.parametrize("forge", ["no-tag", "another-secret"])
def test_a_tampered_result_never_shows_a_prohibited_molecule_as_no_known_issue(
    redis_server: RedisServer, pipe, generated, forge: str
) -> None:
    from odordiff_core.pipeline import GenerationResult

    aett = canonical_smiles(parse_smiles(AETT))
    assert pipe.reporter.screen.screen(parse_smiles(aett)).verdict == Verdict.BLOCKED
    req, real = generated
    key = request_key("generate", pipe.model_version, req.to_json())
    good = real.to_json()
    assert good["candidates"], "the tiny generator returned no candidate to tamper with"
    first = good["candidates"][0]
    forged = {**good, "candidates": [{**first, "smiles": aett, "safety": {
        "verdict": str(Verdict.NO_KNOWN_ISSUE), "flags": [], "version": pipe.reporter.screen.version}},
        *good["candidates"][1:]]}
    GenerationResult.from_json(forged)  # well-formed: only the MAC can tell
    payload = encode_value(forged)
    redis_server.client().set(key, payload if forge == "no-tag" else seal(b"someone-else", key, payload))

    got = cached_call(ResultCache(redis_server.url, secret=SECRET), "generate", pipe.model_version, req.to_json(),
                      lambda: pipe.generate(req).to_json(), decode=GenerationResult.from_json)
    assert not any(c.smiles == aett and c.safety.verdict == Verdict.NO_KNOWN_ISSUE for c in got.candidates)
    assert got == real  # recomputed by the pipeline, which blocks AETT
