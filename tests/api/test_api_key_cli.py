"""`odordiff api-key create|list|revoke` against a real SQLite store, and `odordiff serve`'s argument checks."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from odordiff_core.cli import main
from odordiff_core.config import Settings


@pytest.fixture
def work_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ODORDIFF_WORK_DIR", str(tmp_path))
    monkeypatch.delenv("ODORDIFF_DATABASE_URL", raising=False)
    return tmp_path


def test_a_key_is_printed_once_listed_by_prefix_and_revoked(work_dir, capsys):
    from odordiff_core.store import Store

    assert main(["api-key", "create", "--name", "lims", "--role", "perfumer"]) == 2
    assert "No admin has signed in yet" in capsys.readouterr().err  # nobody to own it on an empty database

    assert main(["api-key", "create", "--name", "lims", "--role", "perfumer", "--owner", "Lab.Admin@Example.com"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("odk_") and "shown this once" in out.err
    assert main(["api-key", "create", "--name", "eln", "--role", "viewer"]) == 0  # owner: the first admin
    capsys.readouterr()

    assert main(["api-key", "list"]) == 0
    listing = capsys.readouterr().out
    assert "lims" in listing and key[:8] in listing and key not in listing and "perfumer" in listing

    store = Store.open(Settings.from_env())
    try:
        assert store.verify_api_key(key).name == "lims"
        assert main(["api-key", "revoke", "lims"]) == 0
        assert store.verify_api_key(key) is None
    finally:
        store.close()
    assert main(["api-key", "revoke", "lims"]) == 2
    assert "No unrevoked API key" in capsys.readouterr().err


@pytest.mark.parametrize("argv, phrase", [
    (["serve", "--port", "0"], "--port must be between 1 and 65535"),
    (["serve", "--workers", "0"], "--workers must be at least 1"),
    (["api-key", "create", "--name", "x", "--role", "owner"], "invalid choice"),
])
def test_serve_and_api_key_refuse_bad_arguments_before_starting(argv, phrase, capsys):
    assert main(argv) == 2
    assert phrase in capsys.readouterr().err


def test_serve_refuses_a_bad_rate_limit_setting(monkeypatch, capsys):
    monkeypatch.setenv("ODORDIFF_API_RATE_LIMIT", "lots")
    assert main(["serve", "--port", "8123"]) == 2
    assert "ODORDIFF_API_RATE_LIMIT='lots' is not a rate limit" in capsys.readouterr().err


def test_odordiff_help_imports_no_web_framework():
    probe = ("import sys; from odordiff_core.cli import build_parser; build_parser(); "
             "import json; print(json.dumps(sorted(m for m in ('fastapi', 'uvicorn', 'odordiff_api') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout) == []
