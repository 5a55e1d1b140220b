"""GenerateRequest refuses bad fields at construction (InvalidInput naming the field), never another exception,
and never builds a request that would silently return nonsense (NaN weights, an inverted MW range, "no" as True)."""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odordiff_core.config import GENERATION
from odordiff_core.errors import InvalidInput
from odordiff_core.pipeline import SEED_MAX, GenerateRequest

FUZZ = settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))

_anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                      st.lists(st.floats(), max_size=3), st.tuples(st.floats(), st.floats()),
                      st.dictionaries(st.text(max_size=4), st.floats(), max_size=3))
_fields = {
    "prompt": st.one_of(st.text(max_size=20), _anything),
    "n": st.one_of(st.integers(-3, 70), st.integers(), _anything),
    "seed": st.one_of(st.integers(-5, 5), st.integers(2**63 - 3, 2**63 + 3), st.integers(), _anything),
    "guidance": st.one_of(st.floats(), st.integers(-2, 12), _anything),
    "weights": st.one_of(st.dictionaries(st.text(max_size=6), st.one_of(st.floats(), st.integers(), st.text(max_size=2)),
                                         max_size=3), _anything),
    "note": st.one_of(st.sampled_from(["top", "heart", "base", "middle", ""]), _anything),
    "mw_range": st.one_of(st.tuples(st.floats(), st.floats()), st.lists(st.floats(), max_size=3), _anything),
    "hide_caution": st.one_of(st.booleans(), st.sampled_from(["no", "yes", 0, 1]), _anything),
    "keep_scaffold_of": st.one_of(st.none(), st.text(max_size=6), _anything),
    "edit_of": st.one_of(st.none(), st.text(max_size=6), _anything),
    "edit_strength": st.one_of(st.floats(), _anything),
    "exploration": st.one_of(st.floats(), _anything),
}


def _is_sound(req: GenerateRequest) -> None:
    assert isinstance(req.prompt, str)
    assert type(req.n) is int and 1 <= req.n <= GENERATION.max_n
    assert type(req.seed) is int and 0 <= req.seed <= SEED_MAX
    assert GENERATION.guidance_min <= req.guidance <= GENERATION.guidance_max
    assert 0.0 <= req.exploration <= 1.0 and 0.0 < req.edit_strength <= 1.0
    assert isinstance(req.hide_caution, bool)
    assert req.note in (None, "top", "heart", "base")
    if req.weights is not None:
        assert all(isinstance(k, str) and math.isfinite(v) and v >= 0 for k, v in req.weights.items())
    if req.mw_range is not None:
        low, high = req.mw_range
        assert math.isfinite(low) and math.isfinite(high) and 0 <= low < high


@FUZZ
@given(st.fixed_dictionaries({}, optional=_fields))
def test_random_request_fields_build_a_sound_request_or_raise_invalid_input(kwargs):
    kwargs.setdefault("prompt", "citrus")
    try:
        req = GenerateRequest(**kwargs)
    except InvalidInput as exc:
        assert str(exc)  # a message naming the field; any other exception type fails the test
        return
    _is_sound(req)
    assert GenerateRequest.from_json(req.to_json()) == req


@pytest.mark.parametrize("kwargs, says", [
    ({"seed": 2**70}, "seed must be between 0 and 9223372036854775807"),
    ({"seed": -1}, "seed must be between 0"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"n": "4"}, "n must be an integer between 1 and 64"),
    ({"n": True}, "n must be an integer"),
    ({"n": 0}, "n must be between 1 and 64, got 0"),
    ({"guidance": 11.0}, "guidance must be between 0 and 10, got 11"),
    ({"guidance": float("nan")}, "guidance must be between 0 and 10"),
    ({"guidance": "2"}, "guidance must be a number"),
    ({"exploration": float("nan")}, r"exploration must be between 0 \(close analogues"),
    ({"note": "middle"}, "note must be top, heart or base"),
    ({"mw_range": (100,)}, "mw_range must be two numbers"),
    ({"mw_range": (300.0, 100.0)}, r"mw_range must be two numbers .* low < high, got \(300, 100\)"),
    ({"mw_range": (float("nan"), 200.0)}, "mw_range must be a finite number"),
    ({"weights": {"citrus": float("nan")}}, r"weights\['citrus'\] must be a finite number"),
    ({"weights": {"citrus": float("inf")}}, r"weights\['citrus'\] must be a finite number"),
    ({"weights": {"citrus": -1.0}}, r"weights\['citrus'\] must be a finite number >= 0"),
    ({"weights": {"citrus": "high"}}, r"weights\['citrus'\] must be a number"),
    ({"weights": ["citrus"]}, "weights must be a dict"),
    ({"hide_caution": "no"}, "hide_caution must be True or False"),
    ({"edit_of": 5}, "edit_of must be a SMILES string or None"),
    ({"edit_strength": 0.0}, r"edit_strength must be in \(0, 1\]"),
])
def test_bad_field_is_refused_at_construction_naming_the_field_and_range(kwargs, says):
    with pytest.raises(InvalidInput, match=says):
        GenerateRequest(**{"prompt": "citrus", **kwargs})


def test_prompt_none_with_weights_reads_as_the_documented_weights_only_request():
    req = GenerateRequest(prompt=None, weights={"citrus": 1})  # type: ignore[arg-type]
    assert req.prompt == "" and req.weights == {"citrus": 1.0}
    with pytest.raises(InvalidInput, match="prompt must be a string"):
        GenerateRequest(prompt=None)  # type: ignore[arg-type]


def test_list_mw_range_and_numpy_numbers_are_normalised_and_survive_json():
    np = pytest.importorskip("numpy")
    req = GenerateRequest("citrus", n=np.int64(4), seed=np.int64(3), guidance=np.float32(2.0),
                          mw_range=[100, 250])  # type: ignore[arg-type]
    assert (type(req.n), type(req.seed), req.mw_range) == (int, int, (100.0, 250.0))
    assert GenerateRequest.from_json(req.to_json()) == req
