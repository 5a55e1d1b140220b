"""Every way a user can get an `odordiff` command wrong ends in `error: <what to do>` and exit code 2 — never a
traceback, a hang, or work thrown away — and every CSV the CLI writes is safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odordiff_core.cli import common, main
from odordiff_core.errors import InvalidInput
from odordiff_core.export import FORMULA_TRIGGERS, ShortlistItem, to_csv

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"
FUZZ = settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))


def _no_model(*_args, **_kwargs):
    raise AssertionError("a model was loaded before the command checked its input")


@pytest.fixture
def no_models(monkeypatch):
    """Any model load fails the test: input errors must be found before the slow part starts."""
    for mod, name in (("odordiff_core.pipeline", "load_pipeline"), ("odordiff_core.report", "load_reporter"),
                      ("odordiff_core.text", "load_interpreter"), ("odordiff_core.safety", "load_screen")):
        monkeypatch.setattr(f"{mod}.{name}", _no_model)


@pytest.fixture(scope="module")
def reporter(settings):
    from odordiff_core.report import load_reporter

    return load_reporter(settings)


@pytest.fixture
def cached_reporter(monkeypatch, reporter):
    monkeypatch.setattr("odordiff_core.report.load_reporter", lambda _settings: reporter)
    return reporter


def _files(tmp: Path) -> dict[str, str]:
    files = {
        "latin1.jsonl": b'{"id": 1, "text": "caf\xe9 citrus"}\n',
        "surrogate.jsonl": b'{"id": 1, "text": "citrus"}\n{"id": 2, "text": "\\ud800 rose"}\n',
        "notjson.jsonl": b"citrus\n",
        "nested.jsonl": b"[" * 100_000 + b"\n",
        "textnum.jsonl": b'{"id": 1, "text": 5}\n',
        "blank.jsonl": b"\n\n",
        "latin1.smi": b"CCO\ncaf\xe9\n",
        "surrogate_bytes.smi": b"CCO\n\xed\xa0\x80\n",
    }
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    return {name: str(tmp / name) for name in files} | {"missing": str(tmp / "missing.txt"), "dir": str(tmp)}


BAD_INVOCATIONS = [
    (["generate", "--prompts-file", "{missing}"], "does not exist"),
    (["generate", "--prompts-file", "{dir}"], "is a folder"),
    (["generate", "--prompts-file", "{latin1.jsonl}"], "is not UTF-8 text"),
    (["generate", "--prompts-file", "{surrogate.jsonl}"], "line 2 holds an invalid character"),
    (["generate", "--prompts-file", "{notjson.jsonl}"], "line 1 is not a JSON object"),
    (["generate", "--prompts-file", "{nested.jsonl}"], "line 1 is not a JSON object"),
    (["generate", "--prompts-file", "{textnum.jsonl}"], "string `text`"),
    (["generate", "--prompts-file", "{blank.jsonl}"], "holds no prompt"),
    (["generate"], "Give a prompt"),
    (["generate", "citrus", "--seed", str(2**70)], "seed must be between 0 and 9223372036854775807"),
    (["generate", "citrus", "--seed", "-1"], "seed must be between 0"),
    (["generate", "citrus", "--n", "0"], "n must be between 1 and 64"),
    (["generate", "citrus", "--n", "100000"], "n must be between 1 and 64"),
    (["generate", "citrus", "--guidance", "nan"], "guidance must be between 0 and 10"),
    (["generate", "citrus", "--guidance", "inf"], "guidance must be between 0 and 10"),
    (["generate", "citrus", "--exploration", "2"], "exploration must be between 0"),
    (["generate", "citrus", "--out", "{dir}/no/such/folder/out.csv"], "does not exist; create it"),
    (["generate", "citrus", "--out", "{dir}"], "is a folder; give a file name"),
    (["predict", "--file", "{missing}"], "does not exist"),
    (["predict", "--file", "{dir}"], "is a folder"),
    (["predict", "--file", "{latin1.smi}"], "is not UTF-8 text"),
    (["predict", "--file", "{surrogate_bytes.smi}"], "is not UTF-8 text"),
    (["predict"], "No SMILES given"),
    (["predict", "CCO", "--top", "0"], "--top must be at least 1"),
    (["screen", "--file", "{latin1.smi}"], "is not UTF-8 text"),
    (["screen", "--file", "{dir}"], "is a folder"),
    (["interpret", "--prompts-file", "{surrogate.jsonl}"], "line 2 holds an invalid character"),
    (["interpret", "--prompts-file", "{nested.jsonl}"], "line 1"),
    (["interpret", "--prompts-file", "{latin1.jsonl}"], "is not UTF-8 text"),
    (["interpret", "--prompts-file", "{missing}"], "does not exist"),
    (["interpret"], "Give either a PROMPT"),
    (["predict", "--file", "/dev/zero"], "longer than 100,000 characters"),
    (["generate", "--prompts-file", "/dev/zero"], "longer than 100,000 characters"),
    (["generate", "citrus", "--n", "abc"], "invalid int value"),
    (["generate", "citrus", "--seed", "1e3"], "invalid int value"),
    (["nosuchcommand"], "invalid choice"),
]


@pytest.mark.parametrize("argv, says", BAD_INVOCATIONS, ids=[" ".join(a)[:60] for a, _ in BAD_INVOCATIONS])
def test_bad_invocation_exits_2_with_an_error_line_before_any_model_loads(argv, says, tmp_path, no_models, capsys):
    paths = _files(tmp_path)
    for key, path in paths.items():
        argv = [a.replace("{" + key + "}", path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: " in err and says in err and "Traceback" not in err


def test_unreadable_cache_ttl_names_the_variable(monkeypatch, no_models, capsys):
    monkeypatch.setenv("ODORDIFF_CACHE_TTL_S", "abc")
    assert main(["predict", "CCO"]) == 2
    assert "error: ODORDIFF_CACHE_TTL_S='abc' is not a whole number of seconds" in capsys.readouterr().err


def test_input_file_over_the_cap_says_to_split_it(tmp_path, monkeypatch, no_models, capsys):
    monkeypatch.setattr(common, "MAX_INPUT_LINES", 10)
    big = tmp_path / "big.smi"
    big.write_text("CCO\n" * 11)
    assert main(["predict", "--file", str(big)]) == 2
    assert "more than 10 lines; split it" in capsys.readouterr().err
    big.write_text("CCO\n" * 10)
    assert len(common.read_lines(str(big), "SMILES")) == 10


def test_out_path_is_checked_before_generation_starts(tmp_path, no_models, capsys):
    assert main(["generate", "citrus", "--out", str(tmp_path / "missing" / "o.csv")]) == 2  # load_pipeline not reached
    assert "mkdir -p" in capsys.readouterr().err


def test_ascii_stdout_gets_escapes_instead_of_a_crash(cached_reporter, monkeypatch):
    raw = io.BytesIO()
    ascii_out = io.TextIOWrapper(raw, encoding="ascii")  # what PYTHONIOENCODING=ascii / LC_ALL=C give
    monkeypatch.setattr(sys, "stdout", ascii_out)
    assert main(["predict", "CCO", "été", "\udcff"]) == 0
    ascii_out.flush()
    text = raw.getvalue().decode("ascii")
    assert "CCO" in text and "\\xe9" in text


def test_predict_streams_batches_in_input_order(cached_reporter, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(common, "BATCH", 2)
    calls = []
    real = cached_reporter.report_mols
    monkeypatch.setattr(cached_reporter, "report_mols", lambda mols, inputs: calls.append(len(mols)) or real(mols, inputs))
    f = tmp_path / "in.smi"
    f.write_text("CCO\nnot a smiles\nCC(=O)OCC\n\nc1ccccc1\n=1+2\n")
    assert main(["predict", "--file", str(f), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [r[0] for r in rows[1:]] == ["CCO", "not a smiles", "CC(=O)OCC", "c1ccccc1", "'=1+2"]
    assert calls == [1, 2]  # batches [CCO, bad], [ester, benzene], [bad]: one predictor call per batch with molecules


def _assert_spreadsheet_safe(text: str) -> None:
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS) or _is_number(cell), f"unescaped formula cell {cell!r}"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_predict_csv_escapes_formula_cells(cached_reporter, capsys):
    assert main(["predict", "=HYPERLINK(\"x\")", "@SUM(1)", "+1", "\tCCO", "CC(=O)O", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    _assert_spreadsheet_safe(out)
    assert "'=HYPERLINK" in out and "'@SUM(1)" in out


def test_generate_csv_escapes_a_formula_prompt(settings, reporter, monkeypatch, tmp_path):
    from odordiff_core.generator import load_generator
    from odordiff_core.pipeline import Pipeline
    from odordiff_core.text import load_interpreter

    pipe = Pipeline(generator=load_generator(TINY), interpreter=load_interpreter(settings), reporter=reporter)
    monkeypatch.setattr("odordiff_core.pipeline.load_pipeline", lambda _settings: pipe)
    out = tmp_path / "o.csv"
    assert main(["generate", "=cmd|' /C calc'!A0 fresh citrus", "--n", "2", "--exploration", "1", "--format", "csv",
                 "--out", str(out)]) == 0  # de novo: this pipeline has no retriever
    text = out.read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all(r["prompt"].startswith("'=cmd") for r in rows)
    _assert_spreadsheet_safe(text)


@FUZZ
@given(st.lists(st.text(max_size=8).filter(lambda s: "\x00" not in s), min_size=1, max_size=3),
       st.sampled_from(["table", "csv", "json"]))
def test_predict_on_arbitrary_strings_exits_0_or_2_without_traceback(cached_reporter, capsys, texts, fmt):
    code = main(["predict", "--format", fmt, "--", *texts])
    captured = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in captured.err
    if fmt == "csv":
        _assert_spreadsheet_safe(captured.out)


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=200))
def test_interpret_on_arbitrary_unicode_raises_only_invalid_input(interpreter, text):
    try:
        interpreter.interpret(text)
    except InvalidInput:
        pass


@pytest.fixture(scope="module")
def interpreter(settings):
    from odordiff_core.text import load_interpreter

    return load_interpreter(settings)


@FUZZ
@given(st.lists(st.text(max_size=12), min_size=1, max_size=3))
def test_export_csv_is_spreadsheet_safe_for_any_text(texts):
    items = [ShortlistItem(smiles=t, source="generated", prompt=t, user_note=t) for t in texts]
    _assert_spreadsheet_safe(to_csv(items).decode("utf-8"))


def test_unreadable_feature_workers_names_the_variable(monkeypatch, no_models, capsys):
    monkeypatch.setenv("ODORDIFF_FEATURE_WORKERS", "0")
    assert main(["predict", "CCO"]) == 2
    assert "error: ODORDIFF_FEATURE_WORKERS='0' is not a whole number of processes >= 1" in capsys.readouterr().err
