"""The runtime never loads the lab: serving a request imports no training, evaluation, scikit-learn or SciPy."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY_GENERATOR = REPO / "tests" / "data" / "tiny_generator"
FORBIDDEN = ("odordiff_core.train", "odordiff_core.eval", "sklearn", "scipy")


def _app_imports() -> list[str]:
    """Returns every module app.py, pages/ and app_ui/ import, at any depth of their code."""
    found: set[str] = set()
    for path in [REPO / "app.py", *sorted((REPO / "pages").glob("*.py")), *sorted((REPO / "app_ui").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return sorted(m for m in found if m.split(".")[0] in ("odordiff_core", "app_ui"))


_PROBE = """
import importlib, json, sys
from odordiff_core import GenerateRequest, Settings, load_pipeline
for m in json.loads(sys.argv[1]):
    importlib.import_module(m)
from dataclasses import replace
settings = replace(Settings.from_env(), generator_dir=__import__("pathlib").Path(sys.argv[2]))
pipeline = load_pipeline(settings)
result = pipeline.generate(GenerateRequest(prompt="a fresh citrus top note", n=2, seed=0))
pipeline.reporter.report_smiles("CC(C)=CCCC(C)(O)C=C")
print(json.dumps(sorted(sys.modules)))
"""


def test_serving_a_request_imports_neither_training_evaluation_sklearn_nor_scipy():
    modules = _app_imports()
    assert "odordiff_core.export" in modules  # the scan sees the app's imports
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(modules), str(TINY_GENERATOR)], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    bad = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert not bad, f"the runtime imported lab modules: {bad[:10]}"


def test_the_core_never_imports_the_app_or_a_web_framework():
    for path in (REPO / "odordiff_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in ("streamlit", "app_ui", "pages", "fastapi"), f"{path}: {name}"


def test_the_package_reads_nothing_from_the_tests_folder():
    for path in (REPO / "odordiff_core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert '"tests"' not in text and "tests/data" not in text, f"{path} reads the tests folder"


def test_the_public_api_names_resolve():
    import odordiff_core

    for name in odordiff_core.__all__:
        assert getattr(odordiff_core, name) is not None, name
