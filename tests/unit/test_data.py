"""The data layer: checksums, download from a (local) mirror, clear offline errors."""
import functools
import http.server
import shutil
import subprocess
import sys
import threading
from dataclasses import replace

import pytest

from odordiff_core import data
from odordiff_core.errors import DataError

NAME = "odor/leffingwell/stimuli.csv"  # a small file


@pytest.fixture()
def empty_dir_settings(settings, tmp_path):
    return replace(settings, data_dir=tmp_path / "data")


@pytest.fixture()
def mirror(settings, tmp_path):
    """A local HTTP server serving a copy of the data directory (no internet here)."""
    root = tmp_path / "mirror"
    shutil.copytree(settings.data_dir / "odor" / "leffingwell", root / "odor" / "leffingwell")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_every_shared_data_file_matches_its_pinned_checksum(settings):
    statuses = data.check_all(settings)
    assert len(statuses) == len(data.MANIFEST) == 19
    assert {s.status for s in statuses} == {"ok"}


def test_compiled_safety_tables_ship_with_the_package(settings):
    st = data.check_file("safety/ifra_prohibited_restricted.csv", settings)
    assert st.source == "package" and st.status == "ok"
    assert "package_data" in str(st.path)


def test_missing_file_is_downloaded_from_the_mirror_and_verified(empty_dir_settings, mirror):
    _, url = mirror
    s = replace(empty_dir_settings, data_mirror=url)
    assert data.check_file(NAME, s).status == "missing"
    path = data.data_path(NAME, s)
    assert path.is_file() and data.check_file(NAME, s).status == "ok"


def test_mirror_serving_different_bytes_is_refused_and_nothing_is_left_behind(empty_dir_settings, mirror):
    root, url = mirror
    (root / NAME).write_text("Stimulus,CID\n1,2\n")
    s = replace(empty_dir_settings, data_mirror=url)
    with pytest.raises(DataError, match="SHA-256"):
        data.data_path(NAME, s)
    assert not (s.data_dir / NAME).exists()
    assert not list((s.data_dir / "odor" / "leffingwell").glob("*.part"))


def test_missing_file_without_network_names_the_file_and_the_fix(empty_dir_settings):
    s = replace(empty_dir_settings, data_mirror="http://127.0.0.1:9")  # closed port: like no network
    with pytest.raises(DataError) as exc:
        data.data_path(NAME, s)
    msg = str(exc.value)
    assert NAME in msg and "odordiff data check --download" in msg


def test_corrupted_file_is_reported_with_the_fix(empty_dir_settings, settings):
    target = empty_dir_settings.data_dir / NAME
    target.parent.mkdir(parents=True)
    shutil.copy(settings.data_dir / NAME, target)
    with open(target, "a") as fh:
        fh.write("tampered\n")
    assert data.check_file(NAME, empty_dir_settings).status == "checksum mismatch"
    with pytest.raises(DataError, match="does not match its SHA-256"):
        data.data_path(NAME, empty_dir_settings)


def test_data_check_cli_lists_missing_files_without_a_traceback(tmp_path):
    env = {"ODORDIFF_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "odordiff_core", "data", "check"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 1
    assert "missing" in out.stdout and NAME in out.stdout
    assert "Traceback" not in out.stderr
