"""Two `streamlit run app.py` replicas on one SQLite work.db (WAL): a molecule kept on replica A is on the shortlist
of replica B after A is killed with SIGKILL (no clean shutdown, nothing flushed at exit)."""
from __future__ import annotations

import signal
import subprocess

import pytest
from playwright.sync_api import Browser, expect

from .conftest import _serve
from .test_browser import wait_idle
from .test_signin import LINALOOL, _keep_example, _shortlist_smiles

pytestmark = pytest.mark.e2e


def test_a_molecule_kept_on_a_replica_killed_with_sigkill_is_on_the_other_replica(browser: Browser, tmp_path):
    work = {"ODORDIFF_WORK_DIR": str(tmp_path / "work")}
    procs: list[subprocess.Popen] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        with _serve(work, log_name="e2e_replica_a.log", procs=procs) as (base_a, _), \
                _serve(work, log_name="e2e_replica_b.log") as (base_b, _):
            page = context.new_page()
            page.goto(base_a)
            wait_idle(page)
            _keep_example(page, "linalool")
            procs[0].send_signal(signal.SIGKILL)
            assert procs[0].wait(timeout=10) == -signal.SIGKILL

            other = context.new_page()  # a browser the proxy now sends to replica B
            other.goto(base_b)
            wait_idle(other)
            expect(other.get_by_text("Shortlist: 1 molecule")).to_be_visible()
            assert _shortlist_smiles(other) == [LINALOOL]
    finally:
        context.close()
