"""A database that is down or read-only: every call raises StoreUnavailable saying nothing was saved, and nothing is
reported as saved that was not."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from _pg import PgCluster, free_port, fresh_database

from odordiff_core.store import Store, StoreUnavailable

REPO = Path(__file__).resolve().parents[2]
ITEM = {"smiles": "CCO", "source": "generated"}


def test_postgresql_stopped_mid_session_raises_store_unavailable_and_recovers_when_it_is_back(
        pg_cluster: PgCluster) -> None:
    store = Store.open(url=fresh_database(pg_cluster))
    try:
        ana = store.ensure_user("ana@example.com")
        project = store.default_project(ana)
        kept = store.keep(ana, project.id, "CCO", ITEM)
        pg_cluster.stop()
        try:
            assert store.ping() is False
            for call in (lambda: store.keep(ana, project.id, "CCCO", ITEM),
                         lambda: store.update_entry(ana, kept.id, kept.version, note="lost?"),
                         lambda: store.shortlist(ana, project.id),
                         lambda: store.verify_api_key("odk_" + "x" * 43)):
                with pytest.raises(StoreUnavailable, match="Nothing was saved") as caught:
                    call()
                assert "127.0.0.1" in str(caught.value) and "password" not in str(caught.value)
        finally:
            pg_cluster.start()
        assert store.ping() is True
        assert [(e.smiles, e.note, e.version) for e in store.shortlist(ana, project.id)] == [("CCO", "", 1)]
    finally:
        store.close()


def test_an_unreachable_postgresql_fails_fast_at_open() -> None:
    with pytest.raises(StoreUnavailable, match="not available"):
        Store.open(url=f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/work")


def test_a_bad_database_url_says_what_to_use() -> None:
    from odordiff_core.errors import InvalidInput

    for url in ("not a url", "mysql+nodriver://x/y"):
        with pytest.raises(InvalidInput, match="postgresql"):
            Store.open(url=url)


_CHILD = """
import json, sys
from odordiff_core.store import Store, StoreUnavailable
out = {}
try:
    store = Store.open(url=sys.argv[1])
    ana = store.user_by_email("ana@example.com")
    store.keep(ana, store.default_project(ana).id, "CCCO", {"smiles": "CCCO"})
    out["saved"] = True
except StoreUnavailable as exc:
    out["error"] = str(exc)
print(json.dumps(out))
"""


def _without_write_permission(url: str) -> dict[str, str]:
    """Runs _CHILD in a process that honours file permissions (root loses CAP_DAC_OVERRIDE via setpriv)."""
    cmd = [sys.executable, "-c", _CHILD, url]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    if done.returncode != 0 or not done.stdout.strip():
        pytest.fail(f"the read-only check could not run ({done.returncode}): {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sqlite_in_a_read_only_folder_raises_store_unavailable_and_saves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    url = f"sqlite:///{folder / 'work.db'}"
    store = Store.open(url=url)
    ana = store.ensure_user("ana@example.com")
    store.keep(ana, store.default_project(ana).id, "CCO", ITEM)
    store.close()
    empty = tmp_path / "empty"
    empty.mkdir()
    for path in (folder, *folder.iterdir(), empty):
        path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    try:
        for target in (url, f"sqlite:///{empty / 'work.db'}"):
            outcome = _without_write_permission(target)
            assert "saved" not in outcome
            assert "Nothing was saved" in outcome["error"] and "ODORDIFF_WORK_DIR" in outcome["error"]
    finally:
        for path in (folder, *folder.iterdir(), empty):
            path.chmod(stat.S_IRWXU)
    store = Store.open(url=url)
    ana = store.user_by_email("ana@example.com")
    assert [e.smiles for e in store.shortlist(ana, store.default_project(ana).id)] == ["CCO"]
    store.close()
